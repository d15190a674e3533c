import { createHash } from 'node:crypto'
import { Type } from '@sinclair/typebox'
import { DEFAULT_MAX_ISSUED, DEFAULT_MAX_ISSUED_PER_SUBJECT, REDIS_CONSUME_BATCH_MAX, STORE_READY_TIMEOUT_MS } from '../constants.js'
import { InvalidOptionsError } from '../errors.js'
import { checkOptions, customKind } from '../options/check.js'
import { NonEmptyString, Optional, Options, PositiveInteger } from '../options/kinds.js'
import { checkTtlMs, type ConsumeResult, type Consumption, type StoreLogger, type VerificationStore } from './store.js'

/** Default key prefix of {@link RedisStore}. */
export const DEFAULT_REDIS_STORE_PREFIX = 'idv:'

/** An ioredis `Redis` or `Cluster`: RedisStore sends raw commands through `call`. */
export interface IoRedisLikeClient {
  /** Sends one command with its arguments; resolves with the reply. */
  call (command: string, ...args: string[]): Promise<unknown>
}

/** A node-redis v4/v5 client (`createClient()`; not `createCluster()`, whose `sendCommand` differs). */
export interface NodeRedisLikeClient {
  /** Sends one command, its name first; resolves with the reply. */
  sendCommand (args: string[]): Promise<unknown>
}

/**
 * A connected Redis client, created and closed by the host: ioredis (`call`) or node-redis
 * (`sendCommand`). The package imports neither.
 */
export type RedisLikeClient = IoRedisLikeClient | NodeRedisLikeClient

/** Options of {@link RedisStore}. */
export interface RedisStoreOptions {
  /** A connected ioredis or node-redis client, created and closed by the host. */
  client: RedisLikeClient
  /**
   * Prefix of every key; default `idv:`. On Redis Cluster, put a hash tag in it (for example
   * `{idv}:`): the scripts touch several keys of one prefix, which must share one slot.
   */
  prefix?: string | undefined
  /**
   * How many issued ids the store keeps at most, across every instance sharing the prefix (used
   * ones included, until they expire); default 100 000. When full, the oldest gives way, which
   * only fails its verification closed. This is what bounds the memory prepare spam can take.
   */
  maxIssued?: number | undefined
  /**
   * How many outstanding (unused, unexpired) issued ids one subject may hold; default 3. Issuing
   * one more drops that subject's oldest, so one requester's spam only evicts its own ids.
   */
  maxIssuedPerSubject?: number | undefined
  /**
   * Check the server at ready (default true): refuse to serve unless `maxmemory-policy` is
   * `noeviction`, and warn once when Redis persists nothing. Pass `false` only where `CONFIG` is
   * unavailable (some managed Redis) and you have made sure of both yourself.
   */
  checkConfig?: boolean | undefined
}

const RedisClient = customKind<RedisLikeClient>('fastify-iamport/RedisClient', (value) =>
  typeof value === 'object' && value !== null &&
  (typeof (value as Record<string, unknown>).call === 'function' ||
    typeof (value as Record<string, unknown>).sendCommand === 'function'))

const RedisStoreOptionsSchema = Options({
  client: RedisClient({ errorMessage: 'must be an ioredis client (with call) or a node-redis client (with sendCommand)' }),
  prefix: Optional(NonEmptyString()),
  maxIssued: Optional(PositiveInteger()),
  maxIssuedPerSubject: Optional(PositiveInteger()),
  checkConfig: Optional(Type.Boolean({ errorMessage: 'must be true or false' }))
})

/*
 * Keys, all under the prefix:
 * - `issued:<request id>`: `issued:<subject>` while usable, `used:<subject>` once consumed (the key
 *   and its ttl stay, so that release can restore it). Both states carry a fixed prefix, so no
 *   subject can pass for another state's value.
 * - `subject:<subject>`: sorted set of the subject's outstanding ids, scored by expiry (ms).
 * - `issued-index`: sorted set of every issued id, used or not, scored by expiry (ms).
 * - `used:<verification id>`: a consumed verification. The caps never touch these.
 * Expiries are read from the server's own clock (TIME), so no app server's clock matters.
 */

