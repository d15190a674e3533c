/** Defaults, in one place. Every time value says its unit. */

/** Production host of the i'mport (PortOne V1) REST API. */
export const DEFAULT_BASE_URL = 'https://api.iamport.kr'

/** Default imp_uid whitelist: observed ids are `imp_` + 12 digits; the spec's examples have 11. */
export const DEFAULT_IMP_UID_PATTERN = '^imp_[0-9]{6,20}$'

/** Whole-request budget for one upstream call (headers and body), in milliseconds. */
export const DEFAULT_TIMEOUT_MS = 10_000

/** Connect budget, in milliseconds (never more than the request budget). */
export const DEFAULT_CONNECT_TIMEOUT_MS = 5_000

/**
 * Sockets per client pool, bounded so i'mport is not flooded. At 30 ms of upstream latency, 32
 * sockets capped an instance near 1 000 verifications/s (bench/); 128 lift that past 3 000.
 */
export const DEFAULT_POOL_CONNECTIONS = 128

/** How long an idle keep-alive socket stays open, in milliseconds. */
export const DEFAULT_KEEP_ALIVE_MS = 30_000

/** A cached token is refreshed this long before the server says it expires, in milliseconds. */
export const TOKEN_REFRESH_MARGIN_MS = 60_000

/**
 * A token whose lifetime (server `expired_at - now`) is at most this is used for the calls that
 * asked for it but never cached, so a broken `expired_at` cannot cause a refresh loop.
 */
export const TOKEN_MIN_CACHE_MS = 1_000

/** Route defaults. */
export const DEFAULT_ROUTE_URL = '/certifications'
export const DEFAULT_CERTIFIED_WITHIN_SECONDS = 600
/** Clock skew allowed between i'mport's `certified_at` and this server, in seconds. */
export const CERTIFIED_AT_SKEW_SECONDS = 60
export const DEFAULT_BODY_LIMIT_BYTES = 1024
/**
 * How long a consumed verification is remembered, in seconds: hours, far past the freshness
 * window (600 s + 2 x 60 s of skew), so a server clock stepped back cannot reopen a used one.
 */
export const CONSUMED_TTL_SECONDS = 6 * 3600
/** Largest body `POST {url}/prepare` reads, in bytes: it needs none. */
export const PREPARE_BODY_LIMIT_BYTES = 64
/** How long an id issued by `POST {url}/prepare` can be used, in seconds. */
export const DEFAULT_ISSUED_ID_TTL_SECONDS = 1800
/** A store (Redis) call that has not answered by then fails closed with 503, in milliseconds. */
export const STORE_TIMEOUT_MS = 2_000
/**
 * Most consumptions RedisStore sends in one script call: enough to take a burst's socket writes
 * down to a few, small enough that the script never holds Redis for long (bench/).
 */
export const REDIS_CONSUME_BATCH_MAX = 64

/** Production host of the PortOne V2 REST API. */
export const DEFAULT_PORTONE_V2_BASE_URL = 'https://api.portone.io'

/**
 * Default whitelist of V2 identity verification ids. They are chosen by the merchant, so the
 * pattern is a policy rather than a fact of the API: path-safe characters only, at most 64.
 */
export const DEFAULT_IDENTITY_VERIFICATION_ID_PATTERN = '^[A-Za-z0-9_-]{1,64}$'

/**
 * Store budgets. Issued ids and consumed verifications have separate caps, so prepare spam can
 * evict only issued ids, never a consumed verification.
 *
 * Measured (Node 20, `--expose-gc`, heapUsed after 100 000 entries, strings included: request ids
 * `mid` + 32 hex, subjects of 48 characters, the route's purpose and a binding cookie; verification
 * ids `imp_` + 12 digits). MemoryStore: an issued id 360 B with a subject of its own (230 B at 3 a
 * subject); consumed verifications take 16 B a slot of a table at most half full, off the heap
 * (16 MiB at the default cap, consumed-ledger.ts); both caps full at these defaults, 52 MB (spam of
 * 1 000 000 prepares against the issued cap: 44 MB). RedisStore (redis-server 7.0, used_memory):
 * an issued id 605 B with its subject set and index entry (516 B at 3 a subject), so the default
 * cap bounds prepare spam at about 60 MB (measured 60.2 MB after 300 000 prepares); a consumed
 * verification 117 B, and those are not capped: they are bounded by real verifications.
 */
/** Issued ids a store keeps at most (MemoryStore and RedisStore); the oldest gives way. */
export const DEFAULT_MAX_ISSUED = 100_000
/** Outstanding (unused, unexpired) issued ids one subject may hold; one more drops its oldest. */
export const DEFAULT_MAX_ISSUED_PER_SUBJECT = 3
/** Consumed verifications a MemoryStore keeps at most; never evicted before their ttl. */
export const DEFAULT_MEMORY_STORE_MAX_CONSUMED = 500_000
/** A store's check at ready (RedisStore: CONFIG GET) that has not answered by then fails the registration, in milliseconds. */
export const STORE_READY_TIMEOUT_MS = 5_000
