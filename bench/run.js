import { mkdir, writeFile } from 'node:fs/promises'
import { cpus } from 'node:os'
import { setTimeout } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { buildRevision } from './build-rev.js'
import { FLOWS } from './flows.js'
import {
  ALL_CPUS, CANDIDATE_CPUS, HARNESS_CPUS, MIB, cpuSecondsOf, envNumber, machineBusySeconds, markdownTable, median, memoryOf, pin, pinning,
  startCandidate, startLoad, startRedis
} from './harness.js'
import { SUITE, loadSuiteModules } from './suite.js'
import { startUpstream } from './upstream.js'

/**
 * `npm run bench`: throughput and CPU per operation of the plugin against hand-written routes and
 * the vendor's documented pattern, through the same upstream stand-in; the candidates are in
 * bench/suite.js. Process layout: the upstream runs in this (parent) process, each candidate in
 * its own child process (fresh per measurement: fresh token cache and store), autocannon in
 * another, and a redis-server of the harness's own for the RedisStore candidates.
 *
 * Rounds: a candidate and its baseline sit in one group. Per round, every candidate of a group gets
 * a fresh process, all up at once, and their measured runs are interleaved in slices
 * (BENCH_SLICES), one candidate under load at a time; the group order and the order within each
 * group rotate per round. A ratio (plugin / hand-written) is taken per round, from the two
 * candidates' runs of that round, and its median over rounds is reported. Candidates are pinned
 * to CPU 0, the harness and autocannon to the others (harness.js, BENCH_PIN).
 *
 * Environment (bench/README.md): BENCH_DURATION (s, 10), BENCH_ROUNDS (5), BENCH_WARMUP (s, 2),
 * BENCH_CONNECTIONS (100), BENCH_LATENCIES (ms, "0,30"), BENCH_CANDIDATES (comma list of names),
 * BENCH_EVERY_LATENCY=1 (run 0-ms-only candidates at every latency), BENCH_PROFILE (candidate
 * names, comma-separated: run them under --cpu-prof into bench/results/profiles), BENCH_COMPARE_REV (a git revision:
 * every selected plugin candidate also runs that version, as `<name>@<rev>`), BENCH_REV (the
 * plugin candidates load that revision instead of dist/), BENCH_MAX_NOISE (% of one core other
 * processes may use during a measured slice before it is measured again, 20), BENCH_RETRIES (2),
 * BENCH_SLICES (5), BENCH_PIN (0: no CPU pinning),
 * BENCH_RESULTS (file name in bench/results, latest.md), BENCH_SUITE_MODULES (modules adding
 * flows and candidates, bench/suite.js). The candidates read more (plugin.js).
 */

const duration = envNumber('BENCH_DURATION', 10)
const rounds = envNumber('BENCH_ROUNDS', 5)
const warmup = envNumber('BENCH_WARMUP', 2)
const connections = envNumber('BENCH_CONNECTIONS', 100)
const latencies = (process.env.BENCH_LATENCIES ?? '0,30').split(',').map(Number)
const everyLatency = process.env.BENCH_EVERY_LATENCY === '1'
const profiled = process.env.BENCH_PROFILE ? process.env.BENCH_PROFILE.split(',') : []
const maxNoise = envNumber('BENCH_MAX_NOISE', 20)
const retries = envNumber('BENCH_RETRIES', 2)
const slices = Math.max(1, Math.round(envNumber('BENCH_SLICES', 5)))
const CALLS_SAMPLE = 1000
const resultsDir = fileURLToPath(new URL('./results/', import.meta.url))
const profileDir = resultsDir + 'profiles'
const resultsFile = resultsDir + (process.env.BENCH_RESULTS || 'latest.md')

await loadSuiteModules()
for (const candidate of SUITE.values()) {
  if (!Object.hasOwn(FLOWS, candidate.flow)) throw new Error(`candidate ${candidate.name}: unknown flow ${candidate.flow}`)
}
const selected = process.env.BENCH_CANDIDATES
  ? process.env.BENCH_CANDIDATES.split(',')
  : [...SUITE.values()].filter((c) => !c.optional).map((c) => c.name)
for (const name of selected) if (!SUITE.has(name)) throw new Error(`unknown candidate ${name}; known: ${[...SUITE.keys()].join(', ')}`)

