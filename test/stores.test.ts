import t from 'tap'
import { once } from 'node:events'
import { setTimeout as sleep } from 'node:timers/promises'
import { Redis } from 'ioredis'
import {
  MemoryStore, RedisStore, type ConsumeResult, type RedisStoreOptions, type VerificationStore
} from '../lib/stores/index.js'
import { startRedis } from './helpers/redis-server.js'

const LONG = 60_000 // milliseconds: never expires during the test
const SHORT = 200 // milliseconds: expires after PAST_SHORT
const PAST_SHORT = 300 // milliseconds

/** A fresh, empty store plus a way to let time pass for it. */
interface Fixture {
  store: VerificationStore
  /** A second store over the same data through another connection (Redis) or the same object. */
  twin: VerificationStore
  elapse (ms: number): Promise<void>
}

const redisServer = await startRedis()
const clientA = new Redis(redisServer.url)
const clientB = new Redis(redisServer.url)
t.teardown(async () => {
  await Promise.all([clientA.quit(), clientB.quit()])
  await redisServer.stop()
})

let prefixes = 0
const backends: Array<{ name: string, make (): Fixture }> = [
  {
    name: 'MemoryStore',
    make () {
      let clock = 1_700_000_000_000
      const store = new MemoryStore({ now: () => clock })
      return { store, twin: store, elapse: async (ms) => { clock += ms } }
    }
  },
  {
    name: 'RedisStore',
    make () {
      // A fresh prefix per test keeps the tests apart on one server.
      const prefix = `test${++prefixes}:`
      return {
        store: new RedisStore({ client: clientA, prefix }),
        twin: new RedisStore({ client: clientB, prefix }),
        elapse: (ms) => sleep(ms)
      }
    }
  }
]

const issued = (requestId: string, subject = 'user-1') => ({ requestId, subject })

// The last overload of t.test is `(cb)`, so this is the type a subtest callback receives.
type Subtest = Parameters<Parameters<typeof t.test>[0]>[0]
type Case = (t: Subtest, fixture: Fixture) => Promise<void>
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
      t.test(name, (t) => run(t, backend.make()))
    }
  })
}

