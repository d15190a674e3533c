import t, { type Test } from 'tap'
import { once } from 'node:events'
import { createServer, type Socket } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { Redis } from 'ioredis'
import { createClient } from 'redis'
import fastifyIamport from '../index.js'
import { STORE_READY_TIMEOUT_MS } from '../lib/constants.js'
import { createFakeIamport } from '../lib/testing/index.js'
import { RedisStore, type RedisLikeClient, type StoreLogger } from '../lib/stores/index.js'
import { listen } from './helpers/app.js'
import { startRedis, type RedisServer } from './helpers/redis-server.js'

/** A logger that records its warnings. */
function recorder (): StoreLogger & { warnings: Array<{ obj: object, msg: string }> } {
  const warnings: Array<{ obj: object, msg: string }> = []
  return { warnings, warn: (obj, msg) => { warnings.push({ obj, msg }) } }
}

/** Client kinds the store supports, each connected to `server` and closed at teardown. */
const clientKinds: Array<{ name: string, connect (t: Test, server: RedisServer): Promise<RedisLikeClient> }> = [
  {
    name: 'ioredis',
    async connect (t, server) {
      const client = new Redis(server.url)
      t.teardown(() => client.disconnect())
      return client
    }
  },
  ...[2, 3].map((RESP) => ({
    // RESP3 answers CONFIG GET with a map rather than a flat array.
    name: `node-redis RESP${RESP}`,
    async connect (t: Test, server: RedisServer): Promise<RedisLikeClient> {
      const client = createClient({ url: server.url, RESP: RESP as 2 | 3 })
      await client.connect()
      t.teardown(() => client.destroy())
      return client
    }
  }))
]

/** A redis-server with these arguments, stopped at the end of the file. */
async function server (...args: string[]): Promise<RedisServer> {
  const started = await startRedis({ args })
  t.teardown(() => started.stop())
  return started
}

const [evicting, volatile, bare, aof, rdb, noConfig] = await Promise.all([
  server('--maxmemory', '8mb', '--maxmemory-policy', 'allkeys-lru'),
  server('--maxmemory', '8mb', '--maxmemory-policy', 'volatile-lru'),
  server('--maxmemory-policy', 'noeviction', '--save', '', '--appendonly', 'no'),
  server('--maxmemory-policy', 'noeviction', '--appendonly', 'yes'),
  server('--maxmemory-policy', 'noeviction', '--save', '60 1'),
  // What some managed Redis services do: CONFIG is not there.
  server('--rename-command', 'CONFIG', '')
])

for (const kind of clientKinds) {
  t.test(kind.name, async (t) => {
    t.test('refuses to serve on an evicting Redis, naming the policy and the remedies', async (t) => {
      for (const [target, policy] of [[evicting, 'allkeys-lru'], [volatile, 'volatile-lru']] as const) {
        const log = recorder()
        const store = new RedisStore({ client: await kind.connect(t, target) })
        await t.rejects(store.ready(log), {
          code: 'FST_IAMPORT_INVALID_OPTIONS',
          message: `Invalid fastify-iamport option: RedisStore refuses to serve: maxmemory-policy is ${policy}, which can ` +
            'evict consumed verifications and let a replay through; set maxmemory-policy noeviction, or pass ' +
            'checkConfig: false if CONFIG is unavailable and you have made sure of it'
        })
        t.same(log.warnings, [], 'no warning besides the refusal')
      }
    })

    t.test('on noeviction without persistence: serves, and warns once however often it is asked', async (t) => {
      const log = recorder()
      const store = new RedisStore({ client: await kind.connect(t, bare) })
      await Promise.all([store.ready(log), store.ready(log)])
      await store.ready(log)
      t.equal(log.warnings.length, 1)
      t.same(log.warnings[0]!.obj, { store: 'RedisStore' })
      t.match(log.warnings[0]!.msg, /appendonly no.*a restart forgets every consumed verification.*replay.*accepted.*appendonly yes/)
      const other = recorder()
      await new RedisStore({ client: await kind.connect(t, bare) }).ready(other)
      t.equal(other.warnings.length, 1, 'once per store, not once per process')
    })

    t.test('with AOF or RDB snapshots: serves without a warning', async (t) => {
      for (const target of [aof, rdb]) {
        const log = recorder()
        await new RedisStore({ client: await kind.connect(t, target) }).ready(log)
        t.same(log.warnings, [])
      }
    })

    t.test('without CONFIG: refuses, pointing at checkConfig: false, which then serves', async (t) => {
      const client = await kind.connect(t, noConfig)
      await t.rejects(new RedisStore({ client }).ready(recorder()), {
        code: 'FST_IAMPORT_INVALID_OPTIONS',
        message: /RedisStore could not check the Redis configuration: CONFIG GET \S+ failed \(ERR\)\. If CONFIG is unavailable \(some managed Redis\), make sure maxmemory-policy is noeviction and pass checkConfig: false/
      })
      const log = recorder()
      const store = new RedisStore({ client, checkConfig: false })
      await store.ready(log)
      t.same(log.warnings, [])
      t.equal(await store.consume({ verificationId: `imp_${kind.name}`, ttlMs: 60_000 }), 'consumed', 'and it works')
    })
  })
}

t.test('a Redis that is down at ready fails the check, and a later check tries again', async (t) => {
  const target = await startRedis({ args: ['--maxmemory-policy', 'noeviction', '--appendonly', 'yes'] })
  t.teardown(() => target.stop())
  const client = new Redis(target.url, { enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => 50 })
  client.on('error', () => {}) // the outage is the test
  t.teardown(() => client.disconnect())
  await once(client, 'ready')
  const store = new RedisStore({ client })
  await target.restart(async () => {
    await t.rejects(store.ready(recorder()), { code: 'FST_IAMPORT_INVALID_OPTIONS', message: /could not check the Redis configuration.*checkConfig: false/ })
  })
  while (client.status !== 'ready') await sleep(20) // it reconnects on its own
  await store.ready(recorder())
  t.pass('the second check went through')
})

