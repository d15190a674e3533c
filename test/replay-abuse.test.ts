// Replay protection tried as an attacker would, over real HTTP (issue 12): issued ids bound to the
// browser that asked for them, one ledger per process, a prepare route that reads no body, and a
// consumed ledger that outlives a stepped clock.
import t, { type Test } from 'tap'
import type { AddressInfo } from 'node:net'
import Fastify from 'fastify'
import { Pool } from 'undici'
import fastifyIamport, { MemoryStore, type FastifyIamportOptions } from '../index.js'
import { createFakeIamport, createFakePortOneV2, type FakeIamport } from '../lib/testing/index.js'
import { listen, seed } from './helpers/app.js'

interface Answer { status: number, body: any, cookie: string | undefined }

/** A browser: remembers the cookies the app sets, and sends them back. */
function browser (base: string): { post: (path: string, body?: unknown) => Promise<Answer>, cookies: Map<string, string> } {
  const cookies = new Map<string, string>()
  return {
    cookies,
    async post (path, body = {}) {
      const res = await fetch(base + path, {
        method: 'POST',
        headers: { 'content-type': 'application/json', cookie: [...cookies].map(([k, v]) => `${k}=${v}`).join('; ') },
        body: JSON.stringify(body)
      })
      const cookie = res.headers.getSetCookie()[0]
      if (cookie !== undefined) {
        const [pair] = cookie.split(';')
        const [name, value] = pair!.split('=')
        cookies.set(name!, value!)
      }
      const text = await res.text()
      return { status: res.status, body: text === '' ? undefined : JSON.parse(text), cookie }
    }
  }
}

