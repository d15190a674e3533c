import { mkdir, writeFile } from 'node:fs/promises'
import { setTimeout } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { MIB, envNumber, markdownTable, memoryOf, startCandidate, startLoad } from './harness.js'
import { startUpstream } from './upstream.js'

/**
 * `npm run bench:memory`: RSS growth of the plugin candidate over a long run. RSS is read from
 * /proc after a full GC in the candidate, once after the first BENCH_MEMORY_FIRST verifications
 * (default 10 000) and again after BENCH_MEMORY_TOTAL (default 200 000). Target: growth <= 30 MiB.
 * Upstream latency 0 ms, BENCH_CONNECTIONS (default 100) connections, a new imp_uid every request.
 *
 * The default MemoryStore holds 100 000 consumed imp_uids for 12 minutes and then refuses (503,
 * fail closed), so past 100 000 this would measure refusals: the candidate gets a MemoryStore of
 * BENCH_STORE_MAX_ENTRIES (default 0: the plugin's default store). Each reading is
 * taken twice: right after the slice, and after BENCH_MEMORY_SETTLE_MS (default 11 000, longer
 * than the client's 10 s per-call timeout) so that per-call timers have expired.
 */

const first = envNumber('BENCH_MEMORY_FIRST', 10_000)
const total = envNumber('BENCH_MEMORY_TOTAL', 200_000)
const connections = envNumber('BENCH_CONNECTIONS', 100)
const steps = envNumber('BENCH_MEMORY_STEPS', 5)
// Another candidate under the same procedure, for reference (e.g. hand-written).
const candidateName = process.env.BENCH_MEMORY_CANDIDATE ?? 'plugin'
const storeMaxEntries = envNumber('BENCH_STORE_MAX_ENTRIES', 0)
const settleMs = envNumber('BENCH_MEMORY_SETTLE_MS', 11_000)
const limitMib = 30
const resultsDir = fileURLToPath(new URL('./results/', import.meta.url))

const upstream = await startUpstream({ latencyMs: 0 })
const load = await startLoad()
const candidate = await startCandidate(candidateName, upstream, {
  execArgv: ['--expose-gc'],
  env: { BENCH_STORE_MAX_ENTRIES: storeMaxEntries > 0 ? String(storeMaxEntries) : '' }
})

const rows = []
let done = 0
let baseline
let settledBaseline
try {
  // Fill up to `first`, then to `total` in `steps` slices so the curve is visible.
  const targets = [first]
  for (let i = 1; i <= steps; i++) targets.push(Math.round(first + ((total - first) * i) / steps))
  for (const target of targets) {
    const result = await load.run({ url: candidate.url, connections, amount: target - done })
    done = target
    const now = await candidate.memoryUsage(true)
    const { rss } = memoryOf(candidate.pid)
    await setTimeout(settleMs)
    const settled = await candidate.memoryUsage(true)
    const settledRss = memoryOf(candidate.pid).rss
    baseline ??= rss
    settledBaseline ??= settledRss
    const failed = result.non2xx + result.errors
    const mib = (bytes) => (bytes / MIB).toFixed(1)
    rows.push([
      done.toLocaleString('en'), mib(rss), mib(rss - baseline), mib(now.heapUsed), mib(now.heapTotal),
      mib(settledRss), mib(settledRss - settledBaseline), mib(settled.heapUsed),
      String(result.ok), String(failed) + (failed > 0 ? ' ' + JSON.stringify(result.statusCodes) : '')
    ])
    console.error(rows.at(-1).join('  '))
  }
} finally {
  await candidate.stop()
  await load.stop()
  await upstream.close()
}

const growthMib = Number(rows.at(-1)[2])
const settledGrowthMib = Number(rows.at(-1)[6])
const report = [
  '# fastify-iamport memory run',
  '',
  `${new Date().toISOString()}, Node ${process.version}. Candidate ${candidateName} (plugin: minAge 19, findDuplicate, one-time ` +
    'consumption in ' + (storeMaxEntries > 0 ? `a MemoryStore of ${storeMaxEntries} entries` : 'the default store') +
    `), upstream latency 0 ms, ${connections} connections. RSS from /proc after a full GC in the candidate.`,
  '',
  markdownTable(['verifications sent', 'RSS MiB', 'RSS growth MiB', 'heap used MiB', 'heap total MiB',
    `RSS after ${settleMs / 1000} s MiB`, 'its growth MiB', `heap used after ${settleMs / 1000} s MiB`,
    '2xx in slice', 'non-2xx + errors in slice'], rows),
  '',
  `- ${growthMib <= limitMib ? 'met' : 'MISSED'}: RSS after ${total.toLocaleString('en')} vs after ${first.toLocaleString('en')} ` +
    `within ${limitMib} MiB (measured ${growthMib.toFixed(1)} MiB right after the runs, ` +
    `${settledGrowthMib.toFixed(1)} MiB after ${settleMs / 1000} s)`,
  ''
].join('\n')
await mkdir(resultsDir, { recursive: true })
await writeFile(resultsDir + 'memory.md', report)
console.log(report)
