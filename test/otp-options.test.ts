// The OTP routes' options, their memory bound, and what they share with the popup route: route
// options (the rate-limit recipe), OpenAPI, metrics, erasure; over real HTTP against the fakes.
import t from 'tap'
import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify'
import fastifyRateLimit from '@fastify/rate-limit'
import fastifySwagger from '@fastify/swagger'
import { Validator } from '@seriousme/openapi-schema-validator'
import fastifyIamport, { VERIFICATION_CHANNEL, type VerificationEvent, type VerificationStore } from '../index.js'
import { OtpLedger, sendBodyProblem } from '../lib/otp-route.js'
import { MemoryStore } from '../lib/stores/memory.js'
import { createFakeIamport, createFakePortOneV2 } from '../lib/testing/index.js'
import { rateLimitedApp } from './helpers/rate-limited.js'
import { listen } from './helpers/app.js'
import { registrationError } from './helpers/registration.js'

const person = { name: '홍길동', phone: '01012345678', birth: '900101', genderDigit: '1', carrier: 'SKT' }
const v1 = { apiKey: 'k', apiSecret: 's' }

t.test('otp options are checked like every other option', async (t) => {
  const cases: Array<[Record<string, unknown>, string]> = [
    [{ ...v1, certifications: { otp: 'yes' } }, 'certifications.otp must be a boolean or an object'],
    [{ ...v1, certifications: { otp: { attempt: 3 } } }, 'certifications.otp.attempt is not an option (did you mean certifications.otp.attempts?)'],
    [{ ...v1, certifications: { otp: { attempts: 0 } } }, 'certifications.otp.attempts must be a positive whole number'],
    [{ ...v1, certifications: { otp: { resendCooldownSeconds: -1 } } }, 'certifications.otp.resendCooldownSeconds must be a whole number of seconds (0 or more)'],
    [{ ...v1, certifications: { otp: { codeTtlSeconds: 1.5 } } }, 'certifications.otp.codeTtlSeconds must be a positive whole number of seconds'],
    [{ ...v1, certifications: { otp: { channelKey: ' ' } } }, 'certifications.otp.channelKey must be a non-blank string'],
    [{ ...v1, certifications: { otp: { maxPending: 0 } } }, 'certifications.otp.maxPending must be a positive whole number'],
    [{ ...v1, certifications: { otp: true, oneTime: false, issuedIds: false } }, 'certifications.otp needs oneTime (OTP verifications are single-use)'],
    [{ ...v1, otp: true }, 'otp is not an option (did you mean certifications.otp?)']
  ]
  for (const [options, message] of cases) {
    t.equal((await registrationError(options)).message, `Invalid fastify-iamport option: ${message}`, message)
  }
})

t.test('the OTP routes are off unless otp is given; otp: false keeps them off', async (t) => {
  for (const otp of [undefined, false]) {
    const app = Fastify()
    t.teardown(() => app.close())
    await app.register(fastifyIamport, { ...v1, baseUrl: 'http://127.0.0.1:9', certifications: otp === undefined ? {} : { otp } })
    for (const url of ['/certifications/otp', '/certifications/otp/confirm', '/certifications/otp/resend']) {
      t.equal((await app.inject({ method: 'POST', url, payload: person })).statusCode, 404, `${String(otp)}: ${url}`)
    }
  }
})

t.test('the ledger keeps at most maxPending codes and cooldowns, oldest first out, expired ones swept', async (t) => {
  const ledger = new OtpLedger(2)
  const entry = (at: number) => ({ subject: 's', attemptsLeft: 5, codeExpiresAt: at + 180_000, expiresAt: at + 1_800_000 })
  ledger.add('a', entry(0), 0)
  ledger.add('b', entry(1), 1)
  ledger.add('c', entry(2), 2)
  t.equal(ledger.get('a', 3), undefined, 'the oldest gave way')
  t.ok(ledger.get('b', 3))
  t.equal(ledger.get('b', 1_800_001), undefined, 'expired')
  ledger.add('d', entry(1_800_002), 1_800_002)
  t.same(ledger.size, { pending: 1, cooldowns: 0 }, 'the expired ones were swept on the write')
  ledger.drop('d')
  t.same(ledger.size, { pending: 0, cooldowns: 0 })

  ledger.markSent('x', 0, 60_000)
  ledger.markSent('y', 1, 60_000)
  t.equal(ledger.waitMs('x', 30_000, 60_000), 30_000)
  ledger.markSent('z', 2, 60_000)
  t.equal(ledger.waitMs('x', 30_000, 60_000), 0, 'the oldest cooldown gave way')
  t.equal(ledger.waitMs('y', 30_000, 60_000), 30_001)
  const undo = ledger.markSent('w', 70_000, 60_000)
  t.same(ledger.size, { pending: 0, cooldowns: 1 }, 'cooldowns that ended were swept')
  undo()
  t.equal(ledger.waitMs('w', 70_001, 60_000), 0, 'undone')
  ledger.markSent('v', 0, 0)()
  t.same(ledger.size, { pending: 0, cooldowns: 0 }, 'no cooldown, nothing kept')
  t.equal(ledger.waitMs('v', 0, 0), 0)
})

