import type { IncomingMessage, ServerResponse } from 'node:http'
import { randomBytes, randomInt, randomUUID } from 'node:crypto'
import type { V2IdentityVerification } from '../v2/schemas.js'
import type { FakeIamportRequest } from './fake-iamport.js'
import {
  CORS_HEADERS, FaultQueue, isObject, playFault, readBody, sendJson, startFakeServer, statusText,
  type Fault, type FaultDialect
} from './fake-http.js'
import { sendSandboxPage } from './sandbox-page.js'

/**
 * A fake of the PortOne V2 identity verification API on a real HTTP server (127.0.0.1, port 0):
 * `GET /identity-verifications/{id}` with `Authorization: PortOne <secret>` and the optional
 * `?storeId=`, V2-shaped errors `{ type, message }`, a seeding endpoint, a sandbox verification
 * window, call counters and the V1 fake's fault injection. It never logs.
 */

/** The `type` of a V2 error answer for an HTTP status, as the API names them. */
const ERROR_TYPES: Record<number, string> = {
  400: 'INVALID_REQUEST',
  401: 'UNAUTHORIZED',
  403: 'FORBIDDEN',
  404: 'IDENTITY_VERIFICATION_NOT_FOUND'
}

const UNAUTHORIZED = { type: 'UNAUTHORIZED', message: '인증 정보가 올바르지 않습니다.' }
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

/** A running fake PortOne V2 server. */
export interface FakePortOneV2 {
  /** `http://127.0.0.1:PORT`, to use as the client's `baseUrl`. */
  url: string
  apiSecret: string
  storeId: string
  /**
   * Stores an identity verification and returns a copy: `VERIFIED` now by default, with a
   * Danal-like person (name, birthDate, gender `MALE`, phoneNumber, operator `LGU`, isForeigner,
   * random ci and di); `status: 'READY'` or `'FAILED'` gives those shapes instead.
   */
  seedIdentityVerification: (partial?: IdentityVerificationSeed) => V2IdentityVerification
  /** Live counters: read them after the calls under test. */
  calls: FakePortOneV2Calls
  /** Every request received, in order. */
  requests: FakeIamportRequest[]
  /** Zeroes `calls` and empties `requests` (in place). */
  resetCalls: () => void
  /**
   * Queues a fault (the V1 fake's kinds). Target `certification` is `/identity-verifications/*`,
   * `any` every request except `/__fake/*`; `token` matches nothing (V2 has no token endpoint).
   * A `status` fault answers `{ type, message }` (the `type` of that status, else its name).
   */
  inject: (fault: Fault) => void
  /** Drops every queued fault. */
  clearFaults: () => void
  /** Closes the server and every socket, idle or not. Safe to call twice. */
  close: () => Promise<void>
}

type StoredRecord = Record<string, unknown>

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
  const faults = new FaultQueue()
  const calls: FakePortOneV2Calls = { getIdentityVerification: 0, total: 0 }
  const requests: FakeIamportRequest[] = []

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
    return structuredClone(record) as V2IdentityVerification
  }

  function isAuthorized (req: IncomingMessage): boolean {
    const match = /^PortOne\s+(\S+)$/i.exec(req.headers.authorization ?? '')
    return match !== null && match[1] === apiSecret
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
      const fault = faults.take(/^\/identity-verifications(?:\/|$)/.test(pathname) ? 'certification' : 'other')
      if (fault !== undefined && await playFault(fault, res, V2_FAULTS)) return
    }

    if (method === 'GET' && pathname === '/sandbox/identity-verification') {
      return sendSandboxPage(res, 'v2', new URLSearchParams(query).get('identityVerificationId') ?? '')
    }
    if (get === null) return sendJson(res, 404, { type: 'NOT_FOUND', message: 'Not Found' })
    if (!isAuthorized(req)) return sendJson(res, 401, UNAUTHORIZED)
    const requestedStore = new URLSearchParams(query).get('storeId')
    if (requestedStore !== null && requestedStore !== storeId) return sendJson(res, 403, FORBIDDEN)
    const id = decodeSegment(get[1] as string)
    const record = id === undefined ? undefined : records.get(id)
    if (record === undefined) return sendJson(res, 404, NOT_FOUND)
    sendJson(res, 200, record)
  }

  const server = await startFakeServer(handle)

  return {
    url: server.url,
    apiSecret,
    storeId,
    seedIdentityVerification,
    calls,
    requests,
    resetCalls () {
      calls.getIdentityVerification = 0
      calls.total = 0
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
