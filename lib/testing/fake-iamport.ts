import type { IncomingMessage, ServerResponse } from 'node:http'
import { createHash, randomBytes, randomInt } from 'node:crypto'
import type { Certification } from '../v1/schemas.js'
import {
  CORS_HEADERS, FaultQueue, isObject, playFault, readBody, sendJson, startFakeServer, statusText,
  type Fault, type FaultDialect
} from './fake-http.js'
import { sendSandboxPage } from './sandbox-page.js'

/**
 * A faithful fake of the i'mport (PortOne V1) REST API on a real HTTP server (127.0.0.1, port 0):
 * getToken with the documented re-issue semantics, certifications GET/DELETE, OTP request/confirm,
 * a seeding endpoint, call counters and fault injection. It never logs.
 */

/** Token lifetime when none is configured, in seconds (the real API gives 30 minutes). */
const DEFAULT_TOKEN_LIFETIME_SECONDS = 1800
/** getToken extends a token that has at most this many seconds left, in seconds. */
const TOKEN_REISSUE_WINDOW_SECONDS = 60
/** ...by this much, in seconds. */
const TOKEN_EXTENSION_SECONDS = 300
/** The OTP every OTP request "sends" unless configured. */
const DEFAULT_OTP = '123456'
/** Korea Standard Time offset from UTC, in seconds (no DST since 1988). */
const KST_OFFSET_SECONDS = 9 * 3600

const NOT_FOUND_MESSAGE = '인증결과가 존재하지 않습니다.'
const CARRIERS = new Set(['SKT', 'KT', 'LGT'])

/** Options of {@link createFakeIamport}. */
export interface FakeIamportOptions {
  /** The only accepted `imp_key`; random when absent. */
  apiKey?: string
  /** The only accepted `imp_secret`; random when absent. */
  apiSecret?: string
  /** Lifetime of a newly issued token, in seconds (default 1800). */
  tokenLifetimeSeconds?: number
  /** The fake server's clock minus the real clock, in seconds (default 0). */
  clockOffsetSeconds?: number
  /** The code `POST /certifications/otp/confirm/{imp_uid}` accepts (default `'123456'`). */
  otp?: string
}

export type { Fault, FaultTarget } from './fake-http.js'

/** Request counters. `total` counts every request, unknown paths and `/__fake/*` included. */
export interface FakeIamportCalls {
  getToken: number
  getCertification: number
  deleteCertification: number
  otpRequest: number
  otpConfirm: number
  total: number
}

/** One received request; `path` is the raw URL as received (query string included). */
export interface FakeIamportRequest {
  method: string
  path: string
}

/** A partial certification for seeding: a key given as `undefined` is removed from the record. */
export type CertificationSeed = { [K in keyof Certification]?: Certification[K] | undefined } & Record<string, unknown>

/** A running fake i'mport server. */
export interface FakeIamport {
  /** `http://127.0.0.1:PORT`, to use as the client's `baseUrl`. */
  url: string
  apiKey: string
  apiSecret: string
  /** Stores a certification (Danal-shaped defaults, overridden by `partial`) and returns a copy. */
  seedCertification: (partial?: CertificationSeed) => Certification
  /** Live counters: read them after the calls under test. */
  calls: FakeIamportCalls
  /** Every request received, in order. */
  requests: FakeIamportRequest[]
  /** Zeroes `calls` and empties `requests` (in place). */
  resetCalls: () => void
  /** Queues a fault. */
  inject: (fault: Fault) => void
  /** Drops every queued fault. */
  clearFaults: () => void
  /** Sets the fake server's clock minus the real clock, in seconds. */
  setClockOffset: (seconds: number) => void
  /** Sets the lifetime of tokens issued from now on, in seconds. */
  setTokenLifetime: (seconds: number) => void
  /** Expires every issued token: calls with them get 401, the next getToken issues a new one. */
  expireTokens: () => void
  /** Every access token issued so far, oldest first. */
  issuedTokens: () => string[]
  /**
   * The code an OTP request "sent" by SMS for this imp_uid (the `otp` option), while it can be
   * confirmed; `undefined` otherwise (never requested, confirmed, seeded over or deleted). Tests
   * only: never served over HTTP.
   */
  sentOtp: (impUid: string) => string | undefined
  /** Closes the server and every socket, idle or not. Safe to call twice. */
  close: () => Promise<void>
}

