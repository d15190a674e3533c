import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net'
import { once } from 'node:events'
import { parseArgs } from 'node:util'
import { createFakeIamport } from './fake-iamport.js'
import { createFakePortOneV2 } from './fake-portone-v2.js'

/**
 * `fastify-iamport-fake`: the V1 or V2 fake server as a process, for front-end developers and
 * for backends not written in Node. The logic is here, in {@link main}, so that it runs (and is
 * tested) in-process; cli.ts is the bin that calls it.
 */

export const USAGE = 'usage: fastify-iamport-fake [--v2] [--port N] [--host 127.0.0.1] [--api-key KEY] [--api-secret SECRET] [--store-id ID] [--otp CODE]'

/** The SMS code the command's fakes "send" unless `--otp` says otherwise: printed, so a front end can type it. */
export const DEFAULT_CLI_OTP = '123456'

/** What the command line asks for. */
export interface FakeCliOptions {
  /** PortOne V2 instead of i'mport V1. */
  v2: boolean
  /** 0 (the default) is a free port. */
  port: number
  /** Default 127.0.0.1: the seeding endpoint takes no credentials, so keep it off the network. */
  host: string
  /** V1 only; random when absent. */
  apiKey?: string
  /** Random when absent. */
  apiSecret?: string
  /** V2 only; random when absent. */
  storeId?: string
  /** The code every SMS verification "sends" (4-8 digits); default {@link DEFAULT_CLI_OTP}. */
  otp?: string
}

/** What {@link main} needs of `process`: its output and its termination signals. */
export interface FakeCliProcess {
  stdout: { write: (text: string) => unknown }
  stderr: { write: (text: string) => unknown }
  once: (signal: 'SIGINT' | 'SIGTERM', listener: () => void) => unknown
  off: (signal: 'SIGINT' | 'SIGTERM', listener: () => void) => unknown
}

/** The options, `'help'` for `--help`, or why the arguments are wrong. */
export function parseArguments (argv: readonly string[]): FakeCliOptions | 'help' | { error: string } {
  let values
  try {
    values = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        v2: { type: 'boolean' },
        port: { type: 'string' },
        host: { type: 'string' },
        'api-key': { type: 'string' },
        'api-secret': { type: 'string' },
        'store-id': { type: 'string' },
        otp: { type: 'string' },
        help: { type: 'boolean', short: 'h' }
      }
    }).values
  } catch (err) {
    return { error: (err as Error).message }
  }
  if (values.help === true) return 'help'
  const v2 = values.v2 === true
  const port = values.port ?? '0'
  if (!/^\d{1,5}$/.test(port) || Number(port) > 65535) return { error: `--port must be a port number (0-65535), not '${port}'` }
  const host = values.host ?? '127.0.0.1'
  if (host === '') return { error: '--host must not be empty' }
  if (v2 && values['api-key'] !== undefined) return { error: '--api-key is for the V1 fake (V2 has only --api-secret and --store-id)' }
  if (!v2 && values['store-id'] !== undefined) return { error: '--store-id is for the V2 fake (--v2)' }
  if (values.otp !== undefined && !/^[0-9]{4,8}$/.test(values.otp)) return { error: '--otp must be 4 to 8 digits' }
  const options: FakeCliOptions = { v2, port: Number(port), host }
  if (values.otp !== undefined) options.otp = values.otp
  for (const [flag, key] of [['api-key', 'apiKey'], ['api-secret', 'apiSecret'], ['store-id', 'storeId']] as const) {
    const value = values[flag]
    if (value === undefined) continue
    if (value === '') return { error: `--${flag} must not be empty` }
    options[key] = value
  }
  return options
}

/**
 * A TCP listener on host:port that pipes every connection to the fake's own port: the fakes
 * listen on 127.0.0.1 and a free port only, and this keeps them as they are.
 */
