import t from 'tap'
import Fastify from 'fastify'
import fastifyEnv from '@fastify/env'
import { Agent } from 'undici'
import fastifyIamport, { IamportClient } from '../index.js'
import { registrationError } from './helpers/registration.js'

const credentials = { apiKey: 'key', apiSecret: 's3cr3t-value' }

t.test('decorates iamport, registers the route and closes its pool on close', async (t) => {
  const app = Fastify()
  await app.register(fastifyIamport, credentials)
  await app.ready()
  t.type(app.iamport, IamportClient)
  t.ok(app.hasRoute({ method: 'POST', url: '/certifications' }))
  t.notOk(app.hasRoute({ method: 'POST', url: '/certifications/prepare' }), 'no prepare route without merchantUid')
  await app.close()
  await t.rejects(app.iamport!.getToken(), { code: 'FST_IAMPORT_UPSTREAM' }, 'a closed pool refuses further calls')
})

t.test('certifications: false registers no route; a string moves it', async (t) => {
  const off = Fastify()
  t.teardown(() => off.close())
  await off.register(fastifyIamport, { ...credentials, certifications: false })
  await off.ready()
  t.notOk(off.hasRoute({ method: 'POST', url: '/certifications' }))

  const moved = Fastify()
  t.teardown(() => moved.close())
  await moved.register(fastifyIamport, { ...credentials, certifications: '/auth/identity' })
  await moved.ready()
  t.ok(moved.hasRoute({ method: 'POST', url: '/auth/identity' }))
})

t.test('reads credentials from the environment without touching the host config', async (t) => {
  const saved = { ...process.env }
  t.teardown(() => { process.env = saved })
  process.env.IAMPORT_API_KEY = 'env-key'
  process.env.IAMPORT_API_SECRET = 'env-secret'
  process.env.IAMPORT_BASE_URL = 'http://127.0.0.1:9'
  process.env.HOST_SETTING = 'mine'
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(fastifyEnv, { schema: { type: 'object', properties: { HOST_SETTING: { type: 'string' } } } })
  await app.register(fastifyIamport, { certifications: false })
  await app.ready()
  t.same((app as unknown as { config: unknown }).config, { HOST_SETTING: 'mine' }, 'the host config is untouched')
  t.notOk(app.hasDecorator('iamportEnvironment'), 'the environment decorator stays in a child context')
  await t.rejects(app.iamport!.getToken(), { code: 'FST_IAMPORT_UPSTREAM', message: /getToken: connection failed/ },
    'IAMPORT_BASE_URL is used')
})

t.test('missing or malformed options fail registration naming the option', async (t) => {
  const saved = { ...process.env }
  t.teardown(() => { process.env = saved })
  delete process.env.IAMPORT_API_KEY
  delete process.env.IAMPORT_API_SECRET
  delete process.env.IAMPORT_BASE_URL
  const cases: Array<[Record<string, unknown>, RegExp]> = [
    [{}, /apiKey \(or env IAMPORT_API_KEY\) is required/],
    [{ apiKey: 'k' }, /apiSecret \(or env IAMPORT_API_SECRET\) is required/],
    [{ ...credentials, apiKey: '  ' }, /apiKey must be a non-blank string/],
    [{ ...credentials, baseUrl: 'not a url' }, /baseUrl must be an absolute http\(s\) URL/],
    [{ ...credentials, baseUrl: 'ftp://example.com' }, /baseUrl must be an absolute http\(s\) URL/],
    [{ ...credentials, timeoutMs: 0 }, /timeoutMs must be a positive whole number of milliseconds/],
    [{ ...credentials, connections: 1.5 }, /connections must be a positive whole number/],
    [{ ...credentials, tier: 'abcd' }, /tier must be 3 upper-case letters or digits/],
    [{ ...credentials, impUidPattern: '(' }, /impUidPattern must be a RegExp or a valid regular expression/],
    [{ ...credentials, certifications: 42 }, /certifications must be false, a URL starting with \/ or an object/],
    [{ ...credentials, certifications: { url: 'x' } }, /certifications.url must start with \//],
    [{ ...credentials, certifications: { minAge: -1 } }, /certifications.minAge/],
    [{ ...credentials, certifications: { ageBasis: 'korean' } }, /certifications.ageBasis/],
    [{ ...credentials, certifications: { checkAge: true } }, /certifications.checkAge must be a function/],
    [{ ...credentials, certifications: { requireIdentityKey: 'phone' } }, /certifications.requireIdentityKey/],
    [{ ...credentials, certifications: { certifiedWithinSeconds: 0 } }, /certifications.certifiedWithinSeconds/],
    [{ ...credentials, certifications: { oneTime: 'yes' } }, /certifications.oneTime must be a boolean/],
    [{ ...credentials, certifications: { store: {} } }, /certifications.store must implement/],
    [{ ...credentials, certifications: { bodyLimit: -5 } }, /certifications.bodyLimit/],
    [{ ...credentials, certifications: { idPattern: '[' } }, /certifications.idPattern must be a RegExp or a valid regular expression/],
    [{ ...credentials, certifications: { issuedIds: { required: false } } }, /certifications.issuedIds.required must be true/],
    [{ ...credentials, certifications: { issuedIds: { required: true, ttlSeconds: 0 } } }, /certifications.issuedIds.ttlSeconds/],
    [{ ...credentials, certifications: { issuedIds: { required: true, subject: 'me' } } }, /certifications.issuedIds.subject must be a function/],
    [{ ...credentials, certifications: { oneTime: false, issuedIds: { required: true } } }, /certifications.oneTime: false needs issuedIds: false/]
  ]
  for (const [options, message] of cases) {
    const err = await registrationError(options)
    t.equal(err.code, 'FST_IAMPORT_INVALID_OPTIONS', String(message))
    t.match(err.message, message)
    t.notMatch(err.message, /s3cr3t-value/, 'never echoes the secret')
  }
})

t.test('an injected dispatcher is used and left open', async (t) => {
  const agent = new Agent()
  t.teardown(() => agent.close())
  const client = new IamportClient({ ...credentials, baseUrl: 'http://127.0.0.1:9/base/', dispatcher: agent, tier: 'AB1', impUidPattern: /^imp_[0-9]+$/ })
  await t.rejects(client.getToken(), { code: 'FST_IAMPORT_UPSTREAM' })
  await client.close()
  t.equal(agent.closed, false, 'close() leaves a dispatcher it did not create')
  t.throws(() => new IamportClient(undefined as never), { code: 'FST_IAMPORT_INVALID_OPTIONS' })
})