t.test('maxPending: a code pushed out of memory can no longer be confirmed (fails closed, no upstream confirmation)', async (t) => {
  const fake = await createFakeIamport()
  t.teardown(() => fake.close())
  const { post } = await listen(t, async (app) => {
    await app.register(fastifyIamport, { apiKey: fake.apiKey, apiSecret: fake.apiSecret, baseUrl: fake.url, certifications: { otp: { maxPending: 1 } } })
  })
  const first = (await post('/certifications/otp', person)).body.imp_uid
  const second = (await post('/certifications/otp', person, 'application/json', { cookie: `idv_binding=${'c'.repeat(32)}` })).body.imp_uid
  t.ok(first !== undefined && second !== undefined)
  const refused = await post('/certifications/otp/confirm', { imp_uid: first, otp: fake.sentOtp(first) })
  t.equal(refused.status, 422)
  t.equal(refused.body.code, 'FST_IAMPORT_NOT_CERTIFIED')
  t.equal(fake.calls.otpConfirm, 0)
  t.equal((await post('/certifications/otp/confirm', { imp_uid: second, otp: fake.sentOtp(second) }, 'application/json', { cookie: `idv_binding=${'c'.repeat(32)}` })).status, 200)
})

t.test('the body check names the field, never the value', async (t) => {
  const at = new Date('2025-06-01T00:00:00Z')
  t.equal(sendBodyProblem(person, at), undefined)
  t.equal(sendBodyProblem({ ...person, isMvno: false }, at), undefined)
  t.equal(sendBodyProblem({ ...person, name: 'Smith John Junior' }, at), undefined)
  t.equal(sendBodyProblem({ ...person, birth: '250601', genderDigit: '3' }, at), undefined, 'born today in Seoul')
  t.match(sendBodyProblem({ ...person, birth: '250602', genderDigit: '3' }, at), /^body\/birth/, 'tomorrow in Seoul')
  t.equal(sendBodyProblem({ ...person, birth: '250601', genderDigit: '7' }, new Date('2025-05-31T15:00:00Z')), undefined, '00:00 in Seoul is the new day')
  t.match(sendBodyProblem({ ...person, birth: '250601', genderDigit: '7' }, new Date('2025-05-31T14:59:59Z')), /^body\/birth/)
  t.equal(sendBodyProblem({ ...person, birth: '000229', genderDigit: '3' }, at), undefined, '2000 was a leap year')
  t.match(sendBodyProblem({ ...person, birth: '000229', genderDigit: '1' }, at), /^body\/birth/, '1900 was not')
  t.equal(sendBodyProblem(undefined, at), 'body must be an object')
})

t.test('routeOptions apply to the OTP routes: the rate-limit recipe stops the SMS before upstream', async (t) => {
  const { fake, post } = await rateLimitedApp(t, {
    otp: { resendCooldownSeconds: 0 }, routeOptions: { config: { rateLimit: { max: 2, timeWindow: '1 minute' } } }
  })
  t.same([await post('/certifications/otp', person), await post('/certifications/otp', person), await post('/certifications/otp', person)], [200, 200, 429])
  t.equal(fake.calls.otpRequest, 2, 'the limited request sent no SMS')
  const confirm = { imp_uid: 'imp_000000000001', otp: '123456' }
  t.same([await post('/certifications/otp/confirm', confirm), await post('/certifications/otp/confirm', confirm), await post('/certifications/otp/confirm', confirm)], [404, 404, 429])
})

