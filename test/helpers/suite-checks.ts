import type { Test } from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import { allLogLines, sensitiveValues } from './app.js'

/** Collects every unhandled rejection of this test process, for a final "none" assertion. */
export function watchUnhandledRejections (): unknown[] {
  const rejections: unknown[] = []
  process.on('unhandledRejection', (reason) => { rejections.push(reason) })
  return rejections
}

/** How many active resources of that type keep the event loop alive (e.g. 'TCPSocketWrap'). */
export function activeResources (type: string): number {
  return process.getActiveResourcesInfo().filter((name) => name === type).length
}

/** Active resources by type, e.g. `{ TCPSocketWrap: 2, Timeout: 1 }`. */
export function activeResourceCounts (): Record<string, number> {
  const counts: Record<string, number> = {}
  for (const name of process.getActiveResourcesInfo()) counts[name] = (counts[name] ?? 0) + 1
  return counts
}

/** Polls `condition` every 10 ms until it holds or `ms` pass; returns whether it held. */
export async function eventually (condition: () => boolean, ms = 1000): Promise<boolean> {
  const until = Date.now() + ms
  while (!condition()) {
    if (Date.now() > until) return false
    await sleep(10)
  }
  return true
}

/** `'done'` when `promise` settles within `ms`, else `'hung'`; leaves no timer behind. */
export async function settlesWithin (promise: Promise<unknown>, ms: number): Promise<'done' | 'hung'> {
  let timer: NodeJS.Timeout | undefined
  const hung = new Promise<'hung'>((resolve) => { timer = setTimeout(resolve, ms, 'hung') })
  try {
    return await Promise.race([promise.then(() => 'done' as const, () => 'done' as const), hung])
  } finally {
    clearTimeout(timer)
  }
}

/** Shortest sensitive value looked up through the prefix index; shorter ones use `includes`. */
const PREFIX = 8

let scannedLines = 0
const leaked = new Set<string>()

/**
 * Checks every log line captured so far against every sensitive value known so far, then drops
 * those lines, so that a long soak keeps its memory flat. A line can only carry a value that
 * existed when it was written, so scanning in chunks misses nothing. Indexed by value prefix to
 * stay linear in the size of the log for many thousands of values.
 */
export function scanLogLines (): void {
  const joined = allLogLines.join('\n')
  scannedLines += allLogLines.length
  allLogLines.length = 0
  const byPrefix = new Map<string, string[]>()
  for (const value of sensitiveValues) {
    if (value.length < PREFIX) {
      if (joined.includes(value)) leaked.add(value)
      continue
    }
    const prefix = value.slice(0, PREFIX)
    const values = byPrefix.get(prefix)
    if (values === undefined) byPrefix.set(prefix, [value])
    else values.push(value)
  }
  for (let i = 0; i + PREFIX <= joined.length; i++) {
    const candidates = byPrefix.get(joined.slice(i, i + PREFIX))
    if (candidates === undefined) continue
    for (const value of candidates) if (joined.startsWith(value, i)) leaked.add(value)
  }
}

/**
 * The last test of every suite that captures logs: no captured log line contains a value recorded
 * in `sensitiveValues` (seeded personal values, secrets, and tokens, which startApp records at
 * teardown, so run it after the apps closed). Lines and values accumulate over the whole file, and
 * `minimums` guards against a vacuous pass.
 */
export function assertNoSensitiveLogLines (t: Test, minimums: { lines: number, values: number }): void {
  scanLogLines()
  t.ok(scannedLines > minimums.lines, `${scannedLines} log lines captured`)
  t.ok(sensitiveValues.size > minimums.values, `${sensitiveValues.size} sensitive values checked`)
  for (const value of leaked) t.fail(`a log line contains a sensitive value of length ${value.length}`)
  t.pass('checked')
}
