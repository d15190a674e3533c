import { createServer, STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http'
import { once } from 'node:events'
import type { AddressInfo } from 'node:net'

/** HTTP plumbing and fault injection shared by the fake V1 and V2 servers. */

/** Request bodies above this many bytes are drained and answered 413. */
export const MAX_BODY_BYTES = 64 * 1024
export const JSON_TYPE = 'application/json; charset=utf-8'
/** The seeding endpoints are meant for browser sandbox pages served from another origin. */
export const CORS_HEADERS = {
  'access-control-allow-origin': '*',
  'access-control-allow-methods': 'POST, OPTIONS',
  'access-control-allow-headers': 'content-type',
  'access-control-max-age': '600'
}

/** Which requests a fault applies to: `token` is `/users/getToken`, `certification` anything under `/certifications` (V2: `/identity-verifications`), `any` every request except `/__fake/*`. */
export type FaultTarget = 'token' | 'certification' | 'any'

/** A queued misbehaviour. Each request consumes at most one fault: the first queued one that matches. */
export type Fault = {
  target: FaultTarget
  /** How many matching requests it applies to (default 1; `Infinity` allowed). */
  times?: number
} & (
  /** Wait, then answer normally. */
  | { kind: 'latency', ms: number }
  /** That HTTP status with the API's error body (V1: `{ code (default -1), message (default the status text), response: null }`). */
  | { kind: 'status', status: number, code?: number, message?: string }
  /** An HTML error page (`text/html`), as a gateway would send. */
  | { kind: 'html', status: number }
  /** 200, `application/json`, a body that is not JSON. */
  | { kind: 'malformed-json' }
  /** 200 with a `content-length` larger than the bytes sent, then the socket is destroyed. */
  | { kind: 'truncated' }
  /** The socket is destroyed without an answer. */
  | { kind: 'drop' }
  /** An arbitrary JSON body with that status (default 200). */
  | { kind: 'envelope', status?: number, body: unknown }
)

/** How one API generation words its faults. */
export interface FaultDialect {
  /** The error body of a `status` fault. */
  statusBody: (fault: Extract<Fault, { kind: 'status' }>) => unknown
  /** A body cut off in the middle of a JSON value. */
  malformedJson: string
  /** A well-formed body, of which a `truncated` fault sends only the first half. */
  truncatedBody: unknown
}

export function statusText (status: number): string {
  return STATUS_CODES[status] ?? 'Error'
}

export function sendJson (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const payload = JSON.stringify(body)
  res.writeHead(status, { ...headers, 'content-type': JSON_TYPE, 'content-length': Buffer.byteLength(payload) })
  res.end(payload)
}

export function sendRaw (res: ServerResponse, status: number, contentType: string, payload: string): void {
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(payload) })
  res.end(payload)
}

/** Drains the whole body; `undefined` when it was over the limit. */
export async function readBody (req: IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size <= MAX_BODY_BYTES) chunks.push(chunk)
  }
  return size > MAX_BODY_BYTES ? undefined : Buffer.concat(chunks).toString('utf8')
}

export function isObject (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** Queued faults, each used for up to `times` matching requests. */
export class FaultQueue {
  #faults: Array<{ fault: Fault, remaining: number }> = []

  inject (fault: Fault): void {
    const times = fault.times ?? 1
    if (!(times > 0)) throw new RangeError('fault.times must be a positive number')
    this.#faults.push({ fault: { ...fault }, remaining: times })
  }

  clear (): void {
    this.#faults = []
  }

  /** The first queued fault for `target` (or `any`), counted as used. */
  take (target: 'token' | 'certification' | 'other'): Fault | undefined {
    const index = this.#faults.findIndex((queued) => queued.fault.target === 'any' || queued.fault.target === target)
    if (index === -1) return undefined
    const queued = this.#faults[index]!
    queued.remaining -= 1
    if (queued.remaining <= 0) this.#faults.splice(index, 1)
    return queued.fault
  }
}

/** Plays a fault; `true` when it answered (or dropped) the request, `false` after a delay only. */
export async function playFault (fault: Fault, res: ServerResponse, dialect: FaultDialect): Promise<boolean> {
  switch (fault.kind) {
    case 'latency':
      await new Promise((resolve) => { setTimeout(resolve, fault.ms).unref() })
      return false
    case 'status':
      sendJson(res, fault.status, dialect.statusBody(fault))
      return true
    case 'html': {
      const title = `${fault.status} ${statusText(fault.status)}`
      sendRaw(res, fault.status, 'text/html; charset=utf-8',
        `<!DOCTYPE html><html><head><title>${title}</title></head><body><h1>${title}</h1></body></html>`)
      return true
    }
    case 'malformed-json':
      sendRaw(res, 200, JSON_TYPE, dialect.malformedJson)
      return true
    case 'truncated': {
      const payload = Buffer.from(JSON.stringify(dialect.truncatedBody))
      res.writeHead(200, { 'content-type': JSON_TYPE, 'content-length': payload.length })
      res.write(payload.subarray(0, payload.length >> 1), () => { res.destroy() })
      return true
    }
    case 'drop':
      res.destroy()
      return true
    case 'envelope':
      sendJson(res, fault.status ?? 200, fault.body)
      return true
  }
}

/** A fake's HTTP server on 127.0.0.1, port 0; `close()` ends every socket and is safe to call twice. */
export async function startFakeServer (handle: (req: IncomingMessage, res: ServerResponse) => Promise<void>): Promise<{ url: string, close: () => Promise<void> }> {
  const server = createServer((req, res) => {
    // Only a client that vanishes mid-body gets here: there is nobody left to answer.
    handle(req, res).catch(() => { res.destroy() })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  let closing: Promise<void> | undefined
  return {
    url: `http://127.0.0.1:${port}`,
    close () {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => { resolve() })
        server.closeAllConnections()
      })
      return closing
    }
  }
}
