import t, { type Test } from 'tap'
import { Redis } from 'ioredis'
import { createClient } from 'redis'
import { MemoryStore, RedisStore, type RedisStoreOptions } from '../index.js'
import type { CertificationsOptions } from '../lib/options/route.js'
import { createFakeIamport } from '../lib/testing/index.js'
import { seed, startApp, type TestApp } from './helpers/app.js'
import { startRedis, type RedisServer } from './helpers/redis-server.js'

const session = (id: string): Record<string, string> => ({ 'x-session': id })
const subject = { required: true as const, ttlSeconds: 2, subject: (request: { headers: Record<string, unknown> }) => String(request.headers['x-session']) }

interface TwoInstances {
  a: TestApp
  b: TestApp
  redis: RedisServer
  /** A third connection, for looking at what the stores wrote. */
  inspect: Redis
  /** The stores' key prefix. */
  prefix: string
  stopRedis: () => Promise<void>
}

/**
 * Two app instances behind one i'mport, sharing one Redis through their own clients: ioredis for
 * one, node-redis for the other. Both fail fast while Redis is away (no offline queue) and
 * reconnect on their own.
 */
async function twoInstances (t: Test, options: CertificationsOptions = {}, redisArgs: string[] = [], storeOptions: Partial<RedisStoreOptions> = {}): Promise<TwoInstances> {
  const redis = await startRedis({ args: redisArgs })
  const fake = await createFakeIamport()
  const io = new Redis(redis.port, '127.0.0.1', { maxRetriesPerRequest: 0, enableOfflineQueue: false, lazyConnect: true })
  const node = createClient({ url: redis.url, disableOfflineQueue: true })
  const inspect = new Redis(redis.port, '127.0.0.1', { lazyConnect: true })
  for (const client of [io, node, inspect]) client.on('error', () => {}) // a stopped server is part of the test
  await Promise.all([io.connect(), node.connect(), inspect.connect()])
  t.teardown(async () => {
    io.disconnect()
    inspect.disconnect()
    node.destroy()
    await redis.stop()
    await fake.close()
  })
  const prefix = `test:${Math.random().toString(36).slice(2)}:`
  const a = await startApp(t, { ...options, store: new RedisStore({ ...storeOptions, client: io, prefix }) }, {}, fake)
  const b = await startApp(t, { ...options, store: new RedisStore({ ...storeOptions, client: node, prefix }) }, {}, fake)
  return { a, b, redis, inspect, prefix, stopRedis: redis.stop }
}

const prepare = async (app: TestApp, id: string): Promise<{ status: number, merchantUid: string }> => {
  const res = await app.post('/certifications/prepare', {}, 'application/json', session(id))
  return { status: res.status, merchantUid: res.body.merchantUid }
}

