import type { IncomingMessage, ServerResponse } from 'node:http'
import { createHash, randomBytes, randomInt, randomUUID } from 'node:crypto'
import type { V2IdentityVerification } from '../v2/schemas.js'
import type { FakeIamportRequest } from './fake-iamport.js'
import {
  CORS_HEADERS, FaultQueue, isObject, playFault, readBody, sendJson, startFakeServer, statusText,
  type Fault, type FaultDialect
} from './fake-http.js'
import { sendSandboxPage } from './sandbox-page.js'

/**
 * A fake of the PortOne V2 identity verification API on a real HTTP server (127.0.0.1, port 0):
 * `GET /identity-verifications/{id}` and the server-driven `POST .../send`, `.../confirm` and
 * `.../resend`, with `Authorization: PortOne <secret>` or `Bearer <accessToken>` from
 * `POST /login/api-secret`, and the optional `storeId`; V2-shaped errors `{ type, message }`, a
 * seeding endpoint, a sandbox verification window, call counters and the V1 fake's fault
 * injection. The codes it "sends" are readable in-process only (`sentOtp`). It never logs.
 */

/** The `type` of a V2 error answer for an HTTP status, as the API names them. */
const ERROR_TYPES: Record<number, string> = {
  400: 'INVALID_REQUEST',
  401: 'UNAUTHORIZED',
  403: 'FORBIDDEN',
  404: 'IDENTITY_VERIFICATION_NOT_FOUND'
}

const UNAUTHORIZED = { type: 'UNAUTHORIZED', message: '인증 정보가 올바르지 않습니다.' }
const ALREADY_VERIFIED = { type: 'IDENTITY_VERIFICATION_ALREADY_VERIFIED', message: '이미 인증 완료된 본인인증 건입니다.' }
const ALREADY_SENT = { type: 'IDENTITY_VERIFICATION_ALREADY_SENT', message: '이미 요청된 본인인증 건입니다.' }
const NOT_SENT = { type: 'IDENTITY_VERIFICATION_NOT_SENT', message: 'API로 요청된 본인인증 건이 아닙니다.' }
const CHANNEL_NOT_FOUND = { type: 'CHANNEL_NOT_FOUND', message: '요청된 채널이 존재하지 않습니다.' }
/** What the fake's PG answers to a wrong code (the real code and message are the PG's own). */
const OTP_MISMATCH = { type: 'PG_PROVIDER', message: 'PG사에서 오류를 전달했습니다.', pgCode: 'FAKE_OTP_MISMATCH', pgMessage: '인증번호가 일치하지 않습니다.' }
/** Access tokens live 30 minutes, as the real API's. */
const ACCESS_TOKEN_LIFETIME_MS = 30 * 60 * 1000
const OPERATORS = new Set(['SKT', 'KT', 'LGU', 'SKT_MVNO', 'KT_MVNO', 'LGU_MVNO'])
const FORBIDDEN = { type: 'FORBIDDEN', message: '요청이 거절되었습니다.' }
const NOT_FOUND = { type: 'IDENTITY_VERIFICATION_NOT_FOUND', message: '요청된 본인인증 건이 존재하지 않습니다.' }

const V2_FAULTS: FaultDialect = {
  statusBody: (fault) => ({ type: errorType(fault.status), message: fault.message ?? statusText(fault.status) }),
  malformedJson: '{"status":"VERIFIED","id":',
  truncatedBody: { status: 'VERIFIED', id: 'truncated', verifiedCustomer: { name: '' } }
}

/** Options of {@link createFakePortOneV2}. */
export interface FakePortOneV2Options {
  /** The only accepted V2 API secret; random when absent. */
  apiSecret?: string
  /** The secret's store: a request with another `?storeId=` gets 403 FORBIDDEN. Random when absent. */
  storeId?: string
  /** The code every send and resend "sends" (default: 6 random digits each time). */
  otp?: string
}

/** Request counters. `total` counts every request, unknown paths and `/__fake/*` included. */
export interface FakePortOneV2Calls {
  getIdentityVerification: number
  total: number
}