/** Lua shared by the scripts that evict issued ids. */
const PREAMBLE = `local function nowMs ()
  local time = redis.call('TIME')
  return tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
end
-- Forgets an issued id: its key, its subject's set entry (if unused) and its index entry.
local function forget (prefix, index, member)
  local key = prefix .. 'issued:' .. member
  local value = redis.call('GET', key)
  if value and string.sub(value, 1, 7) == 'issued:' then
    redis.call('ZREM', prefix .. 'subject:' .. string.sub(value, 8), member)
  end
  redis.call('DEL', key)
  redis.call('ZREM', index, member)
end
local function keepAtLeast (key, ttl)
  if redis.call('PTTL', key) < ttl then redis.call('PEXPIRE', key, ttl) end
end
`

/**
 * KEYS[1] issued-id key, KEYS[2] subject set, KEYS[3] index; ARGV[1] prefix, ARGV[2] request id,
 * ARGV[3] subject, ARGV[4] ttl (ms), ARGV[5] cap per subject, ARGV[6] global cap.
 */
const ISSUE_SCRIPT = PREAMBLE + `local prefix, id, subject, ttl = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local now = nowMs()
forget(prefix, KEYS[3], id)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
while redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[5]) do
  forget(prefix, KEYS[3], redis.call('ZPOPMIN', KEYS[2])[1])
end
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
while redis.call('ZCARD', KEYS[3]) >= tonumber(ARGV[6]) do
  forget(prefix, KEYS[3], redis.call('ZPOPMIN', KEYS[3])[1])
end
redis.call('SET', KEYS[1], 'issued:' .. subject, 'PX', ttl)
redis.call('ZADD', KEYS[2], now + ttl, id)
redis.call('ZADD', KEYS[3], now + ttl, id)
keepAtLeast(KEYS[2], ttl)
keepAtLeast(KEYS[3], ttl)
return 1`

/**
 * Consumes a batch, in order. Per consumption: KEYS its consumed-verification key, then with an
 * issued id its issued-id key and subject set; ARGV its key count (1 or 3), the consumed key's ttl
 * in ms, then with an issued id the subject and the request id. Returns one result per
 * consumption. Each is decided and written before the next, so a second consumption of one id
 * in the batch is `replayed`. Replay is checked first; nothing is written unless `consumed`.
 */
const CONSUME_SCRIPT = `local results, k, a = {}, 1, 1
while a <= #ARGV do
  local used, result = KEYS[k], 'consumed'
  if ARGV[a] == '3' then
    local subject = ARGV[a + 2]
    if redis.call('EXISTS', used) == 1 then
      result = 'replayed'
    elseif redis.call('GET', KEYS[k + 1]) ~= 'issued:' .. subject then
      result = 'not-issued'
    else
      redis.call('SET', KEYS[k + 1], 'used:' .. subject, 'KEEPTTL')
      redis.call('ZREM', KEYS[k + 2], ARGV[a + 3])
      redis.call('SET', used, '1', 'PX', ARGV[a + 1])
    end
    k, a = k + 3, a + 4
  else
    if not redis.call('SET', used, '1', 'PX', ARGV[a + 1], 'NX') then result = 'replayed' end
    k, a = k + 1, a + 2
  end
  results[#results + 1] = result
end
return results`

/**
 * KEYS[1] consumed-verification key, optional KEYS[2] issued-id key, KEYS[3] subject set, KEYS[4]
 * index; ARGV[1] prefix, ARGV[2] request id, ARGV[3] subject, ARGV[4] cap per subject. An issued id
 * that expired meanwhile stays gone; one issued to another subject is left alone. The restored id
 * is outstanding again: if that is one too many for its subject, the subject's oldest gives way.
 */
const RELEASE_SCRIPT = PREAMBLE + `redis.call('DEL', KEYS[1])
if #KEYS == 4 and redis.call('GET', KEYS[2]) == 'used:' .. ARGV[3] then
  local left = redis.call('PTTL', KEYS[2])
  local now = nowMs()
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
  while redis.call('ZCARD', KEYS[3]) >= tonumber(ARGV[4]) do
    forget(ARGV[1], KEYS[4], redis.call('ZPOPMIN', KEYS[3])[1])
  end
  redis.call('SET', KEYS[2], 'issued:' .. ARGV[3], 'KEEPTTL')
  redis.call('ZADD', KEYS[3], now + left, ARGV[2])
  keepAtLeast(KEYS[3], left)
end
return 1`

/** A script sent by its SHA1 (EVALSHA), with its source for when the server does not know it. */
interface Script {
  source: string
  sha: string
}

