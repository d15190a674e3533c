import type { ConsumeResult, Consumption, VerificationStore } from './store.js'

/** Default key prefix of {@link RedisStore}. */
export const DEFAULT_REDIS_STORE_PREFIX = 'iamport:'

/**
 * The one command RedisStore needs, as ioredis declares it: an ioredis `Redis` or `Cluster`
 * instance fits, and so does any client with the same `eval`. The package does not import ioredis.
 */
export interface RedisLikeClient {
  /** Runs a Lua script: `numKeys` key names, then the other arguments. */
  eval (script: string, numKeys: number, ...args: Array<string | number>): Promise<unknown>
}

/** Options of {@link RedisStore}. */
export interface RedisStoreOptions {
  /** A connected ioredis-compatible client, created and closed by the host. */
  client: RedisLikeClient
  /**
   * Prefix of every key; default `iamport:`. On Redis Cluster, put a hash tag in it (for example
   * `{iamport}:`) so that a script's keys share one slot.
   */
  prefix?: string
}

// A merchant_uid's value says its state before the subject: `issued:<subject>` while usable,
// `used:<subject>` once consumed (the key and its ttl stay, so that release can restore it).
// Both states carry a fixed prefix, so no subject can pass for another state's value.

/** SET KEYS[1] = 'issued:' .. ARGV[1] with a ttl of ARGV[2] ms. */
const ISSUE_SCRIPT = `redis.call('SET', KEYS[1], 'issued:' .. ARGV[1], 'PX', ARGV[2])
return 1`

/**
 * KEYS[1] imp_uid key, optional KEYS[2] merchant_uid key; ARGV[1] imp_uid ttl in ms, ARGV[2]
 * subject. Replay is checked first; nothing is written unless the answer is `consumed`.
 */
const CONSUME_SCRIPT = `if redis.call('EXISTS', KEYS[1]) == 1 then return 'replayed' end
if #KEYS == 2 then
  if redis.call('GET', KEYS[2]) ~= 'issued:' .. ARGV[2] then return 'merchant-mismatch' end
  redis.call('SET', KEYS[2], 'used:' .. ARGV[2], 'KEEPTTL')
end
redis.call('SET', KEYS[1], '1', 'PX', ARGV[1])
return 'consumed'`

/**
 * KEYS[1] imp_uid key, optional KEYS[2] merchant_uid key; ARGV[1] subject. A merchant_uid that
 * expired meanwhile stays gone; one issued to another subject is left alone.
 */
const RELEASE_SCRIPT = `redis.call('DEL', KEYS[1])
if #KEYS == 2 and redis.call('GET', KEYS[2]) == 'used:' .. ARGV[1] then
  redis.call('SET', KEYS[2], 'issued:' .. ARGV[1], 'KEEPTTL')
end
return 1`

const RESULTS: ReadonlySet<unknown> = new Set<ConsumeResult>(['consumed', 'replayed', 'merchant-mismatch'])

/** Seconds to milliseconds; a non-positive or non-finite ttl would silently disable a check. */
function ttlMs (ttlSeconds: number): number {
  if (!Number.isFinite(ttlSeconds) || ttlSeconds <= 0) {
    throw new RangeError('The store ttl must be a positive number of seconds')
  }
  return Math.ceil(ttlSeconds * 1000)
}

/**
 * A {@link VerificationStore} in Redis (6.0 or later, for KEEPTTL), shared by every app instance
 * that uses the same server and prefix. Each operation is one Lua script, so it is atomic across
 * instances. Errors of the client reject (the route answers 503); the store never guesses.
 */
export class RedisStore implements VerificationStore {
  readonly #client: RedisLikeClient
  readonly #prefix: string

  constructor (options: RedisStoreOptions) {
    if (typeof options?.client?.eval !== 'function') {
      throw new TypeError('RedisStore needs an ioredis-compatible client')
    }
    this.#client = options.client
    this.#prefix = options.prefix ?? DEFAULT_REDIS_STORE_PREFIX
  }

  /** Records a merchant_uid issued to `subject`, valid for `ttlSeconds`. */
  async issueMerchantUid (merchantUid: string, subject: string, ttlSeconds: number): Promise<void> {
    await this.#client.eval(ISSUE_SCRIPT, 1, this.#midKey(merchantUid), subject, ttlMs(ttlSeconds))
  }

  /** Atomically checks and consumes the imp_uid and, when given, the merchant_uid. */
  async consume (consumption: Consumption): Promise<ConsumeResult> {
    const ms = ttlMs(consumption.ttlSeconds)
    const { merchant } = consumption
    const reply = merchant === undefined
      ? await this.#client.eval(CONSUME_SCRIPT, 1, this.#impKey(consumption.impUid), ms)
      : await this.#client.eval(CONSUME_SCRIPT, 2, this.#impKey(consumption.impUid),
        this.#midKey(merchant.merchantUid), ms, merchant.subject)
    // Anything else (a proxy, a mock, a changed script) must not pass for 'consumed'.
    if (!RESULTS.has(reply)) throw new Error('RedisStore got an unexpected reply to consume')
    return reply as ConsumeResult
  }

  /** Undoes a `consumed` result: forgets the imp_uid and makes the merchant_uid usable again. */
  async release (consumption: Consumption): Promise<void> {
    const { merchant } = consumption
    if (merchant === undefined) {
      await this.#client.eval(RELEASE_SCRIPT, 1, this.#impKey(consumption.impUid))
    } else {
      await this.#client.eval(RELEASE_SCRIPT, 2, this.#impKey(consumption.impUid),
        this.#midKey(merchant.merchantUid), merchant.subject)
    }
  }

  #impKey (impUid: string): string {
    return `${this.#prefix}imp:${impUid}`
  }

  #midKey (merchantUid: string): string {
    return `${this.#prefix}mid:${merchantUid}`
  }
}
