import { performance } from 'node:perf_hooks'
import { Pool, type Dispatcher } from 'undici'
import {
  DEFAULT_CONNECT_TIMEOUT_MS, DEFAULT_KEEP_ALIVE_MS, DEFAULT_POOL_CONNECTIONS, DEFAULT_TIMEOUT_MS
} from './constants.js'
import { upstreamError, upstreamTimeoutError } from './errors.js'
import { Dispatcher as DispatcherSchema, HttpUrl, Optional, PositiveInteger } from './options/kinds.js'

/** Largest upstream body read, in bytes: a certification is about 1 KiB. */
const MAX_BODY_BYTES = 1024 * 1024

/** undici's own timeouts: the call's deadline comes first, unless an injected dispatcher sets shorter ones. */
const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT'])

/**
 * The HTTP transport of both clients: one keep-alive pool, one deadline per call that aborts the
 * exchange (and so frees its socket), bodies read to the end or the exchange aborted, one resend
 * of a GET reset before its answer. It knows nothing of what the bodies mean.
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
  /** The pending calls' deadlines, `timeoutMs` each. */
  deadlines: Deadlines
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
  const target = { dispatcher: options.dispatcher ?? ownPool!, origin: base.origin, basePath: base.path, timeoutMs, deadlines: new Deadlines(timeoutMs) }
  return { target, ownPool }
}

/** What came back over the wire: the HTTP status and the whole body as text. */
export interface RawAnswer {
  status: number
  text: string
}

/**
 * Sends one call and reads its body (at most 1 MiB), whatever the HTTP status. Throws
 * FST_IAMPORT_UPSTREAM_TIMEOUT when upstream has not answered in full by `timeoutMs`, and
 * FST_IAMPORT_UPSTREAM for a dropped connection or an oversized body. At the deadline the
 * exchange is aborted and its socket destroyed, so a slow body cannot keep a pool socket busy.
 * A GET whose connection is reset before its answer starts is sent once more, within the same
 * deadline.
 */
export function sendRequest (target: UpstreamTarget, call: UpstreamCall): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    new Exchange(target, call, resolve, reject).send()
  })
}

/** A node of the circular list of {@link Deadlines}. */
export interface Link {
  previous: Link
  next: Link
}

/** One pending deadline of {@link Deadlines}. */
export interface Deadline extends Link {
  /** performance.now() at which it passes. */
  expiresAt: number
  queued: boolean
  /** Called once, when the deadline passes before it was removed. */
  expire (): void
}

/**
 * Deadlines that all lie the same delay after they were added, so oldest first is soonest first:
 * a list with one timer, armed for the head. Adding or removing one is a few pointer writes and
 * a clock read instead of a `setTimeout` and a `clearTimeout` per call (bench/). Nothing expires
 * early: a timer that fires before the head is due is armed again for what is left. With nothing
 * pending, the timer does not keep the process alive. The store guard (stores/guard.ts) uses one too.
 */
export class Deadlines {
  readonly #delayMs: number
  /** The list's two ends: `next` is the oldest deadline, `previous` the newest; itself when empty. */
  readonly #ends: Link
  #timer: NodeJS.Timeout | undefined
  /** Whether the timer keeps the process alive: while a deadline is pending. */
  #referenced = false

  constructor (delayMs: number) {
    this.#delayMs = delayMs
    const ends: Link = { previous: undefined!, next: undefined! }
    ends.previous = ends
    ends.next = ends
    this.#ends = ends
  }

  add (item: Deadline): void {
    item.expiresAt = performance.now() + this.#delayMs
    item.queued = true
    const newest = this.#ends.previous
    item.previous = newest
    item.next = this.#ends
    newest.next = item
    this.#ends.previous = item
    if (this.#timer === undefined) {
      this.#arm(this.#delayMs)
    } else if (!this.#referenced) {
      this.#timer.ref()
      this.#referenced = true
    }
  }

  /** Removes a pending deadline; a no-op for one that passed or was removed. */
  remove (item: Deadline): void {
    if (!item.queued) return
    item.queued = false
    item.previous.next = item.next
    item.next.previous = item.previous
    item.previous = item
    item.next = item
    if (this.#ends.next === this.#ends && this.#referenced) {
      this.#timer!.unref()
      this.#referenced = false
    }
  }

  /** The timer: expires every deadline due, then arms for the next one. */
  fire (): void {
    this.#timer = undefined
    this.#referenced = false
    const now = performance.now()
    try {
      for (let head = this.#oldest(); head !== undefined && head.expiresAt <= now; head = this.#oldest()) {
        this.remove(head)
        head.expire()
      }
    } finally {
      const head = this.#oldest()
      if (head !== undefined) this.#arm(head.expiresAt - now)
    }
  }

  #oldest (): Deadline | undefined {
    const oldest = this.#ends.next
    return oldest === this.#ends ? undefined : oldest as Deadline
  }

  #arm (ms: number): void {
    this.#timer = setTimeout(fireDeadlines, ms, this)
    this.#referenced = true
  }
}

function fireDeadlines (deadlines: Deadlines): void {
  deadlines.fire()
}

/** Thrown into undici for a call whose deadline passed while it waited for a socket. */
const DEADLINE_PASSED = new Error('deadline passed before the request was sent')

