import { Type } from '@sinclair/typebox'
import type { Dispatcher, Pool } from 'undici'
import { DEFAULT_BASE_URL, DEFAULT_IMP_UID_PATTERN } from '../constants.js'
import { CertificationNotFoundError, upstreamError, type UpstreamDetails } from '../errors.js'
import { compilePattern, idPathSegment } from '../id-path-segment.js'
import { checkOptions } from '../options/check.js'
import { NonEmptyString, Optional, Options, Pattern } from '../options/kinds.js'
import { openTarget, sendRequest, transportProperties, type UpstreamCall, type UpstreamTarget } from '../upstream.js'
import {
  certificationCheck, envelopeCheck, otpRequestResponseCheck, tokenResponseCheck,
  type Certification, type TokenResponse
} from './schemas.js'
import { TokenCache } from './token-cache.js'

/** Options of {@link IamportClient}. */
export interface IamportClientOptions {
  /** REST API key (`imp_key`). */
  apiKey: string
  /** REST API secret (`imp_secret`): kept in a private field, never logged or thrown. */
  apiSecret: string
  /** Default `https://api.iamport.kr`; `https://static-api.iamport.kr` for fixed egress IPs. */
  baseUrl?: string | undefined
  /** Sub-merchant tier code (3 upper-case letters or digits), sent as the `Tier` header. */
  tier?: string | undefined
  /** Budget of one upstream request in milliseconds (default 10 000). */
  timeoutMs?: number | undefined
  /** An undici Dispatcher to send through (Agent, MockAgent, ProxyAgent). Not closed by `close()`. */
  dispatcher?: Dispatcher | undefined
  /** Sockets of the client's own pool (default 128). Ignored with `dispatcher`. */
  connections?: number | undefined
  /** imp_uid whitelist (default `^imp_[0-9]{6,20}$`). */
  impUidPattern?: RegExp | string | undefined
}

/** Input of `POST /certifications/otp/request` (server-driven SMS verification). */
export interface OtpRequestInput {
  name: string
  phone: string
  /** `YYMMDD`. */
  birth: string
  /** 7th digit of the resident registration number. */
  genderDigit: string
  carrier: 'SKT' | 'KT' | 'LGT'
  isMvno?: boolean
  company?: string
  merchantUid?: string
  channelKey?: string
  verificationMethod?: 'SMS' | 'APP'
  /** PG-specific JSON string. */
  bypass?: string
}

/** The V1 client's own options, beside the transport's. */
export const v1ClientProperties = {
  apiKey: NonEmptyString(),
  apiSecret: NonEmptyString(),
  tier: Optional(Type.String({ pattern: '^[A-Z0-9]{3}$', errorMessage: 'must be 3 upper-case letters or digits' })),
  impUidPattern: Optional(Pattern({ errorMessage: 'must be a RegExp or a valid regular expression' }))
}

const ClientOptionsSchema = Options({ ...transportProperties, ...v1ClientProperties })

/** An answer that is a well-formed V1 envelope; `status` is the HTTP status. */
interface EnvelopeAnswer {
  status: number
  code: number
  message: string | null | undefined
  response: unknown
}

/**
 * Client for the i'mport (PortOne V1) certification API: one keep-alive pool, a shared cached
 * token, whitelisted imp_uids, and typed errors that never carry the secret, a token or a body.
 */
export class IamportClient {
  readonly #apiKey: string
  readonly #apiSecret: string
  readonly #target: UpstreamTarget
  readonly #ownPool: Pool | undefined
  readonly #baseHeaders: Record<string, string>
  readonly #impUidPattern: RegExp
  readonly #tokens: TokenCache
  #headersToken: string | undefined
  #plainHeaders: Record<string, string> = {}
  #jsonHeaders: Record<string, string> = {}

