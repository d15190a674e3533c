import t from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import { Type } from '@sinclair/typebox'
import Fastify from 'fastify'
import fastifySwagger from '@fastify/swagger'
import fastifyIamport from '../index.js'
import type { Identity } from '../lib/identity.js'
import { createFakeIamport } from '../lib/testing/index.js'
import type { VerificationStore } from '../lib/stores/store.js'
import { MemoryStore } from '../lib/stores/memory.js'
import { allLogLines, seed, sensitiveValues, startApp } from './helpers/app.js'

/** `YYYY-MM-DD` of the date `years` years before today in Seoul, shifted by `days`. */
function seoulBirthday (years: number, days = 0): string {
  const seoul = new Date(Date.now() + 9 * 3600_000)
  const date = new Date(Date.UTC(seoul.getUTCFullYear() - years, seoul.getUTCMonth(), seoul.getUTCDate() + days))
  return date.toISOString().slice(0, 10)
}

t.test('a verified person gets 200 { verified: true } and nothing personal', async (t) => {
  const { fake, verify, logs } = await startApp(t)
  const record = seed(fake)
  const res = await verify(record.imp_uid)
  t.equal(res.status, 200)
  t.same(res.body, { verified: true })
  t.equal(fake.calls.getToken, 1)
  t.equal(fake.calls.getCertification, 1)
  const lines = logs.map((line) => JSON.parse(line)).filter((line) => line.msg === 'identity verification')
  t.equal(lines.length, 1, 'one log line per verification')
  t.match(lines[0], { level: 30, impUid: record.imp_uid, outcome: 'VERIFIED', ms: Number })
})

t.test('a bad body is refused before any upstream request', async (t) => {
  const { fake, post } = await startApp(t)
  const cases: Array<[unknown, string, number, string]> = [
    [{}, 'application/json', 400, 'FST_ERR_VALIDATION'],
    [{ imp_uid: 123456 }, 'application/json', 400, 'FST_ERR_VALIDATION'],
    [{ imp_uid: '../payments/x' }, 'application/json', 400, 'FST_ERR_VALIDATION'],
    [{ imp_uid: 'imp_123456?x=1' }, 'application/json', 400, 'FST_ERR_VALIDATION'],
    [{ imp_uid: 'imp_١٢٣٤٥٦' }, 'application/json', 400, 'FST_ERR_VALIDATION'],
    [{ imp_uid: ['imp_123456'] }, 'application/json', 400, 'FST_ERR_VALIDATION'],
    ['null', 'application/json', 400, 'FST_ERR_VALIDATION'],
    ['{"imp_uid":', 'application/json', 400, 'FST_ERR_CTP_INVALID_JSON_BODY'],
    ['imp_123456', 'text/plain', 400, 'FST_ERR_VALIDATION'],
    ['imp_uid=imp_123456', 'application/x-www-form-urlencoded', 415, 'FST_ERR_CTP_INVALID_MEDIA_TYPE'],
    [{ imp_uid: 'imp_' + '1'.repeat(2000) }, 'application/json', 413, 'FST_ERR_CTP_BODY_TOO_LARGE']
  ]
  for (const [body, contentType, status, code] of cases) {
    const res = await post('/certifications', body, contentType)
    t.equal(res.status, status, `${JSON.stringify(body).slice(0, 40)} -> ${status}`)
    t.equal(res.body.code, code)
    t.same(Object.keys(res.body).sort(), ['code', 'error', 'message', 'statusCode'])
  }
  t.equal(fake.calls.total, 0, 'no upstream request at all')
})

