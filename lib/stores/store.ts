/**
 * Where the route keeps what must outlive one request: the merchant_uids it issued and the
 * imp_uids it consumed. Every operation is atomic, so several app instances sharing one store
 * (Redis) accept a verification at most once.
 */

/** What one verification consumes. */
export interface Consumption {
  /** The imp_uid (or V2 identity verification id) being used. */
  impUid: string
  /** How long the consumed imp_uid is remembered, in seconds. */
  ttlSeconds: number
  /** With merchant_uid binding: the certification's merchant_uid and the requester's subject. */
  merchant?: { merchantUid: string, subject: string }
}

/**
 * `consumed`: first use, now recorded. `replayed`: the imp_uid was consumed before.
 * `merchant-mismatch`: the merchant_uid was never issued here, expired, was used, or belongs to
 * another subject. Nothing is changed unless the result is `consumed`.
 */
export type ConsumeResult = 'consumed' | 'replayed' | 'merchant-mismatch'

/** The store interface behind one-time imp_uids and issued merchant_uids. */
export interface VerificationStore {
  /**
   * `true` when calls never wait on I/O (MemoryStore): the route then skips the deadline it puts
   * on every call of a networked store.
   */
  readonly inProcess?: boolean
  /** Records a merchant_uid issued to `subject`, valid for `ttlSeconds`. */
  issueMerchantUid (merchantUid: string, subject: string, ttlSeconds: number): Promise<void>
  /** Atomically checks and consumes the imp_uid and, when given, the merchant_uid. */
  consume (consumption: Consumption): Promise<ConsumeResult>
  /**
   * Undoes a `consumed` result (the verification then failed for a server-side reason), so the
   * person can retry with the same imp_uid and merchant_uid.
   */
  release (consumption: Consumption): Promise<void>
}
