import t, { type Test } from 'tap'
import { Redis } from 'ioredis'
import { MemoryStore, RedisStore } from '../index.js'
import type { CertificationsOptions } from '../lib/options/route.js'
import { createFakeIamport } from '../lib/testing/index.js'
import { seed, startApp, type TestApp } from './helpers/app.js'
import { startRedis } from './helpers/redis-server.js'

const session = (id: string): Record<string, string> => ({ 'x-session': id })
const subject = { required: true as const, ttlSeconds: 2, subject: (request: { headers: Record<string, unknown> }) => String(request.headers['x-session']) }

/** Two app instances behind one i'mport, sharing one Redis through their own clients. */
async function twoInstances (t: Test, options: CertificationsOptions = {}): Promise<{ a: TestApp, b: TestApp, stopRedis: () => Promise<void> }> {
  const redis = await startRedis()
  const fake = await createFakeIamport()
  const clients = [0, 1].map(() => new Redis(redis.port, '127.0.0.1', { maxRetriesPerRequest: 0, enableOfflineQueue: false, lazyConnect: true }))
  for (const client of clients) client.on('error', () => {}) // a stopped server is part of the test
  await Promise.all(clients.map(async (client) => await client.connect()))
  t.teardown(async () => {
    clients.forEach((client) => client.disconnect())
    await redis.stop()
    await fake.close()
  })
  const prefix = `test:${Math.random().toString(36).slice(2)}:`
  const a = await startApp(t, { ...options, store: new RedisStore({ client: clients[0]!, prefix }) }, {}, fake)
  const b = await startApp(t, { ...options, store: new RedisStore({ client: clients[1]!, prefix }) }, {}, fake)
  return { a, b, stopRedis: redis.stop }
}

t.test('the same imp_uid posted 50 times concurrently over two instances gives one 200 and 49 replays', async (t) => {
  const { a, b } = await twoInstances(t)
  const record = seed(a.fake)
  const results = await Promise.all(Array.from({ length: 50 }, (_, i) => (i % 2 === 0 ? a : b).verify(record.imp_uid)))
  t.equal(results.filter((r) => r.status === 200).length, 1)
  t.equal(results.filter((r) => r.status === 409 && r.body.code === 'FST_IAMPORT_REPLAYED').length, 49)
})

t.test('the same concurrency holds on MemoryStore within one instance', async (t) => {
  const { fake, verify } = await startApp(t, { store: new MemoryStore() })
  const record = seed(fake)
  const results = await Promise.all(Array.from({ length: 50 }, () => verify(record.imp_uid)))
  t.equal(results.filter((r) => r.status === 200).length, 1)
  t.equal(results.filter((r) => r.body.code === 'FST_IAMPORT_REPLAYED').length, 49)
})

t.test('a merchant_uid prepared on one instance is accepted on the other once, and refused otherwise', async (t) => {
  const { a, b } = await twoInstances(t, { issuedIds: subject })
  const prepare = async (app: TestApp, id: string): Promise<string> => (await app.post('/certifications/prepare', {}, 'application/json', session(id))).body.merchantUid
  const expectMismatch = async (res: { status: number, body: { code: string } }, why: string): Promise<void> => {
    t.equal(res.status, 422, why)
    t.equal(res.body.code, 'FST_IAMPORT_MERCHANT_MISMATCH', why)
  }

  const issued = await prepare(a, 'alice')
  const first = await b.verify(seed(b.fake, { merchant_uid: issued }).imp_uid, session('alice'))
  t.equal(first.status, 200, 'accepted on the other instance')
  await expectMismatch(await a.verify(seed(a.fake, { merchant_uid: issued }).imp_uid, session('alice')), 'used once already')
  await expectMismatch(await b.verify(seed(b.fake, { merchant_uid: await prepare(a, 'alice') }).imp_uid, session('bob')), 'another subject')
  await expectMismatch(await b.verify(seed(b.fake, { merchant_uid: 'mid0000never0issued' }).imp_uid, session('alice')), 'never issued')
  const late = await prepare(a, 'alice')
  await new Promise((resolve) => setTimeout(resolve, 2100))
  await expectMismatch(await b.verify(seed(b.fake, { merchant_uid: late }).imp_uid, session('alice')), 'expired')
})

t.test('stopping Redis mid-run gives 503s and no 200', async (t) => {
  const { a, b, stopRedis } = await twoInstances(t)
  t.equal((await a.verify(seed(a.fake).imp_uid)).status, 200, 'works while Redis is up')
  await stopRedis()
  const results = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? a : b).verify(seed(a.fake).imp_uid)))
  t.same(results.map((r) => r.status), Array(10).fill(503))
  t.ok(results.every((r) => r.body.code === 'FST_IAMPORT_STORE_UNAVAILABLE'))
})
