import { Pool, type Dispatcher } from 'undici'
import {
  DEFAULT_CONNECT_TIMEOUT_MS, DEFAULT_KEEP_ALIVE_MS, DEFAULT_POOL_CONNECTIONS, DEFAULT_TIMEOUT_MS
} from './constants.js'
import { envelopeCheck } from './schemas.js'
import { InvalidOptionsError, upstreamError, upstreamTimeoutError } from './errors.js'

/** Largest upstream body read, in bytes: a certification is about 1 KiB. */
const MAX_BODY_BYTES = 1024 * 1024

const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT'])

/** One HTTP call to i'mport, as the client describes it. */
export interface UpstreamCall {
  /** Client method name, used in error messages (never a path with an id in it). */
  operation: string
  method: 'GET' | 'POST' | 'DELETE'
  path: string
  headers: Record<string, string>
  body?: string
}

/** An answer that is a well-formed envelope; `status` is the HTTP status. */
export interface EnvelopeAnswer {
  status: number
  code: number
  message: string | null | undefined
  response: unknown
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
  baseUrl: unknown
  timeoutMs?: number | undefined
  connections?: number | undefined
  dispatcher?: Dispatcher | undefined
}

/**
 * Checks the transport options (FST_IAMPORT_INVALID_OPTIONS naming the bad one) and returns where
 * to send calls, with the keep-alive Pool it created: `undefined` when a dispatcher was injected,
 * which the caller must then leave open.
 */
export function openTarget (options: TransportOptions): { target: UpstreamTarget, ownPool: Pool | undefined } {
  const base = parseBaseUrl(options.baseUrl)
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) throw new InvalidOptionsError('timeoutMs must be a positive integer')
  const connections = options.connections ?? DEFAULT_POOL_CONNECTIONS
  if (!Number.isInteger(connections) || connections <= 0) throw new InvalidOptionsError('connections must be a positive integer')
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

function parseBaseUrl (value: unknown): { origin: string, path: string } {
  let url: URL
  try {
    url = new URL(String(value))
  } catch {
    throw new InvalidOptionsError('baseUrl must be an absolute http(s) URL')
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new InvalidOptionsError('baseUrl must be an absolute http(s) URL')
  return { origin: url.origin, path: url.pathname.replace(/\/+$/, '') }
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
 * so the pool never keeps a busy socket. Shared by the V1 and the V2 clients.
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

/**
 * Sends one V1 call and returns its envelope, whatever the HTTP status: {@link sendRequest}, then
 * FST_IAMPORT_UPSTREAM for a body that is not an envelope.
 */
export async function sendCall (target: UpstreamTarget, call: UpstreamCall): Promise<EnvelopeAnswer> {
  const { status, text } = await sendRequest(target, call)
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    throw upstreamError(`HTTP ${status} with a body that is not JSON`, { operation: call.operation, upstreamStatus: status })
  }
  if (!envelopeCheck.Check(parsed)) {
    throw upstreamError(`HTTP ${status} with a body that is not an i'mport envelope`, { operation: call.operation, upstreamStatus: status })
  }
  return { status, code: parsed.code, message: parsed.message, response: parsed.response }
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
