import { Type } from '@sinclair/typebox'
import type { Dispatcher, Pool } from 'undici'
import { DEFAULT_IDENTITY_VERIFICATION_ID_PATTERN, DEFAULT_PORTONE_V2_BASE_URL } from '../constants.js'
import { CertificationNotFoundError, upstreamError, type UpstreamDetails } from '../errors.js'
import { compilePattern, idPathSegment } from '../id-path-segment.js'
import { checkOptions } from '../options/check.js'
import { NonEmptyString, Optional, Options, Pattern } from '../options/kinds.js'
import { openTarget, sendRequest, transportProperties, type UpstreamTarget } from '../upstream.js'
import { identityVerificationCheck, v2ErrorCheck, type V2IdentityVerification } from './schemas.js'

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

/** The error `type`s `GET /identity-verifications/{id}` documents: only these are named in an error message. */
const DOCUMENTED_TYPES = new Set(['INVALID_REQUEST', 'UNAUTHORIZED', 'FORBIDDEN', 'IDENTITY_VERIFICATION_NOT_FOUND'])

/** The V2 client's own options, beside the transport's. */
export const v2ClientProperties = {
  // A header value: visible ASCII only, so a pasted newline fails at registration, not on the wire.
  apiSecret: Type.String({ pattern: '^[\\x21-\\x7e]+$', errorMessage: 'must be visible ASCII characters only (no spaces or newlines)' }),
  storeId: Optional(NonEmptyString()),
  identityVerificationIdPattern: Optional(Pattern({ errorMessage: 'must be a RegExp or a valid regular expression' }))
}

const ClientOptionsSchema = Options({ ...transportProperties, ...v2ClientProperties })

const OPERATION = 'getIdentityVerification'

/**
 * Client for PortOne V2 identity verification: one keep-alive pool, the API secret as the
 * `PortOne` authorization scheme (no token to cache), whitelisted ids, and typed errors that never
 * carry the secret or a body.
 */
export class PortOneV2Client {
  readonly #authorization: string
  readonly #query: string
  readonly #target: UpstreamTarget
  readonly #ownPool: Pool | undefined
  readonly #idPattern: RegExp

  constructor (options: PortOneV2ClientOptions) {
    checkOptions(ClientOptionsSchema, options, { root: 'PortOneV2Client' })
    const opts = options
    this.#authorization = 'PortOne ' + opts.apiSecret
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
  async getIdentityVerification (identityVerificationId: string): Promise<V2IdentityVerification> {
    const path = '/identity-verifications/' + idPathSegment(identityVerificationId, this.#idPattern) + this.#query
    const { status, text } = await sendRequest(this.#target, {
      operation: OPERATION, method: 'GET', path, headers: { authorization: this.#authorization, accept: 'application/json' }
    })
    const body = parseJson(text)
    if (status >= 200 && status <= 299) {
      if (body === NOT_JSON) throw upstreamError(`HTTP ${status} with a body that is not JSON`, { operation: OPERATION, upstreamStatus: status })
      if (!identityVerificationCheck.Check(body)) throw upstreamError('unexpected identity verification shape', { operation: OPERATION, upstreamStatus: status })
      return body
    }
    throw refusal(status, body)
  }

  /** Closes the pool this client created; an injected dispatcher stays open. */
  async close (): Promise<void> {
    await this.#ownPool?.close()
  }
}

const NOT_JSON = Symbol('not JSON')

function parseJson (text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return NOT_JSON
  }
}

/** What a non-2xx answer becomes: only a documented not-found is a 404; everything else is a 502. */
function refusal (status: number, body: unknown): Error {
  const details: UpstreamDetails = { operation: OPERATION, upstreamStatus: status }
  if (!v2ErrorCheck.Check(body)) {
    return upstreamError(`HTTP ${status} with a body that is not ${body === NOT_JSON ? 'JSON' : 'a PortOne error'}`, details)
  }
  // A 404 without this type is a wrong baseUrl or a proxy, not an unknown verification.
  if (status === 404 && body.type === 'IDENTITY_VERIFICATION_NOT_FOUND') return new CertificationNotFoundError()
  details.upstreamType = body.type
  details.upstreamMessage = body.message
  if (status === 401) return upstreamError('could not authenticate (check apiSecret)', details)
  return upstreamError(`HTTP ${status}${DOCUMENTED_TYPES.has(body.type) ? ', ' + body.type : ''}`, details)
}
