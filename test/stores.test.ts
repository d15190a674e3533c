import t from 'tap'
import { once } from 'node:events'
import { setTimeout as sleep } from 'node:timers/promises'
import { Redis } from 'ioredis'
import {
  MemoryStore, RedisStore, type ConsumeResult, type RedisStoreOptions, type VerificationStore
} from '../lib/stores/index.js'
import { startRedis } from './helpers/redis-server.js'

const LONG = 60 // seconds: never expires during the test
const SHORT = 0.2 // seconds: expires after PAST_SHORT
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

const merchant = (merchantUid: string, subject = 'user-1') => ({ merchantUid, subject })

// The last overload of t.test is `(cb)`, so this is the type a subtest callback receives.
type Subtest = Parameters<Parameters<typeof t.test>[0]>[0]
type Case = (t: Subtest, fixture: Fixture) => Promise<void>
const cases: Record<string, Case> = {
  'the first consume wins, the second is a replay': async (t, { store, twin }) => {
    t.equal(await store.consume({ impUid: 'imp_1', ttlSeconds: LONG }), 'consumed')
    t.equal(await store.consume({ impUid: 'imp_1', ttlSeconds: LONG }), 'replayed')
    t.equal(await twin.consume({ impUid: 'imp_1', ttlSeconds: LONG }), 'replayed')
    t.equal(await store.consume({ impUid: 'imp_2', ttlSeconds: LONG }), 'consumed')
  },

  'an issued merchant_uid is consumed once, by its subject': async (t, { store, twin }) => {
    await store.issueMerchantUid('mid_1', 'user-1', LONG)
    t.equal(await twin.consume({ impUid: 'imp_1', ttlSeconds: LONG, merchant: merchant('mid_1') }), 'consumed')
    t.equal(await store.consume({ impUid: 'imp_2', ttlSeconds: LONG, merchant: merchant('mid_1') }), 'merchant-mismatch',
      'a used merchant_uid')
  },

  'an unknown merchant_uid is a mismatch and consumes nothing': async (t, { store }) => {
    t.equal(await store.consume({ impUid: 'imp_1', ttlSeconds: LONG, merchant: merchant('mid_x') }), 'merchant-mismatch')
    t.equal(await store.consume({ impUid: 'imp_1', ttlSeconds: LONG }), 'consumed', 'the imp_uid is still free')
  },

  'a merchant_uid of another subject is a mismatch and stays usable': async (t, { store }) => {
    await store.issueMerchantUid('mid_1', 'user-1', LONG)
    t.equal(await store.consume({ impUid: 'imp_1', ttlSeconds: LONG, merchant: merchant('mid_1', 'user-2') }),
      'merchant-mismatch')
    t.equal(await store.consume({ impUid: 'imp_1', ttlSeconds: LONG, merchant: merchant('mid_1') }), 'consumed')
  },

  'a subject shaped like a stored state matches nothing': async (t, { store }) => {
    await store.issueMerchantUid('mid_1', 'user-1', LONG)
    await store.issueMerchantUid('mid_2', 'issued:user-1', LONG)
    t.equal(await store.consume({ impUid: 'imp_1', ttlSeconds: LONG, merchant: merchant('mid_1') }), 'consumed')
    for (const subject of ['used:user-1', 'issued:user-1', 'user-1\u0000', '']) {
      t.equal(await store.consume({ impUid: 'imp_2', ttlSeconds: LONG, merchant: merchant('mid_1', subject) }),
        'merchant-mismatch')
    }
    t.equal(await store.consume({ impUid: 'imp_2', ttlSeconds: LONG, merchant: merchant('mid_2') }), 'merchant-mismatch')
    await store.release({ impUid: 'imp_1', ttlSeconds: LONG, merchant: merchant('mid_1', 'used:user-1') })
    t.equal(await store.consume({ impUid: 'imp_2', ttlSeconds: LONG, merchant: merchant('mid_1') }), 'merchant-mismatch',
      'release by a look-alike subject restored nothing')
  },

  'an expired merchant_uid is a mismatch': async (t, { store, elapse }) => {
    await store.issueMerchantUid('mid_1', 'user-1', SHORT)
    await elapse(PAST_SHORT)
    t.equal(await store.consume({ impUid: 'imp_1', ttlSeconds: LONG, merchant: merchant('mid_1') }), 'merchant-mismatch')
  },

  'replay is checked first and changes nothing': async (t, { store }) => {
    await store.issueMerchantUid('mid_1', 'user-1', LONG)
    await store.issueMerchantUid('mid_2', 'user-1', LONG)
    t.equal(await store.consume({ impUid: 'imp_1', ttlSeconds: LONG, merchant: merchant('mid_1') }), 'consumed')
    t.equal(await store.consume({ impUid: 'imp_1', ttlSeconds: LONG, merchant: merchant('mid_2') }), 'replayed')
    t.equal(await store.consume({ impUid: 'imp_1', ttlSeconds: LONG, merchant: merchant('mid_x') }), 'replayed')
    t.equal(await store.consume({ impUid: 'imp_2', ttlSeconds: LONG, merchant: merchant('mid_2') }), 'consumed',
      'mid_2 was not used by the replay')
  },

  'release restores the imp_uid and the merchant_uid': async (t, { store, twin }) => {
    await store.issueMerchantUid('mid_1', 'user-1', LONG)
    const consumption = { impUid: 'imp_1', ttlSeconds: LONG, merchant: merchant('mid_1') }
    t.equal(await store.consume(consumption), 'consumed')
    await twin.release(consumption)
    t.equal(await store.consume(consumption), 'consumed')
    t.equal(await store.consume(consumption), 'replayed')

    t.equal(await store.consume({ impUid: 'imp_2', ttlSeconds: LONG }), 'consumed')
    await store.release({ impUid: 'imp_2', ttlSeconds: LONG })
    t.equal(await store.consume({ impUid: 'imp_2', ttlSeconds: LONG }), 'consumed')
  },

  'release neither revives an expired merchant_uid nor hands one to another subject': async (t, { store, elapse }) => {
    await store.issueMerchantUid('mid_1', 'user-1', SHORT)
    await store.issueMerchantUid('mid_2', 'user-1', LONG)
    t.equal(await store.consume({ impUid: 'imp_1', ttlSeconds: LONG, merchant: merchant('mid_1') }), 'consumed')
    t.equal(await store.consume({ impUid: 'imp_2', ttlSeconds: LONG, merchant: merchant('mid_2') }), 'consumed')
    await elapse(PAST_SHORT)
    await store.release({ impUid: 'imp_1', ttlSeconds: LONG, merchant: merchant('mid_1') })
    await store.release({ impUid: 'imp_2', ttlSeconds: LONG, merchant: merchant('mid_2', 'user-2') })
    t.equal(await store.consume({ impUid: 'imp_1', ttlSeconds: LONG, merchant: merchant('mid_1') }), 'merchant-mismatch')
    t.equal(await store.consume({ impUid: 'imp_2', ttlSeconds: LONG, merchant: merchant('mid_2', 'user-2') }),
      'merchant-mismatch')
    t.equal(await store.consume({ impUid: 'imp_2', ttlSeconds: LONG, merchant: merchant('mid_2') }), 'merchant-mismatch',
      'still used')
    t.equal(await store.consume({ impUid: 'imp_1', ttlSeconds: LONG }), 'consumed', 'the imp_uid was released')
  },

  'a consumed imp_uid is forgotten after its ttl': async (t, { store, elapse }) => {
    t.equal(await store.consume({ impUid: 'imp_1', ttlSeconds: SHORT }), 'consumed')
    t.equal(await store.consume({ impUid: 'imp_1', ttlSeconds: SHORT }), 'replayed')
    await elapse(PAST_SHORT)
    t.equal(await store.consume({ impUid: 'imp_1', ttlSeconds: SHORT }), 'consumed')
  },

  're-issuing a merchant_uid replaces its subject': async (t, { store }) => {
    await store.issueMerchantUid('mid_1', 'user-1', LONG)
    await store.issueMerchantUid('mid_1', 'user-2', LONG)
    t.equal(await store.consume({ impUid: 'imp_1', ttlSeconds: LONG, merchant: merchant('mid_1') }), 'merchant-mismatch')
    t.equal(await store.consume({ impUid: 'imp_1', ttlSeconds: LONG, merchant: merchant('mid_1', 'user-2') }), 'consumed')
  },

  'a ttl that is not a positive number rejects': async (t, { store }) => {
    for (const ttlSeconds of [0, -1, Number.NaN, Infinity]) {
      await t.rejects(store.consume({ impUid: 'imp_1', ttlSeconds }), RangeError)
      await t.rejects(store.issueMerchantUid('mid_1', 'user-1', ttlSeconds), RangeError)
    }
    t.equal(await store.consume({ impUid: 'imp_1', ttlSeconds: LONG }), 'consumed', 'nothing was recorded')
  },

  '50 concurrent consumes of one imp_uid: exactly one wins': async (t, { store, twin }) => {
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) =>
      (i % 2 === 0 ? store : twin).consume({ impUid: 'imp_1', ttlSeconds: LONG })))
    t.same(count(results), { consumed: 1, replayed: 49 })
  },

  '50 concurrent consumes of one merchant_uid: exactly one wins': async (t, { store, twin }) => {
    await store.issueMerchantUid('mid_1', 'user-1', LONG)
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) =>
      (i % 2 === 0 ? store : twin).consume({ impUid: `imp_${i}`, ttlSeconds: LONG, merchant: merchant('mid_1') })))
    t.same(count(results), { consumed: 1, 'merchant-mismatch': 49 })
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
    await store.issueMerchantUid('mid_1', 'user-1', LONG)
    t.equal(await store.consume({ impUid: 'imp_1', ttlSeconds: LONG }), 'consumed')

    await doomed.stop()
    const started = Date.now()
    await t.rejects(store.consume({ impUid: 'imp_2', ttlSeconds: LONG, merchant: merchant('mid_1') }))
    await t.rejects(store.consume({ impUid: 'imp_3', ttlSeconds: LONG }))
    await t.rejects(store.issueMerchantUid('mid_2', 'user-1', LONG))
    await t.rejects(store.release({ impUid: 'imp_1', ttlSeconds: LONG }))
    t.ok(Date.now() - started < 2_000, 'failed fast')
  })

  t.test('an unexpected reply never passes for consumed', async (t) => {
    for (const reply of ['OK', 1, null, 'CONSUMED']) {
      const store = new RedisStore({ client: { eval: async () => reply } })
      await t.rejects(store.consume({ impUid: 'imp_1', ttlSeconds: LONG }), /unexpected reply/)
    }
  })

  t.test('uses the default prefix and its documented keys', async (t) => {
    const store = new RedisStore({ client: clientA })
    const key = `imp_${process.pid}_${Date.now()}`
    await store.issueMerchantUid(key, 'user-1', LONG)
    t.equal(await clientA.get(`iamport:mid:${key}`), 'issued:user-1')
    t.equal(await store.consume({ impUid: key, ttlSeconds: LONG, merchant: merchant(key) }), 'consumed')
    t.equal(await clientA.get(`iamport:mid:${key}`), 'used:user-1')
    t.ok(await clientA.pttl(`iamport:mid:${key}`) > 0, 'the used merchant_uid keeps its ttl')
    t.equal(await clientA.get(`iamport:imp:${key}`), '1')
    await clientA.del(`iamport:mid:${key}`, `iamport:imp:${key}`)
  })

  t.test('refuses a missing client', async (t) => {
    t.throws(() => new RedisStore({} as RedisStoreOptions), TypeError)
    t.throws(() => new RedisStore(undefined as unknown as RedisStoreOptions), TypeError)
  })
})

