import { Type } from '@sinclair/typebox'
import { checkOptions } from '../options/check.js'
import { Hook, Optional, Options } from '../options/kinds.js'
import { checkTtlMs, type ConsumeResult, type Consumption, type VerificationStore } from './store.js'

/** Default bound on the entries (issued ids plus consumed verifications) one MemoryStore keeps. */
export const DEFAULT_MEMORY_STORE_MAX_ENTRIES = 500_000

/** Options of {@link MemoryStore}. */
export interface MemoryStoreOptions {
  /** How many entries (issued ids plus consumed verifications) the store keeps at most; default 500 000. */
  maxEntries?: number | undefined
  /** Clock in milliseconds since the epoch; tests inject one. Default `Date.now`. */
  now?: (() => number) | undefined
}

const MemoryStoreOptionsSchema = Options({
  maxEntries: Optional(Type.Integer({ minimum: 1, errorMessage: 'must be a positive whole number' })),
  now: Optional(Hook())
})

interface IssuedId {
  subject: string
  expiresAt: number
  used: boolean
}

/**
 * A single-process {@link VerificationStore}: the default, right for one app instance. Use
 * RedisStore when several instances serve the same users.
 *
 * Bounded: when full it drops expired entries, then the oldest issued ids (losing one only fails
 * that verification closed). It never forgets a consumed verification before its ttl, so
 * when it is full of those, `consume` rejects (the route answers 503) instead of allowing a
 * replay. No timers: entries expire lazily and are swept on writes.
 */
export class MemoryStore implements VerificationStore {
  readonly #maxEntries: number
  readonly #now: () => number
  /** verification id -> expiry (ms); Map order is insertion order, which approximates expiry order. */
  readonly #consumed = new Map<string, number>()
  readonly #issued = new Map<string, IssuedId>()
  /**
   * No entry expires before this, so a full sweep before it would free nothing: a store full of
   * live entries does not rescan on every call.
   */
  #nextSweepAt = 0

  constructor (options: MemoryStoreOptions = {}) {
    checkOptions(MemoryStoreOptionsSchema, options, { root: 'MemoryStore' })
    this.#maxEntries = options.maxEntries ?? DEFAULT_MEMORY_STORE_MAX_ENTRIES
    this.#now = options.now ?? Date.now
  }

  /** Records a request id issued to `subject`, valid for `ttlMs`. */
  async issue (requestId: string, subject: string, ttlMs: number): Promise<void> {
    const expiresAt = this.#now() + checkTtlMs(ttlMs)
    // Re-inserting moves the key to the end, keeping Map order close to expiry order.
    this.#issued.delete(requestId)
    this.#makeRoom()
    this.#issued.set(requestId, { subject, expiresAt, used: false })
    this.#nextSweepAt = Math.min(this.#nextSweepAt, expiresAt)
  }

  /** Atomically checks and consumes the verification and, when given, the issued id. */
  async consume (consumption: Consumption): Promise<ConsumeResult> {
    const ms = checkTtlMs(consumption.ttlMs)
    const now = this.#now()
    // Everything below is synchronous: no other call can interleave between check and write.
    const consumedUntil = this.#consumed.get(consumption.verificationId)
    if (consumedUntil !== undefined) {
      if (consumedUntil > now) return 'replayed'
      this.#consumed.delete(consumption.verificationId)
    }
    let issued: IssuedId | undefined
    if (consumption.issued !== undefined) {
      issued = this.#liveIssued(consumption.issued.requestId, now)
      if (issued === undefined || issued.used || issued.subject !== consumption.issued.subject) {
        return 'not-issued'
      }
    }
    this.#makeRoom(consumption.issued?.requestId)
    this.#consumed.set(consumption.verificationId, now + ms)
    this.#nextSweepAt = Math.min(this.#nextSweepAt, now + ms)
    if (issued !== undefined) issued.used = true
    return 'consumed'
  }

  /** Undoes a `consumed` result: forgets the verification and makes the issued id usable again. */
  async release (consumption: Consumption): Promise<void> {
    this.#consumed.delete(consumption.verificationId)
    if (consumption.issued === undefined) return
    const issued = this.#liveIssued(consumption.issued.requestId, this.#now())
    if (issued !== undefined && issued.subject === consumption.issued.subject) issued.used = false
  }

  /** The issued id unless it is unknown or expired (an expired one is dropped). */
  #liveIssued (requestId: string, now: number): IssuedId | undefined {
    const issued = this.#issued.get(requestId)
    if (issued !== undefined && issued.expiresAt <= now) {
      this.#issued.delete(requestId)
      return undefined
    }
    return issued
  }

  /**
   * Makes room for one more entry or throws. `keep` is the issued id being consumed, which must
   * survive the eviction.
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

    for (const requestId of this.#issued.keys()) {
      if (requestId === keep) continue
      this.#issued.delete(requestId)
      if (this.#size() < this.#maxEntries) return
    }
    throw new Error('MemoryStore is full of unexpired consumed verifications; raise maxEntries or use a shared store')
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
