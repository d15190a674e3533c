import autocannon from 'autocannon'

/**
 * The load generator, in its own process so that its CPU is not the candidate's. The parent
 * sends `{ type: 'run', url, connections, duration | amount }` and gets back `{ type: 'result' }`
 * with throughput, exact latency percentiles of the 2xx answers and the non-2xx/error counts.
 * Every request carries a new imp_uid (the plugin consumes each one once); the counter runs on
 * across runs of this process, so a warm-up and the measured run never share one.
 */

// 12 digits, inside the default imp_uid pattern ^imp_[0-9]{6,20}$.
let next = 100_000_000_000

function percentile (sorted, p) {
  if (sorted.length === 0) return NaN
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]
}

async function run ({ url, connections, duration, amount }) {
  let latencies = new Float64Array(1 << 16)
  let count = 0
  const instance = autocannon({
    url,
    connections,
    ...(amount === undefined ? { duration } : { amount }),
    timeout: 30,
    requests: [{
      method: 'POST',
      path: '/certifications',
      headers: { 'content-type': 'application/json' },
      setupRequest (request) {
        request.body = '{"imp_uid":"imp_' + next++ + '"}'
        return request
      }
    }]
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
    ok: result['2xx'],
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    statusCodes: result.statusCodeStats,
    requestsPerSecond: result['2xx'] / result.duration,
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
process.send({ type: 'ready' })