function script (source: string): Script {
  return { source, sha: createHash('sha1').update(source).digest('hex') }
}

const ISSUE = script(ISSUE_SCRIPT)
const CONSUME = script(CONSUME_SCRIPT)
const RELEASE = script(RELEASE_SCRIPT)

const RESULTS: ReadonlySet<unknown> = new Set<ConsumeResult>(['consumed', 'replayed', 'not-issued'])

/** Consumptions waiting to be sent together, each with its caller's promise. */
interface ConsumeBatch {
  keys: string[]
  args: string[]
  waiters: Array<{ resolve: (result: ConsumeResult) => void, reject: (err: unknown) => void }>
  timer: NodeJS.Immediate
}

/** Sends one raw command, its name first. */
type SendCommand = (args: string[]) => Promise<unknown>

/** The one adapter over both client kinds. ioredis also has a `sendCommand`, of another shape: `call` wins. */
function commandSender (client: RedisLikeClient): SendCommand {
  if ('call' in client && typeof client.call === 'function') {
    return async (args) => await client.call(args[0]!, ...args.slice(1))
  }
  const nodeRedis = client as NodeRedisLikeClient
  return async (args) => await nodeRedis.sendCommand(args)
}

/**
 * What the persistence warning says: the risk, then the remedy. (No `eraseAfterVerify` option
 * exists yet; if one comes, name it here.)
 */
const NO_PERSISTENCE_WARNING = 'RedisStore: Redis persists nothing (appendonly no, save ""): a restart forgets every ' +
  'consumed verification, so a replay within the ledger window is accepted. Set appendonly yes, or (V1) ' +
  'certifications.eraseAfterVerify, so that a replayed id finds nothing upstream'

/**
 * A {@link VerificationStore} in Redis (6.0 or later, for KEEPTTL), shared by every app
 * instance that uses the same server and prefix. Each operation is one Lua script, sent by its
 * SHA, so it is atomic across instances. Errors of the client reject (the route answers 503); the
 * store never guesses.
 *
 * Needs `maxmemory-policy noeviction`: any other policy can evict a consumed verification and let
 * a replay through, so {@link RedisStore.ready} refuses it. Issued ids are capped (`maxIssued`,
 * `maxIssuedPerSubject`), so prepare spam cannot fill the server: about 605 bytes an issued id
 * (key, subject set and index entry, measured), 60 MB at the default cap. Consumed verifications
 * (117 bytes each) are never evicted before their ttl. On Redis Cluster the scripts also touch
 * the keys of the ids they evict, derived from the prefix: its hash tag keeps them in one slot.
 */
export class RedisStore implements VerificationStore {
  readonly #send: SendCommand
  readonly #prefix: string
  readonly #maxIssued: string
  readonly #maxIssuedPerSubject: string
  readonly #checkConfig: boolean
  #ready: Promise<void> | undefined
  /** The consumptions asked for in this turn of the event loop, not sent yet. */
  #batch: ConsumeBatch | undefined

