import t from 'tap'
import { ConsumedLedger } from '../lib/stores/consumed-ledger.js'

/** A small deterministic PRNG (mulberry32), so a failure can be replayed from its seed. */
function random (seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0
    let x = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
}

t.test('agrees with a Map model through adds, deletes, expiries, growth and a full ledger', async (t) => {
  for (const [seed, max, ids] of [[1, 300, 600], [2, 5_000, 9_000], [3, 30_000, 45_000]] as const) {
    const next = random(seed)
    const ledger = new ConsumedLedger(max)
    const model = new Map<string, number>()
    let now = 1_000_000
    let refused = 0
    let mismatches = 0
    for (let step = 0; step < 4 * ids; step++) {
      now += Math.floor(next() * 3)
      const id = `imp_${Math.floor(next() * ids)}`
      const live = (model.get(id) ?? 0) > now
      if ((ledger.expiryOf(id) > now) !== live) mismatches++
      const action = next()
      if (action < 0.15) {
        ledger.delete(id)
        model.delete(id)
      } else if (!live) {
        const expiresAt = now + 1 + Math.floor(next() * 2_000)
        if (ledger.add(id, expiresAt, now)) {
          model.set(id, expiresAt)
        } else {
          refused++
          // Refused only when max unexpired entries are held (these ledgers are small enough to rebuild on every call).
          if ([...model.values()].filter((at) => at > now).length < max) mismatches++
        }
      }
    }
    t.equal(mismatches, 0, `max ${max}: every lookup agreed with the model, refusals only when full`)
    for (const [id, expiresAt] of model) {
      if (expiresAt > now && ledger.expiryOf(id) !== expiresAt) mismatches++
    }
    t.equal(mismatches, 0, `max ${max}: every unexpired entry is there with its expiry`)
    t.ok(ledger.size <= Math.max(max, 512), `max ${max}: ${ledger.size} slots in use, ${refused} refused`)
  }
})

t.test('a deleted entry leaves no hole that hides the entries after it', async (t) => {
  const ledger = new ConsumedLedger(400)
  const ids = Array.from({ length: 400 }, (_, i) => `id_${i}`)
  for (const id of ids) t.ok(ledger.add(id, 10_000, 0))
  // Deleting every other entry shifts probe chains back; every survivor must still be found.
  for (const [i, id] of ids.entries()) if (i % 2 === 0) ledger.delete(id)
  t.equal(ids.filter((id, i) => i % 2 === 1 && ledger.expiryOf(id) === 10_000).length, 200)
  t.equal(ids.filter((id, i) => i % 2 === 0 && ledger.expiryOf(id) !== 0).length, 0)
  t.equal(ledger.size, 200)
  ledger.delete('never-added')
  t.equal(ledger.size, 200, 'deleting an absent id changes nothing')
})

t.test('an add right after a lookup of the same id reuses the lookup; anything between forgets it', async (t) => {
  const ledger = new ConsumedLedger(100, [6, 6 * 7919])
  t.equal(ledger.expiryOf('a'), 0)
  t.ok(ledger.add('b', 1_000, 0), 'another id after the lookup')
  t.ok(ledger.add('a', 2_000, 0))
  t.same([ledger.expiryOf('a'), ledger.expiryOf('b')], [2_000, 1_000], 'each has its own slot and expiry')
  t.equal(ledger.expiryOf('c'), 0)
  ledger.delete('b')
  t.ok(ledger.add('c', 3_000, 0), 'a delete between lookup and add')
  t.same([ledger.expiryOf('a'), ledger.expiryOf('b'), ledger.expiryOf('c')], [2_000, 0, 3_000])
  t.equal(ledger.expiryOf('a'), 2_000)
  t.ok(ledger.add('a', 4_000, 3_000), 'the looked-up slot is replaced, not doubled')
  t.same([ledger.expiryOf('a'), ledger.size], [4_000, 2])
})