/**
 * A partial identity verification for seeding. A key given as `undefined` is removed from the
 * record; `verifiedCustomer` is merged key by key over the default person the same way.
 */
export type IdentityVerificationSeed = {
  id?: string | undefined
  status?: 'READY' | 'VERIFIED' | 'FAILED' | undefined
  /** RFC 3339 date-time. */
  verifiedAt?: string | undefined
  verifiedCustomer?: Record<string, unknown> | undefined
} & Record<string, unknown>

/** Counters of the server-driven calls and of the bearer login, beside {@link FakePortOneV2Calls}. */
export interface FakePortOneV2OtpCalls {
  loginViaApiSecret: number
  sendIdentityVerification: number
  confirmIdentityVerification: number
  resendIdentityVerification: number
}

/** A running fake PortOne V2 server. */
export interface FakePortOneV2 {
  /** `http://127.0.0.1:PORT`, to use as the client's `baseUrl`. */
  url: string
  apiSecret: string
  storeId: string
  /** The key of the fake's channel: `send` refuses any other with 404 CHANNEL_NOT_FOUND. */
  channelKey: string
  /**
   * Stores an identity verification and returns a copy: `VERIFIED` now by default, with a
   * Danal-like person (name, birthDate, gender `MALE`, phoneNumber, operator `LGU`, isForeigner,
   * random ci and di); `status: 'READY'` or `'FAILED'` gives those shapes instead.
   */
  seedIdentityVerification: (partial?: IdentityVerificationSeed) => V2IdentityVerification
  /** Live counters: read them after the calls under test. */
  calls: FakePortOneV2Calls
  /** Live counters of send, confirm, resend and the login (also counted in `calls.total`). */
  otpCalls: FakePortOneV2OtpCalls
  /** Every request received, in order. */
  requests: FakeIamportRequest[]
  /**
   * The code the last send or resend of this id "sent" by SMS, while it can be confirmed;
   * `undefined` otherwise (never sent, confirmed, or `APP`). Tests only: never served over HTTP.
   */
  sentOtp: (identityVerificationId: string) => string | undefined
  /** Every access token `POST /login/api-secret` issued, oldest first. */
  issuedTokens: () => string[]
  /** Expires every access token: calls with them get 401 UNAUTHORIZED. */
  expireTokens: () => void
  /** Zeroes `calls` and `otpCalls` and empties `requests` (in place). */
  resetCalls: () => void
  /**
   * Queues a fault (the V1 fake's kinds). Target `certification` is `/identity-verifications/*`,
   * `token` is `/login/api-secret`, `any` every request except `/__fake/*`.
   * A `status` fault answers `{ type, message }` (the `type` of that status, else its name).
   */
  inject: (fault: Fault) => void
  /** Drops every queued fault. */
  clearFaults: () => void
  /** Closes the server and every socket, idle or not. Safe to call twice. */
  close: () => Promise<void>
}

type StoredRecord = Record<string, unknown>

/** A verification started with `send`: what the verified person will be, and the code to confirm. */
interface SentVerification {
  /** The code "sent" by SMS; `undefined` for `APP`, confirmed without one. */
  code: string | undefined
  customer: { id?: string, name: string, phoneNumber: string }
  identityNumber: string | undefined
  /** `yyyy-MM-dd`, from `identityNumber`. */
  birthDate: string | undefined
  operator: string
}

function parseJson (raw: string): unknown {
  try {
    return raw === '' ? {} : JSON.parse(raw)
  } catch {
    return undefined
  }
}

/**
 * `yyyy-MM-dd` of the first 7 digits of a resident registration number (`YYMMDD` and the gender
 * digit, whose 3/4/7/8 mean the 2000s and 1/2/5/6 the 1900s); `undefined` unless a real date.
 */
