import { Pool, type Dispatcher } from 'undici'
import {
  DEFAULT_CONNECT_TIMEOUT_MS, DEFAULT_KEEP_ALIVE_MS, DEFAULT_POOL_CONNECTIONS, DEFAULT_TIMEOUT_MS
} from './constants.js'
import { upstreamError, upstreamTimeoutError } from './errors.js'
import { Dispatcher as DispatcherSchema, HttpUrl, Optional, PositiveInteger } from './options/kinds.js'

/** Largest upstream body read, in bytes: a certification is about 1 KiB. */
const MAX_BODY_BYTES = 1024 * 1024

const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT'])

/**
 * The HTTP transport of both clients: one keep-alive pool, one deadline per call, bodies read to
 * the end or destroyed. It knows nothing of what the bodies mean.
 */

/** One HTTP call upstream, as a client describes it. */
export interface UpstreamCall {
  /** Client method name, used in error messages (never a path with an id in it). */
  operation: string
  method: 'GET' | 'POST' | 'DELETE'
  path: string
  headers: Record<string, string>
  body?: string
}

/** Where and how to send calls: origin and path prefix of the base URL, and the timeouts. */
export interface UpstreamTarget {
  dispatcher: Dispatcher
  origin: string
  basePath: string
  timeoutMs: number
}

/** Transport options shared by the V1 and the V2 clients. */
export interface TransportOptions {
  /** Absolute http(s) URL; its path is a prefix of every call. */
  baseUrl: string
  timeoutMs?: number | undefined
  connections?: number | undefined
  dispatcher?: Dispatcher | undefined
}

/** Schema of the transport options every client constructor takes (each client adds its own). */
export const transportProperties = {
  baseUrl: Optional(HttpUrl({ errorMessage: 'must be an absolute http(s) URL' })),
  timeoutMs: Optional(PositiveInteger('whole number of milliseconds')),
  connections: Optional(PositiveInteger()),
  dispatcher: Optional(DispatcherSchema())
}

/**
 * Returns where to send calls (options already checked against {@link transportProperties}), with
 * the keep-alive Pool it created: `undefined` when a dispatcher was injected, which the caller
 * must then leave open.
 */
export function openTarget (options: TransportOptions): { target: UpstreamTarget, ownPool: Pool | undefined } {
  const url = new URL(options.baseUrl)
  const base = { origin: url.origin, path: url.pathname.replace(/\/+$/, '') }
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS
  const connections = options.connections ?? DEFAULT_POOL_CONNECTIONS
  const ownPool = options.dispatcher === undefined
    ? new Pool(base.origin, {
      connections,
      keepAliveTimeout: DEFAULT_KEEP_ALIVE_MS,
      connectTimeout: Math.min(DEFAULT_CONNECT_TIMEOUT_MS, timeoutMs),
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs
    })
    : undefined
  return { target: { dispatcher: options.dispatcher ?? ownPool!, origin: base.origin, basePath: base.path, timeoutMs }, ownPool }
}

/** What came back over the wire: the HTTP status and the whole body as text. */
export interface RawAnswer {
  status: number
  text: string
}

/**
 * Sends one call and reads its body (at most 1 MiB), whatever the HTTP status. Throws
 * FST_IAMPORT_UPSTREAM_TIMEOUT when upstream does not answer in time and FST_IAMPORT_UPSTREAM
 * for a dropped connection or an oversized body. The body is always read to the end or destroyed,
 * so the pool never keeps a busy socket.
 */
export function sendRequest (target: UpstreamTarget, call: UpstreamCall): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    // One precise budget for the whole call, queue time included; whichever settles first wins.
    // undici's own timeouts (a coarse 1 s clock past 1 s) still end an abandoned exchange and free
    // its socket. Not an AbortSignal: its listeners cost a third of the client's CPU (bench/).
    const timer = setTimeout(rejectAtDeadline, target.timeoutMs, reject, call.operation)
    target.dispatcher.request({
      origin: target.origin,
      path: target.basePath + call.path,
      method: call.method,
      headers: call.headers,
      body: call.body,
      headersTimeout: target.timeoutMs,
      bodyTimeout: target.timeoutMs
    }).then(readAnswer).then((answer) => {
      clearTimeout(timer)
      resolve(answer)
    }, (err: unknown) => {
      clearTimeout(timer)
      reject(transportError(err, call.operation))
    })
  })
}

function rejectAtDeadline (reject: (err: Error) => void, operation: string): void {
  reject(upstreamTimeoutError(operation))
}

/** Status and body text, at most 1 MiB: a declared length is checked up front, a chunked body as it streams. */
async function readAnswer (res: Dispatcher.ResponseData): Promise<RawAnswer> {
  const { body } = res
  const contentLength = res.headers['content-length']
  if (typeof contentLength === 'string') {
    if (Number(contentLength) > MAX_BODY_BYTES) {
      body.destroy()
      throw new BodyTooLargeError()
    }
    // undici holds the body to its declared length.
    return { status: res.statusCode, text: await body.text() }
  }
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of body) {
    size += chunk.length
    if (size > MAX_BODY_BYTES) {
      body.destroy()
      throw new BodyTooLargeError()
    }
    chunks.push(chunk)
  }
  return { status: res.statusCode, text: Buffer.concat(chunks).toString('utf8') }
}

class BodyTooLargeError extends Error {}

function transportError (err: unknown, operation: string): Error {
  const { code } = Object(err) as { code?: string }
  if (code !== undefined && TIMEOUT_CODES.has(code)) return upstreamTimeoutError(operation)
  if (err instanceof BodyTooLargeError) return upstreamError('body too large', { operation })
  // Only the error's code: undici's messages and causes can carry the request's headers.
  return upstreamError(`connection failed (${String(code)})`, { operation })
}