/** The candidates of this run: the selected ones, and their twins on an older revision. */
const candidates = new Map()
const mainRev = process.env.BENCH_REV ? await buildRevision(process.env.BENCH_REV) : undefined
const compareRev = process.env.BENCH_COMPARE_REV ? await buildRevision(process.env.BENCH_COMPARE_REV) : undefined
for (const name of selected) {
  const candidate = SUITE.get(name)
  const env = candidate.plugin && mainRev !== undefined ? { ...candidate.env, BENCH_DIST: mainRev.dist } : candidate.env
  candidates.set(name, { ...candidate, env })
  if (candidate.plugin && compareRev !== undefined) {
    const twin = `${name}@${process.env.BENCH_COMPARE_REV}`
    candidates.set(twin, { ...candidate, name: twin, env: { ...candidate.env, BENCH_DIST: compareRev.dist }, twinOf: name })
  }
}
for (const name of profiled) if (!candidates.has(name)) throw new Error(`BENCH_PROFILE ${name} is not a candidate of this run`)
if (profiled.length > 0) await mkdir(profileDir, { recursive: true })

const runsAt = (candidate, latencyMs) => everyLatency || candidate.at === undefined || candidate.at.includes(latencyMs)
pin(process.pid, HARNESS_CPUS)
const redis = [...candidates.values()].some((c) => c.redis) ? await startRedis() : undefined
if (redis !== undefined) pin(redis.pid, ALL_CPUS)

/** The sum of a few counters of the upstream stand-in. */
const upstreamCalls = (calls) => calls.getToken + calls.getCertification + calls.getIdentityVerification + calls.requestOtp + calls.confirmOtp

/** Redis commands counted by the server, less the harness's own (INFO, FLUSHALL). */
function serverCommands (before, after) {
  let total = 0
  for (const [name, count] of Object.entries(after)) {
    if (name === 'info' || name === 'flushall') continue
    total += count - (before[name] ?? 0)
  }
  return total
}

/**
 * A candidate's fresh process for one round, and what its measured slices add up to. The profile
 * is named after the candidate; beside it, how many operations the process served over its life,
 * so that bench/profile-summary.js can show µs per operation.
 */
async function open (candidate, upstream) {
  const profileStem = profiled.includes(candidate.name) ? `${profileDir}/${candidate.name.replace(/[^A-Za-z0-9@+-]/g, '_')}.${Date.now()}` : undefined
  const execArgv = profileStem === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, `--cpu-prof-name=${profileStem.slice(profileDir.length + 1)}.cpuprofile`]
  const server = await startCandidate(candidate, upstream, { execArgv, env: redis === undefined ? {} : { BENCH_REDIS_URL: redis.url } })
  pin(server.pid, CANDIDATE_CPUS)
  return {
    candidate,
    server,
    profileStem,
    served: 0,
    getTokenCalls: 0,
    unauthorized: 0,
    ok: 0,
    seconds: 0,
    used: { candidate: 0, load: 0, upstream: 0, redis: 0, others: 0 },
    p50: [],
    p99: [],
    failed: 0,
    statusCodes: {}
  }
}

/**
 * The load against one session. The processes of a group are all up, but only this one has load:
 * what the upstream counted meanwhile (token calls, 401s) is this session's.
 */
async function loadSession (session, load, upstream, options) {
  const tokens = upstream.calls.getToken
  const unauthorized = upstream.calls.unauthorized
  const run = await load.run({ url: session.server.url, flow: session.candidate.flow, connections, ...options })
  session.getTokenCalls += upstream.calls.getToken - tokens
  session.unauthorized += upstream.calls.unauthorized - unauthorized
  session.served += run.ok
  return run
}

/** One measured slice of a session: the load for `seconds`, and the CPU every process used meanwhile. */
async function slice (session, load, upstream, seconds) {
  const { server } = session
  const before = {
    candidate: await server.cpuSeconds(),
    candidateProc: cpuSecondsOf(server.pid),
    load: cpuSecondsOf(load.pid),
    redis: redis === undefined ? 0 : cpuSecondsOf(redis.pid),
    upstream: process.cpuUsage(),
    machine: machineBusySeconds()
  }
  const run = await loadSession(session, load, upstream, { duration: seconds })
  const upstreamUsage = process.cpuUsage(before.upstream)
  const machine = machineBusySeconds() - before.machine
  const used = {
    candidate: await server.cpuSeconds() - before.candidate,
    load: cpuSecondsOf(load.pid) - before.load,
    redis: redis === undefined ? 0 : cpuSecondsOf(redis.pid) - before.redis,
    upstream: (upstreamUsage.user + upstreamUsage.system) / 1e6
  }
  used.others = Math.max(0, machine - (cpuSecondsOf(server.pid) - before.candidateProc) - used.load - used.upstream - used.redis)
  return { run, used, othersPercent: Math.round((100 * used.others) / run.durationSeconds) }
}

