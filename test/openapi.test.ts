// The OpenAPI document a host publishes: rendered by @fastify/swagger 9, checked by an OpenAPI
// 3 validator, for the README's usage (onVerified without a response schema) and for two
// registrations (V1 sign-up, V2 recovery) in one app.
import t from 'tap'
import Fastify from 'fastify'
import fastifySwagger from '@fastify/swagger'
import { Validator } from '@seriousme/openapi-schema-validator'
import fastifyIamport from '../index.js'

interface Operation {
  operationId: string
  tags?: string[]
  responses: Record<string, { description: string, content?: { 'application/json': { schema: { $ref?: string } } } }>
}
interface Spec {
  paths: Record<string, { post: Operation }>
  components: { schemas: Record<string, { title?: string, properties: { code: { enum: string[] } } }> }
}

async function render (): Promise<Spec> {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(fastifySwagger, { openapi: { info: { title: 'identity', version: '1.0.0' } } })
  await app.register(async (signup) => {
    await signup.register(fastifyIamport, {
      apiKey: 'k',
      apiSecret: 's',
      certifications: { url: '/signup', schema: { tags: ['identity'] }, issuedIds: { required: true }, onVerified: (identity) => ({ name: identity.name }) }
    })
  })
  await app.register(fastifyIamport, { apiVersion: 'v2', apiSecret: 's', certifications: '/recover' })
  await app.ready()
  const spec = app.swagger()
  const result = await new Validator().validate(spec as Record<string, unknown>)
  t.same(result, { valid: true }, 'a valid OpenAPI 3 document')
  return spec as unknown as Spec
}

t.test('every status has its own description, and a 200 is always there', async (t) => {
  const spec = await render()
  for (const [path, { post }] of Object.entries(spec.paths)) {
    const descriptions = Object.values(post.responses).map((response) => response.description)
    t.ok(post.responses['200'], `${path}: a 200`)
    t.equal(new Set(descriptions).size, descriptions.length, `${path}: descriptions differ`)
    t.notOk(descriptions.includes('Default Response'), `${path}: no default description`)
  }
  t.match(spec.paths['/signup']!.post.responses['200']!.description, /onVerified/, 'with onVerified the 200 says where its body comes from')
})

t.test('operationIds are unique; prepare lists only its own statuses; one error schema per route with its codes', async (t) => {
  const spec = await render()
  const ids = Object.values(spec.paths).map(({ post }) => post.operationId)
  t.same(ids.sort(), ['verifyRecover', 'verifyRecoverPrepare', 'verifySignup', 'verifySignupPrepare'])
  t.same(spec.paths['/signup']!.post.tags, ['identity'])
  t.same(Object.keys(spec.paths['/signup/prepare']!.post.responses).sort(), ['200', '400', '413', '415', '500', '503'])
  t.same(Object.keys(spec.paths['/signup']!.post.responses).sort(), ['200', '400', '403', '404', '409', '413', '415', '422', '500', '502', '503', '504'])

  const schemaOf = (path: string, status: string): string => spec.paths[path]!.post.responses[status]!.content!['application/json'].schema.$ref!
  t.equal(schemaOf('/signup', '404'), schemaOf('/signup', '502'), 'one shared error schema for the verification route')
  const verifyError = spec.components.schemas[schemaOf('/signup', '404').split('/').pop()!]!
  const prepareError = spec.components.schemas[schemaOf('/signup/prepare', '503').split('/').pop()!]!
  t.ok(verifyError.properties.code.enum.includes('FST_IAMPORT_REPLAYED'))
  t.ok(verifyError.properties.code.enum.includes('FST_ERR_CTP_BODY_TOO_LARGE'))
  t.notOk(prepareError.properties.code.enum.includes('FST_IAMPORT_REPLAYED'), 'prepare never replays')
  t.same(prepareError.properties.code.enum.sort(), ['FST_ERR_CTP_BODY_TOO_LARGE', 'FST_ERR_CTP_EMPTY_JSON_BODY', 'FST_ERR_CTP_INVALID_JSON_BODY',
    'FST_ERR_CTP_INVALID_MEDIA_TYPE', 'FST_IAMPORT_HOOK_FAILED', 'FST_IAMPORT_STORE_UNAVAILABLE'])
})

t.test('a host operationId names both routes; the default 200 and error bodies still serialize', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  const routes: string[] = []
  app.addHook('onRoute', (route) => { routes.push(String((route.schema as { operationId?: string } | undefined)?.operationId)) })
  await app.register(fastifyIamport, { apiVersion: 'v2', apiSecret: 's', baseUrl: 'http://127.0.0.1:9', certifications: { schema: { operationId: 'signUp' } } })
  await app.ready()
  t.same(routes.sort(), ['signUp', 'signUpPrepare'])
  const refused = await app.inject({ method: 'POST', url: '/certifications', payload: { identityVerificationId: 'iv-1' } })
  t.equal(refused.statusCode, 502, 'nothing listens at the baseUrl')
  t.same(Object.keys(refused.json()).sort(), ['code', 'error', 'message', 'statusCode'], 'the error schema keeps Fastify\'s body')
  const prepared = await app.inject({ method: 'POST', url: '/certifications/prepare' })
  t.match(prepared.json(), { identityVerificationId: /^iv[0-9a-f]{32}$/ })
})