t.test('built-in checks: not found, not certified, other imp_uid, stale, from the future', async (t) => {
  const { fake, verify } = await startApp(t)
  const now = Math.floor(Date.now() / 1000)
  const expect = async (impUid: string, status: number, code: string): Promise<void> => {
    const res = await verify(impUid)
    t.equal(res.status, status, code)
    t.equal(res.body.code, code)
  }
  await expect('imp_000000000001', 404, 'FST_IAMPORT_CERTIFICATION_NOT_FOUND')
  await expect(seed(fake, { certified: false, certified_at: 0 }).imp_uid, 422, 'FST_IAMPORT_NOT_CERTIFIED')
  // Only `certified: true` is a completed verification: `null` and an absent field are not.
  await expect(seed(fake, { certified: null }).imp_uid, 422, 'FST_IAMPORT_NOT_CERTIFIED')
  await expect(seed(fake, { certified: undefined }).imp_uid, 422, 'FST_IAMPORT_NOT_CERTIFIED')
  const other = seed(fake)
  fake.inject({ target: 'certification', kind: 'envelope', body: { code: 0, message: null, response: { ...other, imp_uid: 'imp_999999999999' } } })
  await expect(other.imp_uid, 422, 'FST_IAMPORT_NOT_CERTIFIED')
  await expect(seed(fake, { certified_at: now - 600 - 61 - 5 }).imp_uid, 422, 'FST_IAMPORT_STALE_CERTIFICATION')
  await expect(seed(fake, { certified_at: now + 300 }).imp_uid, 422, 'FST_IAMPORT_STALE_CERTIFICATION')
  await expect(seed(fake, { certified_at: undefined }).imp_uid, 422, 'FST_IAMPORT_STALE_CERTIFICATION')
  await expect(seed(fake, { certified_at: now - 600 }).imp_uid, 200, undefined as unknown as string)
})

t.test('upstream failures map to 502 and 504', async (t) => {
  const { fake, verify } = await startApp(t, undefined, { timeoutMs: 300 })
  const record = seed(fake)
  fake.inject({ target: 'certification', kind: 'html', status: 502 })
  let res = await verify(record.imp_uid)
  t.equal(res.status, 502)
  t.equal(res.body.code, 'FST_IAMPORT_UPSTREAM')
  fake.inject({ target: 'certification', kind: 'latency', ms: 2000 })
  res = await verify(record.imp_uid)
  t.equal(res.status, 504)
  t.equal(res.body.code, 'FST_IAMPORT_UPSTREAM_TIMEOUT')
  res = await verify(record.imp_uid)
  t.equal(res.status, 200, 'an upstream failure does not burn the imp_uid')
})

t.test('one-time consumption: a replay is 409, and 50 concurrent posts give one 200', async (t) => {
  const { fake, verify } = await startApp(t)
  const record = seed(fake)
  t.equal((await verify(record.imp_uid)).status, 200)
  const again = await verify(record.imp_uid)
  t.equal(again.status, 409)
  t.equal(again.body.code, 'FST_IAMPORT_REPLAYED')

  const concurrent = seed(fake)
  const results = await Promise.all(Array.from({ length: 50 }, () => verify(concurrent.imp_uid)))
  t.equal(results.filter((r) => r.status === 200).length, 1)
  t.equal(results.filter((r) => r.status === 409 && r.body.code === 'FST_IAMPORT_REPLAYED').length, 49)

  const { fake: fake2, verify: verify2 } = await startApp(t, { oneTime: false })
  const reusable = seed(fake2)
  t.equal((await verify2(reusable.imp_uid)).status, 200)
  t.equal((await verify2(reusable.imp_uid)).status, 200, 'oneTime: false accepts it again')
})

t.test('age rules: 만 나이 birthday today vs tomorrow', async (t) => {
  const { fake, verify } = await startApp(t, { minAge: 19 })
  t.equal((await verify(seed(fake, { birthday: seoulBirthday(19) }).imp_uid)).status, 200, '19th birthday today')
  const res = await verify(seed(fake, { birthday: seoulBirthday(19, 1) }).imp_uid)
  t.equal(res.status, 403, '19th birthday tomorrow')
  t.equal(res.body.code, 'FST_IAMPORT_AGE_RESTRICTED')
  const unknown = await verify(seed(fake, { birthday: undefined, birth: undefined }).imp_uid)
  t.equal(unknown.status, 403, 'no birthday fails closed')
})

t.test('age rules: 연 나이 across New Year in Seoul with an injected clock', async (t) => {
  let clock = new Date('2025-12-31T14:59:00Z') // 23:59 KST on 31 December 2025
  const fake = await createFakeIamport()
  t.teardown(() => fake.close())
  const { verify } = await startApp(t, { minAge: 19, ageBasis: 'year', now: () => clock }, {}, fake)
  const certifiedAt = (): number => Math.floor(clock.getTime() / 1000)
  const bornIn2007 = { birthday: '2007-12-31' }
  let res = await verify(seed(fake, { ...bornIn2007, certified_at: certifiedAt() }).imp_uid)
  t.equal(res.status, 403, 'born 2007: 18 by year count on 31 Dec 2025')
  clock = new Date('2025-12-31T15:00:00Z') // 00:00 KST on 1 January 2026
  res = await verify(seed(fake, { ...bornIn2007, certified_at: certifiedAt() }).imp_uid)
  t.equal(res.status, 200, 'born 2007: 19 by year count from 1 Jan 2026, whatever the month')
})

