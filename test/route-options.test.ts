// certifications.routeOptions: the README's recipes, each with the real plugin over real HTTP.
import t from 'tap'
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify'
import fastifyIamport from '../index.js'
import { createFakeIamport } from '../lib/testing/index.js'
import { rateLimitedApp } from './helpers/rate-limited.js'

t.test('rate-limit recipe: config.rateLimit on both routes gives 429 on the third request in the window', async (t) => {
  const { fake, post } = await rateLimitedApp(t, {
    issuedIds: { required: true },
    routeOptions: { config: { rateLimit: { max: 2, timeWindow: '1 minute' } } }
  })
  t.same([await post('/certifications/prepare', {}), await post('/certifications/prepare', {}), await post('/certifications/prepare', {})], [200, 200, 429])
  const { imp_uid: impUid } = fake.seedCertification()
  const verifications = [await post('/certifications', { imp_uid: impUid }), await post('/certifications', { imp_uid: impUid }), await post('/certifications', { imp_uid: impUid })]
  t.same(verifications, [422, 422, 429], 'the verification route has its own limit (422: not issued here)')
  t.equal(fake.calls.getCertification, 2, 'the limited request never reached upstream')
})

t.test('auth recipe: a preHandler refuses before any upstream call; logLevel and constraints pass through', async (t) => {
  const fake = await createFakeIamport()
  t.teardown(() => fake.close())
  const app = Fastify()
  t.teardown(() => app.close())
  const requireLogin = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    if (request.headers.authorization !== 'Bearer member') await reply.code(401).send({ error: 'login first' })
  }
  await app.register(fastifyIamport, {
    apiKey: fake.apiKey,
    apiSecret: fake.apiSecret,
    baseUrl: fake.url,
    certifications: { routeOptions: { preHandler: requireLogin, logLevel: 'warn', constraints: { host: 'id.example' } } }
  })
  const { imp_uid: impUid } = fake.seedCertification()
  const post = (headers: Record<string, string>) => app.inject({ method: 'POST', url: '/certifications', headers: { host: 'id.example', ...headers }, payload: { imp_uid: impUid } })
  t.equal((await post({})).statusCode, 401)
  t.equal(fake.calls.total, 0, 'refused before upstream')
  t.equal((await post({ authorization: 'Bearer member' })).statusCode, 200)
  t.equal((await app.inject({ method: 'POST', url: '/certifications', headers: { host: 'other.example', authorization: 'Bearer member' }, payload: { imp_uid: impUid } })).statusCode, 404,
    'the host constraint applies')
  t.equal(app.printRoutes({ includeHooks: false }).includes('certifications'), true)
})

t.test('routeOptions refuses what is not a route option', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await t.rejects(async () => {
    await app.register(fastifyIamport, { apiKey: 'k', apiSecret: 's', certifications: { routeOptions: { handler: () => {} } as never } })
    await app.ready()
  }, { code: 'FST_IAMPORT_INVALID_OPTIONS', message: /certifications.routeOptions.handler is not an option/ })
  const bad = Fastify()
  t.teardown(() => bad.close())
  await t.rejects(async () => {
    await bad.register(fastifyIamport, { apiKey: 'k', apiSecret: 's', certifications: { routeOptions: { onRequest: 'x' as never } } })
    await bad.ready()
  }, { message: /certifications.routeOptions.onRequest must be a function or an array of functions/ })
})