t.test('RedisStore', async (t) => {
  t.test('rejects, within a bound, once Redis is gone', async (t) => {
    const doomed = await startRedis()
    t.teardown(() => doomed.stop())
    const client = new Redis(doomed.url, {
      maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null
    })
    client.on('error', () => {}) // the rejections below are what this test looks at
    t.teardown(() => client.disconnect())
    await once(client, 'ready')
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

  t.test('an unexpected reply never passes for consumed', async (t) => {
    for (const reply of ['OK', 1, null, 'CONSUMED']) {
      const store = new RedisStore({ client: { eval: async () => reply } })
      await t.rejects(store.consume({ verificationId: 'imp_1', ttlMs: LONG }), /unexpected reply/)
    }
  })

  t.test('uses the default prefix and its documented keys', async (t) => {
    const store = new RedisStore({ client: clientA })
    const key = `imp_${process.pid}_${Date.now()}`
    await store.issue(key, 'user-1', LONG)
    t.equal(await clientA.get(`idv:issued:${key}`), 'issued:user-1')
    t.equal(await store.consume({ verificationId: key, ttlMs: LONG, issued: issued(key) }), 'consumed')
    t.equal(await clientA.get(`idv:issued:${key}`), 'used:user-1')
    t.ok(await clientA.pttl(`idv:issued:${key}`) > 0, 'the used issued id keeps its ttl')
    t.equal(await clientA.get(`idv:used:${key}`), '1')
    await clientA.del(`idv:issued:${key}`, `idv:used:${key}`)
  })

  t.test('refuses a missing client', async (t) => {
    t.throws(() => new RedisStore({} as RedisStoreOptions), { code: 'FST_IAMPORT_INVALID_OPTIONS', message: /RedisStore client is required/ })
    t.throws(() => new RedisStore(undefined as unknown as RedisStoreOptions), { code: 'FST_IAMPORT_INVALID_OPTIONS', message: /RedisStore options must be an object/ })
    t.throws(() => new RedisStore({ client: clientA, prefx: 'x:' } as RedisStoreOptions), { message: /RedisStore prefx is not an option \(did you mean prefix\?\)/ })
  })
})

t.test('MemoryStore bounds', async (t) => {
  const clockedStore = (maxEntries: number) => {
    const clock = { now: 1_000_000 }
    return { clock, store: new MemoryStore({ maxEntries, now: () => clock.now }) }
  }

  t.test('refuses a bad maxEntries', async (t) => {
    for (const maxEntries of [0, -1, 1.5, Number.NaN]) {
      t.throws(() => new MemoryStore({ maxEntries }), { code: 'FST_IAMPORT_INVALID_OPTIONS', message: /MemoryStore maxEntries must be a positive whole number/ })
    }
    t.ok(new MemoryStore(), 'defaults')
  })

  t.test('full of live consumed imp_uids: consume rejects instead of forgetting one', async (t) => {
    const { clock, store } = clockedStore(3)
    for (const impUid of ['imp_1', 'imp_2', 'imp_3']) {
      t.equal(await store.consume({ verificationId: impUid, ttlMs: 10_000 }), 'consumed')
    }
    await t.rejects(store.consume({ verificationId: 'imp_4', ttlMs: 10_000 }), /full/)
    await t.rejects(store.consume({ verificationId: 'imp_4', ttlMs: 10_000 }), /full/, 'again, without a rescan')
    await t.rejects(store.issue('mid_1', 'user-1', 10_000), /full/)
    for (const impUid of ['imp_1', 'imp_2', 'imp_3']) {
      t.equal(await store.consume({ verificationId: impUid, ttlMs: 10_000 }), 'replayed', 'nothing was forgotten')
    }
    clock.now += 10_000
    t.equal(await store.consume({ verificationId: 'imp_4', ttlMs: 10_000 }), 'consumed', 'room once they expire')
  })

  t.test('expired entries make room', async (t) => {
    const { clock, store } = clockedStore(3)
    for (const impUid of ['imp_1', 'imp_2', 'imp_3']) await store.consume({ verificationId: impUid, ttlMs: 1_000 })
    clock.now += 2_000
    for (const impUid of ['imp_4', 'imp_5', 'imp_6']) {
      t.equal(await store.consume({ verificationId: impUid, ttlMs: 1_000 }), 'consumed')
    }
  })

  t.test('expired entries behind a live one are swept too', async (t) => {
    const { clock, store } = clockedStore(4)
    await store.consume({ verificationId: 'imp_1', ttlMs: 100_000 })
    await store.consume({ verificationId: 'imp_2', ttlMs: 1_000 })
    await store.issue('mid_1', 'user-1', 100_000)
    await store.issue('mid_2', 'user-1', 1_000)
    clock.now += 2_000
    t.equal(await store.consume({ verificationId: 'imp_3', ttlMs: 100, issued: issued('mid_1') }), 'consumed')
    t.equal(await store.consume({ verificationId: 'imp_4', ttlMs: 100_000 }), 'consumed')
    t.equal(await store.consume({ verificationId: 'imp_1', ttlMs: 100_000 }), 'replayed', 'the live one stayed')
    t.equal(await store.consume({ verificationId: 'imp_5', ttlMs: 100_000 }), 'consumed', 'the used mid_1 gave way')
    await t.rejects(store.consume({ verificationId: 'imp_6', ttlMs: 100_000 }), /full/)
  })

  t.test('when full, the oldest issued merchant_uids give way, never the one being consumed', async (t) => {
    const { store } = clockedStore(3)
    for (const mid of ['mid_1', 'mid_2', 'mid_3', 'mid_4']) await store.issue(mid, 'user-1', 100_000)
    t.equal(await store.consume({ verificationId: 'imp_1', ttlMs: 100, issued: issued('mid_1') }), 'not-issued',
      'the oldest was evicted')
    t.equal(await store.consume({ verificationId: 'imp_1', ttlMs: 100, issued: issued('mid_2') }), 'consumed')
    t.equal(await store.consume({ verificationId: 'imp_2', ttlMs: 100, issued: issued('mid_3') }), 'not-issued',
      'mid_3 made room for imp_1')
    t.equal(await store.consume({ verificationId: 'imp_2', ttlMs: 100, issued: issued('mid_4') }), 'consumed')
  })

  t.test('rejects when only the merchant_uid being consumed could give way', async (t) => {
    const { store } = clockedStore(2)
    await store.consume({ verificationId: 'imp_1', ttlMs: 100_000 })
    await store.issue('mid_1', 'user-1', 100_000)
    await t.rejects(store.consume({ verificationId: 'imp_2', ttlMs: 100, issued: issued('mid_1') }), /full/)
    t.equal(await store.consume({ verificationId: 'imp_2', ttlMs: 100_000 }), 'consumed', 'mid_1 stayed; now it may go')
    t.equal(await store.consume({ verificationId: 'imp_1', ttlMs: 100_000 }), 'replayed')
  })
})
