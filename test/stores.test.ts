import t from 'tap'
import { once } from 'node:events'
import { setTimeout as sleep } from 'node:timers/promises'
import { Redis } from 'ioredis'
import { createClient } from 'redis'
import {
  MemoryStore, RedisStore, type ConsumeResult, type MemoryStoreOptions, type RedisLikeClient, type RedisStoreOptions,
  type VerificationStore
} from '../lib/stores/index.js'
import { REDIS_CONSUME_BATCH_MAX } from '../lib/constants.js'
import { startRedis } from './helpers/redis-server.js'

const LONG = 60_000 // milliseconds: never expires during the test
const SHORT = 200 // milliseconds: expires after PAST_SHORT
const PAST_SHORT = 300 // milliseconds

/** The caps a fixture's store gets (both stores take these names). */
type Caps = Pick<MemoryStoreOptions, 'maxIssued' | 'maxIssuedPerSubject'>

/** A fresh, empty store plus a way to let time pass for it. */
interface Fixture {
  store: VerificationStore
  /** A second store over the same data through another connection (Redis) or the same object. */
  twin: VerificationStore
  elapse (ms: number): Promise<void>
}

const redisServer = await startRedis()
const ioA = new Redis(redisServer.url)
const ioB = new Redis(redisServer.url)
const nodeA = createClient({ url: redisServer.url })
const nodeB = createClient({ url: redisServer.url })
await Promise.all([nodeA.connect(), nodeB.connect()])
t.teardown(async () => {
  await Promise.all([ioA.quit(), ioB.quit(), nodeA.close(), nodeB.close()])
  await redisServer.stop()
})

// Both client kinds fit the public type as they are.
const clients: Array<{ name: string, a: RedisLikeClient, b: RedisLikeClient }> = [
  { name: 'ioredis', a: ioA, b: ioB },
  { name: 'node-redis', a: nodeA, b: nodeB }
]

let prefixes = 0
const backends: Array<{ name: string, make (caps?: Caps): Fixture }> = [
  {
    name: 'MemoryStore',
    make (caps = {}) {
      let clock = 1_700_000_000_000
      const store = new MemoryStore({ ...caps, now: () => clock })
      return { store, twin: store, elapse: async (ms) => { clock += ms } }
    }
  },
  ...clients.map(({ name, a, b }) => ({
    name: `RedisStore (${name})`,
    make (caps: Caps = {}): Fixture {
      // A fresh prefix per test keeps the tests apart on one server.
      const prefix = `test${++prefixes}:`
      return {
        store: new RedisStore({ client: a, prefix, ...caps }),
        twin: new RedisStore({ client: b, prefix, ...caps }),
        elapse: (ms) => sleep(ms)
      }
    }
  }))
]

const issued = (requestId: string, subject = 'user-1') => ({ requestId, subject })

