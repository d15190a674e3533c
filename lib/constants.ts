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
/** How long an id issued by `POST {url}/prepare` can be used, in seconds. */
export const DEFAULT_ISSUED_ID_TTL_SECONDS = 1800
/** A store (Redis) call that has not answered by then fails closed with 503, in milliseconds. */
export const STORE_TIMEOUT_MS = 2_000

/** Production host of the PortOne V2 REST API. */
export const DEFAULT_PORTONE_V2_BASE_URL = 'https://api.portone.io'

/**
 * Default whitelist of V2 identity verification ids. They are chosen by the merchant, so the
 * pattern is a policy rather than a fact of the API: path-safe characters only, at most 64.
 */
export const DEFAULT_IDENTITY_VERIFICATION_ID_PATTERN = '^[A-Za-z0-9_-]{1,64}$'