t.test('MemoryStore bounds', async (t) => {
  const clockedStore = (maxEntries: number) => {
    const clock = { now: 1_000_000 }
    return { clock, store: new MemoryStore({ maxEntries, now: () => clock.now }) }
  }

  t.test('refuses a bad maxEntries', async (t) => {
    for (const maxEntries of [0, -1, 1.5, Number.NaN]) {
      t.throws(() => new MemoryStore({ maxEntries }), RangeError)
    }
    t.ok(new MemoryStore(), 'defaults')
  })

  t.test('full of live consumed imp_uids: consume rejects instead of forgetting one', async (t) => {
    const { clock, store } = clockedStore(3)
    for (const impUid of ['imp_1', 'imp_2', 'imp_3']) {
      t.equal(await store.consume({ impUid, ttlSeconds: 10 }), 'consumed')
    }
    await t.rejects(store.consume({ impUid: 'imp_4', ttlSeconds: 10 }), /full/)
    await t.rejects(store.consume({ impUid: 'imp_4', ttlSeconds: 10 }), /full/, 'again, without a rescan')
    await t.rejects(store.issueMerchantUid('mid_1', 'user-1', 10), /full/)
    for (const impUid of ['imp_1', 'imp_2', 'imp_3']) {
      t.equal(await store.consume({ impUid, ttlSeconds: 10 }), 'replayed', 'nothing was forgotten')
    }
    clock.now += 10_000
    t.equal(await store.consume({ impUid: 'imp_4', ttlSeconds: 10 }), 'consumed', 'room once they expire')
  })

  t.test('expired entries make room', async (t) => {
    const { clock, store } = clockedStore(3)
    for (const impUid of ['imp_1', 'imp_2', 'imp_3']) await store.consume({ impUid, ttlSeconds: 1 })
    clock.now += 2_000
    for (const impUid of ['imp_4', 'imp_5', 'imp_6']) {
      t.equal(await store.consume({ impUid, ttlSeconds: 1 }), 'consumed')
    }
  })

  t.test('expired entries behind a live one are swept too', async (t) => {
    const { clock, store } = clockedStore(4)
    await store.consume({ impUid: 'imp_1', ttlSeconds: 100 })
    await store.consume({ impUid: 'imp_2', ttlSeconds: 1 })
    await store.issueMerchantUid('mid_1', 'user-1', 100)
    await store.issueMerchantUid('mid_2', 'user-1', 1)
    clock.now += 2_000
    t.equal(await store.consume({ impUid: 'imp_3', ttlSeconds: 100, merchant: merchant('mid_1') }), 'consumed')
    t.equal(await store.consume({ impUid: 'imp_4', ttlSeconds: 100 }), 'consumed')
    t.equal(await store.consume({ impUid: 'imp_1', ttlSeconds: 100 }), 'replayed', 'the live one stayed')
    t.equal(await store.consume({ impUid: 'imp_5', ttlSeconds: 100 }), 'consumed', 'the used mid_1 gave way')
    await t.rejects(store.consume({ impUid: 'imp_6', ttlSeconds: 100 }), /full/)
  })

  t.test('when full, the oldest issued merchant_uids give way, never the one being consumed', async (t) => {
    const { store } = clockedStore(3)
    for (const mid of ['mid_1', 'mid_2', 'mid_3', 'mid_4']) await store.issueMerchantUid(mid, 'user-1', 100)
    t.equal(await store.consume({ impUid: 'imp_1', ttlSeconds: 100, merchant: merchant('mid_1') }), 'merchant-mismatch',
      'the oldest was evicted')
    t.equal(await store.consume({ impUid: 'imp_1', ttlSeconds: 100, merchant: merchant('mid_2') }), 'consumed')
    t.equal(await store.consume({ impUid: 'imp_2', ttlSeconds: 100, merchant: merchant('mid_3') }), 'merchant-mismatch',
      'mid_3 made room for imp_1')
    t.equal(await store.consume({ impUid: 'imp_2', ttlSeconds: 100, merchant: merchant('mid_4') }), 'consumed')
  })

  t.test('rejects when only the merchant_uid being consumed could give way', async (t) => {
    const { store } = clockedStore(2)
    await store.consume({ impUid: 'imp_1', ttlSeconds: 100 })
    await store.issueMerchantUid('mid_1', 'user-1', 100)
    await t.rejects(store.consume({ impUid: 'imp_2', ttlSeconds: 100, merchant: merchant('mid_1') }), /full/)
    t.equal(await store.consume({ impUid: 'imp_2', ttlSeconds: 100 }), 'consumed', 'mid_1 stayed; now it may go')
    t.equal(await store.consume({ impUid: 'imp_1', ttlSeconds: 100 }), 'replayed')
  })
})
