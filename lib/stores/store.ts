/**
 * Where the route keeps what must outlive one request: the ids it issued and the verifications
 * it consumed. Every operation is atomic, so several app instances sharing one store (Redis)
 * accept a verification at most once.
 */

/** What one verification consumes. */
export interface Consumption {
  /** The verification's id (V1 imp_uid, V2 identity verification id). */
  verificationId: string
  /** How long the consumed id is remembered, in milliseconds. */
  ttlMs: number
  /** With issued ids: the id the verification carries and the requester's subject. */
  issued?: { requestId: string, subject: string }
}

/**
 * `consumed`: first use, now recorded. `replayed`: the verification was consumed before.
 * `not-issued`: the request id was never issued here, expired, was used, or belongs to another
 * subject. Nothing is changed unless the result is `consumed`.
 */
export type ConsumeResult = 'consumed' | 'replayed' | 'not-issued'

/** The store interface behind one-time verifications and issued ids. */
export interface VerificationStore {
  /** Records a request id issued to `subject`, valid for `ttlMs` milliseconds. */
  issue (requestId: string, subject: string, ttlMs: number): Promise<void>
  /** Atomically checks and consumes the verification and, when given, the issued id. */
  consume (consumption: Consumption): Promise<ConsumeResult>
  /**
   * Undoes a `consumed` result (the verification then failed for a server-side reason), so the
   * person can retry with the same verification and issued id.
   */
  release (consumption: Consumption): Promise<void>
  /**
   * Optional: called once when the plugin is ready; rejecting fails the registration. A store
   * checks here what it cannot check in its constructor (RedisStore: the server's eviction and
   * persistence settings) and may log a warning through `log`.
   */
  ready?: (log: StoreLogger) => Promise<void>
}

/** The part of Fastify's logger a store may use at ready. */
export interface StoreLogger {
  warn: (obj: object, msg: string) => void
}

/** A ttl as a store uses it: a non-positive or non-finite one would silently disable a check. */
export function checkTtlMs (ttlMs: number): number {
  if (!Number.isFinite(ttlMs) || ttlMs <= 0) throw new RangeError('The store ttl must be a positive number of milliseconds')
  return Math.ceil(ttlMs)
}
