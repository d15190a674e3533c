import { createServer } from 'node:http'
import { once } from 'node:events'
import { randomBytes } from 'node:crypto'

/**
 * A minimal i'mport (PortOne V1) stand-in for load runs: getToken with the real re-issue
 * semantics (the same token until it expires) and `GET /certifications/{imp_uid}` that
 * synthesizes a fresh, certified record for any `imp_` + digits, so a load generator can send a
 * new imp_uid on every request without seeding. Every answer waits `latencyMs` first. It counts
 * calls so the harness can report upstream calls per verification.
 *
 * Why not lib/testing/fake-iamport.ts: that server needs every imp_uid seeded and keeps every
 * record; at hundreds of thousands of imp_uids its own memory and CPU would compete with the
 * candidates on this 2-core machine.
 */

const TOKEN_LIFETIME_SECONDS = 1800
const IMP_UID_PATH = /^\/certifications\/(imp_[0-9]+)$/
const JSON_TYPE = 'application/json; charset=utf-8'
// A CI is 64 bytes of base64 (88 characters), a DI 48 bytes (64 characters), as in captures.
const CI = randomBytes(64).toString('base64')
const DI = randomBytes(48).toString('base64')

/**
 * Starts the stand-in on 127.0.0.1.
 * @param {{ latencyMs?: number, apiKey?: string, apiSecret?: string }} [options]
 */
export async function startUpstream (options = {}) {
  let latencyMs = options.latencyMs ?? 0
  const apiKey = options.apiKey ?? 'bench_key'
  const apiSecret = options.apiSecret ?? 'bench_secret'
  const calls = { getToken: 0, getCertification: 0, unauthorized: 0, other: 0 }
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

  function certification (impUid) {
    const now = Math.floor(Date.now() / 1000)
    return {
      imp_uid: impUid,
      merchant_uid: 'mid_' + impUid.slice(4),
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

  const server = createServer((req, res) => {
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