t.test('OpenAPI: the OTP routes are documented with their own bodies, statuses and codes', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(fastifySwagger, { openapi: { info: { title: 'identity', version: '1.0.0' } } })
  await app.register(async (signup) => {
    await signup.register(fastifyIamport, { ...v1, certifications: { url: '/signup', otp: true, schema: { operationId: 'signUp', tags: ['identity'] }, onVerified: () => ({ ok: true }) } })
  })
  await app.register(fastifyIamport, { apiVersion: 'v2', apiSecret: 's', certifications: { url: '/recover/', otp: { channelKey: 'channel-key-1' }, verifiedResponseSchema: { type: 'object', properties: { ok: { type: 'boolean' } } } } })
  await app.ready()
  const spec = app.swagger() as any
  t.same(await new Validator().validate(spec), { valid: true }, 'a valid OpenAPI 3 document')
  const ids = Object.values(spec.paths as Record<string, { post: { operationId: string } }>).map(({ post }) => post.operationId).sort()
  t.same(ids, ['signUp', 'signUpOtp', 'signUpOtpConfirm', 'verifyRecover', 'verifyRecoverOtp', 'verifyRecoverOtpConfirm', 'verifyRecoverOtpResend', 'verifyRecoverPrepare'],
    'V1 has no resend route; V2 has prepare by default')
  const send = spec.paths['/signup/otp'].post
  t.same(send.tags, ['identity'])
  t.same(Object.keys(send.responses).sort(), ['200', '400', '413', '415', '429', '500', '502', '503', '504'])
  t.same(send.requestBody.content['application/json'].schema.required.sort(), ['birth', 'carrier', 'genderDigit', 'name', 'phone'])
  t.same(Object.keys(spec.paths['/signup/otp/confirm'].post.responses).sort(), ['200', '400', '403', '404', '409', '413', '415', '422', '429', '500', '502', '503', '504'])
  t.match(spec.paths['/signup/otp/confirm'].post.responses['200'].description, /onVerified/)
  t.match(spec.paths['/recover/otp/confirm'].post.responses['200'].content['application/json'].schema, { properties: { ok: { type: 'boolean' } } })
  t.same(Object.keys(spec.paths['/recover/otp/resend'].post.responses).sort(), ['200', '400', '404', '409', '413', '415', '422', '429', '500', '502', '503', '504'])
  const ref: string = spec.paths['/signup/otp/confirm'].post.responses['429'].content['application/json'].schema.$ref
  const codes: string[] = spec.components.schemas[ref.split('/').pop()!].properties.code.enum
  for (const code of ['FST_IAMPORT_OTP_INCORRECT', 'FST_IAMPORT_OTP_ATTEMPTS_EXCEEDED', 'FST_IAMPORT_OTP_EXPIRED', 'FST_IAMPORT_OTP_TOO_SOON', 'FST_IAMPORT_REPLAYED']) {
    t.ok(codes.includes(code), code)
  }
})

t.test('metrics: an OTP confirmation is one event, like a popup verification', async (t) => {
  const events: VerificationEvent[] = []
  const onEvent = (message: unknown): void => { events.push(message as VerificationEvent) }
  subscribe(VERIFICATION_CHANNEL, onEvent)
  t.teardown(() => unsubscribe(VERIFICATION_CHANNEL, onEvent))
  const fake = await createFakePortOneV2()
  t.teardown(() => fake.close())
  const { post } = await listen(t, async (app) => {
    await app.register(fastifyIamport, { apiVersion: 'v2', apiSecret: fake.apiSecret, baseUrl: fake.url, certifications: { otp: { channelKey: fake.channelKey } } })
  })
  const id = (await post('/certifications/otp', person)).body.identityVerificationId
  t.equal((await post('/certifications/otp/confirm', { identityVerificationId: id, otp: fake.sentOtp(id) === '000000' ? '111111' : '000000' })).status, 422)
  t.equal((await post('/certifications/otp/confirm', { identityVerificationId: id, otp: fake.sentOtp(id) })).status, 200)
  t.same(events.map((event) => event.outcome), ['FST_IAMPORT_OTP_INCORRECT', 'VERIFIED'])
  t.match(events[1], { apiVersion: 'v2', route: '/certifications', upstreamMs: Number, hookMs: Number, totalMs: Number })
  t.notOk(JSON.stringify(events).includes(id), 'no id in the events')
})

t.test('eraseAfterVerify erases an OTP verification once it was used (V1)', async (t) => {
  const fake = await createFakeIamport()
  t.teardown(() => fake.close())
  const { post } = await listen(t, async (app) => {
    await app.register(fastifyIamport, { apiKey: fake.apiKey, apiSecret: fake.apiSecret, baseUrl: fake.url, certifications: { otp: true, eraseAfterVerify: true } })
  })
  const id = (await post('/certifications/otp', person)).body.imp_uid
  t.equal((await post('/certifications/otp/confirm', { imp_uid: id, otp: fake.sentOtp(id) })).status, 200)
  t.equal(fake.calls.deleteCertification, 1)
})

