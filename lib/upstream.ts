import type { Dispatcher } from 'undici'
import { envelopeCheck } from './schemas.js'
import { upstreamError, upstreamTimeoutError } from './errors.js'

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

/**
 * Sends one call and returns its envelope, whatever the HTTP status. Throws
 * FST_IAMPORT_UPSTREAM_TIMEOUT when i'mport does not answer in time and FST_IAMPORT_UPSTREAM
 * for a dropped connection or a body that is not an envelope. The body is always read to the end
 * or destroyed, so the pool never keeps a busy socket.
 */
export async function sendCall (target: UpstreamTarget, call: UpstreamCall): Promise<EnvelopeAnswer> {
  let text: string
  let status: number
  try {
    const res = await target.dispatcher.request({
      origin: target.origin,
      path: target.basePath + call.path,
      method: call.method,
      headers: call.headers,
      body: call.body,
      headersTimeout: target.timeoutMs,
      bodyTimeout: target.timeoutMs,
      signal: AbortSignal.timeout(target.timeoutMs)
    })
    status = res.statusCode
    text = await readBounded(res.body)
  } catch (err) {
    throw transportError(err, call.operation)
  }
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

async function readBounded (body: Dispatcher.ResponseData['body']): Promise<string> {
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
  return chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8')
}

class BodyTooLargeError extends Error {}

function transportError (err: unknown, operation: string): Error {
  const { name, code } = Object(err) as { name?: string, code?: string }
  if (name === 'TimeoutError' || (code !== undefined && TIMEOUT_CODES.has(code))) return upstreamTimeoutError(operation)
  if (err instanceof BodyTooLargeError) return upstreamError('body too large', { operation })
  // Only the error's code: undici's messages and causes can carry the request's headers.
  return upstreamError(`connection failed (${String(code)})`, { operation })
}
