import { checkOptions } from '../options/check.js'
import { Hook, Optional, Options, PositiveInteger } from '../options/kinds.js'
import {
  DEFAULT_MAX_ISSUED, DEFAULT_MAX_ISSUED_PER_SUBJECT, DEFAULT_MEMORY_STORE_MAX_CONSUMED
} from '../constants.js'
import { ConsumedLedger } from './consumed-ledger.js'
import { checkTtlMs, type ConsumeResult, type Consumption, type VerificationStore } from './store.js'

/**
 * MemoryStore's consume as a plain function, for the route's guard (guard.ts): the answer without
 * the async method's promise. Not exported from the package.
 */
export const consumeNow = Symbol('MemoryStore consume, synchronous')

/** Options of {@link MemoryStore}. */
export interface MemoryStoreOptions {
  /**
   * How many issued ids the store keeps at most (used ones included, until they expire); default
   * 100 000. When full, the oldest issued id gives way: that only fails its verification, closed.
   */
  maxIssued?: number | undefined
  /**
   * How many consumed verifications the store keeps at most; default 500 000. None is forgotten
   * before its ttl: when full, `consume` rejects (the route answers 503).
   */
  maxConsumed?: number | undefined
  /**
   * How many outstanding (unused, unexpired) issued ids one subject may hold; default 3. Issuing
   * one more drops that subject's oldest, so one requester's spam only evicts its own ids.
   */
  maxIssuedPerSubject?: number | undefined
  /** Clock in milliseconds since the epoch; tests inject one. Default `Date.now`. */
  now?: (() => number) | undefined
}

const MemoryStoreOptionsSchema = Options({
  maxIssued: Optional(PositiveInteger()),
  maxConsumed: Optional(PositiveInteger()),
  maxIssuedPerSubject: Optional(PositiveInteger()),
  now: Optional(Hook())
})

interface IssuedId {
  requestId: string
  subject: string
  expiresAt: number
  used: boolean
}

/**
 * A single-process {@link VerificationStore}: the default, right for one app instance. Use
 * RedisStore when several instances serve the same users.
 *
 * Two separate budgets, so that prepare spam can never cost a consumed verification:
 * - issued ids (`maxIssued`, and `maxIssuedPerSubject` per subject) may be evicted, oldest first;
 *   losing one only fails that verification closed (422);
 * - consumed verifications (`maxConsumed`) are never forgotten before their ttl; when the store is
 *   full of those, `consume` rejects (the route answers 503) instead of allowing a replay.
 *
 * Measured: about 360 bytes an issued id (230 at 3 a subject), strings included; a consumed
 * verification is 16 bytes a slot of a table at most half full, outside the heap (16 MiB at the
 * default cap); 52 MB with both default caps full (lib/constants.ts says how it was measured).
 * Every operation is O(1) amortized (O(maxIssuedPerSubject) for the per-subject list). No timers:
 * entries expire lazily and are swept on writes; a full consumed table is rebuilt without its
 * expired entries at most once a second.
 */
export class MemoryStore implements VerificationStore {
  readonly #maxIssued: number
  readonly #maxIssuedPerSubject: number
  readonly #now: () => number
  /** The consumed verifications, off the garbage-collected heap (consumed-ledger.ts). */
  readonly #consumed: ConsumedLedger
  /** request id -> issued id, oldest first; used ones stay until they expire, for `release`. */
  readonly #issued = new Map<string, IssuedId>()
  /** subject -> its outstanding (unused) issued ids, oldest first; never an empty list. */
  readonly #outstanding = new Map<string, readonly IssuedId[]>()
  /*
   * The issued ids are swept from their oldest entry. A `for...of` from the start would walk every
   * deleted slot V8 keeps at the front until it rehashes: with the issued ids at their cap, where
   * each prepare evicts the oldest, that walk made a prepare 18 times as costly (bench/). So the
   * Map has a cursor, an iterator left on its oldest entry (entries are only ever appended, so
   * everything before it is gone), and a lower bound of that entry's expiry, below which the
   * cursor is not even looked at. An idle cursor holds on to the tables its Map outgrew until it
   * moves on; the lower bound keeps it idle only while nothing can expire.
   */
  /** At most the expiry of the oldest issued id (Infinity when there is none). */
  #issuedFrontExpiresAt = Infinity
  #issuedCursor: Iterator<IssuedId> | undefined
  #oldestIssuedId: IssuedId | undefined

  constructor (options: MemoryStoreOptions = {}) {
    checkOptions(MemoryStoreOptionsSchema, options, { root: 'MemoryStore' })
    this.#maxIssued = options.maxIssued ?? DEFAULT_MAX_ISSUED
    this.#consumed = new ConsumedLedger(options.maxConsumed ?? DEFAULT_MEMORY_STORE_MAX_CONSUMED)
    this.#maxIssuedPerSubject = options.maxIssuedPerSubject ?? DEFAULT_MAX_ISSUED_PER_SUBJECT
    this.#now = options.now ?? Date.now
  }

