import { createServer } from 'node:http'
import { once } from 'node:events'
import { randomBytes } from 'node:crypto'

/**
 * A minimal upstream stand-in for load runs, both API generations on one port:
 * - i'mport (PortOne V1): getToken with the real re-issue semantics (the same token until it
 *   expires) and `GET /certifications/{imp_uid}` that synthesizes a fresh, certified record for
 *   any `imp_` + digits;
 * - PortOne V2: `GET /identity-verifications/{id}` with `Authorization: PortOne <secret>`, a fresh
 *   VERIFIED record (shape of lib/testing/fake-portone-v2.ts) for any path-safe id;
 * - i'mport's SMS calls: `POST /certifications/otp/request` answers a new imp_uid and remembers the
 *   merchant_uid it was sent with, until `POST /certifications/otp/confirm/{imp_uid}` with the code
 *   {@link OTP_CODE} answers the certified record with that merchant_uid.
 * So a load generator can send a new id on every request without seeding. Every answer waits
 * `latencyMs` first. It counts calls so the harness can report upstream calls per verification.
 *
 * Why not lib/testing/fake-iamport.ts or fake-portone-v2.ts: those need every id seeded and keep
 * every record; at hundreds of thousands of ids their own memory and CPU would compete with the
 * candidates on this 2-core machine.
 */

const TOKEN_LIFETIME_SECONDS = 1800
const IMP_UID_PATH = /^\/certifications\/(imp_[0-9]+)$/
const OTP_CONFIRM_PATH = /^\/certifications\/otp\/confirm\/(imp_[0-9]+)$/
/** The one SMS code this stand-in accepts. */
export const OTP_CODE = '123456'
const V2_PATH = /^\/identity-verifications\/([A-Za-z0-9_-]{1,64})(?:\?.*)?$/
const JSON_TYPE = 'application/json; charset=utf-8'
// A CI is 64 bytes of base64 (88 characters), a DI 48 bytes (64 characters), as in captures.
const CI = randomBytes(64).toString('base64')
const DI = randomBytes(48).toString('base64')
const V2_CHANNEL = {
  type: 'LIVE',
  id: 'channel-id-bench',
  key: 'channel-key-bench',
  name: '본인인증 (bench)',
  pgProvider: 'DANAL',
  pgMerchantId: 'A010002002'
}

/**
 * Starts the stand-in on 127.0.0.1.
 * @param {{ latencyMs?: number, apiKey?: string, apiSecret?: string }} [options]
 */