  constructor (options: RedisStoreOptions) {
    checkOptions(RedisStoreOptionsSchema, options, { root: 'RedisStore' })
    // ioredis would prefix KEYS but not the keys the scripts derive (evicted ids), so a cap would
    // delete nothing: refuse rather than lose the memory bound silently.
    const keyPrefix = (options.client as { options?: { keyPrefix?: unknown } }).options?.keyPrefix
    if (typeof keyPrefix === 'string' && keyPrefix !== '') {
      throw new InvalidOptionsError('RedisStore client must not have an ioredis keyPrefix (the scripts derive key names); use the RedisStore prefix option')
    }
    this.#send = commandSender(options.client)
    this.#prefix = options.prefix ?? DEFAULT_REDIS_STORE_PREFIX
    // Every script, and every batch of consumptions, touches several keys: on a Cluster they
    // share a slot only through a hash tag. Refused here rather than as CROSSSLOT under load.
    if ((options.client as { isCluster?: unknown }).isCluster === true && !hasHashTag(this.#prefix)) {
      throw new InvalidOptionsError('RedisStore prefix must contain a hash tag on Redis Cluster (for example {idv}:), so that its keys share one slot')
    }
    this.#maxIssued = String(options.maxIssued ?? DEFAULT_MAX_ISSUED)
    this.#maxIssuedPerSubject = String(options.maxIssuedPerSubject ?? DEFAULT_MAX_ISSUED_PER_SUBJECT)
    this.#checkConfig = options.checkConfig ?? true
  }

  /**
   * Checks the server once (memoized: several routes sharing the store check and warn once).
   * Rejects with FST_IAMPORT_INVALID_OPTIONS unless `maxmemory-policy` is `noeviction`, or when
   * `CONFIG GET` fails or does not answer in time; warns through `log` when Redis has neither AOF
   * nor RDB snapshots. A rejection is not memoized, so a later registration checks again.
   */
  async ready (log: StoreLogger): Promise<void> {
    this.#ready ??= this.#checkServer(log).catch((err: unknown) => {
      this.#ready = undefined
      throw err
    })
    return await this.#ready
  }

  /** Records a request id issued to `subject`, valid for `ttlMs`. */
  async issue (requestId: string, subject: string, ttlMs: number): Promise<void> {
    await this.#run(ISSUE, [this.#issuedKey(requestId), this.#subjectKey(subject), this.#indexKey()],
      [this.#prefix, requestId, subject, String(checkTtlMs(ttlMs)), this.#maxIssuedPerSubject, this.#maxIssued])
  }

  /**
   * Atomically checks and consumes the verification and, when given, the issued id. The
   * consumptions asked for in one turn of the event loop go to Redis together, in one script call
   * (at most {@link REDIS_CONSUME_BATCH_MAX}): under load a verification then costs a fraction of a
   * socket write, the largest part of RedisStore's CPU (bench/). Each keeps its own result.
   */
  consume (consumption: Consumption): Promise<ConsumeResult> {
    return new Promise((resolve, reject) => {
      const ms = String(checkTtlMs(consumption.ttlMs))
      const batch = this.#batch ?? this.#openBatch()
      const { issued } = consumption
      if (issued === undefined) {
        batch.keys.push(this.#usedKey(consumption.verificationId))
        batch.args.push('1', ms)
      } else {
        batch.keys.push(this.#usedKey(consumption.verificationId), this.#issuedKey(issued.requestId), this.#subjectKey(issued.subject))
        batch.args.push('3', ms, issued.subject, issued.requestId)
      }
      batch.waiters.push({ resolve, reject })
      if (batch.waiters.length === REDIS_CONSUME_BATCH_MAX) {
        clearImmediate(batch.timer)
        this.#sendBatch(batch)
      }
    })
  }

  /** Undoes a `consumed` result: forgets the verification and makes the issued id usable again. */
  async release (consumption: Consumption): Promise<void> {
    const { issued } = consumption
    if (issued === undefined) {
      await this.#run(RELEASE, [this.#usedKey(consumption.verificationId)], [this.#prefix])
    } else {
      await this.#run(RELEASE,
        [this.#usedKey(consumption.verificationId), this.#issuedKey(issued.requestId), this.#subjectKey(issued.subject), this.#indexKey()],
        [this.#prefix, issued.requestId, issued.subject, this.#maxIssuedPerSubject])
    }
  }

  /** A new batch, sent once the event loop has run this turn's callbacks (setImmediate). */
  #openBatch (): ConsumeBatch {
    const batch: ConsumeBatch = { keys: [], args: [], waiters: [], timer: setImmediate(() => this.#sendBatch(batch)) }
    this.#batch = batch
    return batch
  }

  /** Sends a batch; each consumption gets its result, or all reject alike when the call fails. */
  #sendBatch (batch: ConsumeBatch): void {
    this.#batch = undefined
    const { waiters } = batch
    this.#run(CONSUME, batch.keys, batch.args).then((reply) => {
      // Anything else (a proxy, a mock, a changed script) must not pass for 'consumed'.
      if (!Array.isArray(reply) || reply.length !== waiters.length || !reply.every((result) => RESULTS.has(result))) {
        throw new Error('RedisStore got an unexpected reply to consume')
      }
      for (const [i, waiter] of waiters.entries()) waiter.resolve(reply[i] as ConsumeResult)
    }).catch((err: unknown) => {
      for (const waiter of waiters) waiter.reject(err)
    })
  }

  /** EVALSHA, and EVAL when the server has not cached the script (restart, SCRIPT FLUSH, failover). */
  async #run (script: Script, keys: string[], args: string[]): Promise<unknown> {
    const tail = [String(keys.length), ...keys, ...args]
    try {
      return await this.#send(['EVALSHA', script.sha, ...tail])
    } catch (err) {
      if (!(err instanceof Error && err.message.startsWith('NOSCRIPT'))) throw err
      // EVAL also caches the script, so the next call's EVALSHA finds it.
      return await this.#send(['EVAL', script.source, ...tail])
    }
  }

  async #checkServer (log: StoreLogger): Promise<void> {
    if (!this.#checkConfig) return
    let timer: NodeJS.Timeout | undefined
    const deadline = new Promise<never>((resolve, reject) => {
      timer = setTimeout(() => reject(configError(`did not answer within ${STORE_READY_TIMEOUT_MS} ms`)), STORE_READY_TIMEOUT_MS)
    })
    try {
      const [policy, appendonly, save] = await Promise.race([
        Promise.all([this.#configGet('maxmemory-policy'), this.#configGet('appendonly'), this.#configGet('save')]),
        deadline
      ])
      if (policy !== 'noeviction') {
        throw new InvalidOptionsError(`RedisStore refuses to serve: maxmemory-policy is ${policyName(policy)}, which can ` +
          'evict consumed verifications and let a replay through; set maxmemory-policy noeviction, or pass ' +
          'checkConfig: false if CONFIG is unavailable and you have made sure of it')
      }
      if (appendonly === 'no' && save === '') log.warn({ store: 'RedisStore' }, NO_PERSISTENCE_WARNING)
    } finally {
      clearTimeout(timer)
    }
  }

  /** One setting's value by CONFIG GET; rejects with the opt-out named when it cannot be read. */
  async #configGet (name: string): Promise<string> {
    let reply: unknown
    try {
      reply = await this.#send(['CONFIG', 'GET', name])
    } catch (err) {
      throw configError(`${name} failed${reasonOf(err)}`)
    }
    const value = configValue(reply, name)
    if (value === undefined) throw configError(`gave no value for ${name}`)
    return value
  }

  /** Key of a consumed verification. */
  #usedKey (verificationId: string): string {
    return `${this.#prefix}used:${verificationId}`
  }

  /** Key of an issued request id. */
  #issuedKey (requestId: string): string {
    return `${this.#prefix}issued:${requestId}`
  }

  /** Sorted set of a subject's outstanding issued ids. */
  #subjectKey (subject: string): string {
    return `${this.#prefix}subject:${subject}`
  }

  /** Sorted set of every issued id. */
  #indexKey (): string {
    return `${this.#prefix}issued-index`
  }
}