  constructor (options: IamportClientOptions) {
    checkOptions(ClientOptionsSchema, options, { root: 'IamportClient' })
    const opts = options
    this.#apiKey = opts.apiKey
    this.#apiSecret = opts.apiSecret
    this.#impUidPattern = compilePattern(opts.impUidPattern ?? DEFAULT_IMP_UID_PATTERN)
    const { target, ownPool } = openTarget({ ...opts, baseUrl: opts.baseUrl ?? DEFAULT_BASE_URL })
    this.#target = target
    this.#ownPool = ownPool
    this.#baseHeaders = opts.tier === undefined ? {} : { tier: opts.tier }
    this.#tokens = new TokenCache(() => this.#issueToken())
  }

  /** A valid access token: cached, and fetched once for any number of concurrent callers. */
  getToken (): Promise<string> {
    return this.#tokens.get()
  }

  /** `GET /certifications/{imp_uid}`: the verification result as i'mport stores it. */
  getCertification (impUid: string): Promise<Certification> {
    // Not async: the call's promise, continued (bench/); a bad imp_uid still rejects, never throws.
    let path: string
    try {
      path = '/certifications/' + idPathSegment(impUid, this.#impUidPattern)
    } catch (err) {
      return Promise.reject(err)
    }
    return this.#authorized({ operation: 'getCertification', method: 'GET', path }, certificationOf)
  }

  /** `DELETE /certifications/{imp_uid}`: erases the result at i'mport and returns it. */
  async deleteCertification (impUid: string): Promise<Certification> {
    const path = '/certifications/' + idPathSegment(impUid, this.#impUidPattern)
    return await this.#authorized({ operation: 'deleteCertification', method: 'DELETE', path }, certificationOf)
  }

  /** `POST /certifications/otp/request`: sends the SMS; returns the new imp_uid. */
  async requestOtp (input: OtpRequestInput): Promise<{ impUid: string }> {
    const body = JSON.stringify({
      name: input.name,
      phone: input.phone,
      birth: input.birth,
      gender_digit: input.genderDigit,
      carrier: input.carrier,
      is_mvno: input.isMvno ?? false,
      company: input.company,
      merchant_uid: input.merchantUid,
      channel_key: input.channelKey,
      verification_method: input.verificationMethod,
      bypass: input.bypass
    })
    return await this.#authorized({ operation: 'requestOtp', method: 'POST', path: '/certifications/otp/request', body }, (answer) => {
      const response = successResponse(answer, 'requestOtp')
      if (!otpRequestResponseCheck.Check(response)) throw upstreamError('unexpected response shape', { operation: 'requestOtp', upstreamStatus: answer.status })
      return { impUid: response.imp_uid }
    })
  }