/** slice(), repeated while other processes on the machine took too much CPU; the quietest attempt counts. */
async function quietSlice (session, load, upstream, seconds, label) {
  let best
  for (let attempt = 0; attempt <= retries; attempt++) {
    const s = await slice(session, load, upstream, seconds)
    if (best === undefined || s.othersPercent < best.othersPercent) best = s
    if (s.othersPercent <= maxNoise) break
    console.error(`${label}, ${session.candidate.name}: other processes used ${s.othersPercent}% of a core (> ${maxNoise}%) in a slice` +
      (attempt < retries ? ': measuring it again' : ': keeping the quietest attempt'))
  }
  const { run, used } = best
  session.ok += run.ok
  session.seconds += run.durationSeconds
  for (const key of Object.keys(session.used)) session.used[key] += used[key]
  session.p50.push(run.p50)
  session.p99.push(run.p99)
  session.failed += run.non2xx + run.errors + run.failedOperations
  for (const [code, { count }] of Object.entries(run.statusCodes ?? {})) session.statusCodes[code] = (session.statusCodes[code] ?? 0) + count
}

/**
 * Calls per operation from a fixed number of requests, all answered, after the slices: a timed
 * run stops with requests in flight that reached the upstream (or Redis) but are not counted as
 * answered. Then the session's figures.
 */
async function finish (session, upstream, load) {
  const { server, candidate } = session
  const { peakRss } = memoryOf(server.pid)
  await setTimeout(200)
  const callsBefore = upstreamCalls(upstream.calls)
  const countersBefore = await server.counters()
  const redisBefore = candidate.redis ? await redis.commandCalls() : undefined
  const sample = await loadSession(session, load, upstream, { amount: CALLS_SAMPLE })
  const countersAfter = await server.counters()
  const redisAfter = candidate.redis ? await redis.commandCalls() : undefined
  const { used, seconds, ok } = session
  const percent = (value) => Math.round((100 * value) / seconds)
  return {
    requestsPerSecond: ok / seconds,
    p50: median(session.p50),
    p99: median(session.p99),
    cpuMicros: (1e6 * used.candidate) / ok,
    redisCpuMicros: candidate.redis ? (1e6 * used.redis) / ok : NaN,
    peakRss,
    cpu: { candidate: percent(used.candidate), load: percent(used.load), upstream: percent(used.upstream), redis: percent(used.redis), others: percent(used.others) },
    callsPerOperation: (upstreamCalls(upstream.calls) - callsBefore) / sample.ok,
    redisRoundTrips: candidate.redis ? (countersAfter.redisCommands - countersBefore.redisCommands) / sample.ok : NaN,
    redisCommands: candidate.redis ? serverCommands(redisBefore, redisAfter) / sample.ok : NaN,
    getTokenCalls: session.getTokenCalls,
    unauthorized: session.unauthorized,
    failed: session.failed + sample.non2xx + sample.errors + sample.failedOperations,
    statusCodes: session.statusCodes
  }
}

const fixed = (digits) => (value) => Number.isFinite(value) ? value.toFixed(digits) : 'n/a'
const f0 = fixed(0)
const f1 = fixed(1)
const f2 = fixed(2)

const rotate = (list, by) => list.map((_, i) => list[(i + by) % list.length])

/**
 * One round of one group: a fresh process for each of its candidates, a warm-up of each, then
 * their measured runs interleaved in `slices` slices (A B, B A, A B, ...: the order rotates every
 * slice), so that a slow minute of the machine falls on every candidate of the group alike.
 */
async function measureGroup (names, upstream, load, round, label) {
  const sessions = []
  if (names.some((name) => candidates.get(name).redis)) await redis.flush()
  try {
    for (const name of rotate(names, round)) sessions.push(await open(candidates.get(name), upstream))
    if (warmup > 0) {
      for (const session of sessions) await loadSession(session, load, upstream, { duration: warmup })
    }
    for (let i = 0; i < slices; i++) {
      for (const session of rotate(sessions, i)) await quietSlice(session, load, upstream, duration / slices, label)
    }
    const results = new Map()
    for (const session of sessions) {
      const r = await finish(session, upstream, load)
      results.set(session.candidate.name, r)
      console.error(`${label}, ${session.candidate.name}: ${f0(r.requestsPerSecond)} ${session.candidate.unit}s/s, ` +
        `p50 ${f2(r.p50)} ms, p99 ${f2(r.p99)} ms, ${f1(r.cpuMicros)} CPU µs/${session.candidate.unit}, peak RSS ${f1(r.peakRss / MIB)} MiB, ` +
        `CPU % candidate/load/upstream/redis/others ${r.cpu.candidate}/${r.cpu.load}/${r.cpu.upstream}/${r.cpu.redis}/${r.cpu.others}, ` +
        `upstream calls/op ${f2(r.callsPerOperation)}` + (session.candidate.redis ? `, redis round trips/op ${f2(r.redisRoundTrips)}` : '') +
        `, getToken ${r.getTokenCalls}, 401s ${r.unauthorized}, failed ${r.failed}` +
        (r.failed > 0 ? ` ${JSON.stringify(r.statusCodes)}` : ''))
    }
    return results
  } finally {
    for (const session of sessions) {
      await session.server.stop()
      if (session.profileStem !== undefined) {
        await writeFile(session.profileStem + '.json', JSON.stringify({ candidate: session.candidate.name, operations: session.served, unit: session.candidate.unit }))
      }
    }
  }
}

