import { getRandomValues } from 'node:crypto'

/** Slots a new ledger starts with; it doubles as it fills, up to twice its cap. */
const INITIAL_SLOTS = 1024
/**
 * A full ledger rebuilt at most once a second beyond this many slots (1 ms a rebuild): in a
 * ledger full of unexpired entries, each call would otherwise scan it all to free a few.
 */
const FREE_REBUILD_SLOTS = 65_536
const REBUILD_INTERVAL_MS = 1000

/**
 * MemoryStore's consumed verifications: ids with an expiry, at most `max` unexpired ones, in typed
 * arrays instead of a Map. A Map kept a string and a number object per entry on the heap, which
 * every garbage collection of a busy process marked again: about 5% of a verification's CPU at
 * 0 ms upstream latency (bench/). Here an entry is one 16-byte slot of an ArrayBuffer (its hash
 * and its expiry, one cache line), at most half the slots in use, off the garbage-collected heap.
 *
 * An id is held as a 64-bit hash, keyed with random seeds per ledger. Two ids that hash alike
 * make the second look consumed: a false `replayed` (fail closed, the person verifies again),
 * about once in 10^13 lookups with the ledger full; and nobody can choose such an id without the
 * seeds. The same id always hashes alike, so no replay can pass.
 *
 * Open addressing with linear probing, at most half full. An expired entry keeps its slot until a
 * rebuild (when the table grows, or is full of entries): no timers, and nothing to sweep per call.
 */
export class ConsumedLedger {
  readonly #max: number
  /** The most slots the table grows to: the power of two that keeps `max` entries at most half full. */
  readonly #maxSlots: number
  readonly #seedA: number
  readonly #seedB: number
  #mask = INITIAL_SLOTS - 1
  /** Slot i: hash lanes at [4i] and [4i + 1]; its Float64 view holds the expiry at [2i + 1], 0 for an empty slot. */
  #hashes = new Int32Array(4 * INITIAL_SLOTS)
  #expiries = new Float64Array(this.#hashes.buffer)
  /** Occupied slots, expired entries included. */
  #count = 0
  /** No entry expires before this, so a rebuild before it frees nothing. */
  #nextExpiryAt = Infinity
  #rebuiltAt = -Infinity
  // The last id's hash, from #hash: no array per call.
  #a = 0
  #b = 0
  // Where expiryOf last looked, for an add of the same id right after (MemoryStore's consume):
  // one hash and one probe instead of two. Any change of the table forgets it.
  #lastId: string | undefined
  #lastSlot = -1

  /** `seeds` only for tests, which need the same table twice; otherwise random. */
  constructor (max: number, seeds: ArrayLike<number> = getRandomValues(new Int32Array(2))) {
    this.#max = max
    this.#maxSlots = Math.max(INITIAL_SLOTS, 2 ** Math.ceil(Math.log2(2 * max)))
    this.#seedA = seeds[0]!
    this.#seedB = seeds[1]!
  }

  /** Entries held, expired ones included until a rebuild drops them. */
  get size (): number {
    return this.#count
  }

  /** The id's expiry in ms, or 0 when the ledger has no entry for it. */
  expiryOf (id: string): number {
    const slot = this.#find(id)
    this.#lastId = id
    this.#lastSlot = slot
    return slot === -1 ? 0 : this.#expiries[2 * slot + 1]!
  }