t.test('checkAge, findDuplicate and onVerified: order, arguments, sync and async', async (t) => {
  const calls: string[] = []
  const { fake, verify } = await startApp(t, {
    checkAge: (identity, request) => {
      calls.push(`checkAge:${identity.verificationId}:${request.method}`)
      return identity.name !== 'Too Young'
    },
    findDuplicate: async (identity) => {
      calls.push('findDuplicate')
      return identity.name === 'Already Here' ? { id: 1 } : null
    },
    onVerified: async (identity: Identity, _request, reply) => {
      calls.push('onVerified')
      reply.header('x-verified', 'yes')
      return { welcome: identity.name, adult: (identity.age('international') ?? 0) >= 19 }
    },
    verifiedResponseSchema: Type.Object({ welcome: Type.String(), adult: Type.Boolean() })
  })
  const ok = seed(fake, { name: 'Kim' })
  const res = await verify(ok.imp_uid)
  t.equal(res.status, 200)
  t.same(res.body, { welcome: 'Kim', adult: true })
  t.same(calls, [`checkAge:${ok.imp_uid}:POST`, 'findDuplicate', 'onVerified'])

  calls.length = 0
  const young = seed(fake, { name: 'Too Young' })
  const refused = await verify(young.imp_uid)
  t.equal(refused.status, 403)
  t.equal(refused.body.code, 'FST_IAMPORT_AGE_RESTRICTED')
  t.same(calls, [`checkAge:${young.imp_uid}:POST`], 'nothing runs after a refusal')
  t.equal((await verify(young.imp_uid)).body.code, 'FST_IAMPORT_REPLAYED', 'a policy refusal burns the imp_uid')

  const dup = await verify(seed(fake, { name: 'Already Here' }).imp_uid)
  t.equal(dup.status, 409)
  t.equal(dup.body.code, 'FST_IAMPORT_DUPLICATE')
})

t.test('a hook that needs CI gets FST_IAMPORT_MISSING_IDENTITY_KEY instead of an empty key', async (t) => {
  let looked = 0
  const { fake, verify } = await startApp(t, { findDuplicate: () => { looked++; return false } })
  const res = await verify(seed(fake, { pg_provider: 'inicis_unified', unique_key: '', unique_in_site: null }).imp_uid)
  t.equal(res.status, 422)
  t.equal(res.body.code, 'FST_IAMPORT_MISSING_IDENTITY_KEY')
  t.equal(looked, 0, 'findDuplicate was never called with an empty key')

  const { fake: fake2, verify: verify2 } = await startApp(t, { requireIdentityKey: 'di' })
  t.equal((await verify2(seed(fake2, { unique_in_site: null }).imp_uid)).body.code, 'FST_IAMPORT_MISSING_IDENTITY_KEY')
})

t.test('a throwing hook: its own 4xx status is kept, anything else is a 500 without personal data and releases the imp_uid', async (t) => {
  let mode = 'throw'
  const { fake, verify } = await startApp(t, {
    onVerified: (identity) => {
      if (mode === 'throw') throw new Error(`database down while saving ${identity.name}`)
      if (mode === 'teapot') throw Object.assign(new Error('custom refusal'), { statusCode: 418, code: 'APP_TEAPOT' })
      if (mode === 'unavailable') throw Object.assign(new Error('maintenance'), { statusCode: 503 })
      return undefined
    }
  })
  const record = seed(fake, { name: '이서준' })
  const res = await verify(record.imp_uid)
  t.equal(res.status, 500)
  t.same(res.body, { statusCode: 500, code: 'FST_IAMPORT_HOOK_FAILED', error: 'Internal Server Error', message: 'A verification hook failed' })
  mode = 'unavailable'
  t.equal((await verify(record.imp_uid)).status, 503, 'a 5xx from the hook keeps its status and also releases')
  mode = 'ok'
  const retry = await verify(record.imp_uid)
  t.equal(retry.status, 200, 'the imp_uid was released for a retry')
  t.same(retry.body, { verified: true }, 'onVerified returning nothing gives the default body')
  mode = 'teapot'
  const teapot = await verify(seed(fake).imp_uid)
  t.equal(teapot.status, 418)
  t.equal(teapot.body.code, 'APP_TEAPOT')
})