function birthDateOf (identityNumber: string): string | undefined {
  const match = /^([0-9]{2})([0-9]{2})([0-9]{2})([1-8])$/.exec(identityNumber)
  if (match === null) return undefined
  const year = Number((/[3478]/.test(match[4]!) ? '20' : '19') + match[1])
  const month = Number(match[2])
  const day = Number(match[3])
  const date = new Date(Date.UTC(year, month - 1, day))
  if (date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) return undefined
  return `${year}-${match[2]}-${match[3]}`
}

/** The V2 error `type` of a status: documented ones by name, others as `INTERNAL_SERVER_ERROR`-style names. */
function errorType (status: number): string {
  return ERROR_TYPES[status] ?? statusText(status).toUpperCase().replace(/[^A-Z0-9]+/g, '_')
}

function decodeSegment (segment: string): string | undefined {
  try {
    return decodeURIComponent(segment)
  } catch {
    return undefined
  }
}

/** Copies `overrides` onto `target`: an `undefined` value removes the key. */
function applyOverrides (target: StoredRecord, overrides: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) delete target[key]
    else target[key] = value
  }
}

/** The record of a status before overrides: the fields the V2 API sends for it. */
function baseRecord (id: string, status: string, at: Date, storeChannel: StoredRecord): StoredRecord {
  const requestedAt = new Date(at.getTime() - 30_000).toISOString()
  const iso = at.toISOString()
  const common = { id, channel: { ...storeChannel }, requestedAt, updatedAt: iso, statusChangedAt: iso, version: 'V2' }
  if (status === 'READY') {
    return { status, ...common, requestedCustomer: {}, statusChangedAt: requestedAt, updatedAt: requestedAt }
  }
  if (status === 'FAILED') {
    return {
      status,
      ...common,
      requestedCustomer: {},
      failure: { reason: '본인인증에 실패했습니다.', pgCode: 'UCD_0106', pgMessage: '인증번호 불일치' }
    }
  }
  return {
    status,
    ...common,
    verifiedCustomer: {
      name: '홍길동',
      birthDate: '1990-01-01',
      gender: 'MALE',
      phoneNumber: '01012345678',
      operator: 'LGU',
      isForeigner: false,
      ci: randomBytes(64).toString('base64'),
      di: randomBytes(48).toString('base64')
    },
    verifiedAt: iso,
    pgTxId: String(randomInt(100_000_000_000, 1_000_000_000_000)) + String(randomInt(100_000_000_000, 1_000_000_000_000)),
    pgRawResponse: JSON.stringify({ RETURNCODE: '0000', RETURNMSG: 'No Error' })
  }
}

/**
 * Starts a fake PortOne V2 identity verification API on 127.0.0.1 (free port). Besides
 * `GET /identity-verifications/{id}` it serves `POST /__fake/identity-verifications` (JSON partial,
 * no auth, CORS open) -> `201 { id, status }`, so a browser sandbox page or another process can
 * seed a verification. Requests to `/__fake/*` count in `calls.total` and `requests`, never in
 * `getIdentityVerification`, and are never faulted.
 * `GET /sandbox/identity-verification?identityVerificationId=...` is a stand-in for the window of
 * `PortOne.requestIdentityVerification` (sandbox-page.ts): it seeds through that endpoint and
 * answers its opener the way the SDK's promise resolves.
 */
