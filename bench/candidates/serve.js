/**
 * The child-process side of the harness: every candidate server runs in its own process so its
 * RSS and CPU are its own. Protocol over the IPC channel:
 * child -> `{ type: 'ready', port }`; parent -> `{ type: 'memory', gc }` -> child `{ type: 'memory', usage }`;
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
 * Reports the listening port to the parent and answers its messages.
 * @param {number} port
 * @param {() => Promise<void>} close
 */
export function serveCandidate (port, close) {
  process.on('message', async (message) => {
    if (message.type === 'memory') {
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