t.test('a store that fails: 503 before any SMS, and no cooldown', async (t) => {
  const fake = await createFakeIamport()
  t.teardown(() => fake.close())
  let failing = true
  const memory = new MemoryStore()
  const store: VerificationStore = {
    issue: async (...args) => {
      if (failing) throw new Error('redis down')
      return await memory.issue(...args)
    },
    consume: (consumption) => memory.consume(consumption),
    release: (consumption) => memory.release(consumption)
  }
  const { post } = await listen(t, async (app) => {
    await app.register(fastifyIamport, { apiKey: fake.apiKey, apiSecret: fake.apiSecret, baseUrl: fake.url, certifications: { otp: true, store } })
  })
  const refused = await post('/certifications/otp', person)
  t.equal(refused.status, 503)
  t.equal(refused.body.code, 'FST_IAMPORT_STORE_UNAVAILABLE')
  t.equal(fake.calls.total, 0)
  failing = false
  t.equal((await post('/certifications/otp', person)).status, 200)
})

t.test('the README recipe: a rate limit per IP on every route, and at most 3 codes an hour per phone number', async (t) => {
  const fake = await createFakePortOneV2()
  t.teardown(() => fake.close())
  const app = Fastify({ trustProxy: true })
  t.teardown(() => app.close())
  await app.register(fastifyRateLimit, { global: false })
  // As in the README: one phone number gets at most 3 codes an hour, whoever asks for them.
  const perPhone = app.createRateLimit({ max: 3, timeWindow: '1 hour', keyGenerator: (request) => `otp:${(request.body as { phone: string }).phone}` })
  const limitPhones = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    if (!request.routeOptions.url?.endsWith('/otp')) return
    const limit = await perPhone(request)
    if (!limit.isAllowed && limit.isExceeded) {
      await reply.code(429).header('retry-after', String(limit.ttlInSeconds))
        .send({ statusCode: 429, code: 'APP_OTP_PHONE_LIMIT', error: 'Too Many Requests', message: 'Too many codes for this phone number' })
    }
  }
  await app.register(fastifyIamport, {
    apiVersion: 'v2',
    apiSecret: fake.apiSecret,
    baseUrl: fake.url,
    certifications: {
      otp: { channelKey: fake.channelKey },
      routeOptions: { config: { rateLimit: { max: 10, timeWindow: '1 minute' } }, preHandler: limitPhones }
    }
  })
  const address = await app.listen({ port: 0, host: '127.0.0.1' })
  const send = async (ip: string, phone: string) => (await fetch(address + '/certifications/otp', {
    method: 'POST', headers: { 'content-type': 'application/json', 'x-forwarded-for': ip }, body: JSON.stringify({ ...person, phone })
  })).status
  t.same([await send('198.51.100.1', '01011112222'), await send('198.51.100.2', '01011112222'), await send('198.51.100.3', '01011112222')], [200, 200, 200])
  t.equal(await send('198.51.100.4', '01011112222'), 429, 'a fourth code for the number, from another IP')
  t.equal(await send('198.51.100.4', '01033334444'), 200, 'another number')
  t.equal(fake.otpCalls.sendIdentityVerification, 4)
  t.equal(fake.requests.filter((request) => request.path.endsWith('/send')).length, 4)
  for (let i = 0; i < 10; i++) await send('198.51.100.9', `010${String(50000000 + i)}`)
  t.equal(await send('198.51.100.9', '01099990000'), 429, 'the 11th request in a minute from one IP')
})

t.test('a hook error without a code keeps its status; the log line says ERROR', async (t) => {
  const fake = await createFakeIamport()
  t.teardown(() => fake.close())
  const { post, logs } = await listen(t, async (app) => {
    await app.register(fastifyIamport, {
      apiKey: fake.apiKey,
      apiSecret: fake.apiSecret,
      baseUrl: fake.url,
      certifications: { otp: true, onVerified: () => { throw Object.assign(new Error('maintenance'), { statusCode: 503 }) } }
    })
  })
  const id = (await post('/certifications/otp', person)).body.imp_uid
  t.equal((await post('/certifications/otp/confirm', { imp_uid: id, otp: fake.sentOtp(id) })).status, 503)
  const line = logs.map((entry) => JSON.parse(entry)).find((entry) => entry.msg === 'identity verification')
  t.match(line, { impUid: id, outcome: 'ERROR' })
})