export async function createFakePortOneV2 (options: FakePortOneV2Options = {}): Promise<FakePortOneV2> {
  const apiSecret = options.apiSecret ?? randomBytes(40).toString('base64url')
  const storeId = options.storeId ?? `store-${randomUUID()}`
  const channel = {
    type: 'TEST',
    id: `channel-id-${randomUUID()}`,
    key: `channel-key-${randomUUID()}`,
    name: '본인인증 (fake)',
    pgProvider: 'DANAL',
    pgMerchantId: 'A010002002'
  }
  const records = new Map<string, StoredRecord>()
  /** Verifications started with `send` and not confirmed yet. */
  const sent = new Map<string, SentVerification>()
  /** access token -> when it expires (ms). */
  const accessTokens = new Map<string, number>()
  const faults = new FaultQueue()
  const calls: FakePortOneV2Calls = { getIdentityVerification: 0, total: 0 }
  const otpCalls: FakePortOneV2OtpCalls = { loginViaApiSecret: 0, sendIdentityVerification: 0, confirmIdentityVerification: 0, resendIdentityVerification: 0 }
  const requests: FakeIamportRequest[] = []
  const newCode = (): string => options.otp ?? String(randomInt(0, 1_000_000)).padStart(6, '0')

  function seedIdentityVerification (partial: IdentityVerificationSeed = {}): V2IdentityVerification {
    const id = Object.hasOwn(partial, 'id') ? partial.id : `identity-verification-${randomUUID()}`
    if (typeof id !== 'string' || id === '') throw new TypeError('seedIdentityVerification: id must be a non-empty string')
    const record = baseRecord(id, typeof partial.status === 'string' ? partial.status : 'VERIFIED', new Date(), channel)
    const { verifiedCustomer, ...rest } = partial
    applyOverrides(record, rest)
    if (isObject(verifiedCustomer)) {
      const customer = { ...(record.verifiedCustomer as StoredRecord | undefined) }
      applyOverrides(customer, verifiedCustomer)
      record.verifiedCustomer = customer
    } else if (Object.hasOwn(partial, 'verifiedCustomer')) {
      applyOverrides(record, { verifiedCustomer })
    }
    records.set(id, record)
    sent.delete(id)
    return structuredClone(record) as V2IdentityVerification
  }

  /** `PortOne <API secret>`, or `Bearer <access token>` from `POST /login/api-secret`, unexpired. */
  function isAuthorized (req: IncomingMessage): boolean {
    const match = /^(PortOne|Bearer)\s+(\S+)$/i.exec(req.headers.authorization ?? '')
    if (match === null) return false
    if (match[1]!.toLowerCase() === 'portone') return match[2] === apiSecret
    const expiresAt = accessTokens.get(match[2]!)
    return expiresAt !== undefined && expiresAt > Date.now()
  }

  function login (res: ServerResponse, body: unknown): void {
    if (!isObject(body) || typeof body.apiSecret !== 'string') return sendJson(res, 400, { type: 'INVALID_REQUEST', message: 'apiSecret is required' })
    if (body.apiSecret !== apiSecret) return sendJson(res, 401, UNAUTHORIZED)
    const accessToken = randomBytes(32).toString('base64url')
    accessTokens.set(accessToken, Date.now() + ACCESS_TOKEN_LIFETIME_MS)
    sendJson(res, 200, { accessToken, refreshToken: randomBytes(32).toString('base64url') })
  }

  /** `POST /identity-verifications/{id}/send`: checks what the real API requires, then "sends" a code. */
  function send (res: ServerResponse, id: string, body: Record<string, unknown>): void {
    const customer = isObject(body.customer) ? body.customer : {}
    const method = body.method
    const identityNumber = typeof customer.identityNumber === 'string' ? customer.identityNumber : undefined
    const birthDate = identityNumber === undefined ? undefined : birthDateOf(identityNumber)
    const invalid = [
      typeof body.channelKey !== 'string' && 'channelKey',
      (typeof customer.name !== 'string' || customer.name.trim() === '') && 'customer.name',
      (typeof customer.phoneNumber !== 'string' || !/^[0-9]{9,11}$/.test(customer.phoneNumber)) && 'customer.phoneNumber',
      (typeof customer.ipAddress !== 'string' || customer.ipAddress === '') && 'customer.ipAddress',
      ((identityNumber !== undefined || method === 'SMS') && birthDate === undefined) && 'customer.identityNumber',
      !OPERATORS.has(String(body.operator)) && 'operator',
      method !== 'SMS' && method !== 'APP' && 'method'
    ].filter(Boolean)
    if (invalid.length > 0) return sendJson(res, 400, { type: 'INVALID_REQUEST', message: `Missing or invalid: ${invalid.join(', ')}` })
    if (body.channelKey !== channel.key) return sendJson(res, 404, CHANNEL_NOT_FOUND)
    const existing = records.get(id)
    if (existing?.status === 'VERIFIED') return sendJson(res, 409, ALREADY_VERIFIED)
    if (sent.has(id)) return sendJson(res, 409, ALREADY_SENT)
    const at = new Date().toISOString()
    const requestedCustomer: StoredRecord = { name: customer.name, phoneNumber: customer.phoneNumber }
    if (typeof customer.id === 'string') requestedCustomer.id = customer.id
    if (birthDate !== undefined) {
      const [birthYear, birthMonth, birthDay] = birthDate.split('-')
      Object.assign(requestedCustomer, { birthYear, birthMonth, birthDay })
    }
    const record: StoredRecord = { status: 'READY', id, channel: { ...channel }, requestedCustomer, requestedAt: at, updatedAt: at, statusChangedAt: at, version: 'V2' }
    if (typeof body.customData === 'string') record.customData = body.customData
    records.set(id, record)
    sent.set(id, {
      code: method === 'SMS' ? newCode() : undefined,
      customer: { ...(typeof customer.id === 'string' ? { id: customer.id } : {}), name: customer.name as string, phoneNumber: customer.phoneNumber as string },
      identityNumber,
      birthDate,
      operator: String(body.operator)
    })
    sendJson(res, 200, {})
  }

  /** The verification confirm and resend act on; `undefined` once they were answered with its refusal. */
  function sentOrRefuse (res: ServerResponse, id: string): SentVerification | undefined {
    const status = records.get(id)?.status
    const pending = sent.get(id)
    if (status === undefined) sendJson(res, 404, NOT_FOUND)
    else if (status === 'VERIFIED') sendJson(res, 409, ALREADY_VERIFIED)
    else if (pending === undefined) sendJson(res, 404, NOT_SENT)
    else return pending
    return undefined
  }

  function confirm (res: ServerResponse, id: string, body: Record<string, unknown>): void {
    const pending = sentOrRefuse(res, id)
    if (pending === undefined) return
    if (pending.code !== undefined && body.otp !== pending.code) return sendJson(res, 502, OTP_MISMATCH)
    const at = new Date().toISOString()
    const digit = pending.identityNumber === undefined ? undefined : Number(pending.identityNumber[6])
    // CI and DI are stable per person (name, birth date, gender digit); DI is per store too.
    const person = `${pending.customer.name}|${pending.identityNumber ?? pending.customer.phoneNumber}`
    const record = {
      ...records.get(id),
      status: 'VERIFIED',
      verifiedCustomer: {
        ...pending.customer,
        ...(pending.birthDate === undefined ? {} : { birthDate: pending.birthDate }),
        ...(digit === undefined ? {} : { gender: digit % 2 === 1 ? 'MALE' : 'FEMALE', isForeigner: digit >= 5 }),
        operator: pending.operator,
        ci: createHash('sha512').update(`ci|${person}`).digest('base64'),
        di: createHash('sha384').update(`di|${storeId}|${person}`).digest('base64')
      },
      verifiedAt: at,
      updatedAt: at,
      statusChangedAt: at,
      pgTxId: String(randomInt(100_000_000_000, 1_000_000_000_000)),
      pgRawResponse: JSON.stringify({ RETURNCODE: '0000', RETURNMSG: 'No Error' })
    }
    records.set(id, record)
    sent.delete(id)
    sendJson(res, 200, { identityVerification: record })
  }

  function resend (res: ServerResponse, id: string): void {
    const pending = sentOrRefuse(res, id)
    if (pending === undefined) return
    if (pending.code !== undefined) pending.code = newCode()
    sendJson(res, 200, {})
  }

  function seedFromRequest (res: ServerResponse, raw: string): void {
    let partial: unknown
    try {
      partial = JSON.parse(raw)
    } catch {
      partial = undefined
    }
    if (!isObject(partial)) return sendJson(res, 400, { type: 'INVALID_REQUEST', message: 'Body must be a JSON object' }, CORS_HEADERS)
    try {
      const record = seedIdentityVerification(partial)
      sendJson(res, 201, { id: record.id, status: record.status }, CORS_HEADERS)
    } catch {
      sendJson(res, 400, { type: 'INVALID_REQUEST', message: 'id must be a non-empty string' }, CORS_HEADERS)
    }
  }

  async function handle (req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = String(req.method)
    const url = String(req.url)
    const [pathname, query = ''] = url.split('?') as [string, string?]
    calls.total += 1
    requests.push({ method, path: url })
    const get = method === 'GET' ? /^\/identity-verifications\/([^/]+)$/.exec(pathname) : null
    if (get !== null) calls.getIdentityVerification += 1
    const action = method === 'POST' ? /^\/identity-verifications\/([^/]+)\/(send|confirm|resend)$/.exec(pathname) : null
    if (action !== null) otpCalls[`${action[2] as 'send' | 'confirm' | 'resend'}IdentityVerification`] += 1
    const isLogin = method === 'POST' && pathname === '/login/api-secret'
    if (isLogin) otpCalls.loginViaApiSecret += 1

    const raw = await readBody(req)
    if (raw === undefined) return sendJson(res, 413, { type: 'INVALID_REQUEST', message: 'Payload Too Large' })

    if (pathname === '/__fake/identity-verifications') {
      if (method === 'OPTIONS') {
        res.writeHead(204, { ...CORS_HEADERS, 'content-length': 0 })
        res.end()
        return
      }
      if (method === 'POST') return seedFromRequest(res, raw)
    } else {
      const target = isLogin ? 'token' : /^\/identity-verifications(?:\/|$)/.test(pathname) ? 'certification' : 'other'
      const fault = faults.take(target)
      if (fault !== undefined && await playFault(fault, res, V2_FAULTS)) return
    }

    if (method === 'GET' && pathname === '/sandbox/identity-verification') {
      return sendSandboxPage(res, 'v2', new URLSearchParams(query).get('identityVerificationId') ?? '')
    }
    if (isLogin) return login(res, parseJson(raw))
    const segment = get?.[1] ?? action?.[1]
    if (segment === undefined) return sendJson(res, 404, { type: 'NOT_FOUND', message: 'Not Found' })
    if (!isAuthorized(req)) return sendJson(res, 401, UNAUTHORIZED)
    const body = action === null ? {} : parseJson(raw)
    if (!isObject(body)) return sendJson(res, 400, { type: 'INVALID_REQUEST', message: 'Body must be a JSON object' })
    // GET and resend take the store in the query, send and confirm in the body.
    const requestedStore = typeof body.storeId === 'string' ? body.storeId : new URLSearchParams(query).get('storeId')
    if (requestedStore !== null && requestedStore !== storeId) return sendJson(res, 403, FORBIDDEN)
    const id = decodeSegment(segment)
    if (id === undefined) return sendJson(res, 404, NOT_FOUND)
    if (action?.[2] === 'send') return send(res, id, body)
    if (action?.[2] === 'confirm') return confirm(res, id, body)
    if (action?.[2] === 'resend') return resend(res, id)
    const record = records.get(id)
    if (record === undefined) return sendJson(res, 404, NOT_FOUND)
    sendJson(res, 200, record)
  }

  const server = await startFakeServer(handle)

  return {
    url: server.url,
    apiSecret,
    storeId,
    channelKey: channel.key,
    seedIdentityVerification,
    calls,
    otpCalls,
    requests,
    sentOtp: (id) => sent.get(id)?.code,
    issuedTokens: () => [...accessTokens.keys()],
    expireTokens () {
      for (const token of accessTokens.keys()) accessTokens.set(token, Number.NEGATIVE_INFINITY)
    },
    resetCalls () {
      calls.getIdentityVerification = 0
      calls.total = 0
      for (const key of Object.keys(otpCalls) as Array<keyof FakePortOneV2OtpCalls>) otpCalls[key] = 0
      requests.length = 0
    },
    inject (fault) {
      faults.inject(fault)
    },
    clearFaults () {
      faults.clear()
    },
    close: server.close
  }
}