// The last overload of t.test is `(cb)`, so this is the type a subtest callback receives.
type Subtest = Parameters<Parameters<typeof t.test>[0]>[0]
type Case = (t: Subtest, fixture: Fixture, make: (caps?: Caps) => Fixture) => Promise<void>
const cases: Record<string, Case> = {
  'the first consume wins, the second is a replay': async (t, { store, twin }) => {
    t.equal(await store.consume({ verificationId: 'imp_1', ttlMs: LONG }), 'consumed')
    t.equal(await store.consume({ verificationId: 'imp_1', ttlMs: LONG }), 'replayed')
    t.equal(await twin.consume({ verificationId: 'imp_1', ttlMs: LONG }), 'replayed')
    t.equal(await store.consume({ verificationId: 'imp_2', ttlMs: LONG }), 'consumed')
  },

  'an issued merchant_uid is consumed once, by its subject': async (t, { store, twin }) => {
    await store.issue('mid_1', 'user-1', LONG)
    t.equal(await twin.consume({ verificationId: 'imp_1', ttlMs: LONG, issued: issued('mid_1') }), 'consumed')
    t.equal(await store.consume({ verificationId: 'imp_2', ttlMs: LONG, issued: issued('mid_1') }), 'not-issued',
      'a used merchant_uid')
  },

  'an unknown merchant_uid is a mismatch and consumes nothing': async (t, { store }) => {
    t.equal(await store.consume({ verificationId: 'imp_1', ttlMs: LONG, issued: issued('mid_x') }), 'not-issued')
    t.equal(await store.consume({ verificationId: 'imp_1', ttlMs: LONG }), 'consumed', 'the imp_uid is still free')
  },

  'a merchant_uid of another subject is a mismatch and stays usable': async (t, { store }) => {
    await store.issue('mid_1', 'user-1', LONG)
    t.equal(await store.consume({ verificationId: 'imp_1', ttlMs: LONG, issued: issued('mid_1', 'user-2') }),
      'not-issued')
    t.equal(await store.consume({ verificationId: 'imp_1', ttlMs: LONG, issued: issued('mid_1') }), 'consumed')
  },

  'a subject shaped like a stored state matches nothing': async (t, { store }) => {
    await store.issue('mid_1', 'user-1', LONG)
    await store.issue('mid_2', 'issued:user-1', LONG)
    t.equal(await store.consume({ verificationId: 'imp_1', ttlMs: LONG, issued: issued('mid_1') }), 'consumed')
    for (const subject of ['used:user-1', 'issued:user-1', 'user-1\u0000', '']) {
      t.equal(await store.consume({ verificationId: 'imp_2', ttlMs: LONG, issued: issued('mid_1', subject) }),
        'not-issued')
    }
    t.equal(await store.consume({ verificationId: 'imp_2', ttlMs: LONG, issued: issued('mid_2') }), 'not-issued')
    await store.release({ verificationId: 'imp_1', ttlMs: LONG, issued: issued('mid_1', 'used:user-1') })
    t.equal(await store.consume({ verificationId: 'imp_2', ttlMs: LONG, issued: issued('mid_1') }), 'not-issued',
      'release by a look-alike subject restored nothing')
  },

  'an expired merchant_uid is a mismatch': async (t, { store, elapse }) => {
    await store.issue('mid_1', 'user-1', SHORT)
    await elapse(PAST_SHORT)
    t.equal(await store.consume({ verificationId: 'imp_1', ttlMs: LONG, issued: issued('mid_1') }), 'not-issued')
  },

  'replay is checked first and changes nothing': async (t, { store }) => {
    await store.issue('mid_1', 'user-1', LONG)
    await store.issue('mid_2', 'user-1', LONG)
    t.equal(await store.consume({ verificationId: 'imp_1', ttlMs: LONG, issued: issued('mid_1') }), 'consumed')
    t.equal(await store.consume({ verificationId: 'imp_1', ttlMs: LONG, issued: issued('mid_2') }), 'replayed')
    t.equal(await store.consume({ verificationId: 'imp_1', ttlMs: LONG, issued: issued('mid_x') }), 'replayed')
    t.equal(await store.consume({ verificationId: 'imp_2', ttlMs: LONG, issued: issued('mid_2') }), 'consumed',
      'mid_2 was not used by the replay')
  },

  'release restores the imp_uid and the merchant_uid': async (t, { store, twin }) => {
    await store.issue('mid_1', 'user-1', LONG)
    const consumption = { verificationId: 'imp_1', ttlMs: LONG, issued: issued('mid_1') }
    t.equal(await store.consume(consumption), 'consumed')
    await twin.release(consumption)
    t.equal(await store.consume(consumption), 'consumed')
    t.equal(await store.consume(consumption), 'replayed')

    t.equal(await store.consume({ verificationId: 'imp_2', ttlMs: LONG }), 'consumed')
    await store.release({ verificationId: 'imp_2', ttlMs: LONG })
    t.equal(await store.consume({ verificationId: 'imp_2', ttlMs: LONG }), 'consumed')
  },

  'release neither revives an expired merchant_uid nor hands one to another subject': async (t, { store, elapse }) => {
    await store.issue('mid_1', 'user-1', SHORT)
    await store.issue('mid_2', 'user-1', LONG)
    t.equal(await store.consume({ verificationId: 'imp_1', ttlMs: LONG, issued: issued('mid_1') }), 'consumed')
    t.equal(await store.consume({ verificationId: 'imp_2', ttlMs: LONG, issued: issued('mid_2') }), 'consumed')
    await elapse(PAST_SHORT)
    await store.release({ verificationId: 'imp_1', ttlMs: LONG, issued: issued('mid_1') })
    await store.release({ verificationId: 'imp_2', ttlMs: LONG, issued: issued('mid_2', 'user-2') })
    t.equal(await store.consume({ verificationId: 'imp_1', ttlMs: LONG, issued: issued('mid_1') }), 'not-issued')
    t.equal(await store.consume({ verificationId: 'imp_2', ttlMs: LONG, issued: issued('mid_2', 'user-2') }),
      'not-issued')
    t.equal(await store.consume({ verificationId: 'imp_2', ttlMs: LONG, issued: issued('mid_2') }), 'not-issued',
      'still used')
    t.equal(await store.consume({ verificationId: 'imp_1', ttlMs: LONG }), 'consumed', 'the imp_uid was released')
  },

  'a consumed imp_uid is forgotten after its ttl': async (t, { store, elapse }) => {
    t.equal(await store.consume({ verificationId: 'imp_1', ttlMs: SHORT }), 'consumed')
    t.equal(await store.consume({ verificationId: 'imp_1', ttlMs: SHORT }), 'replayed')
    await elapse(PAST_SHORT)
    t.equal(await store.consume({ verificationId: 'imp_1', ttlMs: SHORT }), 'consumed')
  },

  're-issuing a merchant_uid replaces its subject': async (t, { store }) => {
    await store.issue('mid_1', 'user-1', LONG)
    await store.issue('mid_1', 'user-2', LONG)
    t.equal(await store.consume({ verificationId: 'imp_1', ttlMs: LONG, issued: issued('mid_1') }), 'not-issued')
    t.equal(await store.consume({ verificationId: 'imp_1', ttlMs: LONG, issued: issued('mid_1', 'user-2') }), 'consumed')
  },

  'a ttl that is not a positive number rejects': async (t, { store }) => {
    for (const ttlMs of [0, -1, Number.NaN, Infinity]) {
      await t.rejects(store.consume({ verificationId: 'imp_1', ttlMs }), RangeError)
      await t.rejects(store.issue('mid_1', 'user-1', ttlMs), RangeError)
    }
    t.equal(await store.consume({ verificationId: 'imp_1', ttlMs: LONG }), 'consumed', 'nothing was recorded')
  },

  '50 concurrent consumes of one imp_uid: exactly one wins': async (t, { store, twin }) => {
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) =>
      (i % 2 === 0 ? store : twin).consume({ verificationId: 'imp_1', ttlMs: LONG })))
    t.same(count(results), { consumed: 1, replayed: 49 })
  },

  '50 concurrent consumes of one merchant_uid: exactly one wins': async (t, { store, twin }) => {
    await store.issue('mid_1', 'user-1', LONG)
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) =>
      (i % 2 === 0 ? store : twin).consume({ verificationId: `imp_${i}`, ttlMs: LONG, issued: issued('mid_1') })))
    t.same(count(results), { consumed: 1, 'not-issued': 49 })
  },

  'a subject holds at most maxIssuedPerSubject outstanding ids: one more drops its oldest': async (t, _, make) => {
    const { store, twin } = make({ maxIssuedPerSubject: 3 })
    for (const mid of ['mid_1', 'mid_2', 'mid_3', 'mid_4']) await store.issue(mid, 'user-1', LONG)
    t.equal(await twin.consume({ verificationId: 'imp_1', ttlMs: LONG, issued: issued('mid_1') }), 'not-issued',
      'the oldest gave way')
    for (const [i, mid] of ['mid_2', 'mid_3', 'mid_4'].entries()) {
      t.equal(await twin.consume({ verificationId: `imp_${i + 2}`, ttlMs: LONG, issued: issued(mid) }), 'consumed')
    }
  },

  "one subject's spam evicts only its own ids": async (t, _, make) => {
    const { store } = make({ maxIssuedPerSubject: 2 })
    await store.issue('mid_alice', 'alice', LONG)
    for (let i = 0; i < 200; i++) await store.issue(`mid_spam_${i}`, 'mallory', LONG)
    t.equal(await store.consume({ verificationId: 'imp_1', ttlMs: LONG, issued: issued('mid_alice', 'alice') }), 'consumed')
    t.equal(await store.consume({ verificationId: 'imp_2', ttlMs: LONG, issued: issued('mid_spam_197', 'mallory') }),
      'not-issued', 'only the spammer\'s newest two are left')
    t.equal(await store.consume({ verificationId: 'imp_2', ttlMs: LONG, issued: issued('mid_spam_199', 'mallory') }), 'consumed')
  },

  'a used id is no longer outstanding: it leaves room for another': async (t, _, make) => {
    const { store } = make({ maxIssuedPerSubject: 1 })
    await store.issue('mid_1', 'user-1', LONG)
    t.equal(await store.consume({ verificationId: 'imp_1', ttlMs: LONG, issued: issued('mid_1') }), 'consumed')
    await store.issue('mid_2', 'user-1', LONG)
    await store.release({ verificationId: 'imp_1', ttlMs: LONG, issued: issued('mid_1') })
    t.equal(await store.consume({ verificationId: 'imp_1', ttlMs: LONG, issued: issued('mid_1') }), 'consumed',
      'released, mid_1 is back and made mid_2 give way')
    t.equal(await store.consume({ verificationId: 'imp_2', ttlMs: LONG, issued: issued('mid_2') }), 'not-issued')
  },

  "expired ids free their subject's slots": async (t, _, make) => {
    const { store, elapse } = make({ maxIssuedPerSubject: 2 })
    await store.issue('mid_1', 'user-1', LONG)
    await store.issue('mid_2', 'user-1', SHORT)
    await elapse(PAST_SHORT)
    await store.issue('mid_3', 'user-1', LONG)
    t.equal(await store.consume({ verificationId: 'imp_1', ttlMs: LONG, issued: issued('mid_1') }), 'consumed',
      'mid_2 had expired: mid_1 did not have to go')
    t.equal(await store.consume({ verificationId: 'imp_3', ttlMs: LONG, issued: issued('mid_3') }), 'consumed')
  },

  "re-issuing an id to another subject frees the first subject's slot": async (t, _, make) => {
    const { store } = make({ maxIssuedPerSubject: 2 })
    await store.issue('mid_1', 'user-1', LONG)
    await store.issue('mid_2', 'user-1', LONG)
    await store.issue('mid_2', 'user-2', LONG)
    await store.issue('mid_3', 'user-1', LONG)
    t.equal(await store.consume({ verificationId: 'imp_1', ttlMs: LONG, issued: issued('mid_1') }), 'consumed',
      'user-1 held only mid_1 when mid_3 came')
    t.equal(await store.consume({ verificationId: 'imp_2', ttlMs: LONG, issued: issued('mid_2', 'user-2') }), 'consumed')
    t.equal(await store.consume({ verificationId: 'imp_3', ttlMs: LONG, issued: issued('mid_3') }), 'consumed')
  },

  'the global cap drops the oldest issued ids and never a consumed verification': async (t, _, make) => {
    const { store, twin } = make({ maxIssued: 5 })
    await store.issue('mid_old', 'user-1', LONG)
    for (let i = 0; i < 3; i++) t.equal(await store.consume({ verificationId: `imp_${i}`, ttlMs: LONG }), 'consumed')
    // Rotating subjects: the per-subject cap does not help here, the global one does.
    for (let i = 0; i < 50; i++) await twin.issue(`mid_spam_${i}`, `subject-${i}`, LONG)
    t.equal(await store.consume({ verificationId: 'imp_x', ttlMs: LONG, issued: issued('mid_old') }), 'not-issued',
      'the oldest issued id gave way')
    for (let i = 0; i < 3; i++) {
      t.equal(await store.consume({ verificationId: `imp_${i}`, ttlMs: LONG }), 'replayed', 'consumed ones stayed')
    }
    t.equal(await store.consume({ verificationId: 'imp_y', ttlMs: LONG, issued: issued('mid_spam_44', 'subject-44') }),
      'not-issued', 'beyond the newest five')
    for (let i = 45; i < 50; i++) {
      t.equal(await store.consume({ verificationId: `imp_s${i}`, ttlMs: LONG, issued: issued(`mid_spam_${i}`, `subject-${i}`) }),
        'consumed', 'the newest five are kept')
    }
  },

  'used ids count against the global cap until they expire, and may give way': async (t, _, make) => {
    const { store } = make({ maxIssued: 2 })
    await store.issue('mid_1', 'user-1', LONG)
    const consumption = { verificationId: 'imp_1', ttlMs: LONG, issued: issued('mid_1') }
    t.equal(await store.consume(consumption), 'consumed')
    await store.issue('mid_2', 'user-2', LONG)
    await store.issue('mid_3', 'user-3', LONG)
    await store.release(consumption)
    t.equal(await store.consume(consumption), 'not-issued', 'mid_1 gave way: its retry fails closed')
    t.equal(await store.consume({ verificationId: 'imp_1', ttlMs: LONG }), 'consumed', 'the release itself went through')
  }
}