/**
 * One call as an undici dispatch handler. The body is collected here (no stream, no promise per
 * call), and the abort function undici hands over lets the call's deadline end the exchange: not
 * an AbortSignal, whose listeners cost a third of the client's CPU (bench/). It implements the
 * handler interface undici's own `request()` uses (onConnect, onHeaders, ...): with the newer one
 * (onRequestStart, ...) undici wraps every call in two more objects and parses every response
 * header into an object, about 0.8 µs of a verification's CPU, for the one header read here.
 */
class Exchange implements Dispatcher.DispatchHandler, Deadline {
  readonly #target: UpstreamTarget
  readonly #call: UpstreamCall
  readonly #resolve: (answer: RawAnswer) => void
  readonly #reject: (err: Error) => void
  // Its node in the target's deadline list.
  expiresAt = 0
  previous: Link = this
  next: Link = this
  queued = false
  #done = false
  #attempts = 0
  #abort: ((err: Error) => void) | undefined
  /** The final status once the answer has started; 0 before. */
  #status = 0
  readonly #chunks: Buffer[] = []
  #size = 0

  constructor (target: UpstreamTarget, call: UpstreamCall, resolve: (answer: RawAnswer) => void, reject: (err: Error) => void) {
    this.#target = target
    this.#call = call
    this.#resolve = resolve
    this.#reject = reject
    // One precise budget for the whole call: queue, connect, a retry and the body included.
    target.deadlines.add(this)
  }

  send (): void {
    this.#attempts += 1
    this.#abort = undefined
    this.#target.dispatcher.dispatch({
      origin: this.#target.origin,
      path: this.#target.basePath + this.#call.path,
      method: this.#call.method,
      headers: this.#call.headers,
      body: this.#call.body
    }, this)
  }

  /** The deadline: the caller gets a 504 now, and an exchange on a socket is aborted, which destroys the socket. */
  expire (): void {
    this.#done = true
    const err = upstreamTimeoutError(this.#call.operation)
    this.#reject(err)
    this.#abort?.(err)
  }

  onConnect (abort: (err?: Error) => void): void {
    // Past the deadline while queued: throwing here drops the request before a byte is written
    // and leaves the socket to the pool, where `abort()` would destroy a good socket.
    if (this.#done) throw DEADLINE_PASSED
    this.#abort = abort
  }

  onHeaders (statusCode: number, rawHeaders: Buffer[]): boolean {
    // Informational answers (103 Early Hints) come here too; the final one follows.
    if (statusCode < 200) return true
    this.#status = statusCode
    if (declaredLength(rawHeaders) > MAX_BODY_BYTES) this.#fail(new BodyTooLargeError())
    return true
  }

  onData (chunk: Buffer): boolean {
    this.#size += chunk.length
    if (this.#size > MAX_BODY_BYTES) this.#fail(new BodyTooLargeError())
    else this.#chunks.push(chunk)
    return true
  }

  onComplete (): void {
    this.#settle()
    // One chunk is the usual small answer: read in place, not copied first.
    const body = this.#chunks.length === 1 ? this.#chunks[0]! : Buffer.concat(this.#chunks, this.#size)
    this.#resolve({ status: this.#status, text: body.toString('utf8') })
  }

  onError (err: Error): void {
    // After the deadline or a failure of ours, undici reports the abort that ended the exchange.
    if (this.#done) return
    // A reset before the answer started is the keep-alive race (upstream closed an idle socket as
    // the call went out): a GET is safe to send again, once. Deferred, so that undici is done
    // with the closed socket first.
    if (this.#status === 0 && this.#attempts === 1 && this.#call.method === 'GET' && isReset(err)) {
      process.nextTick(retry, this)
      return
    }
    this.#fail(err)
  }

  /** Fails the call and aborts its exchange (a no-op when undici has ended it already). */
  #fail (err: Error): void {
    this.#settle()
    this.#reject(transportError(err, this.#call.operation))
    this.#abort?.(err)
  }

  #settle (): void {
    this.#done = true
    this.#target.deadlines.remove(this)
  }
}

/** The Content-Length of raw response headers (name, value, name, ...), or 0 without one. */
function declaredLength (rawHeaders: Buffer[]): number {
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!
    // Only a 14-byte name can be it: nothing else is decoded.
    if (name.length === 14 && name.toString('latin1').toLowerCase() === 'content-length') return Number(rawHeaders[i + 1]!.toString('latin1'))
  }
  return 0
}

function retry (exchange: Exchange): void {
  exchange.send()
}

/** Errors of a connection that upstream closed or reset under the request. */
const RESET_CODES = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET'])

function isReset (err: Error): boolean {
  return RESET_CODES.has((err as { code?: string }).code as string)
}

class BodyTooLargeError extends Error {}

function transportError (err: unknown, operation: string): Error {
  const { code } = Object(err) as { code?: string }
  if (code !== undefined && TIMEOUT_CODES.has(code)) return upstreamTimeoutError(operation)
  if (err instanceof BodyTooLargeError) return upstreamError('body too large', { operation })
  // Only the error's code: undici's messages and causes can carry the request's headers.
  return upstreamError(`connection failed (${String(code)})`, { operation })
}