t.test('full of unexpired entries it refuses, and takes more once some expire', async (t) => {
  const ledger = new ConsumedLedger(3)
  for (const id of ['a', 'b', 'c']) t.ok(ledger.add(id, 1_000, 0))
  t.notOk(ledger.add('d', 1_000, 999), 'full: refused')
  t.equal(ledger.expiryOf('d'), 0, 'and not recorded')
  t.ok(ledger.add('d', 3_000, 1_000), 'room once the others expired')
  t.ok(ledger.add('a', 3_000, 1_000), 'an expired id is taken again')
  t.equal(ledger.expiryOf('a'), 3_000)
})

t.test('a large full ledger frees expired entries at most once a second, so a full one costs no scan per call', async (t) => {
  const max = 40_000 // 131 072 slots: above the size rebuilt on every call
  const ledger = new ConsumedLedger(max)
  let held = 0
  for (let i = 0; i < max; i++) if (ledger.add(`imp_${i}`, 1_000 + i, 0)) held++
  t.equal(held, max, 'filled to max')
  t.notOk(ledger.add('late', 1e9, 500), 'full, nothing expired')
  t.ok(ledger.add('first', 1e9, 1_500), 'a rebuild freed the ~500 expired')
  let added = 0
  while (ledger.add(`more_${added}`, 1e9, 1_500)) added++
  t.ok(added >= 490 && added <= 501, `${added} more fit`)
  t.notOk(ledger.add('wait', 1e9, 1_600), 'more have expired, but the last rebuild was 100 ms ago')
  t.ok(ledger.add('wait', 1e9, 2_500), 'a second later they are freed')
})

t.test('distinct ids never pass for one another (64-bit keyed hashes)', async (t) => {
  const ledger = new ConsumedLedger(200_000)
  for (let i = 0; i < 200_000; i++) ledger.add(`imp_${100_000_000_000 + i}`, 1e12, 0)
  let falseHits = 0
  for (let i = 0; i < 200_000; i++) if (ledger.expiryOf(`imp_${200_000_000_000 + i}`) !== 0) falseHits++
  t.equal(falseHits, 0, '200 000 absent ids against 200 000 held')
  t.equal(ledger.expiryOf('imp_100000000000'), 1e12)
  const other = new ConsumedLedger(10)
  t.equal(other.expiryOf('imp_100000000000'), 0, 'another ledger, other seeds: nothing shared')
})

t.test('a clock at or before the epoch: an expiry of 0 or below is still an entry', async (t) => {
  const ledger = new ConsumedLedger(1_000)
  t.ok(ledger.add('at-zero', 0, -1_000))
  t.ok(ledger.add('negative', -500, -1_000))
  t.ok(ledger.expiryOf('at-zero') > -1_000, 'held (0 is stored as the next number up)')
  t.equal(ledger.expiryOf('negative'), -500)
  let added = 0
  for (let i = 0; i < 600; i++) if (ledger.add(`grow_${i}`, 10, -1_000)) added++
  t.equal(added, 600, 'past half of 1 024 slots: rebuilt at twice the size, which kept both')
  t.ok(ledger.expiryOf('at-zero') > -1_000)
  t.equal(ledger.expiryOf('negative'), -500)
})

t.test('deleting from probe chains that wrap past the end of the table keeps every survivor', async (t) => {
  // Fixed seeds: the same table every run, half full, so chains cross from the last slot to the first.
  const ledger = new ConsumedLedger(2_000, [6, 6 * 7919]) // seeds found to take every branch of the shift
  const ids = Array.from({ length: 511 }, (_, i) => `imp_${100_000_000_000 + i}`)
  for (const id of ids) ledger.add(id, 10_000, 0)
  let lost = 0
  for (const [i, id] of ids.entries()) {
    ledger.delete(id)
    if (ledger.expiryOf(id) !== 0) lost++
    for (const kept of ids.slice(i + 1)) if (ledger.expiryOf(kept) !== 10_000) lost++
  }
  t.equal(lost, 0, 'after each delete, the deleted id is gone and every other is found')
  t.equal(ledger.size, 0)
})