async function startV1 (t: Test, register: (fake: FakeIamport) => FastifyIamportOptions | FastifyIamportOptions[]): Promise<{ fake: FakeIamport, base: string }> {
  const fake = await createFakeIamport()
  t.teardown(() => fake.close())
  const { app } = await listen(t, async (app) => {
    for (const options of [register(fake)].flat()) {
      // Each registration in its own context: fastify.iamport is decorated once per context.
      await app.register(async (child) => { await child.register(fastifyIamport, options) })
    }
  })
  return { fake, base: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}` }
}

t.test('without a host subject, an issued id is bound to the browser that prepared it', async (t) => {
  const { fake, base } = await startV1(t, (fake) => ({
    apiKey: fake.apiKey, apiSecret: fake.apiSecret, baseUrl: fake.url, certifications: { issuedIds: { required: true } }
  }))
  const alice = browser(base)
  const mallory = browser(base)
  const prepared = await alice.post('/certifications/prepare')
  t.equal(prepared.status, 200)
  t.match(prepared.cookie, /^idv_binding=[0-9a-f]{32}; Path=\/certifications; Max-Age=1800; HttpOnly; SameSite=Lax$/)
  const { imp_uid: impUid } = seed(fake, { merchant_uid: prepared.body.merchantUid })

  const stolen = await mallory.post('/certifications', { imp_uid: impUid })
  t.equal(stolen.status, 422, 'another browser cannot consume it')
  t.equal(stolen.body.code, 'FST_IAMPORT_MERCHANT_MISMATCH')
  await mallory.post('/certifications/prepare')
  t.equal((await mallory.post('/certifications', { imp_uid: impUid })).status, 422, 'not with its own binding either')

  t.equal((await alice.post('/certifications', { imp_uid: impUid })).status, 200, 'the browser that prepared it can')
  const again = await alice.post('/certifications/prepare')
  t.equal(again.cookie?.split(';')[0], prepared.cookie?.split(';')[0], 'a browser keeps its binding across prepares')
})

t.test('V2 binds to the browser by default too, and the cookie is Secure behind a trusted https proxy', async (t) => {
  const fake = await createFakePortOneV2()
  t.teardown(() => fake.close())
  const { app } = await listen(t, async (app) => {
    await app.register(fastifyIamport, { apiVersion: 'v2', apiSecret: fake.apiSecret, baseUrl: fake.url })
  })
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
  const alice = browser(base)
  const { identityVerificationId: id } = (await alice.post('/certifications/prepare')).body
  fake.seedIdentityVerification({ id })
  t.equal((await browser(base).post('/certifications', { identityVerificationId: id })).status, 422)
  t.equal((await alice.post('/certifications', { identityVerificationId: id })).status, 200)
  t.same([...alice.cookies.keys()], ['idv_binding'])

  const behindProxy = Fastify({ trustProxy: true })
  t.teardown(() => behindProxy.close())
  await behindProxy.register(fastifyIamport, { apiVersion: 'v2', apiSecret: fake.apiSecret, baseUrl: fake.url })
  const res = await behindProxy.inject({ method: 'POST', url: '/certifications/prepare', headers: { 'x-forwarded-proto': 'https' } })
  t.match(res.headers['set-cookie'], /; Secure$/)
  const plain = await behindProxy.inject({ method: 'POST', url: '/certifications/prepare' })
  t.match(plain.headers['set-cookie'], /SameSite=Lax$/, 'plain http: no Secure')
})

t.test('one ledger per process: a verification consumed at /signup is a replay at /recover', async (t) => {
  const { fake, base } = await startV1(t, (fake) => ['/signup', '/recover'].map((url) => ({
    apiKey: fake.apiKey, apiSecret: fake.apiSecret, baseUrl: fake.url, certifications: url
  })))
  const { imp_uid: impUid } = seed(fake)
  const person = browser(base)
  t.equal((await person.post('/signup', { imp_uid: impUid })).status, 200)
  const replay = await person.post('/recover', { imp_uid: impUid })
  t.equal(replay.status, 409)
  t.equal(replay.body.code, 'FST_IAMPORT_REPLAYED')
})

t.test('prepare reads no body: 500 KB is 413 before parsing, and nothing is issued', async (t) => {
  const { base } = await startV1(t, (fake) => ({
    apiKey: fake.apiKey, apiSecret: fake.apiSecret, baseUrl: fake.url, certifications: { issuedIds: { required: true } }
  }))
  const big = '{"x":"' + 'a'.repeat(500_000) + '"}'
  const res = await fetch(base + '/certifications/prepare', { method: 'POST', headers: { 'content-type': 'application/json' }, body: big })
  t.equal(res.status, 413)
  t.equal(((await res.json()) as { code: string }).code, 'FST_ERR_CTP_BODY_TOO_LARGE')
  t.equal(res.headers.get('set-cookie'), null, 'no binding was set')
  t.equal((await browser(base).post('/certifications/prepare', {})).status, 200, 'an empty object is fine')
})

t.test('a replay just before the end of the freshness window is 409, with one clock for route and store', async (t) => {
  let clock = Date.now()
  const store = new MemoryStore({ now: () => clock })
  const { fake, base } = await startV1(t, (fake) => ({
    apiKey: fake.apiKey, apiSecret: fake.apiSecret, baseUrl: fake.url, certifications: { store, now: () => new Date(clock) }
  }))
  const certifiedAt = Math.floor(clock / 1000)
  const { imp_uid: impUid } = seed(fake, { certified_at: certifiedAt })
  const person = browser(base)
  t.equal((await person.post('/certifications', { imp_uid: impUid })).status, 200)
  // 600 s of freshness plus 60 s of skew: one second before the verification turns stale.
  clock = (certifiedAt + 659) * 1000
  const late = await person.post('/certifications', { imp_uid: impUid })
  t.equal(late.status, 409, 'still remembered at the end of the window')
  // A clock stepped back after hours: the ledger (6 h) still holds it.
  clock = (certifiedAt + 5 * 3600) * 1000
  t.equal((await store.consume({ verificationId: impUid, ttlMs: 1000 })), 'replayed', 'remembered for hours')
})

/** Sends `count` prepares over `connections` keep-alive sockets; `cookie` makes them one browser. */
async function prepareSpam (base: string, count: number, cookie?: string): Promise<Record<number, number>> {
  const pool = new Pool(base, { connections: 32 })
  const statuses: Record<number, number> = {}
  let sent = 0
  await Promise.all(Array.from({ length: 32 }, async () => {
    while (sent++ < count) {
      const res = await pool.request({ path: '/certifications/prepare', method: 'POST', headers: cookie === undefined ? {} : { cookie } })
      await res.body.dump()
      statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1
    }
  }))
  await pool.close()
  return statuses
}

t.test('one-subject spam: 20 000 prepares from one browser cannot evict an id another user holds', async (t) => {
  const store = new MemoryStore({ maxIssued: 5000 })
  const { fake, base } = await startV1(t, (fake) => ({
    apiKey: fake.apiKey, apiSecret: fake.apiSecret, baseUrl: fake.url, certifications: { store, issuedIds: { required: true } }
  }))
  const user = browser(base)
  const { merchantUid } = (await user.post('/certifications/prepare')).body
  const spammer = browser(base)
  await spammer.post('/certifications/prepare')
  const cookie = `idv_binding=${spammer.cookies.get('idv_binding')!}`
  t.same(await prepareSpam(base, 20_000, cookie), { 200: 20_000 })
  t.ok(store.size.issued <= 4, `the spammer holds at most its 3 outstanding ids (${store.size.issued} issued in all)`)
  const { imp_uid: impUid } = seed(fake, { merchant_uid: merchantUid })
  t.equal((await user.post('/certifications', { imp_uid: impUid })).status, 200, 'the user who prepared first still verifies')
})

t.test('rotating-subject spam: 50 000 prepares evict only issued ids, never a consumed one, within the bound', async (t) => {
  const store = new MemoryStore({ maxIssued: 5000 })
  const { fake, base } = await startV1(t, (fake) => ({
    apiKey: fake.apiKey, apiSecret: fake.apiSecret, baseUrl: fake.url, certifications: { store, issuedIds: { required: true } }
  }))
  const consumed: Array<{ person: ReturnType<typeof browser>, impUid: string }> = []
  for (let i = 0; i < 20; i++) {
    const person = browser(base)
    const { merchantUid } = (await person.post('/certifications/prepare')).body
    const { imp_uid: impUid } = seed(fake, { merchant_uid: merchantUid })
    t.equal((await person.post('/certifications', { imp_uid: impUid })).status, 200)
    consumed.push({ person, impUid })
  }
  // No cookie: every prepare is a new browser, so only the global cap holds them.
  t.same(await prepareSpam(base, 50_000), { 200: 50_000 })
  t.same(store.size, { issued: 5000, consumed: 20, subjects: 5000 }, 'issued ids at their cap (about 1.8 MB at 360 B each); every consumed one kept')
  for (const { person, impUid } of consumed) {
    const replay = await person.post('/certifications', { imp_uid: impUid })
    t.equal(replay.status, 409, 'a consumed verification stays consumed')
  }
})