async function forward (host: string, port: number, target: number): Promise<{ server: Server, close: () => Promise<void> }> {
  const sockets = new Set<Socket>()
  const server = createServer((client) => {
    const upstream = connect(target, '127.0.0.1')
    // Either side closed or failed (a reset, a client that vanished): the other goes too.
    const drop = (): void => {
      client.destroy()
      upstream.destroy()
    }
    for (const socket of [client, upstream]) {
      sockets.add(socket)
      socket.on('error', drop)
      socket.on('close', () => {
        sockets.delete(socket)
        drop()
      })
    }
    client.pipe(upstream).pipe(client)
  })
  server.listen(port, host)
  // Rejects with the listen error (EADDRINUSE, EACCES...) when that comes first.
  await once(server, 'listening')
  return {
    server,
    close: () => new Promise<void>((resolve) => {
      server.close(() => { resolve() })
      for (const socket of sockets) socket.destroy()
    })
  }
}

/** `http://host:port` for a browser or a client on this machine: a wildcard host is reached on loopback. */
export function publicUrl (host: string, port: number): string {
  const reachable = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host
  return `http://${reachable.includes(':') ? `[${reachable}]` : reachable}:${port}`
}

/** The fake, started, behind its listener; `lines` is what to print. */
async function startFake (options: FakeCliOptions): Promise<{ lines: string[], close: () => Promise<void> }> {
  const fake = options.v2
    ? await createFakePortOneV2({ apiSecret: options.apiSecret, storeId: options.storeId, otp: options.otp ?? DEFAULT_CLI_OTP })
    : await createFakeIamport({ apiKey: options.apiKey, apiSecret: options.apiSecret, otp: options.otp ?? DEFAULT_CLI_OTP })
  let listener
  try {
    listener = await forward(options.host, options.port, Number(new URL(fake.url).port))
  } catch (err) {
    await fake.close()
    throw err
  }
  const url = publicUrl(options.host, (listener.server.address() as AddressInfo).port)
  const lines = 'storeId' in fake
    ? [
        'fastify-iamport-fake: a fake PortOne V2 API (no real verification)',
        `url: ${url}`,
        `apiSecret: ${fake.apiSecret}`,
        `storeId: ${fake.storeId}`,
        `SMS code (every send): ${options.otp ?? DEFAULT_CLI_OTP}`,
        `sandbox window: ${url}/sandbox/identity-verification?identityVerificationId=<id>`,
        `seed: POST ${url}/__fake/identity-verifications`
      ]
    : [
        'fastify-iamport-fake: a fake i\'mport V1 API (no real verification)',
        `url: ${url}`,
        `apiKey: ${fake.apiKey}`,
        `apiSecret: ${fake.apiSecret}`,
        `SMS code (every send): ${options.otp ?? DEFAULT_CLI_OTP}`,
        `sandbox window: ${url}/sandbox/certification?merchant_uid=<merchant_uid>`,
        `seed: POST ${url}/__fake/certifications`
      ]
  return {
    lines,
    close: async () => {
      await listener.close()
      await fake.close()
    }
  }
}

/**
 * Runs the command: prints the fake's URL and credentials (fake ones: printing them is the point),
 * serves until SIGINT or SIGTERM, closes every socket and resolves with the exit code: 0 after a
 * signal, 2 for bad arguments (with the usage line), 1 when the server cannot start (a busy port).
 */
export async function main (argv: readonly string[], proc: FakeCliProcess = process): Promise<number> {
  const options = parseArguments(argv)
  if (options === 'help') {
    proc.stdout.write(`${USAGE}\n`)
    return 0
  }
  if ('error' in options) {
    proc.stderr.write(`fastify-iamport-fake: ${options.error}\n${USAGE}\n`)
    return 2
  }
  let running
  try {
    running = await startFake(options)
  } catch (err) {
    proc.stderr.write(`fastify-iamport-fake: cannot start: ${(err as Error).message}\n`)
    return 1
  }
  const signal = new Promise<void>((resolve) => {
    const stop = (): void => {
      proc.off('SIGINT', stop)
      proc.off('SIGTERM', stop)
      resolve()
    }
    proc.once('SIGINT', stop)
    proc.once('SIGTERM', stop)
  })
  proc.stdout.write(`${running.lines.join('\n')}\nCtrl-C stops it.\n`)
  await signal
  await running.close()
  return 0
}