/** Runs `count` calls of `call`, `concurrency` at a time. */
async function inBatches<T> (count: number, concurrency: number, call: (i: number) => Promise<T>): Promise<T[]> {
  const results: T[] = []
  for (let i = 0; i < count; i += concurrency) {
    results.push(...await Promise.all(Array.from({ length: Math.min(concurrency, count - i) }, (_, j) => call(i + j))))
  }
  return results
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
  const prepareId = async (app: TestApp, id: string): Promise<string> => (await prepare(app, id)).merchantUid
  const expectMismatch = async (res: { status: number, body: { code: string } }, why: string): Promise<void> => {
    t.equal(res.status, 422, why)
    t.equal(res.body.code, 'FST_IAMPORT_MERCHANT_MISMATCH', why)
  }

  const issued = await prepareId(a, 'alice')
  const first = await b.verify(seed(b.fake, { merchant_uid: issued }).imp_uid, session('alice'))
  t.equal(first.status, 200, 'accepted on the other instance')
  await expectMismatch(await a.verify(seed(a.fake, { merchant_uid: issued }).imp_uid, session('alice')), 'used once already')
  await expectMismatch(await b.verify(seed(b.fake, { merchant_uid: await prepareId(a, 'alice') }).imp_uid, session('bob')), 'another subject')
  await expectMismatch(await b.verify(seed(b.fake, { merchant_uid: 'mid0000never0issued' }).imp_uid, session('alice')), 'never issued')
  const late = await prepareId(a, 'alice')
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

t.test('prepare spam against a noeviction Redis with a small maxmemory', async (t) => {
  // 4 MB: an empty server takes about 1 MB; 1 000 issued ids about 0.6 MB more (600 B each, key,
  // subject set and index entry). Without the caps, the 7 000 prepares below would need over
  // 4 MB: the server would refuse writes (OOM), and every verification would be 503.
  const maxIssued = Number(process.env.SPAM_MAX_ISSUED ?? 1_000)
  const { a, b, inspect, prefix } = await twoInstances(t, { issuedIds: { ...subject, ttlSeconds: 600 } },
    ['--maxmemory', '4mb', '--maxmemory-policy', 'noeviction'], { maxIssued })
  const usedMemory = async (): Promise<number> => Number(/used_memory:(\d+)/.exec(await inspect.info('memory'))![1])
  const maxmemory = 4 * 1024 * 1024

  const zoe = await prepare(a, 'zoe')
  const consumedBefore = seed(a.fake, { merchant_uid: zoe.merchantUid })
  t.equal((await a.verify(consumedBefore.imp_uid, session('zoe'))).status, 200)
  const alice = await prepare(a, 'alice')
  t.equal(alice.status, 200)

  const fromOne = await inBatches(3_000, 50, (i) => prepare(i % 2 === 0 ? a : b, 'mallory'))
  t.ok(fromOne.every((res) => res.status === 200), '3 000 prepares from one subject: all served')
  const mallorys = await inspect.keys(`${prefix}subject:*mallory`)
  t.equal(mallorys.length, 1)
  t.equal(await inspect.zcard(mallorys[0]!), 3, 'she holds three outstanding ids, not 3 000')

  const aliceFirst = await b.verify(seed(b.fake, { merchant_uid: alice.merchantUid }).imp_uid, session('alice'))
  t.equal(aliceFirst.status, 200, 'a user who prepared before one-subject spam still verifies')

  const bob = await prepare(a, 'bob')
  const rotating = await inBatches(maxIssued - 1, 50, (i) => prepare(i % 2 === 0 ? a : b, `spammer-${i}`))
  t.ok(rotating.every((res) => res.status === 200), `${maxIssued - 1} prepares from rotating subjects: all served`)
  t.equal((await a.verify(seed(a.fake, { merchant_uid: bob.merchantUid }).imp_uid, session('bob'))).status, 200,
    'an id survives fewer than maxIssued newer ids')

  const carol = await prepare(a, 'carol')
  const more = await inBatches(3_000, 50, (i) => prepare(i % 2 === 0 ? a : b, `rotating-${i}`))
  t.ok(more.every((res) => res.status === 200), '3 000 more from rotating subjects: all served, none refused for memory')
  const memory = await usedMemory()
  t.ok(memory < maxmemory * 0.75, `used_memory ${memory} B stays well under maxmemory ${maxmemory} B`)

  const carolLate = await b.verify(seed(b.fake, { merchant_uid: carol.merchantUid }).imp_uid, session('carol'))
  t.equal(carolLate.status, 422, 'the documented bound: an id gives way after maxIssued newer ones (closed, never open)')
  t.equal(carolLate.body.code, 'FST_IAMPORT_MERCHANT_MISMATCH')

  const fresh = await prepare(b, 'dave')
  t.equal((await a.verify(seed(a.fake, { merchant_uid: fresh.merchantUid }).imp_uid, session('dave'))).status, 200,
    'verification goes on: the server has room for consumed verifications')
  const replay = await b.verify(consumedBefore.imp_uid, session('zoe'))
  t.equal(replay.status, 409, 'and no consumed verification was lost')
  t.equal(replay.body.code, 'FST_IAMPORT_REPLAYED')
  t.equal((await b.verify(seed(b.fake, { merchant_uid: alice.merchantUid }).imp_uid, session('alice'))).status, 422,
    "alice's id stays used")
})

t.test('a consumed key lives as long as the ledger, measured by PTTL', async (t) => {
  const { a, inspect } = await twoInstances(t)
  const record = seed(a.fake)
  t.equal((await a.verify(record.imp_uid)).status, 200)
  const keys = await inspect.keys(`*used:${record.imp_uid}`)
  t.equal(keys.length, 1)
  const pttl = await inspect.pttl(keys[0]!)
  t.comment(`consumed key PTTL: ${pttl} ms`)
  // The route's ledger is hours long (far past the 600 s freshness window): a shrunken ttl fails here.
  t.ok(pttl > 3 * 3600 * 1000, 'hours, not minutes')
})

for (const persistence of ['none', 'appendonly'] as const) {
  t.test(`a Redis restart mid-run gives only 503 until it is back, then 200 (persistence: ${persistence})`, async (t) => {
    const args = persistence === 'none' ? [] : ['--appendonly', 'yes', '--appendfsync', 'always']
    const { a, b, redis } = await twoInstances(t, {}, args)
    const before = seed(a.fake)
    t.equal((await a.verify(before.imp_uid)).status, 200, 'works while Redis is up')

    let down: Array<{ status: number, body: { code: string } }> = []
    let killedAt = 0
    await redis.restart(async () => {
      killedAt = Date.now()
      down = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? a : b).verify(seed(a.fake).imp_uid)))
      // Down for a while, so the clients' reconnect back-off grows as in a real outage.
      await new Promise((resolve) => setTimeout(resolve, Number(process.env.REDIS_DOWN_MS ?? 1_000)))
    })
    t.same(down.map((res) => res.status), Array(10).fill(503), 'while down: only 503')
    t.ok(down.every((res) => res.body.code === 'FST_IAMPORT_STORE_UNAVAILABLE'))

    // Both clients at once, timed from the moment the new server answers PING.
    const back = Date.now()
    await Promise.all(([['ioredis', a], ['node-redis', b]] as const).map(async ([name, app]) => {
      const statuses = new Set<number>()
      let res = await app.verify(seed(app.fake).imp_uid)
      while (res.status !== 200 && Date.now() - back < 10_000) {
        statuses.add(res.status)
        await new Promise((resolve) => setTimeout(resolve, 10))
        res = await app.verify(seed(app.fake).imp_uid)
      }
      t.equal(res.status, 200, `${name}: 200 again`)
      t.ok([...statuses].every((status) => status === 503), `${name}: nothing but 503 before that`)
      t.comment(`${name}: 200 again ${Date.now() - back} ms after the restarted server answered PING, ${Date.now() - killedAt} ms after the old one was killed`)
    }))
    const replay = await b.verify(before.imp_uid)
    if (persistence === 'none') {
      t.equal(replay.status, 200, 'without persistence the restart forgot the ledger: the warning at ready says so')
    } else {
      t.equal(replay.status, 409, 'with AOF the ledger survived the restart')
    }
  })
}