function count (results: ConsumeResult[]): Partial<Record<ConsumeResult, number>> {
  const counts: Partial<Record<ConsumeResult, number>> = {}
  for (const result of results) counts[result] = (counts[result] ?? 0) + 1
  return counts
}

for (const backend of backends) {
  t.test(backend.name, async (t) => {
    for (const [name, run] of Object.entries(cases)) {
      t.test(name, (t) => run(t, backend.make(), (caps) => backend.make(caps)))
    }
  })
}

/** Keys under a prefix, by SCAN. */
async function keysUnder (prefix: string): Promise<string[]> {
  const keys: string[] = []
  let cursor = '0'
  do {
    const [next, batch] = await ioA.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000)
    cursor = next
    keys.push(...batch)
  } while (cursor !== '0')
  return keys
}

/** Calls of one command since the server started (INFO commandstats). */
async function commandCalls (command: string): Promise<number> {
  const match = new RegExp(`^cmdstat_${command}:calls=(\\d+)`, 'm').exec(await ioA.info('commandstats'))
  return match === null ? 0 : Number(match[1])
}

t.test('RedisStore', async (t) => {
  for (const { name, a } of clients) {
    t.test(`keeps its documented keys, with the expiries it was given (${name})`, async (t) => {
      const store = new RedisStore({ client: a })
      const id = `mid_${name}_${process.pid}_${Date.now()}`
      const before = Date.now()
      await store.issue(id, 'user-1', LONG)
      t.equal(await ioA.get(`idv:issued:${id}`), 'issued:user-1')
      const score = Number(await ioA.zscore('idv:subject:user-1', id))
      t.ok(score >= before + LONG - 5 && score <= Date.now() + LONG + 5, 'scored by its expiry')
      t.equal(Number(await ioA.zscore('idv:issued-index', id)), score)
      // Within 1 s: a busy machine delays the PTTL call; a unit mix-up (s for ms) is 1000 times off.
      t.ok(Math.abs(await ioA.pttl('idv:subject:user-1') - LONG) < 1000, "the subject's set lives as long as its newest id")

      t.equal(await store.consume({ verificationId: id, ttlMs: LONG, issued: issued(id) }), 'consumed')
      t.equal(await ioA.get(`idv:issued:${id}`), 'used:user-1')
      t.ok(await ioA.pttl(`idv:issued:${id}`) > 0, 'the used issued id keeps its ttl')
      t.equal(await ioA.zscore('idv:subject:user-1', id), null, 'no longer outstanding')
      t.equal(Number(await ioA.zscore('idv:issued-index', id)), score, 'still counted against maxIssued')
      t.equal(await ioA.get(`idv:used:${id}`), '1')
      await ioA.del(`idv:issued:${id}`, `idv:used:${id}`, 'idv:subject:user-1', 'idv:issued-index')
    })

    t.test(`a consumed verification's key lives exactly the ttl passed (${name})`, async (t) => {
      // A ttl shrunk anywhere on the way (seconds for milliseconds, a tenth) fails here.
      const store = new RedisStore({ client: a, prefix: `pttl${++prefixes}:` })
      for (const [i, ttlMs] of [21_600_000, 720_000, 1_500].entries()) {
        t.equal(await store.consume({ verificationId: `imp_${i}`, ttlMs }), 'consumed')
        const pttl = await ioA.pttl(`pttl${prefixes}:used:imp_${i}`)
        // Within 500 ms (a busy machine delays the PTTL call); a tenfold shrink of 1 500 ms is 1 350 ms off.
        t.ok(pttl <= ttlMs && pttl > ttlMs - 500, `PTTL ${pttl} is within 500 ms of ${ttlMs}`)
      }
      t.equal(await store.consume({ verificationId: 'imp_3', ttlMs: 1000.2 }), 'consumed')
      t.ok(await ioA.pttl(`pttl${prefixes}:used:imp_3`) > 950, 'a fractional ttl is rounded up, never down')
    })

    t.test(`sends its scripts by SHA and survives a SCRIPT FLUSH (${name})`, async (t) => {
      const store = new RedisStore({ client: a, prefix: `flush${++prefixes}:` })
      await store.issue('mid_1', 'user-1', LONG) // loads the script if this server has not seen it
      await store.consume({ verificationId: 'imp_0', ttlMs: LONG })
      await store.release({ verificationId: 'imp_0', ttlMs: LONG })
      const evals = await commandCalls('eval')
      const evalshas = await commandCalls('evalsha')
      await store.issue('mid_2', 'user-1', LONG)
      t.equal(await store.consume({ verificationId: 'imp_1', ttlMs: LONG, issued: issued('mid_1') }), 'consumed')
      t.equal(await commandCalls('eval'), evals, 'no script source sent while the server has it')
      t.equal(await commandCalls('evalsha'), evalshas + 2)

      await ioA.script('FLUSH')
      t.equal(await store.consume({ verificationId: 'imp_1', ttlMs: LONG }), 'replayed', 'the ledger is intact')
      await store.release({ verificationId: 'imp_1', ttlMs: LONG, issued: issued('mid_1') })
      await store.issue('mid_3', 'user-1', LONG)
      t.equal(await store.consume({ verificationId: 'imp_1', ttlMs: LONG, issued: issued('mid_1') }), 'consumed')
      t.equal(await commandCalls('eval'), evals + 3, 'each script sent once more after the flush, by source')
      t.equal(await store.consume({ verificationId: 'imp_2', ttlMs: LONG, issued: issued('mid_2') }), 'consumed')
      t.equal(await commandCalls('eval'), evals + 3, 'then by SHA again')
    })

    t.test(`the consumptions of one event-loop turn go to Redis as one script call, each with its own result (${name})`, async (t) => {
      const prefix = `batch${++prefixes}:`
      const store = new RedisStore({ client: a, prefix })
      await store.issue('mid_1', 'user-1', LONG)
      await store.issue('mid_2', 'user-1', LONG)
      t.equal(await store.consume({ verificationId: 'imp_old', ttlMs: LONG }), 'consumed')
      const evalshas = await commandCalls('evalsha')
      const results = await Promise.all([
        store.consume({ verificationId: 'imp_1', ttlMs: LONG }),
        store.consume({ verificationId: 'imp_1', ttlMs: LONG }),
        store.consume({ verificationId: 'imp_old', ttlMs: LONG }),
        store.consume({ verificationId: 'imp_2', ttlMs: LONG, issued: issued('mid_1', 'user-2') }),
        store.consume({ verificationId: 'imp_2', ttlMs: LONG, issued: issued('mid_1') }),
        store.consume({ verificationId: 'imp_3', ttlMs: LONG, issued: issued('mid_1') }),
        store.consume({ verificationId: 'imp_1', ttlMs: LONG, issued: issued('mid_2') }),
        store.consume({ verificationId: 'imp_4', ttlMs: 1_500 })
      ])
      t.same(results, ['consumed', 'replayed', 'replayed', 'not-issued', 'consumed', 'not-issued', 'replayed', 'consumed'],
        'in the order asked: a second use of an id in the batch is a replay, a refused one changes nothing')
      t.equal(await commandCalls('evalsha'), evalshas + 1, 'one script call')
      t.equal(await ioA.get(`${prefix}issued:mid_1`), 'used:user-1')
      t.equal(await ioA.get(`${prefix}issued:mid_2`), 'issued:user-1', 'the replayed consumption left its issued id usable')
      const pttl = await ioA.pttl(`${prefix}used:imp_4`)
      t.ok(pttl <= 1_500 && pttl > 1_000, `each keeps its own ttl (PTTL ${pttl})`)
    })

    t.test(`a batch holds at most ${REDIS_CONSUME_BATCH_MAX} consumptions (${name})`, async (t) => {
      const store = new RedisStore({ client: a, prefix: `cap${++prefixes}:` })
      const evalshas = await commandCalls('evalsha')
      const count = 2 * REDIS_CONSUME_BATCH_MAX + 5
      const results = await Promise.all(Array.from({ length: count }, (_, i) => store.consume({ verificationId: `imp_${i}`, ttlMs: LONG })))
      t.ok(results.every((result) => result === 'consumed'), `${count} consumed`)
      t.equal(await commandCalls('evalsha'), evalshas + 3, 'three script calls')
      t.same(await Promise.all([
        store.consume({ verificationId: 'imp_0', ttlMs: LONG }),
        store.consume({ verificationId: `imp_${count - 1}`, ttlMs: LONG })
      ]), ['replayed', 'replayed'], 'the first and the last batch were written')
    })

    t.test(`prepare spam from rotating subjects keeps the key count within the caps (${name})`, async (t) => {
      const prefix = `bound${++prefixes}:`
      const store = new RedisStore({ client: a, prefix, maxIssued: 100 })
      for (let i = 0; i < 20; i++) await store.consume({ verificationId: `imp_${i}`, ttlMs: LONG })
      await Promise.all(Array.from({ length: 2_000 }, (_, i) => store.issue(`mid_${i}`, `subject-${i % 700}`, LONG)))
      const keys = await keysUnder(prefix)
      const count = (kind: string): number => keys.filter((key) => key.startsWith(prefix + kind)).length
      t.equal(count('issued:'), 100, 'maxIssued issued ids')
      t.ok(count('subject:') <= 100, `${count('subject:')} subject sets, at most one an issued id`)
      t.equal(await ioA.zcard(`${prefix}issued-index`), 100)
      t.equal(count('used:'), 20, 'every consumed verification stayed')

      for (let i = 0; i < 2_000; i++) await store.issue(`mid_one_${i}`, 'one-subject', LONG)
      t.equal(await ioA.zcard(`${prefix}subject:one-subject`), 3, 'one subject holds three')
    })

    t.test(`rejects, within a bound, once Redis is gone (${name})`, async (t) => {
      const doomed = await startRedis()
      t.teardown(() => doomed.stop())
      let client: RedisLikeClient
      if (name === 'ioredis') {
        const io = new Redis(doomed.url, { maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null })
        io.on('error', () => {}) // the rejections below are what this test looks at
        t.teardown(() => io.disconnect())
        await once(io, 'ready')
        client = io
      } else {
        const node = createClient({ url: doomed.url, disableOfflineQueue: true, socket: { reconnectStrategy: false } })
        node.on('error', () => {})
        await node.connect()
        t.teardown(() => { if (node.isOpen) node.destroy() })
        client = node
      }
      const store = new RedisStore({ client })
      await store.issue('mid_1', 'user-1', LONG)
      t.equal(await store.consume({ verificationId: 'imp_1', ttlMs: LONG }), 'consumed')

      await doomed.stop()
      const started = Date.now()
      await t.rejects(store.consume({ verificationId: 'imp_2', ttlMs: LONG, issued: issued('mid_1') }))
      await t.rejects(store.consume({ verificationId: 'imp_3', ttlMs: LONG }))
      await t.rejects(store.issue('mid_2', 'user-1', LONG))
      await t.rejects(store.release({ verificationId: 'imp_1', ttlMs: LONG }))
      t.ok(Date.now() - started < 2_000, 'failed fast')
    })
  }

  t.test('an unexpected reply never passes for consumed', async (t) => {
    for (const reply of ['OK', 1, null, 'consumed', 'CONSUMED', [], ['CONSUMED'], ['consumed', 'consumed'], { 0: 'consumed', length: 1 }]) {
      for (const client of [{ call: async () => reply }, { sendCommand: async () => reply }]) {
        const store = new RedisStore({ client })
        await t.rejects(store.consume({ verificationId: 'imp_1', ttlMs: LONG }), /unexpected reply/, JSON.stringify(reply))
      }
    }
    // In a batch, one bad result fails every consumption: none passes for consumed on its own.
    const store = new RedisStore({ client: { call: async () => ['consumed', 'CONSUMED'] } })
    const results = await Promise.allSettled([
      store.consume({ verificationId: 'imp_1', ttlMs: LONG }),
      store.consume({ verificationId: 'imp_2', ttlMs: LONG })
    ])
    t.same(results.map((result) => result.status), ['rejected', 'rejected'])
  })

  t.test('a failed script call rejects every consumption of its batch, with the same error', async (t) => {
    const failure = new Error('ERR connection lost')
    const store = new RedisStore({ client: { call: async () => { throw failure } } })
    const results = await Promise.allSettled([
      store.consume({ verificationId: 'imp_1', ttlMs: LONG }),
      store.consume({ verificationId: 'imp_2', ttlMs: LONG, issued: issued('mid_1') })
    ])
    t.same(results, [{ status: 'rejected', reason: failure }, { status: 'rejected', reason: failure }])
  })

  t.test('only NOSCRIPT falls back to EVAL; any other failure rejects as it is', async (t) => {
    for (const failure of [new Error('ERR Error running script'), 'NOSCRIPT, but not an Error']) {
      const sent: string[] = []
      const store = new RedisStore({ client: { sendCommand: async (args: string[]) => { sent.push(args[0]!); throw failure } } })
      await t.rejects(store.consume({ verificationId: 'imp_1', ttlMs: LONG }))
      t.same(sent, ['EVALSHA'])
    }
  })

  t.test('refuses bad options, naming the option', async (t) => {
    const invalid = (message: RegExp) => ({ code: 'FST_IAMPORT_INVALID_OPTIONS', message })
    t.throws(() => new RedisStore({} as RedisStoreOptions), invalid(/RedisStore client is required/))
    t.throws(() => new RedisStore(undefined as unknown as RedisStoreOptions), invalid(/RedisStore options must be an object/))
    t.throws(() => new RedisStore({ client: ioA, prefx: 'x:' } as RedisStoreOptions), invalid(/RedisStore prefx is not an option \(did you mean prefix\?\)/))
    for (const client of [{}, { eval: async () => 1 }, { call: 'no' }, null]) {
      t.throws(() => new RedisStore({ client } as unknown as RedisStoreOptions),
        invalid(/RedisStore client must be an ioredis client \(with call\) or a node-redis client \(with sendCommand\)/))
    }
    for (const key of ['maxIssued', 'maxIssuedPerSubject'] as const) {
      for (const value of [0, -1, 1.5, Number.NaN, '3']) {
        t.throws(() => new RedisStore({ client: ioA, [key]: value } as RedisStoreOptions), invalid(new RegExp(`RedisStore ${key} must be a positive whole number`)))
      }
    }
    t.throws(() => new RedisStore({ client: ioA, checkConfig: 'no' } as unknown as RedisStoreOptions), invalid(/RedisStore checkConfig must be true or false/))
    const prefixed = new Redis(redisServer.url, { keyPrefix: 'app:', lazyConnect: true })
    t.throws(() => new RedisStore({ client: prefixed }), invalid(/RedisStore client must not have an ioredis keyPrefix/))
    t.ok(new RedisStore({ client: ioA, maxIssued: 1, maxIssuedPerSubject: 1, checkConfig: false }), 'good options')
  })

  t.test('on Redis Cluster, refuses a prefix without a hash tag', async (t) => {
    // What ioredis's Cluster says of itself; a real Cluster is not needed to read one property.
    const cluster = { call: async () => null, isCluster: true }
    const invalid = (message: RegExp) => ({ code: 'FST_IAMPORT_INVALID_OPTIONS', message })
    for (const prefix of [undefined, 'idv:', '{}idv:', '{}{idv}:', 'idv{:', 'idv}{']) {
      t.throws(() => new RedisStore({ client: cluster, prefix }), invalid(/RedisStore prefix must contain a hash tag on Redis Cluster/), String(prefix))
    }
    for (const prefix of ['{idv}:', 'app:{idv}:', '{a}{}:']) t.ok(new RedisStore({ client: cluster, prefix }), prefix)
    t.ok(new RedisStore({ client: ioA, prefix: 'idv:' }), 'a plain client needs no hash tag')
  })
})