t.test('a Redis that never answers fails the check within the deadline', async (t) => {
  const sockets = new Set<Socket>()
  const silent = createServer((socket) => { sockets.add(socket) }) // accepts, reads, never answers
  silent.listen(0, '127.0.0.1')
  await once(silent, 'listening')
  const { port } = silent.address() as { port: number }
  t.teardown(() => {
    for (const socket of sockets) socket.destroy()
    silent.close()
  })
  // No ready check: the client counts as connected once the socket is, and sends what it is given.
  const client = new Redis(port, '127.0.0.1', { enableReadyCheck: false, disableClientInfo: true, retryStrategy: () => null })
  client.on('error', () => {})
  t.teardown(() => client.disconnect())
  await once(client, 'ready')
  const started = Date.now()
  await t.rejects(new RedisStore({ client }).ready(recorder()), {
    code: 'FST_IAMPORT_INVALID_OPTIONS', message: new RegExp(`CONFIG GET did not answer within ${STORE_READY_TIMEOUT_MS} ms`)
  })
  const elapsed = Date.now() - started
  t.ok(elapsed >= STORE_READY_TIMEOUT_MS - 50 && elapsed < STORE_READY_TIMEOUT_MS + 1_000, `rejected after ${elapsed} ms`)
})

t.test('CONFIG GET replies it cannot read fail the check; odd policy names are not echoed', async (t) => {
  const answering = (answer: (name: string) => unknown): RedisLikeClient =>
    ({ sendCommand: async (args: string[]) => answer(args[2]!) })
  const settings: Record<string, string> = { 'maxmemory-policy': 'noeviction', appendonly: 'no', save: '' }
  const log = recorder()
  await new RedisStore({ client: answering((name) => new Map([[name, settings[name]]])) }).ready(log)
  t.equal(log.warnings.length, 1, 'a Map reply is read')
  for (const reply of [[], ['appendonly'], [settings, 'x'], 'noeviction', null, new Map()]) {
    await t.rejects(new RedisStore({ client: answering(() => reply) }).ready(recorder()),
      { code: 'FST_IAMPORT_INVALID_OPTIONS', message: /CONFIG GET gave no value for maxmemory-policy/ })
  }
  const shifted = answering((name) => ['x', name, name, 'noeviction'])
  await t.rejects(new RedisStore({ client: shifted }).ready(recorder()), /gave no value/, 'a name in a value position is no name')
  const odd = answering((name) => [name, name === 'maxmemory-policy' ? 'evict <everything>\n' : 'no'])
  await t.rejects(new RedisStore({ client: odd }).ready(recorder()), /maxmemory-policy is not recognized, which can evict/)
  const failing = { call: async () => { throw Object.assign(new Error('connect ECONNREFUSED 10.0.0.1:6379 secret'), { code: 'ECONNREFUSED' }) } }
  await t.rejects(new RedisStore({ client: failing }).ready(recorder()), { message: /CONFIG GET \S+ failed \(ECONNREFUSED\)\. If CONFIG/ })
  for (const thrown of [new Error('no code here'), null]) {
    const store = new RedisStore({ client: { call: async () => { throw thrown } } })
    await t.rejects(store.ready(recorder()), { message: /CONFIG GET \S+ failed\. If CONFIG/ }, 'only a code or a Redis error word is quoted')
  }
})

t.test('checkConfig: false sends no command at ready', async (t) => {
  const sent: string[][] = []
  const store = new RedisStore({ client: { sendCommand: async (args: string[]) => { sent.push(args) } }, checkConfig: false })
  await store.ready(recorder())
  t.same(sent, [])
})

t.test('the plugin checks its RedisStore when ready', async (t) => {
  const fake = await createFakeIamport()
  t.teardown(() => fake.close())
  const plugin = { apiKey: fake.apiKey, apiSecret: fake.apiSecret, baseUrl: fake.url }

  t.test('an evicting Redis fails the registration', async (t) => {
    const client = new Redis(evicting.url)
    t.teardown(() => client.disconnect())
    await t.rejects(async () => await listen(t, async (app) => {
      await app.register(fastifyIamport, { ...plugin, certifications: { store: new RedisStore({ client }) } })
    }), { code: 'FST_IAMPORT_INVALID_OPTIONS', message: /maxmemory-policy is allkeys-lru/ })
  })

  t.test('two routes sharing a store on a Redis without persistence log one warning', async (t) => {
    const client = new Redis(bare.url)
    t.teardown(() => client.disconnect())
    const store = new RedisStore({ client, prefix: 'plugin:' })
    const { logs, post } = await listen(t, async (app) => {
      // Two encapsulated registrations, as a host with two verification routes has them.
      for (const url of ['/signup', '/recover']) {
        await app.register(async (child) => { await child.register(fastifyIamport, { ...plugin, certifications: { url, store } }) })
      }
    })
    const warnings = logs.map((line) => JSON.parse(line)).filter((line) => line.store === 'RedisStore')
    t.equal(warnings.length, 1)
    t.equal(warnings[0].level, 40, 'at warn')
    t.match(warnings[0].msg, /a restart forgets every consumed verification/)
    const record = fake.seedCertification()
    t.equal((await post('/signup', { imp_uid: record.imp_uid })).status, 200, 'and it serves')
    t.equal((await post('/recover', { imp_uid: record.imp_uid })).status, 409, 'one ledger for both routes')
  })
})
