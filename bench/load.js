import autocannon from 'autocannon'
import { FLOWS } from './flows.js'
import { loadSuiteModules } from './suite.js'

/**
 * The load generator, in its own process so that its CPU is not the candidate's. The parent
 * sends `{ type: 'run', url, flow, connections, duration | amount }` and gets back
 * `{ type: 'result' }` with the operations counted (the flow's counted step, bench/flows.js),
 * exact latency percentiles of every 2xx answer and the non-2xx/error counts. Ids come from one
 * counter that runs on across runs of this process, so a warm-up and the measured run never share one.
 */

let next = 100_000_000_000
const nextId = () => next++

function percentile (sorted, p) {
  if (sorted.length === 0) return NaN
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]
}

async function run ({ url, flow, connections, duration, amount }) {
  if (!Object.hasOwn(FLOWS, flow)) throw new Error(`unknown flow ${flow}`)
  let latencies = new Float64Array(1 << 16)
  let count = 0
  let operations = 0
  let failedOperations = 0
  const counted = (status) => {
    if (status >= 200 && status <= 299) operations++
    else failedOperations++
  }
  const instance = autocannon({
    url,
    connections,
    ...(amount === undefined ? { duration } : { amount }),
    timeout: 30,
    requests: FLOWS[flow].requests(nextId, counted)
  })
  instance.on('response', (client, statusCode, bytes, responseTime) => {
    if (statusCode < 200 || statusCode > 299) return
    if (count === latencies.length) {
      const grown = new Float64Array(latencies.length * 2)
      grown.set(latencies)
      latencies = grown
    }
    latencies[count++] = responseTime
  })
  const result = await instance
  const sorted = latencies.subarray(0, count).sort()
  return {
    durationSeconds: result.duration,
    requests: result.requests.total,
    ok: operations,
    failedOperations,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    statusCodes: result.statusCodeStats,
    requestsPerSecond: operations / result.duration,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99)
  }
}

process.on('message', async (message) => {
  if (message.type === 'run') {
    process.send({ type: 'result', result: await run(message) })
  } else if (message.type === 'stop') {
    process.exit(0)
  }
})
process.on('disconnect', () => process.exit(0))
// Flows that BENCH_SUITE_MODULES add (bench/suite.js).
await loadSuiteModules()
process.send({ type: 'ready' })
