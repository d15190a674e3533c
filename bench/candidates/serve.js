/**
 * The child-process side of the harness: every candidate server runs in its own process so its
 * RSS and CPU are its own. Protocol over the IPC channel:
 * child -> `{ type: 'ready', port }`;
 * parent -> `{ type: 'cpu' }` -> child `{ type: 'cpu', usage }` (process.cpuUsage(), µs);
 * parent -> `{ type: 'memory', gc }` -> child `{ type: 'memory', usage }`;
 * parent -> `{ type: 'counters' }` -> child `{ type: 'counters', counters }` (the candidate's own, e.g. Redis commands sent);
 * parent -> `{ type: 'stop' }` -> the child closes and exits (which also writes a `--cpu-prof` profile).
 */

/** What the harness tells a candidate: where the upstream is and its credentials. */
export function upstreamSettings () {
  const { BENCH_UPSTREAM_URL, BENCH_API_KEY, BENCH_API_SECRET } = process.env
  if (!BENCH_UPSTREAM_URL || !BENCH_API_KEY || !BENCH_API_SECRET) {
    throw new Error('BENCH_UPSTREAM_URL, BENCH_API_KEY and BENCH_API_SECRET are required (bench/run.js sets them)')
  }
  return { url: BENCH_UPSTREAM_URL, apiKey: BENCH_API_KEY, apiSecret: BENCH_API_SECRET }
}

/**
 * Fastify's `logger` option for this run. BENCH_LOGGER=info: a real pino logger at info, as a host
 * runs it (`logger: { level: 'info', file }`: pino's asynchronous SonicBoom destination), writing
 * to BENCH_LOG_FILE (default /dev/null, so the disk is not what is measured). Otherwise silent
 * (`logger: false`).
 */
export function loggerOption () {
  if (process.env.BENCH_LOGGER !== 'info') return false
  return { level: 'info', file: process.env.BENCH_LOG_FILE || '/dev/null' }
}

/**
 * Reports the listening port to the parent and answers its messages.
 * @param {number} port
 * @param {() => Promise<void>} close
 * @param {() => Record<string, number>} [counters]
 */
export function serveCandidate (port, close, counters = () => ({})) {
  process.on('message', async (message) => {
    if (message.type === 'counters') {
      process.send({ type: 'counters', counters: counters() })
    } else if (message.type === 'cpu') {
      process.send({ type: 'cpu', usage: process.cpuUsage() })
    } else if (message.type === 'memory') {
      if (message.gc === true && typeof globalThis.gc === 'function') globalThis.gc()
      process.send({ type: 'memory', usage: process.memoryUsage() })
    } else if (message.type === 'stop') {
      await close()
      process.exit(0)
    }
  })
  // The parent is gone (killed harness): do not linger as an orphan.
  process.on('disconnect', () => process.exit(0))
  process.send({ type: 'ready', port })
}