  /** `POST /certifications/otp/confirm/{imp_uid}`: confirms the SMS code (none for KCP APP). */
  async confirmOtp (impUid: string, otp?: string): Promise<Certification> {
    const path = '/certifications/otp/confirm/' + idPathSegment(impUid, this.#impUidPattern)
    const body = JSON.stringify(otp === undefined ? {} : { otp })
    return await this.#authorized({ operation: 'confirmOtp', method: 'POST', path, body }, certificationOf)
  }

  /** Closes the pool this client created; an injected dispatcher stays open. */
  async close (): Promise<void> {
    await this.#ownPool?.close()
  }

  async #issueToken (): Promise<TokenResponse> {
    const answer = await sendCall(this.#target, {
      operation: 'getToken',
      method: 'POST',
      path: '/users/getToken',
      headers: { ...this.#baseHeaders, 'content-type': 'application/json' },
      body: JSON.stringify({ imp_key: this.#apiKey, imp_secret: this.#apiSecret })
    })
    if (answer.status === 401) throw upstreamError('could not authenticate (check apiKey and apiSecret)', details(answer, 'getToken'))
    const response = successResponse(answer, 'getToken')
    if (!tokenResponseCheck.Check(response)) throw upstreamError('unexpected response shape', { operation: 'getToken', upstreamStatus: answer.status })
    return response
  }

  /**
   * Sends an authorized call; a 401 drops the token and retries exactly once with a new one. With
   * a cached token it is the call's promise, continued: no async frame (bench/).
   */
  #authorized<T> (call: Omit<UpstreamCall, 'headers'>, finish: (answer: EnvelopeAnswer) => T): Promise<T> {
    // Each method builds `call` fresh, so it is completed in place rather than copied. `finish`
    // reads the answer (each method its own) in the same step as the 401 check: one promise fewer (bench/).
    const request = call as UpstreamCall
    const token = this.#tokens.current()
    if (token === undefined) return this.#tokens.get().then((fresh) => this.#send(request, fresh, finish))
    return this.#send(request, token, finish)
  }

  #send<T> (request: UpstreamCall, token: string, finish: (answer: EnvelopeAnswer) => T): Promise<T> {
    request.headers = this.#headers(token, request.body)
    return sendCall(this.#target, request).then((answer) => answer.status === 401 ? this.#retry(request, token).then(finish) : finish(found(answer)))
  }

  async #retry (request: UpstreamCall, refused: string): Promise<EnvelopeAnswer> {
    this.#tokens.invalidate(refused)
    request.headers = this.#headers(await this.#tokens.get(), request.body)
    const answer = await sendCall(this.#target, request)
    if (answer.status === 401) throw upstreamError('token refused twice', details(answer, request.operation))
    return found(answer)
  }

  #headers (token: string, body: string | undefined): Record<string, string> {
    // Built once per token, not per call: undici only reads them.
    if (token !== this.#headersToken) {
      this.#headersToken = token
      this.#plainHeaders = { ...this.#baseHeaders, authorization: 'Bearer ' + token }
      this.#jsonHeaders = { ...this.#plainHeaders, 'content-type': 'application/json' }
    }
    return body === undefined ? this.#plainHeaders : this.#jsonHeaders
  }
}

/**
 * Sends one V1 call and returns its envelope, whatever the HTTP status; FST_IAMPORT_UPSTREAM for a
 * body that is not an envelope. Not async: one promise fewer per call (bench/).
 */
function sendCall (target: UpstreamTarget, call: UpstreamCall): Promise<EnvelopeAnswer> {
  return sendRequest(target, call).then(({ status, text }) => {
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
  })
}

/** The answer, unless it is the 404 of an unknown id. */
function found (answer: EnvelopeAnswer): EnvelopeAnswer {
  if (answer.status === 404) throw new CertificationNotFoundError()
  return answer
}

function certificationOf (answer: EnvelopeAnswer): Certification {
  const response = successResponse(answer, 'certification')
  if (!certificationCheck.Check(response)) throw upstreamError('unexpected certification shape', { operation: 'certification', upstreamStatus: answer.status })
  return response
}

/** The envelope's `response` when i'mport said yes: HTTP 2xx, `code === 0`, a response. */
function successResponse (answer: EnvelopeAnswer, operation: string): unknown {
  if (answer.status < 200 || answer.status > 299 || answer.code !== 0 || answer.response == null) {
    throw upstreamError(`HTTP ${answer.status}, code ${shownCode(answer.code) ?? 'out of range'}`, details(answer, operation))
  }
  return answer.response
}

/**
 * What an error shows of an envelope. The message is redacted by `upstreamError`, which keeps
 * Hangul; requestOtp sent the person's name in Hangul, so its message is dropped instead.
 */
function details (answer: EnvelopeAnswer, operation: string): UpstreamDetails {
  return {
    operation,
    upstreamStatus: answer.status,
    upstreamCode: shownCode(answer.code),
    upstreamMessage: operation === 'requestOtp' ? undefined : answer.message ?? undefined
  }
}

/** The envelope `code` as an error shows it: i'mport's codes are small integers, and a long number could be an echo (a phone number). */
function shownCode (code: number): number | undefined {
  return Number.isInteger(code) && Math.abs(code) < 100_000 ? code : undefined
}