/** Whether every key under `prefix` hashes by a tag of the prefix: Redis's rule, the first `{` and the first `}` after it, with something between. */
function hasHashTag (prefix: string): boolean {
  const open = prefix.indexOf('{')
  const close = open === -1 ? -1 : prefix.indexOf('}', open + 1)
  return close > open + 1
}

/** The registration error when the server's settings cannot be read. */
function configError (what: string): Error {
  return new InvalidOptionsError(`RedisStore could not check the Redis configuration: CONFIG GET ${what}. If CONFIG ` +
    'is unavailable (some managed Redis), make sure maxmemory-policy is noeviction and pass checkConfig: false')
}

/**
 * A setting's value from a CONFIG GET reply: a flat `[name, value]` array (RESP2), or a map or
 * object (RESP3 with node-redis).
 */
function configValue (reply: unknown, name: string): string | undefined {
  let value: unknown
  if (Array.isArray(reply)) {
    const at = reply.indexOf(name)
    value = at % 2 === 0 ? reply[at + 1] : undefined
  } else if (reply instanceof Map) {
    value = reply.get(name)
  } else if (typeof reply === 'object' && reply !== null) {
    value = (reply as Record<string, unknown>)[name]
  }
  return typeof value === 'string' ? value : undefined
}

/** A policy name fit for a message: Redis's own names only, never arbitrary text. */
function policyName (policy: string): string {
  return /^[a-z-]{1,40}$/.test(policy) ? policy : 'not recognized'
}

/** A client error's code (`ECONNREFUSED`) or Redis error word (`ERR`, `NOPERM`), nothing more. */
function reasonOf (err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code
  if (typeof code === 'string' && /^[A-Z_]{2,40}$/.test(code)) return ` (${code})`
  const word = err instanceof Error ? /^[A-Z]{2,20}(?= )/.exec(err.message)?.[0] : undefined
  return word === undefined ? '' : ` (${word})`
}
