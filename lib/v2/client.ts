import { Type } from '@sinclair/typebox'
import type { FastifyError } from '@fastify/error'
import type { Dispatcher, Pool } from 'undici'
import { DEFAULT_IDENTITY_VERIFICATION_ID_PATTERN, DEFAULT_PORTONE_V2_BASE_URL } from '../constants.js'
import {
  AlreadyVerifiedError, CertificationNotFoundError, OtpAlreadySentError, OtpLimitReachedError, OtpNotSentError, PgRefusedError,
  upstreamError, withUpstreamDetails, type UpstreamDetails
} from '../errors.js'
import { compilePattern, idPathSegment } from '../id-path-segment.js'
import { checkOptions } from '../options/check.js'
import { NonEmptyString, Optional, Options, Pattern } from '../options/kinds.js'
import { openTarget, sendRequest, transportProperties, type UpstreamTarget } from '../upstream.js'
import {
  confirmResponseCheck, emptyResponseCheck, identityVerificationCheck, v2ErrorCheck,
  type V2IdentityVerification, type V2SendIdentityVerificationInput, type V2VerifiedIdentityVerification
} from './schemas.js'

/** Options of {@link PortOneV2Client}. */
export interface PortOneV2ClientOptions {
  /** V2 API secret, sent as `Authorization: PortOne <secret>`: kept in a private field, never logged or thrown. */
  apiSecret: string
  /** Store id sent as `?storeId=` (optional: the secret's own store is used without it). */
  storeId?: string | undefined
  /** Default `https://api.portone.io`. */
  baseUrl?: string | undefined
  /** Budget of one upstream request in milliseconds (default 10 000). */
  timeoutMs?: number | undefined
  /** An undici Dispatcher to send through (Agent, MockAgent, ProxyAgent). Not closed by `close()`. */
  dispatcher?: Dispatcher | undefined
  /** Sockets of the client's own pool (default 128). Ignored with `dispatcher`. */
  connections?: number | undefined
  /** Whitelist of identity verification ids (default `^[A-Za-z0-9_-]{1,64}$`; `.` and `..` are always refused). */
  identityVerificationIdPattern?: RegExp | string | undefined
}

/** The error `type`s every identity verification call documents: only these are named in an error message. */
const DOCUMENTED_TYPES = new Set(['INVALID_REQUEST', 'UNAUTHORIZED', 'FORBIDDEN', 'IDENTITY_VERIFICATION_NOT_FOUND'])

/**
 * The refusals of send, confirm and resend that are one of the package's errors, by `status type`
 * as the V2 API documents them (a type under another status is an unexpected answer: a 502).
 */
const REFUSALS = new Map<string, new () => FastifyError>([
  ['409 IDENTITY_VERIFICATION_ALREADY_VERIFIED', AlreadyVerifiedError],
  ['409 IDENTITY_VERIFICATION_ALREADY_SENT', OtpAlreadySentError],
  ['404 IDENTITY_VERIFICATION_NOT_SENT', OtpNotSentError],
  ['400 MAX_TRANSACTION_COUNT_REACHED', OtpLimitReachedError],
  ['502 PG_PROVIDER', PgRefusedError]
])

/** The V2 client's own options, beside the transport's. */
export const v2ClientProperties = {
  // A header value: visible ASCII only, so a pasted newline fails at registration, not on the wire.
  apiSecret: Type.String({ pattern: '^[\\x21-\\x7e]+$', errorMessage: 'must be visible ASCII characters only (no spaces or newlines)' }),
  storeId: Optional(NonEmptyString()),
  identityVerificationIdPattern: Optional(Pattern({ errorMessage: 'must be a RegExp or a valid regular expression' }))
}

const ClientOptionsSchema = Options({ ...transportProperties, ...v2ClientProperties })

/**
 * Client for PortOne V2 identity verification: one keep-alive pool, the API secret as the
 * `PortOne` authorization scheme (no token to cache), whitelisted ids, and typed errors that never
 * carry the secret or a body.
 */
