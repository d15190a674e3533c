// The V1-only behaviour of the route, and what the route-versions table (run for V1 and V2 alike)
// does not cover: the shared table owns the happy path, bad bodies, the built-in checks, upstream
// failures, replay, age, missing keys, throwing hooks and issued ids.
import t from 'tap'
import { Type } from '@sinclair/typebox'
import Fastify from 'fastify'
import fastifySwagger from '@fastify/swagger'
import fastifyIamport from '../index.js'
import type { Identity } from '../lib/identity.js'
import { createFakeIamport } from '../lib/testing/index.js'
import type { VerificationStore } from '../lib/stores/store.js'
import { MemoryStore } from '../lib/stores/memory.js'
import { seed, startApp } from './helpers/app.js'
import { assertNoSensitiveLogLines } from './helpers/suite-checks.js'

t.test('V1: a verification costs one token request and one certification fetch', async (t) => {
  const { fake, verify } = await startApp(t)
  t.equal((await verify(seed(fake).imp_uid)).status, 200)
  t.equal(fake.calls.getToken, 1)
  t.equal(fake.calls.getCertification, 1)
})

t.test('V1: only `certified: true` is a completed certification; no certified_at is stale', async (t) => {
  const { fake, verify } = await startApp(t)
  const expect = async (impUid: string, status: number, code: string): Promise<void> => {
    const res = await verify(impUid)
    t.equal(res.status, status, code)
    t.equal(res.body.code, code)
  }
  // `null` and an absent field are not `true`.
  await expect(seed(fake, { certified: null }).imp_uid, 422, 'FST_IAMPORT_NOT_CERTIFIED')
  await expect(seed(fake, { certified: undefined }).imp_uid, 422, 'FST_IAMPORT_NOT_CERTIFIED')
  // (V2's schema requires verifiedAt: a VERIFIED answer without it is an upstream failure.)
  await expect(seed(fake, { certified_at: undefined }).imp_uid, 422, 'FST_IAMPORT_STALE_CERTIFICATION')
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

t.test('a failing store gives 503 and never lets a verification through', async (t) => {
  const broken: VerificationStore = {
    issue: async () => { throw new Error('ECONNREFUSED') },
    consume: async () => { throw new Error('ECONNREFUSED') },
    release: async () => { throw new Error('ECONNREFUSED') }
  }
  const { fake, verify, post } = await startApp(t, { store: broken, issuedIds: { required: true } })
  const prepared = await post('/certifications/prepare', {})
  t.equal(prepared.status, 503)
  // The browser binding was set before the store failed, so the verification reaches the store.
  const res = await verify(seed(fake).imp_uid)
  t.equal(res.status, 503)
  t.equal(res.body.code, 'FST_IAMPORT_STORE_UNAVAILABLE')

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

t.test('V1 issued merchant_uids: their format, and a used, null or absent one is refused', async (t) => {
  const { fake, verify, post } = await startApp(t, {
    issuedIds: { required: true, subject: (request) => String(request.headers['x-session'] ?? 'none') }
  })
  const session = { 'x-session': 'alice' }
  const prepared = await post('/certifications/prepare', {}, 'application/json', session)
  t.equal(prepared.status, 200)
  t.match(prepared.body.merchantUid, /^mid[0-9a-f]{32}$/)
  const mine: string = prepared.body.merchantUid
  t.equal((await verify(seed(fake, { merchant_uid: mine }).imp_uid, session)).status, 200)

  const expect = async (merchantUid: string | null | undefined, why: string): Promise<void> => {
    const res = await verify(seed(fake, { merchant_uid: merchantUid }).imp_uid, session)
    t.equal(res.status, 422, why)
    t.equal(res.body.code, 'FST_IAMPORT_MERCHANT_MISMATCH')
  }
  await expect(mine, 'a used merchant_uid, on another imp_uid')
  await expect(null, 'a null merchant_uid')
  await expect(undefined, 'no merchant_uid')
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
  const { fake, verify } = await startApp(t, { store: new MemoryStore({ maxConsumed: 1 }) })
  t.equal((await verify(seed(fake).imp_uid)).status, 200)
  const full = await verify(seed(fake).imp_uid)
  t.equal(full.status, 503)
  t.equal(full.body.code, 'FST_IAMPORT_STORE_UNAVAILABLE')
})

t.test('a full MemoryStore refuses with 503 with issued ids too (the store\'s asynchronous path)', async (t) => {
  const issuedIds = { required: true as const, subject: () => 'alice' }
  const { fake, post } = await startApp(t, { store: new MemoryStore({ maxConsumed: 1 }), issuedIds })
  const verifyIssued = async () => {
    const issued = (await post('/certifications/prepare', {})).body.merchantUid
    return await post('/certifications', { imp_uid: seed(fake, { merchant_uid: issued }).imp_uid })
  }
  t.equal((await verifyIssued()).status, 200)
  const full = await verifyIssued()
  t.equal(full.status, 503)
  t.equal(full.body.code, 'FST_IAMPORT_STORE_UNAVAILABLE')
})

// Runs last: every log line this file's apps wrote, checked for every sensitive value.
t.test('no log line carries personal data, the secret or a token', async (t) => {
  assertNoSensitiveLogLines(t, { lines: 50, values: 20 })
})