type StoredRecord = Record<string, unknown>

interface IssuedToken {
  token: string
  expiredAt: number
}

/** What an OTP request said about the person, kept until confirmation. */
interface OtpSubject {
  name: string
  phone: string
  birthday: string
  genderDigit: string
  carrier: string
}

type RouteKind = 'getToken' | 'getCertification' | 'deleteCertification' | 'otpRequest' | 'otpConfirm' |
  'seed' | 'seedPreflight' | 'sandboxPage' | 'unknown'

const ROUTES: Array<[RegExp, RouteKind]> = [
  [/^POST \/users\/getToken$/, 'getToken'],
  [/^POST \/certifications\/otp\/request$/, 'otpRequest'],
  [/^POST \/certifications\/otp\/confirm\/([^/]+)$/, 'otpConfirm'],
  [/^GET \/certifications\/([^/]+)$/, 'getCertification'],
  [/^DELETE \/certifications\/([^/]+)$/, 'deleteCertification'],
  [/^POST \/__fake\/certifications$/, 'seed'],
  [/^OPTIONS \/__fake\/certifications$/, 'seedPreflight'],
  [/^GET \/sandbox\/certification$/, 'sandboxPage']
]

const COUNTED = new Set<RouteKind>(['getToken', 'getCertification', 'deleteCertification', 'otpRequest', 'otpConfirm'])

function envelope (code: number, message: string | null, response: unknown = null) {
  return { code, message, response }
}

const UNAUTHORIZED = envelope(-1, 'Unauthorized')

const V1_FAULTS: FaultDialect = {
  statusBody: (fault) => envelope(fault.code ?? -1, fault.message ?? statusText(fault.status)),
  malformedJson: '{"code":0,"message":null,"response":{"imp_uid":',
  truncatedBody: envelope(0, null, { imp_uid: 'imp_000000000000', certified: true })
}

/** JSON or form-encoded body as an object; `undefined` when it is neither. */
function parseBody (raw: string, contentType: string): Record<string, unknown> | undefined {
  if (contentType.includes('application/x-www-form-urlencoded')) {
    return Object.fromEntries(new URLSearchParams(raw))
  }
  if (raw === '') return {}
  try {
    const value: unknown = JSON.parse(raw)
    return isObject(value) ? value : undefined
  } catch {
    return undefined
  }
}

function decodeSegment (segment: string): string {
  try {
    return decodeURIComponent(segment)
  } catch {
    return ''
  }
}

/** A form field as text: strings and numbers (JSON) count, anything else is absent. */
function text (value: unknown): string {
  return typeof value === 'string' || typeof value === 'number' ? String(value) : ''
}

/** Unix seconds of 00:00 KST on that date, which is what the legacy `birth` field holds. */
function kstMidnight (year: number, month: number, day: number): number {
  return Date.UTC(year, month - 1, day) / 1000 - KST_OFFSET_SECONDS
}

function birthFromBirthday (birthday: unknown): number | undefined {
  const match = typeof birthday === 'string' ? /^(\d{4})-(\d{2})-(\d{2})$/.exec(birthday) : null
  if (match === null) return undefined
  return kstMidnight(Number(match[1]), Number(match[2]), Number(match[3]))
}

/**
 * `YYYY-MM-DD` from the OTP request's `birth` (`YYMMDD` or `YYYYMMDD`, separators stripped); the
 * century of a 6-digit date comes from the resident-number gender digit (3/4/7/8 mean 2000s).
 */
function birthdayFromOtpBirth (birth: string, genderDigit: string): string | undefined {
  const digits = birth.replace(/\D/g, '')
  const full = digits.length === 6 ? (/^[3478]$/.test(genderDigit) ? '20' : '19') + digits : digits
  if (full.length !== 8) return undefined
  const month = Number(full.slice(4, 6))
  // A day or month out of range rolls the date into another month.
  if (new Date(Date.UTC(Number(full.slice(0, 4)), month - 1, Number(full.slice(6, 8)))).getUTCMonth() !== month - 1) {
    return undefined
  }
  return `${full.slice(0, 4)}-${full.slice(4, 6)}-${full.slice(6, 8)}`
}