  /**
   * How many entries the store holds now (expired ones included until they are swept): for a
   * gauge, and for checking the memory bound (about 360 B an issued id, at most 32 B a consumed one
   * at the cap).
   */
  get size (): { issued: number, consumed: number, subjects: number } {
    return { issued: this.#issued.size, consumed: this.#consumed.size, subjects: this.#outstanding.size }
  }

  /** Records a request id issued to `subject`, valid for `ttlMs`. */
  async issue (requestId: string, subject: string, ttlMs: number): Promise<void> {
    const now = this.#now()
    const expiresAt = now + checkTtlMs(ttlMs)
    // Re-issuing an id replaces it (and moves it to the end, keeping Map order close to expiry order).
    const previous = this.#issued.get(requestId)
    if (previous !== undefined) this.#drop(previous)

    // Cheap and amortized O(1): with one ttl, the expired ids are at the front.
    if (now >= this.#issuedFrontExpiresAt) {
      let oldest = this.#oldestIssued()
      while (oldest !== undefined && oldest.expiresAt <= now) {
        this.#drop(oldest)
        oldest = this.#oldestIssued()
      }
      this.#issuedFrontExpiresAt = oldest === undefined ? Infinity : oldest.expiresAt
    }
    // Full of live ids: the oldest gives way.
    while (this.#issued.size >= this.#maxIssued) this.#drop(this.#oldestIssued()!)

    const entry: IssuedId = { requestId, subject, expiresAt, used: false }
    if (this.#issued.size === 0) this.#issuedFrontExpiresAt = expiresAt
    this.#issued.set(requestId, entry)
    this.#addOutstanding(entry, now)
  }

  /** Atomically checks and consumes the verification and, when given, the issued id. */
  async consume (consumption: Consumption): Promise<ConsumeResult> {
    return this[consumeNow](consumption)
  }

  /** {@link MemoryStore.consume}, synchronous: it throws instead of rejecting. */
  [consumeNow] (consumption: Consumption): ConsumeResult {
    const ms = checkTtlMs(consumption.ttlMs)
    const now = this.#now()
    // Everything below is synchronous: no other call can interleave between check and write.
    if (this.#consumed.expiryOf(consumption.verificationId) > now) return 'replayed'
    let issued: IssuedId | undefined
    if (consumption.issued !== undefined) {
      issued = this.#liveIssued(consumption.issued.requestId, now)
      if (issued === undefined || issued.used || issued.subject !== consumption.issued.subject) {
        return 'not-issued'
      }
    }
    // An expired entry of the same id is replaced.
    if (!this.#consumed.add(consumption.verificationId, now + ms, now)) {
      throw new Error('MemoryStore is full of unexpired consumed verifications; raise maxConsumed or use a shared store')
    }
    if (issued !== undefined) {
      issued.used = true
      this.#removeOutstanding(issued)
    }
    return 'consumed'
  }

  /** Undoes a `consumed` result: forgets the verification and makes the issued id usable again. */
  async release (consumption: Consumption): Promise<void> {
    this.#consumed.delete(consumption.verificationId)
    if (consumption.issued === undefined) return
    const now = this.#now()
    const issued = this.#liveIssued(consumption.issued.requestId, now)
    if (issued === undefined || !issued.used || issued.subject !== consumption.issued.subject) return
    issued.used = false
    // Back as the subject's newest: if the subject is over its cap now, another id gives way.
    this.#addOutstanding(issued, now)
  }

  /** The issued id unless it is unknown or expired (an expired one is dropped). */
  #liveIssued (requestId: string, now: number): IssuedId | undefined {
    const issued = this.#issued.get(requestId)
    if (issued !== undefined && issued.expiresAt <= now) {
      this.#drop(issued)
      return undefined
    }
    return issued
  }

  /** Adds an unused id as its subject's newest, dropping expired ones and the oldest beyond the cap. */
  #addOutstanding (entry: IssuedId, now: number): void {
    // A subject's list holds at most maxIssuedPerSubject entries, so these loops are bounded.
    // The lists are never changed in place, so each loop walks a snapshot.
    for (const old of this.#outstanding.get(entry.subject) ?? []) {
      if (old.expiresAt <= now) this.#drop(old)
    }
    const live = this.#outstanding.get(entry.subject) ?? []
    // Room for one more: the oldest give way.
    for (let i = 0; i <= live.length - this.#maxIssuedPerSubject; i++) this.#drop(live[i]!)
    // A new exact-size array (concat, toSpliced) each time: push, spread and filter reserve spare
    // slots, about 130 bytes more a subject (measured).
    const rest = this.#outstanding.get(entry.subject)
    this.#outstanding.set(entry.subject, rest === undefined ? [entry] : rest.concat(entry))
  }

  /** Forgets an issued id everywhere. */
  #drop (entry: IssuedId): void {
    this.#issued.delete(entry.requestId)
    // It may have been the oldest: the next one's expiry is unknown, so look again next time.
    this.#issuedFrontExpiresAt = -Infinity
    if (!entry.used) this.#removeOutstanding(entry)
  }

  /** The oldest issued id held, from the cursor: it steps over the ids dropped since. */
  #oldestIssued (): IssuedId | undefined {
    while (this.#oldestIssuedId === undefined || this.#issued.get(this.#oldestIssuedId.requestId) !== this.#oldestIssuedId) {
      this.#issuedCursor ??= this.#issued.values()
      const step = this.#issuedCursor.next()
      if (step.done === true) {
        // A finished iterator stays finished: the next id gets a new one.
        this.#issuedCursor = undefined
        this.#oldestIssuedId = undefined
        return undefined
      }
      this.#oldestIssuedId = step.value
    }
    return this.#oldestIssuedId
  }

  #removeOutstanding (entry: IssuedId): void {
    const list = this.#outstanding.get(entry.subject)!
    const rest = list.toSpliced(list.indexOf(entry), 1)
    if (rest.length === 0) this.#outstanding.delete(entry.subject)
    else this.#outstanding.set(entry.subject, rest)
  }
}