export class PortOneV2Client {
  /** Built once: undici only reads them. */
  readonly #plainHeaders: Record<string, string>
  readonly #jsonHeaders: Record<string, string>
  readonly #storeId: string | undefined
  readonly #query: string
  readonly #target: UpstreamTarget
  readonly #ownPool: Pool | undefined
  readonly #idPattern: RegExp

  constructor (options: PortOneV2ClientOptions) {
    checkOptions(ClientOptionsSchema, options, { root: 'PortOneV2Client' })
    const opts = options
    this.#plainHeaders = { authorization: 'PortOne ' + opts.apiSecret, accept: 'application/json' }
    this.#jsonHeaders = { ...this.#plainHeaders, 'content-type': 'application/json' }
    this.#storeId = opts.storeId
    this.#query = opts.storeId === undefined ? '' : '?storeId=' + encodeURIComponent(opts.storeId)
    this.#idPattern = compilePattern(opts.identityVerificationIdPattern ?? DEFAULT_IDENTITY_VERIFICATION_ID_PATTERN)
    const { target, ownPool } = openTarget({ ...opts, baseUrl: opts.baseUrl ?? DEFAULT_PORTONE_V2_BASE_URL })
    this.#target = target
    this.#ownPool = ownPool
  }

  /**
   * `GET /identity-verifications/{id}`: the verification as PortOne stores it, in any status.
   * A bad id is FST_IAMPORT_INVALID_IMP_UID with no request made; an unknown one
   * FST_IAMPORT_CERTIFICATION_NOT_FOUND; any other refusal FST_IAMPORT_UPSTREAM.
   */
  getIdentityVerification (identityVerificationId: string): Promise<V2IdentityVerification> {
    // Not async: the call's promise, continued (bench/); a bad id still rejects, never throws.
    let path: string
    try {
      path = this.#path(identityVerificationId) + this.#query
    } catch (err) {
      return Promise.reject(err)
    }
    return sendRequest(this.#target, { operation: 'getIdentityVerification', method: 'GET', path, headers: this.#plainHeaders })
      .then(({ status, text }) => identityVerificationOf(status, answerBody('getIdentityVerification', status, text)))
  }

  /**
   * `POST /identity-verifications/{id}/send`: starts a server-driven verification under this id
   * (the merchant picks it) and sends the code by SMS (or the request to the carrier's app). No
   * request is made for a bad id. Besides the refusals of `getIdentityVerification`:
   * FST_IAMPORT_ALREADY_VERIFIED and FST_IAMPORT_OTP_ALREADY_SENT (409),
   * FST_IAMPORT_OTP_LIMIT_REACHED (429, PortOne's `MAX_TRANSACTION_COUNT_REACHED`),
   * FST_IAMPORT_PG_REFUSED (502, `PG_PROVIDER`, with the PG's `pgCode`); an unknown channel key is
   * FST_IAMPORT_UPSTREAM naming `CHANNEL_NOT_FOUND`. Never sent twice: a dropped connection is a 502.
   */
  async sendIdentityVerification (identityVerificationId: string, input: V2SendIdentityVerificationInput): Promise<void> {
    const body = JSON.stringify({ ...(this.#storeId === undefined ? {} : { storeId: this.#storeId }), ...input })
    const answer = await this.#send('sendIdentityVerification', 'POST', this.#path(identityVerificationId) + '/send', body)
    expectEmpty(answer, 'sendIdentityVerification')
  }

  /**
   * `POST /identity-verifications/{id}/confirm`: confirms the code (`otp`; none for `APP`) and
   * returns the completed verification. A code the PG refused is FST_IAMPORT_PG_REFUSED (502);
   * FST_IAMPORT_ALREADY_VERIFIED (409) once it completed; FST_IAMPORT_OTP_NOT_SENT (404) for a
   * verification that was not started with `send`.
   */
  async confirmIdentityVerification (identityVerificationId: string, otp?: string): Promise<V2VerifiedIdentityVerification> {
    const body = JSON.stringify({ ...(this.#storeId === undefined ? {} : { storeId: this.#storeId }), ...(otp === undefined ? {} : { otp }) })
    const { status, body: answer } = await this.#send('confirmIdentityVerification', 'POST', this.#path(identityVerificationId) + '/confirm', body)
    if (!confirmResponseCheck.Check(answer)) throw upstreamError('unexpected identity verification shape', { operation: 'confirmIdentityVerification', upstreamStatus: status })
    return answer.identityVerification
  }

  /**
   * `POST /identity-verifications/{id}/resend`: sends a new code for a verification started with
   * `send`. Refusals as for `confirmIdentityVerification`.
   */
  async resendIdentityVerification (identityVerificationId: string): Promise<void> {
    const answer = await this.#send('resendIdentityVerification', 'POST', this.#path(identityVerificationId) + '/resend' + this.#query, undefined)
    expectEmpty(answer, 'resendIdentityVerification')
  }

  /** Closes the pool this client created; an injected dispatcher stays open. */
  async close (): Promise<void> {
    await this.#ownPool?.close()
  }

  #path (identityVerificationId: string): string {
    return '/identity-verifications/' + idPathSegment(identityVerificationId, this.#idPattern)
  }

  /** One call; a 2xx JSON answer, else the refusal it is. Not async: one promise fewer per call (bench/). */
  #send (operation: string, method: 'GET' | 'POST', path: string, body: string | undefined): Promise<{ status: number, body: unknown }> {
    const call = body === undefined
      ? { operation, method, path, headers: this.#plainHeaders }
      : { operation, method, path, headers: this.#jsonHeaders, body }
    return sendRequest(this.#target, call).then(({ status, text }) => ({ status, body: answerBody(operation, status, text) }))
  }
}

/** The JSON of a 2xx answer, else the refusal it is. */
function answerBody (operation: string, status: number, text: string): unknown {
  const parsed = parseJson(text)
  if (status >= 200 && status <= 299) {
    if (parsed === NOT_JSON) throw upstreamError(`HTTP ${status} with a body that is not JSON`, { operation, upstreamStatus: status })
    return parsed
  }
  throw refusal(operation, status, parsed)
}

function identityVerificationOf (status: number, body: unknown): V2IdentityVerification {
  if (!identityVerificationCheck.Check(body)) throw upstreamError('unexpected identity verification shape', { operation: 'getIdentityVerification', upstreamStatus: status })
  return body
}

function expectEmpty (answer: { status: number, body: unknown }, operation: string): void {
  if (!emptyResponseCheck.Check(answer.body)) throw upstreamError('unexpected response shape', { operation, upstreamStatus: answer.status })
}

const NOT_JSON = Symbol('not JSON')

function parseJson (text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return NOT_JSON
  }
}

/**
 * What a non-2xx answer becomes: a documented not-found is a 404, the documented refusals of the
 * server-driven calls their own errors ({@link REFUSALS}); everything else is a 502.
 */
function refusal (operation: string, status: number, body: unknown): Error {
  const details: UpstreamDetails = { operation, upstreamStatus: status }
  if (!v2ErrorCheck.Check(body)) {
    return upstreamError(`HTTP ${status} with a body that is not ${body === NOT_JSON ? 'JSON' : 'a PortOne error'}`, details)
  }
  // A 404 without this type is a wrong baseUrl or a proxy, not an unknown verification.
  if (status === 404 && body.type === 'IDENTITY_VERIFICATION_NOT_FOUND') return new CertificationNotFoundError()
  details.upstreamType = body.type
  // Send gave the PG the person's name in Hangul, which redaction keeps: the messages of the
  // server-driven calls (theirs and the PG's) are dropped, as V1's requestOtp drops its own.
  if (operation === 'getIdentityVerification') details.upstreamMessage = body.message
  if (typeof body.pgCode === 'string') details.pgCode = body.pgCode
  const Refusal = REFUSALS.get(`${status} ${body.type}`)
  if (Refusal !== undefined) return withUpstreamDetails(new Refusal(), details)
  if (status === 401) return upstreamError('could not authenticate (check apiSecret)', details)
  if (body.type === 'CHANNEL_NOT_FOUND') return upstreamError(`HTTP ${status}, CHANNEL_NOT_FOUND (check the channel key)`, details)
  return upstreamError(`HTTP ${status}${DOCUMENTED_TYPES.has(body.type) ? ', ' + body.type : ''}`, details)
}