/** A Danal-like 24-digit pg_tid: the KST timestamp then 10 random digits. */
function pgTid (nowSeconds: number): string {
  const stamp = new Date((nowSeconds + KST_OFFSET_SECONDS) * 1000).toISOString().replace(/\D/g, '').slice(0, 14)
  return stamp + String(randomInt(0, 10_000_000_000)).padStart(10, '0')
}

/**
 * Starts a fake i'mport V1 API on 127.0.0.1 (free port). Besides the real endpoints it serves
 * `POST /__fake/certifications` (JSON partial, no auth, CORS open) -> `201 { imp_uid, merchant_uid }`,
 * so a browser sandbox page or another process can seed a certification. Requests to `/__fake/*`
 * count in `calls.total` and `requests`, never in the API counters, and are never faulted.
 * `GET /sandbox/certification?merchant_uid=...` is a stand-in for the i'mport certification window
 * (sandbox-page.ts): it seeds through that endpoint and answers its opener like the SDK callback.
 */
export async function createFakeIamport (options: FakeIamportOptions = {}): Promise<FakeIamport> {
  const apiKey = options.apiKey ?? `fake_key_${randomBytes(8).toString('hex')}`
  const apiSecret = options.apiSecret ?? randomBytes(32).toString('base64url')
  const otp = options.otp ?? DEFAULT_OTP
  let tokenLifetime = options.tokenLifetimeSeconds ?? DEFAULT_TOKEN_LIFETIME_SECONDS
  let clockOffset = options.clockOffsetSeconds ?? 0

  const records = new Map<string, StoredRecord>()
  const otpSubjects = new Map<string, OtpSubject>()
  const tokens = new Map<string, IssuedToken>()
  let currentToken: IssuedToken | undefined
  const faults = new FaultQueue()
  const calls: FakeIamportCalls = {
    getToken: 0, getCertification: 0, deleteCertification: 0, otpRequest: 0, otpConfirm: 0, total: 0
  }
  const requests: FakeIamportRequest[] = []
  // imp_uids grow by a small random step from a random 12-digit start: random-looking, never reused.
  let lastImpNumber = randomInt(100_000_000_000, 900_000_000_000)
  let lastMerchantMs = 0

  const now = (): number => Math.floor(Date.now() / 1000 + clockOffset)

  function nextImpUid (): string {
    let impUid: string
    do {
      lastImpNumber += randomInt(1, 10)
      impUid = `imp_${lastImpNumber}`
    } while (records.has(impUid))
    return impUid
  }

  function seedCertification (partial: CertificationSeed = {}): Certification {
    lastMerchantMs = Math.max(Date.now(), lastMerchantMs + 1)
    const at = now()
    const record: StoredRecord = {
      imp_uid: nextImpUid(),
      merchant_uid: `mid_${lastMerchantMs}`,
      pg_tid: pgTid(at),
      pg_provider: 'danal',
      name: '홍길동',
      gender: 'male',
      birth: kstMidnight(1990, 1, 1),
      birthday: '1990-01-01',
      foreigner: false,
      foreigner_v2: null,
      certified: true,
      certified_at: at,
      unique_key: randomBytes(64).toString('base64'),
      unique_in_site: randomBytes(48).toString('base64'),
      origin: 'https://shop.example/signup'
    }
    for (const [key, value] of Object.entries(partial)) {
      if (value === undefined) delete record[key]
      else record[key] = value
    }
    if (partial.birthday !== undefined && !Object.hasOwn(partial, 'birth')) {
      const birth = birthFromBirthday(partial.birthday)
      if (birth === undefined) delete record.birth
      else record.birth = birth
    }
    const impUid = record.imp_uid
    if (typeof impUid !== 'string' || impUid === '') {
      throw new TypeError('seedCertification: imp_uid must be a non-empty string')
    }
    records.set(impUid, record)
    otpSubjects.delete(impUid)
    return structuredClone(record) as Certification
  }

  function isAuthorized (req: IncomingMessage): boolean {
    const header = req.headers.authorization
    if (header === undefined) return false
    // The documented form is `Bearer <token>`; the official clients also send the bare token.
    const issued = tokens.get(header.replace(/^Bearer\s+/i, '').trim())
    return issued !== undefined && issued.expiredAt > now()
  }

  function getToken (res: ServerResponse, body: Record<string, unknown>): void {
    if (body.imp_key !== apiKey || body.imp_secret !== apiSecret) return sendJson(res, 401, UNAUTHORIZED)
    const at = now()
    if (currentToken === undefined || currentToken.expiredAt <= at) {
      currentToken = { token: randomBytes(20).toString('hex'), expiredAt: at + tokenLifetime }
      tokens.set(currentToken.token, currentToken)
    } else if (currentToken.expiredAt - at <= TOKEN_REISSUE_WINDOW_SECONDS) {
      currentToken.expiredAt += TOKEN_EXTENSION_SECONDS
    }
    sendJson(res, 200, envelope(0, null, { access_token: currentToken.token, now: at, expired_at: currentToken.expiredAt }))
  }

  function requestOtp (res: ServerResponse, body: Record<string, unknown>): void {
    const name = text(body.name).trim()
    const phone = text(body.phone).replace(/\D/g, '')
    const genderDigit = text(body.gender_digit)
    const carrier = text(body.carrier)
    const birthday = birthdayFromOtpBirth(text(body.birth), genderDigit)
    const invalid = [
      name === '' && 'name',
      phone.length < 9 && 'phone',
      birthday === undefined && 'birth',
      !/^[1-8]$/.test(genderDigit) && 'gender_digit',
      !CARRIERS.has(carrier) && 'carrier'
    ].filter(Boolean)
    if (invalid.length > 0) {
      return sendJson(res, 400, envelope(-1, `Missing or invalid parameters: ${invalid.join(', ')}`))
    }
    const impUid = nextImpUid()
    const mvno = body.is_mvno === true || body.is_mvno === 'true'
    // Shaped like an unfinished browser verification: nothing about the person until confirmed.
    records.set(impUid, {
      imp_uid: impUid,
      merchant_uid: typeof body.merchant_uid === 'string' ? body.merchant_uid : null,
      pg_tid: '',
      pg_provider: 'danal',
      name: '',
      gender: null,
      birthday: '',
      foreigner: false,
      foreigner_v2: null,
      certified: false,
      certified_at: 0,
      unique_key: '',
      unique_in_site: null,
      origin: null
    })
    otpSubjects.set(impUid, {
      name, phone, birthday: birthday as string, genderDigit, carrier: mvno ? `${carrier}_MVNO` : carrier
    })
    sendJson(res, 200, envelope(0, null, { imp_uid: impUid }))
  }

  function confirmOtp (res: ServerResponse, impUid: string, body: Record<string, unknown>): void {
    const record = records.get(impUid)
    if (record === undefined) return sendJson(res, 404, envelope(-1, NOT_FOUND_MESSAGE))
    if (record.certified === true) return sendJson(res, 400, envelope(-1, 'Certification already completed'))
    if (text(body.otp) !== otp) return sendJson(res, 400, envelope(-1, 'OTP missing or incorrect'))
    const subject = otpSubjects.get(impUid)
    const at = now()
    if (subject !== undefined) {
      const digit = Number(subject.genderDigit)
      const foreigner = digit >= 5
      // CI/DI are stable per person (here: name, birthday, gender digit); DI is also per merchant.
      const person = `${subject.name}|${subject.birthday}|${subject.genderDigit}`
      Object.assign(record, {
        pg_tid: pgTid(at),
        name: subject.name,
        gender: digit % 2 === 1 ? 'male' : 'female',
        birthday: subject.birthday,
        birth: birthFromBirthday(subject.birthday),
        foreigner,
        foreigner_v2: foreigner,
        phone: subject.phone,
        carrier: subject.carrier,
        unique_key: createHash('sha512').update(`ci|${person}`).digest('base64'),
        unique_in_site: createHash('sha384').update(`di|${apiKey}|${person}`).digest('base64')
      })
      otpSubjects.delete(impUid)
    }
    record.certified = true
    record.certified_at = at
    sendJson(res, 200, envelope(0, null, record))
  }

  function seedFromRequest (res: ServerResponse, raw: string, contentType: string): void {
    const partial = parseBody(raw, contentType)
    if (partial === undefined) return sendJson(res, 400, envelope(-1, 'Body must be a JSON object'), CORS_HEADERS)
    try {
      const record = seedCertification(partial)
      sendJson(res, 201, { imp_uid: record.imp_uid, merchant_uid: record.merchant_uid ?? null }, CORS_HEADERS)
    } catch {
      sendJson(res, 400, envelope(-1, 'imp_uid must be a non-empty string'), CORS_HEADERS)
    }
  }

  async function handle (req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = String(req.method)
    const url = String(req.url)
    const pathname = url.split('?')[0] as string
    calls.total += 1
    requests.push({ method, path: url })

    let kind: RouteKind = 'unknown'
    let impUid = ''
    for (const [pattern, routeKind] of ROUTES) {
      const match = pattern.exec(`${method} ${pathname}`)
      if (match !== null) {
        kind = routeKind
        impUid = decodeSegment(match[1] ?? '')
        break
      }
    }
    if (COUNTED.has(kind)) calls[kind as keyof FakeIamportCalls] += 1

    const raw = await readBody(req)
    if (raw === undefined) return sendJson(res, 413, envelope(-1, 'Payload Too Large'))

    if (!pathname.startsWith('/__fake/')) {
      const target = pathname === '/users/getToken'
        ? 'token'
        : /^\/certifications(?:\/|$)/.test(pathname) ? 'certification' : 'other'
      const fault = faults.take(target)
      if (fault !== undefined && await playFault(fault, res, V1_FAULTS)) return
    }

    const contentType = String(req.headers['content-type'])
    if (kind === 'unknown') return sendJson(res, 404, envelope(-1, 'Not Found'))
    if (kind === 'seedPreflight') {
      res.writeHead(204, { ...CORS_HEADERS, 'content-length': 0 })
      res.end()
      return
    }
    if (kind === 'seed') return seedFromRequest(res, raw, contentType)
    if (kind === 'sandboxPage') {
      return sendSandboxPage(res, 'v1', new URL(url, 'http://fake.invalid').searchParams.get('merchant_uid') ?? '')
    }
    if (kind !== 'getToken' && !isAuthorized(req)) return sendJson(res, 401, UNAUTHORIZED)
    const body = parseBody(raw, contentType)
    if (body === undefined) return sendJson(res, 400, envelope(-1, 'Invalid request body'))

    switch (kind) {
      case 'getToken':
        return getToken(res, body)
      case 'otpRequest':
        return requestOtp(res, body)
      case 'otpConfirm':
        return confirmOtp(res, impUid, body)
      default: {
        const record = records.get(impUid)
        if (record === undefined) return sendJson(res, 404, envelope(-1, NOT_FOUND_MESSAGE))
        if (kind === 'deleteCertification') {
          records.delete(impUid)
          otpSubjects.delete(impUid)
        }
        sendJson(res, 200, envelope(0, null, record))
      }
    }
  }

  const server = await startFakeServer(handle)

  return {
    url: server.url,
    apiKey,
    apiSecret,
    seedCertification,
    calls,
    requests,
    resetCalls () {
      for (const key of Object.keys(calls) as Array<keyof FakeIamportCalls>) calls[key] = 0
      requests.length = 0
    },
    inject (fault) {
      faults.inject(fault)
    },
    clearFaults () {
      faults.clear()
    },
    setClockOffset (seconds) {
      clockOffset = seconds
    },
    setTokenLifetime (seconds) {
      tokenLifetime = seconds
    },
    expireTokens () {
      for (const issued of tokens.values()) issued.expiredAt = Number.NEGATIVE_INFINITY
    },
    issuedTokens () {
      return [...tokens.keys()]
    },
    sentOtp: (impUid) => otpSubjects.has(impUid) ? otp : undefined,
    close: server.close
  }
}