t.test('a failing store gives 503 and never lets a verification through', async (t) => {
  const broken: VerificationStore = {
    issue: async () => { throw new Error('ECONNREFUSED') },
    consume: async () => { throw new Error('ECONNREFUSED') },
    release: async () => { throw new Error('ECONNREFUSED') }
  }
  const { fake, verify, post } = await startApp(t, { store: broken, issuedIds: { required: true } })
  const res = await verify(seed(fake).imp_uid)
  t.equal(res.status, 503)
  t.equal(res.body.code, 'FST_IAMPORT_STORE_UNAVAILABLE')
  const prepared = await post('/certifications/prepare', {})
  t.equal(prepared.status, 503)

  let consumed = 0
  const releaseFails: VerificationStore = {
    issue: async () => {},
    consume: async () => { consumed++; return 'consumed' },
    release: async () => { throw new Error('ECONNREFUSED') }
  }
  const { fake: fake2, verify: verify2 } = await startApp(t, { store: releaseFails, onVerified: () => { throw new Error('boom') } })
  const failed = await verify2(seed(fake2).imp_uid)
  t.equal(failed.status, 500, 'a failed release does not hide the hook failure')
  t.equal(consumed, 1)
})

t.test('issued merchant_uids: accepted once for the same subject, refused otherwise', async (t) => {
  const { fake, verify, post } = await startApp(t, {
    issuedIds: { required: true, ttlSeconds: 1, subject: (request) => String(request.headers['x-session'] ?? 'none') }
  })
  const session = { 'x-session': 'alice' }
  const prepare = async (headers: Record<string, string>): Promise<string> => {
    const res = await post('/certifications/prepare', {}, 'application/json', headers)
    t.equal(res.status, 200)
    t.match(res.body.merchantUid, /^mid[0-9a-f]{32}$/)
    return res.body.merchantUid
  }
  const mine = await prepare(session)
  t.equal((await verify(seed(fake, { merchant_uid: mine }).imp_uid, session)).status, 200)
  const reused = await verify(seed(fake, { merchant_uid: mine }).imp_uid, session)
  t.equal(reused.body.code, 'FST_IAMPORT_MERCHANT_MISMATCH', 'a used merchant_uid is refused')

  const expect = async (merchantUid: string | null | undefined, headers: Record<string, string>): Promise<void> => {
    const res = await verify(seed(fake, { merchant_uid: merchantUid }).imp_uid, headers)
    t.equal(res.status, 422)
    t.equal(res.body.code, 'FST_IAMPORT_MERCHANT_MISMATCH')
  }
  await expect('mid_never_issued', session)
  await expect(null, session)
  await expect(undefined, session)
  await expect(await prepare(session), { 'x-session': 'mallory' })
  const late = await prepare(session)
  await sleep(1100)
  await expect(late, session)
})

t.test('response schemas are visible to @fastify/swagger, and a prefix moves the route', async (t) => {
  const fake = await createFakeIamport()
  t.teardown(() => fake.close())
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(fastifySwagger, { openapi: { info: { title: 't', version: '1' } } })
  await app.register(async (api) => {
    await api.register(fastifyIamport, { apiKey: fake.apiKey, apiSecret: fake.apiSecret, baseUrl: fake.url, certifications: { schema: { tags: ['identity'] }, issuedIds: { required: true } } })
  }, { prefix: '/api' })
  await app.ready()
  const spec = app.swagger() as { paths: Record<string, { post: { tags: string[], responses: Record<string, unknown> } }> }
  const route = spec.paths['/api/certifications']!.post
  t.same(route.tags, ['identity'])
  t.same(Object.keys(route.responses).sort(), ['200', '400', '403', '404', '409', '413', '415', '422', '500', '502', '503', '504'])
  t.ok(spec.paths['/api/certifications/prepare'])
})