/** The groups of this latency, each a list of candidate names, in suite order. */
function groupsAt (latencyMs) {
  const groups = new Map()
  for (const candidate of candidates.values()) {
    if (!runsAt(candidate, latencyMs)) continue
    if (!groups.has(candidate.group)) groups.set(candidate.group, [])
    groups.get(candidate.group).push(candidate.name)
  }
  return [...groups.values()]
}

const scenarios = []
const started = Date.now()
try {
  for (const latencyMs of latencies) {
    const upstream = await startUpstream({ latencyMs })
    const load = await startLoad()
    pin(load.pid, HARNESS_CPUS)
    const groups = groupsAt(latencyMs)
    /** name -> one result per round */
    const runs = new Map(groups.flat().map((name) => [name, []]))
    try {
      for (let round = 0; round < rounds; round++) {
        for (const group of rotate(groups, round)) {
          const results = await measureGroup(group, upstream, load, round, `latency ${latencyMs} ms, round ${round + 1}/${rounds}`)
          for (const [name, result] of results) runs.get(name).push(result)
        }
      }
    } finally {
      await load.stop()
      await upstream.close()
    }
    scenarios.push({ latencyMs, runs })
  }
} finally {
  await redis?.stop()
}

/** Median of one figure over rounds. */
const medianOf = (results, pick) => median(results.map(pick))
/** Per-round ratios a / b of one figure, paired by round. */
const pairedRatios = (a, b, pick) => a.map((r, i) => pick(r) / pick(b[i]))
const range = (values) => {
  const finite = values.filter(Number.isFinite)
  return finite.length === 0 ? 'n/a' : `${f2(Math.min(...finite))}–${f2(Math.max(...finite))}`
}

const rows = []
const ratioRows = []
const checks = []
const check = (label, ok, measured) => checks.push(`- ${ok ? 'met' : 'MISSED'}: ${label} (measured ${measured})`)
for (const { latencyMs, runs } of scenarios) {
  for (const [name, results] of runs) {
    const candidate = candidates.get(name)
    const m = (pick) => medianOf(results, pick)
    rows.push([
      `${latencyMs} ms`, name, candidate.unit, f0(m((r) => r.requestsPerSecond)), f2(m((r) => r.p50)), f2(m((r) => r.p99)),
      f1(m((r) => r.cpuMicros)), f2(m((r) => r.callsPerOperation)),
      candidate.redis ? `${f2(m((r) => r.redisRoundTrips))} / ${f2(m((r) => r.redisCommands))} / ${f1(m((r) => r.redisCpuMicros))}` : '',
      results.map((r) => r.getTokenCalls).join(', '), String(results.reduce((sum, r) => sum + r.unauthorized, 0)),
      f1(m((r) => r.peakRss) / MIB),
      [m((r) => r.cpu.candidate), m((r) => r.cpu.load), m((r) => r.cpu.upstream), m((r) => r.cpu.redis), m((r) => r.cpu.others)].map(f0).join(' / '),
      results.map((r) => r.cpu.others).join(', '),
      String(results.reduce((sum, r) => sum + r.failed, 0))
    ])
    const pluginOneToken = candidate.plugin && candidate.flow === 'v1-verify'
    if (pluginOneToken) {
      const tokens = results.map((r) => r.getTokenCalls)
      const unauthorized = results.reduce((sum, r) => sum + r.unauthorized, 0)
      check(`latency ${latencyMs} ms: ${name}: exactly one getToken per run, no 401 retry`,
        tokens.every((n) => n === 1) && unauthorized === 0, `getToken per run: ${tokens.join(', ')}; 401s: ${unauthorized}`)
    }
    const comparisons = []
    if (candidate.baseline !== undefined && runs.has(candidate.baseline)) comparisons.push([candidate.baseline, candidate.twinOf === undefined ? candidate.target : undefined])
    if (candidate.twinOf !== undefined && runs.has(candidate.twinOf)) comparisons.push([candidate.twinOf, undefined])
    if (name === 'v1-plugin' && runs.has('v1-docs')) comparisons.push(['v1-docs', undefined])
    for (const [baseline, target] of comparisons) {
      const base = runs.get(baseline)
      const throughput = pairedRatios(results, base, (r) => r.requestsPerSecond)
      const cpu = pairedRatios(results, base, (r) => r.cpuMicros)
      const p99 = pairedRatios(results, base, (r) => r.p99)
      const tput = median(throughput)
      const cpuRatio = median(cpu)
      ratioRows.push([`${latencyMs} ms`, `${name} / ${baseline}`, f2(tput), range(throughput), f2(cpuRatio), range(cpu), f2(median(p99))])
      if (target !== undefined && latencyMs === 0) {
        check(`latency 0 ms: ${name} throughput >= ${target.minThroughput} x ${baseline}`, tput >= target.minThroughput, f2(tput))
        if (target.maxCpu !== undefined) check(`latency 0 ms: ${name} CPU µs per verification <= ${target.maxCpu} x ${baseline}`, cpuRatio <= target.maxCpu, f2(cpuRatio))
      }
      if (name === 'v1-plugin' && baseline === 'v1-docs' && latencyMs === 30) check('latency 30 ms: v1-plugin throughput >= 1.8 x v1-docs (issue 6)', tput >= 1.8, f2(tput))
    }
  }
}

