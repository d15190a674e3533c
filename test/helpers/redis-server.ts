import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createServer, connect } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'

/** A throwaway redis-server on 127.0.0.1. */
export interface RedisServer {
  port: number
  url: string
  /** Kills the server and waits for it to exit; safe to call twice. */
  stop (): Promise<void>
  /**
   * Kills the server and starts a new one on the same port with the same arguments (what it kept
   * in memory is gone, unless it persisted it); resolves once it answers PING. `whileDown` runs
   * after the old process exited and before the new one starts.
   */
  restart (whileDown?: () => Promise<void>): Promise<void>
}

/** How to start one. */
export interface RedisServerOptions {
  /**
   * More redis-server arguments, after the defaults (`--save '' --appendonly no`), which they
   * override: `['--maxmemory', '8mb', '--maxmemory-policy', 'allkeys-lru']`.
   */
  args?: string[]
}

const READY_TIMEOUT_MS = 5_000
const START_ATTEMPTS = 3

/** A port that was free a moment ago (listen on 0, read it, close). */
async function freePort (): Promise<number> {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const address = server.address()
  server.close()
  await once(server, 'close')
  if (address === null || typeof address === 'string') throw new Error('no TCP address')
  return address.port
}

/** Resolves true once the server answers PING with +PONG, false if this attempt failed. */
async function ping (port: number): Promise<boolean> {
  return await new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1')
    let reply = ''
    const done = (ok: boolean): void => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(500, () => done(false))
    socket.on('error', () => done(false))
    socket.on('connect', () => socket.write('PING\r\n'))
    socket.on('data', (chunk) => {
      reply += chunk.toString('latin1')
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'))
    })
  })
}

/** Kills a redis-server process and waits for it to exit. */
async function stopRedisProcess (child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = once(child, 'exit')
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), 3_000)
  await exited
  clearTimeout(timer)
}

/** A running redis-server process, or undefined if it exited before answering (port taken). */
async function spawnOn (port: number, args: string[], dir: string): Promise<ChildProcess | undefined> {
  const child = spawn('redis-server', [
    '--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', ...args
  ], { stdio: 'ignore' })
  let spawnError: NodeJS.ErrnoException | undefined
  child.on('error', (err) => { spawnError = err })
  // A crashed test run must not leave a server behind.
  const killOnExit = (): void => { child.kill('SIGKILL') }
  process.on('exit', killOnExit)
  child.once('exit', () => process.off('exit', killOnExit))

  const deadline = Date.now() + READY_TIMEOUT_MS
  while (Date.now() < deadline) {
    if (spawnError !== undefined) {
      process.off('exit', killOnExit)
      if (spawnError.code === 'ENOENT') throw new Error('redis-server not found: install it with `apt-get install -y redis-server` (bash .ci/run does)')
      throw spawnError
    }
    // It exited before answering: most likely the port was taken meanwhile.
    if (child.exitCode !== null) return undefined
    if (await ping(port)) return child
    await sleep(50)
  }
  await stopRedisProcess(child)
  throw new Error(`redis-server did not answer PING within ${READY_TIMEOUT_MS} ms`)
}

async function startOn (port: number, args: string[]): Promise<RedisServer | undefined> {
  // Its own working directory: an AOF or RDB file never lands in the repository.
  const dir = mkdtempSync(join(tmpdir(), 'redis-test-'))
  let child = await spawnOn(port, args, dir)
  if (child === undefined) {
    rmSync(dir, { recursive: true, force: true })
    return undefined
  }
  let stopped = false
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    async stop () {
      stopped = true
      await stopRedisProcess(child!)
      rmSync(dir, { recursive: true, force: true })
    },
    async restart (whileDown) {
      if (stopped) throw new Error('restart after stop')
      await stopRedisProcess(child!)
      await whileDown?.()
      child = await spawnOn(port, args, dir)
      if (child === undefined) throw new Error(`redis-server could not listen on ${port} again`)
    }
  }
}

/**
 * Starts redis-server on a free port without persistence (unless `args` turn it on) and waits
 * until it answers PING.
 */
export async function startRedis (options: RedisServerOptions = {}): Promise<RedisServer> {
  for (let attempt = 1; attempt <= START_ATTEMPTS; attempt++) {
    const server = await startOn(await freePort(), options.args ?? [])
    if (server !== undefined) return server
  }
  throw new Error(`redis-server exited before answering PING ${START_ATTEMPTS} times`)
}