export async function startUpstream (options = {}) {
  let latencyMs = options.latencyMs ?? 0
  const apiKey = options.apiKey ?? 'bench_key'
  const apiSecret = options.apiSecret ?? 'bench_secret'
  const v2Authorization = 'PortOne ' + apiSecret
  const calls = { getToken: 0, getCertification: 0, getIdentityVerification: 0, requestOtp: 0, confirmOtp: 0, unauthorized: 0, other: 0 }
  /** imp_uid of a sent code -> the merchant_uid it was requested with; deleted when confirmed. */
  const pendingOtp = new Map()
  let nextOtpImpUid = 100_000_000_000
  let token
  let expiredAt = 0

  function issueToken () {
    const now = Math.floor(Date.now() / 1000)
    if (token === undefined || expiredAt <= now) {
      token = randomBytes(20).toString('hex')
      expiredAt = now + TOKEN_LIFETIME_SECONDS
    }
    return { access_token: token, now, expired_at: expiredAt }
  }

  function certification (impUid, merchantUid = 'mid_' + impUid.slice(4)) {
    const now = Math.floor(Date.now() / 1000)
    return {
      imp_uid: impUid,
      merchant_uid: merchantUid,
      pg_tid: '202401011234567890123456',
      pg_provider: 'danal',
      name: '홍길동',
      gender: 'male',
      birthday: '1990-03-15',
      birth: 637426800,
      foreigner: false,
      foreigner_v2: null,
      phone: '01012345678',
      carrier: 'SKT',
      certified: true,
      certified_at: now,
      unique_key: CI,
      unique_in_site: DI,
      origin: 'https://example.com/signup'
    }
  }

  /** A VERIFIED V2 identity verification, completed now. */
  function identityVerification (id) {
    const now = new Date()
    const iso = now.toISOString()
    return {
      status: 'VERIFIED',
      id,
      channel: V2_CHANNEL,
      requestedAt: new Date(now.getTime() - 30_000).toISOString(),
      updatedAt: iso,
      statusChangedAt: iso,
      version: 'V2',
      verifiedCustomer: {
        name: '홍길동',
        birthDate: '1990-03-15',
        gender: 'MALE',
        phoneNumber: '01012345678',
        operator: 'SKT',
        isForeigner: false,
        ci: CI,
        di: DI
      },
      verifiedAt: iso,
      pgTxId: '202401011234567890123456',
      pgRawResponse: '{"RETURNCODE":"0000","RETURNMSG":"No Error"}'
    }
  }

  function send (res, status, envelope) {
    const body = JSON.stringify(envelope)
    const write = () => {
      res.writeHead(status, { 'content-type': JSON_TYPE, 'content-length': Buffer.byteLength(body) })
      res.end(body)
    }
    if (latencyMs > 0) setTimeout(write, latencyMs)
    else write()
  }

  function authorized (req) {
    const header = req.headers.authorization
    if (token === undefined || header === undefined) return false
    // Both the documented `Bearer <token>` and the raw token (the vendor's own examples) pass.
    return header === 'Bearer ' + token || header === token
  }

  /** The SMS calls: authorized like any V1 call, with a JSON body. */
  function otp (req, res, body, confirmed) {
    if (!authorized(req)) {
      calls.unauthorized++
      send(res, 401, { code: -1, message: 'Unauthorized', response: null })
      return
    }
    if (confirmed === undefined) {
      calls.requestOtp++
      const impUid = 'imp_' + nextOtpImpUid++
      pendingOtp.set(impUid, body.merchant_uid)
      send(res, 200, { code: 0, message: null, response: { imp_uid: impUid } })
      return
    }
    calls.confirmOtp++
    const merchantUid = pendingOtp.get(confirmed)
    if (merchantUid === undefined || body.otp !== OTP_CODE) {
      send(res, 400, { code: -1, message: '인증번호가 일치하지 않습니다', response: null })
      return
    }
    pendingOtp.delete(confirmed)
    send(res, 200, { code: 0, message: null, response: certification(confirmed, merchantUid) })
  }

  const server = createServer((req, res) => {
    const confirmed = req.method === 'POST' ? OTP_CONFIRM_PATH.exec(req.url)?.[1] : undefined
    if (confirmed !== undefined || (req.method === 'POST' && req.url === '/certifications/otp/request')) {
      const chunks = []
      req.on('data', (chunk) => chunks.push(chunk))
      req.on('end', () => {
        let body
        try {
          body = JSON.parse(Buffer.concat(chunks).toString('utf8'))
        } catch {
          body = {}
        }
        otp(req, res, body, confirmed)
      })
      return
    }
    if (req.method === 'POST' && req.url === '/users/getToken') {
      const chunks = []
      req.on('data', (chunk) => chunks.push(chunk))
      req.on('end', () => {
        calls.getToken++
        let body
        try {
          body = JSON.parse(Buffer.concat(chunks).toString('utf8'))
        } catch {
          body = {}
        }
        if (body.imp_key !== apiKey || body.imp_secret !== apiSecret) {
          send(res, 401, { code: -1, message: 'Unauthorized', response: null })
          return
        }
        send(res, 200, { code: 0, message: null, response: issueToken() })
      })
      return
    }
    req.resume()
    const v2 = req.method === 'GET' ? V2_PATH.exec(req.url) : null
    if (v2 !== null) {
      calls.getIdentityVerification++
      if (req.headers.authorization !== v2Authorization) {
        calls.unauthorized++
        send(res, 401, { type: 'UNAUTHORIZED', message: 'Unauthorized' })
        return
      }
      send(res, 200, identityVerification(v2[1]))
      return
    }
    const match = req.method === 'GET' ? IMP_UID_PATH.exec(req.url) : null
    if (match === null) {
      calls.other++
      send(res, 404, { code: -1, message: 'not found', response: null })
      return
    }
    calls.getCertification++
    if (!authorized(req)) {
      calls.unauthorized++
      send(res, 401, { code: -1, message: 'Unauthorized', response: null })
      return
    }
    send(res, 200, { code: 0, message: null, response: certification(match[1]) })
  })
  // Clients keep sockets for up to 30 s; do not make them reconnect mid-run.
  server.keepAliveTimeout = 65_000
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address()

  return {
    url: `http://127.0.0.1:${port}`,
    apiKey,
    apiSecret,
    calls,
    /** Zeroes the counters (the token stays: i'mport's token outlives any one client). */
    resetCalls () {
      for (const key of Object.keys(calls)) calls[key] = 0
    },
    setLatency (ms) {
      latencyMs = ms
    },
    close () {
      server.closeAllConnections()
      return new Promise((resolve) => server.close(() => resolve()))
    }
  }
}