t.test('MemoryStore bounds', async (t) => {
  const clockedStore = (options: MemoryStoreOptions) => {
    const clock = { now: 1_000_000 }
    return { clock, store: new MemoryStore({ ...options, now: () => clock.now }) }
  }

  t.test('refuses bad caps, naming the option', async (t) => {
    for (const key of ['maxIssued', 'maxConsumed', 'maxIssuedPerSubject'] as const) {
      for (const value of [0, -1, 1.5, Number.NaN]) {
        t.throws(() => new MemoryStore({ [key]: value }), { code: 'FST_IAMPORT_INVALID_OPTIONS', message: new RegExp(`MemoryStore ${key} must be a positive whole number`) })
      }
    }
    t.throws(() => new MemoryStore({ maxEntries: 5 } as MemoryStoreOptions), { message: /MemoryStore maxEntries is not an option/ })
    t.ok(new MemoryStore(), 'defaults')
  })

  t.test('full of live consumed imp_uids: consume rejects instead of forgetting one', async (t) => {
    const { clock, store } = clockedStore({ maxConsumed: 3 })
    for (const impUid of ['imp_1', 'imp_2', 'imp_3']) {
      t.equal(await store.consume({ verificationId: impUid, ttlMs: 10_000 }), 'consumed')
    }
    await t.rejects(store.consume({ verificationId: 'imp_4', ttlMs: 10_000 }), /full.*raise maxConsumed/)
    await t.rejects(store.consume({ verificationId: 'imp_4', ttlMs: 10_000 }), /full/, 'again, without a rescan')
    await store.issue('mid_1', 'user-1', 10_000)
    await t.rejects(store.consume({ verificationId: 'imp_4', ttlMs: 10_000, issued: issued('mid_1') }), /full/)
    t.equal(await store.consume({ verificationId: 'imp_1', ttlMs: 10_000, issued: issued('mid_1') }), 'replayed',
      'nothing was forgotten')
    clock.now += 10_000
    t.equal(await store.consume({ verificationId: 'imp_4', ttlMs: 10_000, issued: issued('mid_1') }), 'not-issued',
      'mid_1 expired meanwhile')
    t.equal(await store.consume({ verificationId: 'imp_4', ttlMs: 10_000 }), 'consumed', 'room once they expire')
  })

  t.test('issued ids never take the room of consumed ones, nor the reverse', async (t) => {
    const { store } = clockedStore({ maxIssued: 2, maxConsumed: 2 })
    for (let i = 0; i < 10; i++) await store.issue(`mid_${i}`, `subject-${i}`, 100_000)
    t.equal(await store.consume({ verificationId: 'imp_1', ttlMs: 100_000, issued: issued('mid_8', 'subject-8') }), 'consumed')
    t.equal(await store.consume({ verificationId: 'imp_2', ttlMs: 100_000, issued: issued('mid_9', 'subject-9') }), 'consumed')
    await t.rejects(store.consume({ verificationId: 'imp_3', ttlMs: 100_000 }), /full/)
    await store.issue('mid_10', 'subject-10', 100_000)
    t.equal(await store.consume({ verificationId: 'imp_1', ttlMs: 100_000 }), 'replayed')
  })

  t.test('expired consumed entries make room', async (t) => {
    const { clock, store } = clockedStore({ maxConsumed: 3 })
    for (const impUid of ['imp_1', 'imp_2', 'imp_3']) await store.consume({ verificationId: impUid, ttlMs: 1_000 })
    clock.now += 2_000
    for (const impUid of ['imp_4', 'imp_5', 'imp_6']) {
      t.equal(await store.consume({ verificationId: impUid, ttlMs: 1_000 }), 'consumed')
    }
  })

  t.test('expired consumed entries behind a live one are swept too', async (t) => {
    const { clock, store } = clockedStore({ maxConsumed: 3 })
    await store.consume({ verificationId: 'imp_1', ttlMs: 100_000 })
    await store.consume({ verificationId: 'imp_2', ttlMs: 1_000 })
    await store.consume({ verificationId: 'imp_3', ttlMs: 1_000 })
    clock.now += 2_000
    t.equal(await store.consume({ verificationId: 'imp_4', ttlMs: 100_000 }), 'consumed')
    t.equal(await store.consume({ verificationId: 'imp_5', ttlMs: 100_000 }), 'consumed')
    t.equal(await store.consume({ verificationId: 'imp_1', ttlMs: 100_000 }), 'replayed', 'the live one stayed')
    await t.rejects(store.consume({ verificationId: 'imp_6', ttlMs: 100_000 }), /full/)
  })

  t.test('expired issued ids at the front are dropped before a live one gives way', async (t) => {
    const { clock, store } = clockedStore({ maxIssued: 2 })
    await store.issue('mid_1', 'user-1', 1_000)
    await store.issue('mid_2', 'user-2', 100_000)
    clock.now += 2_000
    await store.issue('mid_3', 'user-3', 100_000)
    t.equal(await store.consume({ verificationId: 'imp_2', ttlMs: 100, issued: issued('mid_2', 'user-2') }), 'consumed')
    t.equal(await store.consume({ verificationId: 'imp_3', ttlMs: 100, issued: issued('mid_3', 'user-3') }), 'consumed')
  })

  t.test('one subject sending 20 000 prepares to a store of 5 000 cannot evict a user who prepared before', async (t) => {
    const { store } = clockedStore({ maxIssued: 5_000, maxConsumed: 5_000 })
    await store.issue('mid_alice', 'alice', 100_000)
    for (let i = 0; i < 20_000; i++) await store.issue(`mid_${i}`, 'mallory', 100_000)
    t.equal(await store.consume({ verificationId: 'imp_1', ttlMs: 100_000, issued: issued('mid_alice', 'alice') }), 'consumed')
  })
})