  /** Records `id` until `expiresAt` (replacing its entry); false when `max` unexpired entries are held. */
  add (id: string, expiresAt: number, now: number): boolean {
    // #a and #b still hold this id's hash when it is the one expiryOf looked up last.
    let slot = id === this.#lastId ? this.#lastSlot : this.#find(id)
    this.#lastId = undefined
    if (slot === -1) {
      if ((this.#count >= this.#max || 2 * (this.#count + 1) > this.#mask + 1) && !this.#makeRoom(now)) return false
      slot = this.#emptySlot(this.#a)
      this.#hashes[4 * slot] = this.#a
      this.#hashes[4 * slot + 1] = this.#b
      this.#count++
    }
    // 0 marks an empty slot: an expiry of 0 (a clock near the epoch) is stored as the next number up.
    this.#expiries[2 * slot + 1] = expiresAt === 0 ? Number.MIN_VALUE : expiresAt
    if (expiresAt < this.#nextExpiryAt) this.#nextExpiryAt = expiresAt
    return true
  }

  /** Forgets the id's entry, if any. */
  delete (id: string): void {
    this.#lastId = undefined
    let hole = this.#find(id)
    if (hole === -1) return
    // Backward-shift deletion: entries after the hole that could live in it move up, so that no
    // probe for them stops early at the hole (which would let a replay through).
    const mask = this.#mask
    const hashes = this.#hashes
    const expiries = this.#expiries
    for (let next = (hole + 1) & mask; expiries[2 * next + 1] !== 0; next = (next + 1) & mask) {
      const home = hashes[4 * next]! & mask
      // The entry at `next` stays unless its home is outside the cyclic range (hole, next].
      const stays = hole <= next ? hole < home && home <= next : hole < home || home <= next
      if (stays) continue
      hashes[4 * hole] = hashes[4 * next]!
      hashes[4 * hole + 1] = hashes[4 * next + 1]!
      expiries[2 * hole + 1] = expiries[2 * next + 1]!
      hole = next
    }
    expiries[2 * hole + 1] = 0
    this.#count--
  }

  /** The id's slot, or -1; leaves its hash in #a and #b. */
  #find (id: string): number {
    this.#hash(id)
    const a = this.#a
    const b = this.#b
    const mask = this.#mask
    const hashes = this.#hashes
    const expiries = this.#expiries
    for (let slot = a & mask; expiries[2 * slot + 1] !== 0; slot = (slot + 1) & mask) {
      if (hashes[4 * slot] === a && hashes[4 * slot + 1] === b) return slot
    }
    return -1
  }

  #emptySlot (a: number): number {
    let slot = a & this.#mask
    while (this.#expiries[2 * slot + 1] !== 0) slot = (slot + 1) & this.#mask
    return slot
  }

  /**
   * Room for one more entry: a table twice the size while it may grow, else the same size without
   * the expired entries (a large one at most once a second). False when `max` entries are held
   * and none could be dropped: the caller refuses rather than forget an unexpired one.
   */
  #makeRoom (now: number): boolean {
    const slots = this.#mask + 1
    if (slots < this.#maxSlots && 2 * (this.#count + 1) > slots) {
      this.#rebuild(2 * slots, now)
    } else if (now >= this.#nextExpiryAt && (slots <= FREE_REBUILD_SLOTS || now - this.#rebuiltAt >= REBUILD_INTERVAL_MS)) {
      this.#rebuild(slots, now)
    }
    return this.#count < this.#max
  }

  /** Moves the unexpired entries into a new table of `slots` slots. */
  #rebuild (slots: number, now: number): void {
    const hashes = this.#hashes
    const expiries = this.#expiries
    const oldSlots = this.#mask + 1
    this.#mask = slots - 1
    this.#hashes = new Int32Array(4 * slots)
    this.#expiries = new Float64Array(this.#hashes.buffer)
    this.#count = 0
    this.#nextExpiryAt = Infinity
    this.#rebuiltAt = now
    for (let old = 0; old < oldSlots; old++) {
      const expiresAt = expiries[2 * old + 1]!
      if (expiresAt === 0 || expiresAt <= now) continue // empty, or expired: dropped
      const slot = this.#emptySlot(hashes[4 * old]!)
      this.#hashes[4 * slot] = hashes[4 * old]!
      this.#hashes[4 * slot + 1] = hashes[4 * old + 1]!
      this.#expiries[2 * slot + 1] = expiresAt
      this.#count++
      if (expiresAt < this.#nextExpiryAt) this.#nextExpiryAt = expiresAt
    }
  }

  /** Two 32-bit lanes of a keyed hash (murmur3's mixing, one seed a lane), into #a and #b. */
  #hash (id: string): void {
    let a = this.#seedA ^ id.length
    let b = this.#seedB ^ id.length
    for (let i = 0; i < id.length; i++) {
      const c = id.charCodeAt(i)
      a = Math.imul(a ^ c, 0xcc9e2d51)
      a = Math.imul((a << 15) | (a >>> 17), 0x1b873593)
      b = Math.imul(b ^ c, 0x85ebca6b)
      b = Math.imul((b << 13) | (b >>> 19), 0xc2b2ae35)
    }
    this.#a = fmix(a)
    this.#b = fmix(b)
  }
}

/** murmur3's finalizer: every input bit reaches every output bit. */
function fmix (h: number): number {
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  return h ^ (h >>> 16)
}
