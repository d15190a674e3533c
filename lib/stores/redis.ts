import { checkOptions } from '../options/check.js'
import { NonEmptyString, Optional, Options, WithMethods } from '../options/kinds.js'
import { checkTtlMs, type ConsumeResult, type Consumption, type VerificationStore } from './store.js'

/** Default key prefix of {@link RedisStore}. */
export const DEFAULT_REDIS_STORE_PREFIX = 'idv:'

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
   * Prefix of every key; default `idv:`. On Redis Cluster, put a hash tag in it (for example
   * `{idv}:`) so that a script's keys share one slot.
   */
  prefix?: string | undefined
}

const RedisStoreOptionsSchema = Options({
  client: WithMethods('RedisClient', ['eval'], 'must be an ioredis-compatible client (with eval)'),
  prefix: Optional(NonEmptyString())
})

// An issued id's value says its state before the subject: `issued:<subject>` while usable,
// `used:<subject>` once consumed (the key and its ttl stay, so that release can restore it).
// Both states carry a fixed prefix, so no subject can pass for another state's value.

/** SET KEYS[1] = 'issued:' .. ARGV[1] with a ttl of ARGV[2] ms. */
const ISSUE_SCRIPT = `redis.call('SET', KEYS[1], 'issued:' .. ARGV[1], 'PX', ARGV[2])
return 1`

/**
 * KEYS[1] consumed-verification key, optional KEYS[2] issued-id key; ARGV[1] the consumed key's
 * ttl in ms, ARGV[2] subject. Replay is checked first; nothing is written unless the answer is `consumed`.
 */
const CONSUME_SCRIPT = `if redis.call('EXISTS', KEYS[1]) == 1 then return 'replayed' end
if #KEYS == 2 then
  if redis.call('GET', KEYS[2]) ~= 'issued:' .. ARGV[2] then return 'not-issued' end
  redis.call('SET', KEYS[2], 'used:' .. ARGV[2], 'KEEPTTL')
end
redis.call('SET', KEYS[1], '1', 'PX', ARGV[1])
return 'consumed'`

/**
 * KEYS[1] consumed-verification key, optional KEYS[2] issued-id key; ARGV[1] subject. An issued id
 * that expired meanwhile stays gone; one issued to another subject is left alone.
 */
const RELEASE_SCRIPT = `redis.call('DEL', KEYS[1])
if #KEYS == 2 and redis.call('GET', KEYS[2]) == 'used:' .. ARGV[1] then
  redis.call('SET', KEYS[2], 'issued:' .. ARGV[1], 'KEEPTTL')
end
return 1`

const RESULTS: ReadonlySet<unknown> = new Set<ConsumeResult>(['consumed', 'replayed', 'not-issued'])

/**
 * A {@link VerificationStore} in Redis (6.0 or later, for KEEPTTL), shared by every app instance
 * that uses the same server and prefix. Each operation is one Lua script, so it is atomic across
 * instances. Errors of the client reject (the route answers 503); the store never guesses.
 */
export class RedisStore implements VerificationStore {
  readonly #client: RedisLikeClient
  readonly #prefix: string

  constructor (options: RedisStoreOptions) {
    checkOptions(RedisStoreOptionsSchema, options, { root: 'RedisStore' })
    this.#client = options.client
    this.#prefix = options.prefix ?? DEFAULT_REDIS_STORE_PREFIX
  }

  /** Records a request id issued to `subject`, valid for `ttlMs`. */
  async issue (requestId: string, subject: string, ttlMs: number): Promise<void> {
    await this.#client.eval(ISSUE_SCRIPT, 1, this.#issuedKey(requestId), subject, checkTtlMs(ttlMs))
  }

  /** Atomically checks and consumes the verification and, when given, the issued id. */
  async consume (consumption: Consumption): Promise<ConsumeResult> {
    const ms = checkTtlMs(consumption.ttlMs)
    const { issued } = consumption
    const reply = issued === undefined
      ? await this.#client.eval(CONSUME_SCRIPT, 1, this.#usedKey(consumption.verificationId), ms)
      : await this.#client.eval(CONSUME_SCRIPT, 2, this.#usedKey(consumption.verificationId),
        this.#issuedKey(issued.requestId), ms, issued.subject)
    // Anything else (a proxy, a mock, a changed script) must not pass for 'consumed'.
    if (!RESULTS.has(reply)) throw new Error('RedisStore got an unexpected reply to consume')
    return reply as ConsumeResult
  }

  /** Undoes a `consumed` result: forgets the verification and makes the issued id usable again. */
  async release (consumption: Consumption): Promise<void> {
    const { issued } = consumption
    if (issued === undefined) {
      await this.#client.eval(RELEASE_SCRIPT, 1, this.#usedKey(consumption.verificationId))
    } else {
      await this.#client.eval(RELEASE_SCRIPT, 2, this.#usedKey(consumption.verificationId),
        this.#issuedKey(issued.requestId), issued.subject)
    }
  }

  /** Key of a consumed verification. */
  #usedKey (verificationId: string): string {
    return `${this.#prefix}used:${verificationId}`
  }

  /** Key of an issued request id. */
  #issuedKey (requestId: string): string {
    return `${this.#prefix}issued:${requestId}`
  }
}