t.test('the subject hook: a throw is FST_IAMPORT_HOOK_FAILED without its message, no subject binds nothing', async (t) => {
  let mode = 'ok'
  const { fake, verify, post } = await startApp(t, {
    issuedIds: {
      required: true,
      subject: () => {
        if (mode === 'throw') throw new Error('session store down for 홍길동')
        return mode === 'none' ? '' : 'alice'
      }
    }
  })
  const issued = (await post('/certifications/prepare', {})).body.merchantUid
  mode = 'throw'
  for (const res of [await post('/certifications/prepare', {}), await verify(seed(fake, { merchant_uid: issued }).imp_uid)]) {
    t.equal(res.status, 500)
    t.same(res.body, { statusCode: 500, code: 'FST_IAMPORT_HOOK_FAILED', error: 'Internal Server Error', message: 'A verification hook failed' })
  }
  mode = 'none'
  t.equal((await post('/certifications/prepare', {})).body.code, 'FST_IAMPORT_HOOK_FAILED', 'nothing to bind a new id to')
  const unbound = await verify(seed(fake, { merchant_uid: issued }).imp_uid)
  t.equal(unbound.status, 422, 'a request without a subject matches no issued id')
  t.equal(unbound.body.code, 'FST_IAMPORT_MERCHANT_MISMATCH')
  mode = 'ok'
  t.equal((await verify(seed(fake, { merchant_uid: issued }).imp_uid)).status, 200, 'the rightful subject still can')
})

t.test('an issued merchant_uid is bound to the route that issued it, even on a shared store', async (t) => {
  const fake = await createFakeIamport()
  t.teardown(() => fake.close())
  const store = new MemoryStore()
  const issuedIds = { required: true as const, subject: () => 'alice' }
  const signup = await startApp(t, { url: '/signup', store, issuedIds }, {}, fake)
  const recovery = await startApp(t, { url: '/recover', store, issuedIds }, {}, fake)
  const issued = (await signup.post('/signup/prepare', {})).body.merchantUid
  const elsewhere = await recovery.post('/recover', { imp_uid: seed(fake, { merchant_uid: issued }).imp_uid })
  t.equal(elsewhere.status, 422)
  t.equal(elsewhere.body.code, 'FST_IAMPORT_MERCHANT_MISMATCH')
  t.equal((await signup.post('/signup', { imp_uid: seed(fake, { merchant_uid: issued }).imp_uid })).status, 200)
})

t.test('the plugin-level impUidPattern is the body default; a g flag does not make checks alternate', async (t) => {
  const { fake, verify } = await startApp(t, undefined, { impUidPattern: /^imp_[0-9]{12}$/g })
  const res = await verify('imp_123456')
  t.equal(res.status, 400, 'refused by the body schema, before any upstream call')
  t.equal(fake.calls.total, 0)
  for (let i = 0; i < 4; i++) t.equal((await verify(seed(fake).imp_uid)).status, 200)
})

t.test('a store that does not answer fails closed with 503 within its deadline', async (t) => {
  const hung: VerificationStore = {
    issue: () => new Promise(() => {}),
    consume: () => new Promise(() => {}),
    release: () => new Promise(() => {})
  }
  const { fake, verify } = await startApp(t, { store: hung })
  const started = performance.now()
  const res = await verify(seed(fake).imp_uid)
  t.equal(res.status, 503)
  t.equal(res.body.code, 'FST_IAMPORT_STORE_UNAVAILABLE')
  t.ok(performance.now() - started < 3000, 'answered within the store deadline')
})

t.test('a full MemoryStore refuses with 503 rather than forget a consumed imp_uid', async (t) => {
  const { fake, verify } = await startApp(t, { store: new MemoryStore({ maxEntries: 1 }) })
  t.equal((await verify(seed(fake).imp_uid)).status, 200)
  const full = await verify(seed(fake).imp_uid)
  t.equal(full.status, 503)
  t.equal(full.body.code, 'FST_IAMPORT_STORE_UNAVAILABLE')
})

// Runs last: every log line this file's apps wrote, checked for every sensitive value.
t.test('no log line carries personal data, the secret or a token', async (t) => {
  t.ok(allLogLines.length > 50, `${allLogLines.length} log lines captured`)
  t.ok(sensitiveValues.size > 20, `${sensitiveValues.size} sensitive values checked`)
  const joined = allLogLines.join('\n')
  for (const value of sensitiveValues) {
    if (joined.includes(value)) t.fail(`a log line contains a sensitive value of length ${value.length}`)
  }
  t.pass('checked')
})
