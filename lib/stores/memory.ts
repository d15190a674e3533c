import type { ConsumeResult, Consumption, VerificationStore } from './store.js'

/** Default bound on the entries (issued merchant_uids plus consumed imp_uids) one MemoryStore keeps. */
export const DEFAULT_MEMORY_STORE_MAX_ENTRIES = 500_000

/** Options of {@link MemoryStore}. */
export interface MemoryStoreOptions {
  /** How many entries (merchant_uids plus imp_uids) the store keeps at most; default 500 000 (about 40 MiB, or ~690 verifications/s sustained over the default 12-minute ledger). */
  maxEntries?: number
  /** Clock in milliseconds since the epoch; tests inject one. Default `Date.now`. */
  now?: () => number
}

interface IssuedMerchantUid {
  subject: string
  expiresAt: number
  used: boolean
}

/** Seconds to milliseconds; a non-positive or non-finite ttl would silently disable a check. */
function ttlMs (ttlSeconds: number): number {
  if (!Number.isFinite(ttlSeconds) || ttlSeconds <= 0) {
    throw new RangeError('The store ttl must be a positive number of seconds')
  }
  return Math.ceil(ttlSeconds * 1000)
}

/**
 * A single-process {@link VerificationStore}: the default, right for one app instance. Use
 * RedisStore when several instances serve the same users.
 *
 * Bounded: when full it drops expired entries, then the oldest issued merchant_uids (losing one
 * only fails that verification closed). It never forgets a consumed imp_uid before its ttl, so
 * when it is full of those, `consume` rejects (the route answers 503) instead of allowing a
 * replay. No timers: entries expire lazily and are swept on writes.
 */
export class MemoryStore implements VerificationStore {
  /** Never waits on I/O: no deadline needed. */
  readonly inProcess = true
  readonly #maxEntries: number
  readonly #now: () => number
  /** imp_uid -> expiry (ms); Map order is insertion order, which approximates expiry order. */
  readonly #consumed = new Map<string, number>()
  readonly #issued = new Map<string, IssuedMerchantUid>()
  /**
   * No entry expires before this, so a full sweep before it would free nothing: a store full of
   * live entries does not rescan on every call.
   */
  #nextSweepAt = 0

  constructor (options: MemoryStoreOptions = {}) {
    const maxEntries = options.maxEntries ?? DEFAULT_MEMORY_STORE_MAX_ENTRIES
    if (!Number.isInteger(maxEntries) || maxEntries < 1) {
      throw new RangeError('MemoryStore maxEntries must be a positive integer')
    }
    this.#maxEntries = maxEntries
    this.#now = options.now ?? Date.now
  }

  /** Records a merchant_uid issued to `subject`, valid for `ttlSeconds`. */
  async issueMerchantUid (merchantUid: string, subject: string, ttlSeconds: number): Promise<void> {
    const expiresAt = this.#now() + ttlMs(ttlSeconds)
    // Re-inserting moves the key to the end, keeping Map order close to expiry order.
    this.#issued.delete(merchantUid)
    this.#makeRoom()
    this.#issued.set(merchantUid, { subject, expiresAt, used: false })
    this.#nextSweepAt = Math.min(this.#nextSweepAt, expiresAt)
  }

  /** Atomically checks and consumes the imp_uid and, when given, the merchant_uid. */
  async consume (consumption: Consumption): Promise<ConsumeResult> {
    const ms = ttlMs(consumption.ttlSeconds)
    const now = this.#now()
    // Everything below is synchronous: no other call can interleave between check and write.
    const consumedUntil = this.#consumed.get(consumption.impUid)
    if (consumedUntil !== undefined) {
      if (consumedUntil > now) return 'replayed'
      this.#consumed.delete(consumption.impUid)
    }
    let issued: IssuedMerchantUid | undefined
    if (consumption.merchant !== undefined) {
      issued = this.#liveIssued(consumption.merchant.merchantUid, now)
      if (issued === undefined || issued.used || issued.subject !== consumption.merchant.subject) {
        return 'merchant-mismatch'
      }
    }
    this.#makeRoom(consumption.merchant?.merchantUid)
    this.#consumed.set(consumption.impUid, now + ms)
    this.#nextSweepAt = Math.min(this.#nextSweepAt, now + ms)
    if (issued !== undefined) issued.used = true
    return 'consumed'
  }

  /** Undoes a `consumed` result: forgets the imp_uid and makes the merchant_uid usable again. */
  async release (consumption: Consumption): Promise<void> {
    this.#consumed.delete(consumption.impUid)
    if (consumption.merchant === undefined) return
    const issued = this.#liveIssued(consumption.merchant.merchantUid, this.#now())
    if (issued !== undefined && issued.subject === consumption.merchant.subject) issued.used = false
  }

  /** The issued merchant_uid unless it is unknown or expired (an expired one is dropped). */
  #liveIssued (merchantUid: string, now: number): IssuedMerchantUid | undefined {
    const issued = this.#issued.get(merchantUid)
    if (issued !== undefined && issued.expiresAt <= now) {
      this.#issued.delete(merchantUid)
      return undefined
    }
    return issued
  }

  /**
   * Makes room for one more entry or throws. `keep` is the merchant_uid being consumed, which
   * must survive the eviction.
   */
  #makeRoom (keep?: string): void {
    const now = this.#now()
    // Cheap and amortized O(1): with one ttl per map, the expired entries are at the front.
    pruneFront(this.#consumed, now, (expiresAt) => expiresAt)
    pruneFront(this.#issued, now, (issued) => issued.expiresAt)
    if (this.#size() < this.#maxEntries) return

    if (now >= this.#nextSweepAt) {
      this.#nextSweepAt = Math.min(
        sweep(this.#consumed, now, (expiresAt) => expiresAt),
        sweep(this.#issued, now, (issued) => issued.expiresAt))
      if (this.#size() < this.#maxEntries) return
    }

    for (const merchantUid of this.#issued.keys()) {
      if (merchantUid === keep) continue
      this.#issued.delete(merchantUid)
      if (this.#size() < this.#maxEntries) return
    }
    throw new Error('MemoryStore is full of unexpired consumed imp_uids; raise maxEntries or use a shared store')
  }

  #size (): number {
    return this.#consumed.size + this.#issued.size
  }
}

/** Deletes expired entries from the front of the map, stopping at the first live one. */
function pruneFront<V> (map: Map<string, V>, now: number, expiry: (value: V) => number): void {
  for (const [key, value] of map) {
    if (expiry(value) > now) return
    map.delete(key)
  }
}

/** Deletes every expired entry; returns the earliest expiry among the rest (Infinity if none). */
function sweep<V> (map: Map<string, V>, now: number, expiry: (value: V) => number): number {
  let earliest = Infinity
  for (const [key, value] of map) {
    const expiresAt = expiry(value)
    if (expiresAt <= now) map.delete(key)
    else if (expiresAt < earliest) earliest = expiresAt
  }
  return earliest
}
