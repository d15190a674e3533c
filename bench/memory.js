import { mkdir, writeFile } from 'node:fs/promises'
import { setTimeout } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { MIB, envNumber, markdownTable, memoryOf, startCandidate, startLoad } from './harness.js'
import { SUITE } from './suite.js'
import { startUpstream } from './upstream.js'

/**
 * `npm run bench:memory`: RSS growth of the plugin candidate over a long run. RSS is read from
 * /proc after a full GC in the candidate, once after the first BENCH_MEMORY_FIRST verifications
 * (default 10 000) and again after BENCH_MEMORY_TOTAL (default 200 000). Target: growth <= 30 MiB.
 * Upstream latency 0 ms, BENCH_CONNECTIONS (default 100) connections, a new imp_uid every request.
 *
 * The default MemoryStore holds 500 000 consumed verifications for 6 hours and then refuses (503,
 * fail closed), so a BENCH_MEMORY_TOTAL past that would measure refusals: BENCH_MEMORY_MAX_CONSUMED
 * gives the candidate a MemoryStore of that maxConsumed (default 0: the plugin's default store). Each reading is
 * taken twice: right after the slice, and after BENCH_MEMORY_SETTLE_MS (default 11 000, longer
 * than the client's 10 s per-call budget) so that nothing still waits on a call's deadline.
 */

const first = envNumber('BENCH_MEMORY_FIRST', 10_000)
const total = envNumber('BENCH_MEMORY_TOTAL', 200_000)
const connections = envNumber('BENCH_CONNECTIONS', 100)
const steps = envNumber('BENCH_MEMORY_STEPS', 5)
// Another candidate of bench/suite.js under the same procedure, for reference (e.g. v1-hand).
const candidateName = process.env.BENCH_MEMORY_CANDIDATE ?? 'v1-plugin'
const candidateSpec = SUITE.get(candidateName)
if (candidateSpec === undefined || candidateSpec.redis) throw new Error(`BENCH_MEMORY_CANDIDATE ${candidateName} is not a candidate without Redis of bench/suite.js`)
const maxConsumed = envNumber('BENCH_MEMORY_MAX_CONSUMED', 0)
const settleMs = envNumber('BENCH_MEMORY_SETTLE_MS', 11_000)
const limitMib = 30
const resultsDir = fileURLToPath(new URL('./results/', import.meta.url))

const upstream = await startUpstream({ latencyMs: 0 })
const load = await startLoad()
const candidate = await startCandidate(candidateSpec, upstream, {
  execArgv: ['--expose-gc'],
  env: { BENCH_MEMORY_MAX_CONSUMED: maxConsumed > 0 ? String(maxConsumed) : '' }
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
    const result = await load.run({ url: candidate.url, flow: candidateSpec.flow, connections, amount: target - done })
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
  `${new Date().toISOString()}, Node ${process.version}. Candidate ${candidateName} (plugin: minAge 19, findDuplicate, onVerified, one-time ` +
    'consumption in ' + (maxConsumed > 0 ? `a MemoryStore of maxConsumed ${maxConsumed}` : 'the default store') +
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