const table = markdownTable([
  'upstream latency', 'candidate', 'operation', 'ops/s', 'p50 ms', 'p99 ms', 'candidate CPU µs / op', 'upstream calls / op',
  'Redis round trips / commands / CPU µs, per op', 'getToken calls / run', '401s', 'peak RSS MiB',
  'CPU % cand / load / upstream / redis / others', 'others % per round', 'non-2xx + errors'
], rows)
const ratioTable = markdownTable([
  'upstream latency', 'candidate / baseline', 'ops/s ratio (median of rounds)', 'range', 'CPU µs / op ratio (median of rounds)', 'range', 'p99 ratio'
], ratioRows)

const flowsUsed = [...new Set([...candidates.values()].map((c) => c.flow))]
const report = [
  '# fastify-iamport benchmark',
  '',
  `${new Date().toISOString()}, Node ${process.version}, ${cpus().length} CPUs, ${Math.round((Date.now() - started) / 60000)} min. ` +
    `${connections} connections, ${rounds} round(s) of ${duration} s after a ${warmup} s warm-up; medians over rounds. ` +
    `${slices} slice(s) per run, the candidates of a group interleaved slice by slice. ` +
    (pinning ? `CPU pinning: each candidate on CPU ${CANDIDATE_CPUS}, the harness, autocannon and Redis on CPU ${HARNESS_CPUS}. ` : 'No CPU pinning. ') +
    'Upstream: bench/upstream.js in the harness process; each candidate in its own process (fresh per round); ' +
    'autocannon in its own process; Redis: a redis-server of the harness on loopback (noeviction, no persistence), flushed before each run. ' +
    'Candidate CPU is process.cpuUsage() of the candidate over the measured run, divided by the operations answered 2xx. ' +
    'CPU % is of one core over the measured run; "others" is every other process on the machine (the bench\'s own excluded). ' +
    'Upstream calls and Redis round trips (commands the candidate\'s ioredis client sent) / commands (as Redis counts them, ' +
    `a script's inner calls included) per operation from ${CALLS_SAMPLE} requests after the run.` +
    (mainRev ? ` Plugin candidates: revision ${mainRev.sha.slice(0, 12)}.` : '') +
    (compareRev ? ` Twins \`@${process.env.BENCH_COMPARE_REV}\`: revision ${compareRev.sha.slice(0, 12)}.` : ''),
  '',
  'Flows: ' + flowsUsed.map((flow) => `\`${flow}\`: ${FLOWS[flow].describe}`).join('; ') + '.',
  '',
  table,
  '',
  'Ratios are taken per round between the interleaved runs of one group, then the median over rounds is shown with the range.',
  '',
  ratioTable,
  '',
  ...checks,
  ''
].join('\n')

await mkdir(resultsDir, { recursive: true })
await writeFile(resultsFile, report)
console.log(report)
