import { execFileSync, fork, spawn } from 'node:child_process'
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { availableParallelism } from 'node:os'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'

/** Plumbing shared by bench/run.js and bench/memory.js: child processes, /proc readings, stats. */

const here = (path) => fileURLToPath(new URL(path, import.meta.url))

/** A positive number from the environment, else `fallback`. */
export function envNumber (name, fallback) {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return fallback
  const value = Number(raw)
  if (!Number.isFinite(value) || value < 0) throw new Error(`${name} must be a non-negative number`)
  return value
}

/**
 * CPU pinning (Linux `taskset`): the candidate gets CPU 0 to itself, and the harness, the load
 * generator and Redis share the others, so that neither side's scheduling or caches disturb the
 * other's (a candidate sharing a core with the load generator measured 62 to 75 µs per
 * verification for the same code). Off with BENCH_PIN=0, and where there is one CPU or no taskset.
 */
export const pinning = process.env.BENCH_PIN !== '0' && availableParallelism() >= 2 && hasTaskset()
export const CANDIDATE_CPUS = '0'
export const HARNESS_CPUS = `1-${availableParallelism() - 1}`
export const ALL_CPUS = `0-${availableParallelism() - 1}`

function hasTaskset () {
  try {
    execFileSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

/** Pins every thread of a process to `cpus` (a taskset list), when pinning is on. */
export function pin (pid, cpus) {
  if (pinning) execFileSync('taskset', ['-a', '-p', '-c', cpus, String(pid)], { stdio: 'ignore' })
}

/** Waits for the next IPC message of `type` from `child`, failing if the child exits first. */
function nextMessage (child, type) {
  return new Promise((resolve, reject) => {
    const onMessage = (message) => {
      if (message?.type !== type) return
      cleanup()
      resolve(message)
    }
    const onExit = (code, signal) => {
      cleanup()
      reject(new Error(`child ${child.pid} exited (${code ?? signal}) before sending '${type}'`))
    }
    const cleanup = () => {
      child.off('message', onMessage)
      child.off('exit', onExit)
    }
    child.on('message', onMessage)
    child.on('exit', onExit)
  })
}

/**
 * Starts a candidate server in its own process; resolves once it listens.
 * @param {{ script: string, env?: Record<string, string> }} candidate a bench/suite.js candidate
 * @param {{ url: string, apiKey: string, apiSecret: string }} upstream
 * @param {{ execArgv?: string[], env?: Record<string, string> }} [options]
 */
export async function startCandidate (candidate, upstream, options = {}) {
  const child = fork(here(candidate.script), [], {
    execArgv: options.execArgv ?? [],
    env: {
      ...process.env,
      ...candidate.env,
      ...options.env,
      BENCH_UPSTREAM_URL: upstream.url,
      BENCH_API_KEY: upstream.apiKey,
      BENCH_API_SECRET: upstream.apiSecret
    },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc']
  })
  const { port } = await nextMessage(child, 'ready')
  return {
    pid: child.pid,
    url: `http://127.0.0.1:${port}`,
    /** The candidate's own counters (serve.js), e.g. `redisCommands`. */
    async counters () {
      const reply = nextMessage(child, 'counters')
      child.send({ type: 'counters' })
      return (await reply).counters
    },
    /** process.cpuUsage() of the candidate, user + system, in seconds. */
    async cpuSeconds () {
      const reply = nextMessage(child, 'cpu')
      child.send({ type: 'cpu' })
      const { usage } = await reply
      return (usage.user + usage.system) / 1e6
    },
    /** process.memoryUsage() of the candidate, after a full GC when it runs with --expose-gc. */
    async memoryUsage (gc = false) {
      const reply = nextMessage(child, 'memory')
      child.send({ type: 'memory', gc })
      return (await reply).usage
    },
    /** Asks the candidate to close and exit (so a --cpu-prof profile gets written). */
    async stop () {
      if (child.exitCode !== null || child.signalCode !== null) return
      const exited = once(child, 'exit')
      child.send({ type: 'stop' })
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
      await exited
      clearTimeout(timer)
    }
  }
}

/** Starts the load generator (autocannon) in its own process. */
export async function startLoad () {
  const child = fork(here('./load.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  await nextMessage(child, 'ready')
  return {
    pid: child.pid,
    /** @param {{ url: string, connections: number, duration?: number, amount?: number }} options */
    async run (options) {
      const reply = nextMessage(child, 'result')
      child.send({ type: 'run', ...options })
      return (await reply).result
    },
    async stop () {
      if (child.exitCode !== null || child.signalCode !== null) return
      const exited = once(child, 'exit')
      child.send({ type: 'stop' })
      await exited
    }
  }
}

/** A TCP port free on 127.0.0.1 right now. */
async function freePort () {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address()
  await new Promise((resolve) => server.close(resolve))
  return port
}

/**
 * Starts a redis-server of its own on a free loopback port: nothing persisted, and
 * `maxmemory-policy noeviction`, which RedisStore requires. `flush()` empties it between runs,
 * `stats()` reads `INFO` counters (commands from clients, by command) and `stop()` ends it.
 */
export async function startRedis () {
  const { Redis } = await import('ioredis')
  const port = await freePort()
  const child = spawn('redis-server', [
    '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
    '--maxmemory-policy', 'noeviction', '--protected-mode', 'yes', '--daemonize', 'no', '--loglevel', 'warning'
  ], { stdio: ['ignore', 'ignore', 'inherit'] })
  const exited = once(child, 'exit')
  const url = `redis://127.0.0.1:${port}`
  let admin
  for (let attempt = 0; ; attempt++) {
    try {
      admin = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
      // Refused until redis-server listens: connect() rejects, and the loop tries again.
      admin.on('error', () => {})
      await admin.connect()
      break
    } catch (err) {
      admin.disconnect()
      if (attempt === 50 || child.exitCode !== null) throw new Error(`redis-server on port ${port} did not start: ${err.message}`)
      await sleep(100)
    }
  }
  return {
    pid: child.pid,
    url,
    flush: () => admin.flushall(),
    /** Commands by name as Redis counts them (`INFO commandstats`: a script's inner calls included). */
    async commandCalls () {
      const info = await admin.info('commandstats')
      const calls = {}
      for (const [, name, count] of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) calls[name] = Number(count)
      return calls
    },
    async stop () {
      admin.disconnect()
      child.kill('SIGTERM')
      await exited
    }
  }
}

/** Fields of /proc/<pid>/status in bytes: VmRSS (now) and VmHWM (peak RSS so far). */
export function memoryOf (pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kib = (field) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1]) * 1024
  return { rss: kib('VmRSS'), peakRss: kib('VmHWM') }
}

// USER_HZ is 100 on every Linux this runs on.
const CLOCK_TICKS_PER_SECOND = 100

/** CPU seconds (user + system) the process has used so far, all its threads included. */
export function cpuSecondsOf (pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  // Fields after the command name, which sits in parentheses and may contain spaces.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND
}

/** CPU seconds the whole machine has been busy (all cores, all processes), from /proc/stat. */
export function machineBusySeconds () {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]
  // user nice system idle iowait irq softirq steal: everything but idle and iowait is busy.
  const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number)
  return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS_PER_SECOND
}

/** Median of the finite numbers (mean of the middle two for an even count). */
export function median (values) {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b)
  if (sorted.length === 0) return NaN
  const middle = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}

export const MIB = 1024 * 1024

/** A markdown table from a header row and body rows. */
export function markdownTable (header, rows) {
  const line = (cells) => '| ' + cells.join(' | ') + ' |'
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n')
}
