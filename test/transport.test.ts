import t, { type Test } from 'tap'
import fc from 'fast-check'
import type { FastifyError, FastifyInstance } from 'fastify'
import { once } from 'node:events'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { inspect } from 'node:util'
import { Agent } from 'undici'
import fastifyIamport, { type FastifyIamportOptions } from '../index.js'
import { upstreamError } from '../lib/errors.js'
import { createFakeIamport, createFakePortOneV2 } from '../lib/testing/index.js'
import { IamportClient } from '../lib/v1/client.js'
import { PortOneV2Client } from '../lib/v2/client.js'
import { listen } from './helpers/app.js'
import { activeResources, eventually, watchUnhandledRejections } from './helpers/suite-checks.js'

/**
 * Issue 12, item 5: the transport under a slow or resetting upstream. A deadline aborts the
 * exchange and frees its socket; a GET reset before its answer is sent once more; an upstream's
 * message never carries an echo of the request into an error or a log line.
 */

const rejections = watchUnhandledRejections()

/** How late past its deadline a call may fail on a loaded machine (timers and the event loop run late). */
const SLACK_MS = 250

// ---------------------------------------------------------------------------------------------
// A raw upstream: node:http, every socket and request counted
// ---------------------------------------------------------------------------------------------

/** How a raw upstream treats one request: `nth` is its rank on its socket (1 for a fresh socket). */
type Behaviour = (req: IncomingMessage, res: ServerResponse, nth: number) => void

interface RawUpstream {
  url: string
  /** Request paths, in arrival order. */
  paths: string[]
  /** Sockets accepted so far. */
  accepted: () => number
  /** When each request's response closed (ms, performance.now()), by path. */
  closedAt: Array<{ path: string, at: number }>
  /** Replaces the behaviour for the next requests. */
  behave: (behaviour: Behaviour) => void
}

async function startRawUpstream (t: Test, behaviour: Behaviour): Promise<RawUpstream> {
  const ranks = new WeakMap<Socket, number>()
  const paths: string[] = []
  const closedAt: Array<{ path: string, at: number }> = []
  let accepted = 0
  let current = behaviour
  const server = createServer((req, res) => {
    const nth = (ranks.get(req.socket) ?? 0) + 1
    ranks.set(req.socket, nth)
    const path = req.url!
    paths.push(path)
    res.on('close', () => { closedAt.push({ path, at: performance.now() }) })
    req.resume()
    current(req, res, nth)
  })
  server.on('connection', () => { accepted += 1 })
  server.keepAliveTimeout = 30_000
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(async () => {
    const closed = new Promise((resolve) => { server.close(resolve) })
    server.closeAllConnections()
    await closed
  })
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    paths,
    accepted: () => accepted,
    closedAt,
    behave (behaviour) { current = behaviour }
  }
}

const TOKEN_BODY = JSON.stringify({ code: 0, message: null, response: { access_token: 'raw-token', now: 1000, expired_at: 4600 } })

/** Answers for both generations: V1's token and envelope, V2's verification, by path. */
function answer (req: IncomingMessage, res: ServerResponse): void {
  const path = req.url!
  const id = path.split('/').pop()!.split('?')[0]!
  const body = path === '/users/getToken'
    ? TOKEN_BODY
    : path.startsWith('/certifications/otp/request')
      ? JSON.stringify({ code: 0, message: null, response: { imp_uid: 'imp_555555' } })
      : path.startsWith('/certifications/')
        ? JSON.stringify({ code: 0, message: null, response: { imp_uid: id, certified: true } })
        : JSON.stringify({ id, status: 'VERIFIED', verifiedAt: '2025-01-01T00:00:00Z', verifiedCustomer: { name: 'Kim' } })
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) })
  res.end(body)
}

/** 200 and its head at once, then one body byte every `ms` until the client hangs up. */
function drip (res: ServerResponse, ms: number): void {
  res.writeHead(200, { 'content-type': 'application/json' })
  res.write('{')
  const timer = setInterval(() => { res.write(' ') }, ms)
  res.on('close', () => { clearInterval(timer) })
}

/** One call of either generation, by verification id. */
interface Caller {
  name: string
  /** The id that the raw upstream drips, hangs on, or answers. */
  ids: { drip: string, hang: string, ok: string }
  get: (id: string) => Promise<unknown>
  /** Makes the first request (V1: getToken), so that later calls reuse a socket. */
  warm: () => Promise<unknown>
}

function callers (t: Test, url: string, options: { connections?: number, timeoutMs?: number, dispatcher?: Agent }): Caller[] {
  const v1 = new IamportClient({ apiKey: 'k', apiSecret: 's', baseUrl: url, ...options })
  const v2 = new PortOneV2Client({ apiSecret: 's', baseUrl: url, ...options })
  t.teardown(async () => {
    await v1.close()
    await v2.close()
  })
  return [
    { name: 'V1', ids: { drip: 'imp_000002', hang: 'imp_000003', ok: 'imp_000001' }, get: (id) => v1.getCertification(id), warm: () => v1.getToken() },
    { name: 'V2', ids: { drip: 'drip', hang: 'hang', ok: 'ok' }, get: (id) => v2.getIdentityVerification(id), warm: () => v2.getIdentityVerification('ok') }
  ]
}

const isDrip = (path: string): boolean => /\/(imp_000002|drip)$/.test(path)
const isHang = (path: string): boolean => /\/(imp_000003|hang)$/.test(path)

/** Settles `promise` and measures when: `{ err, ms }` for a rejection. */
async function timed (promise: Promise<unknown>, from: number): Promise<{ err?: FastifyError, ms: number }> {
  try {
    await promise
    return { ms: performance.now() - from }
  } catch (err) {
    return { err: err as FastifyError, ms: performance.now() - from }
  }
}

// ---------------------------------------------------------------------------------------------
// The deadline
// ---------------------------------------------------------------------------------------------

t.test('slow drip: with 2 connections and a 600 ms timeout, two dripping calls fail at the deadline and the next is answered at once', async (t) => {
  const upstream = await startRawUpstream(t, (req, res) => {
    if (isDrip(req.url!)) drip(res, 200)
    else answer(req, res)
  })
  for (const caller of callers(t, upstream.url, { connections: 2, timeoutMs: 600 })) {
    await caller.warm()
    const started = performance.now()
    const results = await Promise.all([timed(caller.get(caller.ids.drip), started), timed(caller.get(caller.ids.drip), started)])
    for (const { err, ms } of results) {
      t.match(err, { code: 'FST_IAMPORT_UPSTREAM_TIMEOUT', statusCode: 504 }, `${caller.name}: the dripping call times out`)
      t.ok(ms >= 590 && ms < SLACK_MS + 600, `${caller.name}: at the deadline (${Math.round(ms)} ms)`)
    }
    const next = performance.now()
    await caller.get(caller.ids.ok)
    const nextMs = performance.now() - next
    t.ok(nextMs < 500, `${caller.name}: the next call on the same pool is answered in ${Math.round(nextMs)} ms`)
    // The upstream sees both dripping sockets closed at the deadline, not when the drip would end.
    const dripped = upstream.closedAt.filter(({ path }) => isDrip(path)).slice(-2)
    t.equal(dripped.length, 2, `${caller.name}: both dripping answers were closed by the client`)
    for (const { at } of dripped) t.ok(at - started < SLACK_MS + 600, `${caller.name}: socket closed ${Math.round(at - started)} ms after the calls began`)
    t.comment(`${caller.name}: timeouts at ${results.map(({ ms }) => Math.round(ms)).join(' and ')} ms; next call ${nextMs.toFixed(1)} ms; ` +
      `dripping sockets closed at ${dripped.map(({ at }) => Math.round(at - started)).join(' and ')} ms`)
  }
})

t.test('no answer at all: the call is aborted at the deadline and the socket is freed for the next call', async (t) => {
  const upstream = await startRawUpstream(t, (req, res) => {
    if (!isHang(req.url!)) answer(req, res)
  })
  for (const caller of callers(t, upstream.url, { connections: 1, timeoutMs: 400 })) {
    await caller.warm()
    const started = performance.now()
    const { err, ms } = await timed(caller.get(caller.ids.hang), started)
    t.match(err, { code: 'FST_IAMPORT_UPSTREAM_TIMEOUT' })
    t.ok(ms >= 390 && ms < SLACK_MS + 400, `${caller.name}: timed out after ${Math.round(ms)} ms`)
    t.ok(await eventually(() => upstream.closedAt.some(({ path, at }) => isHang(path) && at > started), 200), `${caller.name}: the hung socket was closed`)
    const next = performance.now()
    await caller.get(caller.ids.ok)
    t.ok(performance.now() - next < 200, `${caller.name}: the only pool socket is free again`)
  }
})

t.test('a call whose deadline passes while it waits for a socket is never sent, and costs no socket', async (t) => {
  const upstream = await startRawUpstream(t, (req, res) => {
    if (isDrip(req.url!)) drip(res, 100)
    else answer(req, res)
  })
  const [, v2] = callers(t, upstream.url, { connections: 1, timeoutMs: 400 })
  const started = performance.now()
  // One socket: the second call queues behind the dripping one, with the same deadline.
  const results = await Promise.all([timed(v2!.get('drip'), started), timed(v2!.get('ok'), started)])
  for (const { err, ms } of results) {
    t.match(err, { code: 'FST_IAMPORT_UPSTREAM_TIMEOUT' })
    t.ok(ms < SLACK_MS + 400, `timed out after ${Math.round(ms)} ms`)
  }
  await sleep(100)
  t.same(upstream.paths, ['/identity-verifications/drip'], 'the queued call never reached upstream')
  await v2!.get('ok')
  t.equal(upstream.accepted(), 2, 'the socket opened for the dropped call was not destroyed: the next call used it')
})

t.test('an informational answer (103 Early Hints) before the real one is skipped', async (t) => {
  const upstream = await startRawUpstream(t, (req, res) => {
    res.writeEarlyHints({ link: '</style.css>; rel=preload; as=style' })
    answer(req, res)
  })
  const [v1, v2] = callers(t, upstream.url, {})
  t.match(await v1!.get('imp_000001'), { imp_uid: 'imp_000001', certified: true })
  t.match(await v2!.get('ok'), { id: 'ok', status: 'VERIFIED' })
})

t.test('an injected dispatcher\'s own, shorter headers timeout is a 504 too', async (t) => {
  const upstream = await startRawUpstream(t, () => {})
  const dispatcher = new Agent({ headersTimeout: 100 })
  t.teardown(() => dispatcher.close())
  const [, v2] = callers(t, upstream.url, { dispatcher, timeoutMs: 5000 })
  const started = performance.now()
  const { err, ms } = await timed(v2!.get('ok'), started)
  t.match(err, { code: 'FST_IAMPORT_UPSTREAM_TIMEOUT', operation: 'getIdentityVerification' })
  t.ok(ms < 1500, `after ${Math.round(ms)} ms, not the client's 5000`)
})

t.test('no timer left behind: successful and failed calls clear their deadline', async (t) => {
  const v1 = await createFakeIamport()
  const v2 = await createFakePortOneV2()
  const client = new IamportClient({ apiKey: v1.apiKey, apiSecret: v1.apiSecret, baseUrl: v1.url })
  const v2Client = new PortOneV2Client({ apiSecret: v2.apiSecret, storeId: v2.storeId, baseUrl: v2.url })
  t.teardown(async () => {
    await client.close()
    await v2Client.close()
    await v1.close()
    await v2.close()
  })
  const certification = v1.seedCertification()
  const verification = v2.seedIdentityVerification()
  // Warm: the token is cached and both pools hold a socket.
  await client.getCertification(certification.imp_uid)
  await v2Client.getIdentityVerification(verification.id)
  const before = activeResources('Timeout')
  for (let i = 0; i < 5; i++) {
    await client.getCertification(certification.imp_uid)
    await v2Client.getIdentityVerification(verification.id)
  }
  // Every deadline is 10 s: a timer that was not cleared would still be pending here.
  t.equal(activeResources('Timeout'), before, `${before} Timeout handle(s) before and after 10 successful calls`)
  v1.inject({ target: 'certification', kind: 'status', status: 500 })
  await t.rejects(client.getCertification(certification.imp_uid), { code: 'FST_IAMPORT_UPSTREAM' })
  await t.rejects(client.getCertification('imp_000000000001'), { code: 'FST_IAMPORT_CERTIFICATION_NOT_FOUND' })
  v2.inject({ target: 'certification', kind: 'drop', times: 2 })
  await t.rejects(v2Client.getIdentityVerification(verification.id), { code: 'FST_IAMPORT_UPSTREAM' })
  t.equal(activeResources('Timeout'), before, 'and after failed ones')
})

// ---------------------------------------------------------------------------------------------
// One retry of a GET reset before its answer
// ---------------------------------------------------------------------------------------------

/**
 * Lets the pool's socket become idle: undici checks a socket for a pending close for one event
 * loop turn after an answer, and a call in that turn opens a new socket instead.
 */
const idle = (): Promise<void> => sleep(10)

/** Closes the socket under a request: `rst` sends a TCP reset, `fin` closes it (both without an answer). */
function reset (req: IncomingMessage, style: 'rst' | 'fin'): void {
  if (style === 'rst') req.socket.resetAndDestroy()
  else req.socket.destroy()
}

for (const style of ['rst', 'fin'] as const) {
  t.test(`a GET reset (${style}) on a reused keep-alive socket is sent once more; a second reset fails it`, async (t) => {
    const upstream = await startRawUpstream(t, answer)
    for (const caller of callers(t, upstream.url, {})) {
      await caller.warm()
      await idle()
      const accepted = upstream.accepted()
      // Upstream closes any socket on its second request: the keep-alive race.
      upstream.behave((req, res, nth) => { if (nth >= 2) reset(req, style); else answer(req, res) })
      let sent = upstream.paths.length
      t.ok(await caller.get(caller.ids.ok), `${caller.name}: one answer to the caller`)
      t.equal(upstream.paths.length - sent, 2, `${caller.name}: exactly 2 attempts`)
      t.equal(upstream.accepted() - accepted, 1, `${caller.name}: the second on a new socket`)

      upstream.behave((req) => { reset(req, style) })
      await idle()
      sent = upstream.paths.length
      const { err } = await timed(caller.get(caller.ids.ok), 0)
      t.match(err, { code: 'FST_IAMPORT_UPSTREAM', statusCode: 502, message: /connection failed \((ECONNRESET|UND_ERR_SOCKET)\)/ }, `${caller.name}: reset twice`)
      await sleep(50)
      t.equal(upstream.paths.length - sent, 2, `${caller.name}: after exactly 2 attempts`)
      upstream.behave(answer)
    }
  })
}

t.test('POST and DELETE are never sent twice: getToken, requestOtp, deleteCertification', async (t) => {
  const upstream = await startRawUpstream(t, answer)
  const [v1] = callers(t, upstream.url, {})
  await v1!.warm()
  upstream.behave((req) => { reset(req, 'fin') })
  const attempts = async (call: () => Promise<unknown>): Promise<number> => {
    const sent = upstream.paths.length
    await t.rejects(call(), { code: 'FST_IAMPORT_UPSTREAM', message: /connection failed/ })
    await sleep(50)
    return upstream.paths.length - sent
  }
  const client = new IamportClient({ apiKey: 'k', apiSecret: 's', baseUrl: upstream.url })
  t.teardown(() => client.close())
  t.equal(await attempts(() => client.getToken()), 1, 'getToken: one attempt')
  const warm = new IamportClient({ apiKey: 'k', apiSecret: 's', baseUrl: upstream.url })
  t.teardown(() => warm.close())
  upstream.behave(answer)
  await warm.getToken()
  await idle()
  upstream.behave((req) => { reset(req, 'rst') })
  t.equal(await attempts(() => warm.requestOtp({ name: '홍길동', phone: '01012345678', birth: '900101', genderDigit: '1', carrier: 'SKT' })), 1, 'requestOtp: one attempt')
  t.equal(await attempts(() => warm.deleteCertification('imp_000001')), 1, 'deleteCertification: one attempt')
})

t.test('the retry stays inside the one deadline', async (t) => {
  const upstream = await startRawUpstream(t, answer)
  const [, v2] = callers(t, upstream.url, { timeoutMs: 500 })
  await v2!.warm()
  await idle()
  // The reused socket is reset; the new one never answers.
  upstream.behave((req, _res, nth) => { if (nth >= 2) reset(req, 'fin') })
  const started = performance.now()
  const { err, ms } = await timed(v2!.get('ok'), started)
  t.match(err, { code: 'FST_IAMPORT_UPSTREAM_TIMEOUT' })
  t.ok(ms >= 490 && ms < SLACK_MS + 500, `504 after ${Math.round(ms)} ms, the original deadline`)
  t.equal(upstream.paths.length, 3, 'the warm-up, the reset attempt and the retry')
})

// ---------------------------------------------------------------------------------------------
// Echo: what upstream says never carries the request back out
// ---------------------------------------------------------------------------------------------

const PHONE = '01012345678'

/** An app on the plugin with trace-level logs; every error the route threw is kept. */
async function echoApp (t: Test, options: FastifyIamportOptions): Promise<{ app: FastifyInstance, logs: string[], errors: unknown[], post: (body: unknown) => Promise<{ status: number, body: any }> }> {
  const errors: unknown[] = []
  const { app, logs, post } = await listen(t, async (app) => {
    app.addHook('onError', async (_request, _reply, err) => { errors.push(err) })
    await app.register(fastifyIamport, options)
  }, 'trace')
  return { app, logs, errors, post: (body) => post('/certifications', body) }
}

/** Asserts that none of `secrets` appears anywhere a person or a log reader could see it. */
function assertNoEcho (t: Test, secrets: string[], seen: { logs: string[], body: unknown, errors: unknown[] }): void {
  t.equal(seen.errors.length, 1, 'the route threw one error')
  const err = seen.errors[0] as FastifyError & { upstreamMessage?: string }
  const places = {
    'log lines': seen.logs.join('\n'),
    'error body': JSON.stringify(seen.body),
    'util.inspect(err)': inspect(err, { depth: 10, showHidden: true }),
    'JSON.stringify(err)': JSON.stringify(err)
  }
  t.match(places['log lines'], /FST_IAMPORT_UPSTREAM/, 'the failure was logged (the check below is not vacuous)')
  for (const [place, text] of Object.entries(places)) {
    for (const secret of secrets) t.notOk(text.includes(secret), `${place}: no echo of a ${secret.length}-character value`)
  }
  t.notMatch(places['error body'], /[0-9]{6,}/, 'the error body has no digit run of 6+')
  if (err.upstreamMessage !== undefined) {
    t.notMatch(err.upstreamMessage, /[0-9]{6,}|[A-Za-z0-9_-]{8,}/, 'the redacted message has no digit run of 6+ and nothing token-like')
  }
}

t.test('echo: a V1 upstream that echoes the secret, the token and a phone number in its message', async (t) => {
  for (const target of ['token', 'certification'] as const) {
    const fake = await createFakeIamport()
    t.teardown(() => fake.close())
    const { app, logs, errors, post } = await echoApp(t, { apiKey: fake.apiKey, apiSecret: fake.apiSecret, baseUrl: fake.url })
    const token = target === 'certification' ? await app.iamport!.getToken() : 'not-issued-yet-but-echoed-tok3n'
    const record = fake.seedCertification()
    const message = `인증에 실패했습니다: imp_secret=${fake.apiSecret} access_token=${token} 휴대폰 ${PHONE} (Bearer ${token})`
    fake.inject({ target, kind: 'status', status: 500, message })
    const res = await post({ imp_uid: record.imp_uid })
    t.equal(res.status, 502)
    t.equal(res.body.code, 'FST_IAMPORT_UPSTREAM')
    assertNoEcho(t, [fake.apiSecret, token, PHONE], { logs, body: res.body, errors })
    t.equal((errors[0] as { upstreamMessage?: string }).upstreamMessage, '인증에 실패했습니다: … 휴대폰 … (…)', `${target}: the Hangul phrase is what remains`)
  }
})

t.test('echo: a V2 upstream that echoes the secret, a token and a phone number in its message', async (t) => {
  const fake = await createFakePortOneV2()
  t.teardown(() => fake.close())
  const { logs, errors, post } = await echoApp(t, { apiVersion: 'v2', apiSecret: fake.apiSecret, storeId: fake.storeId, baseUrl: fake.url })
  const verification = fake.seedIdentityVerification()
  const token = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl'
  fake.inject({ target: 'certification', kind: 'status', status: 500, message: `PortOne ${fake.apiSecret} 토큰 ${token} 전화번호 010-1234-5678 / ${PHONE}` })
  const res = await post({ identityVerificationId: verification.id })
  t.equal(res.status, 502)
  assertNoEcho(t, [fake.apiSecret, token, PHONE, '010-1234-5678'], { logs, body: res.body, errors })
  t.equal((errors[0] as { upstreamMessage?: string }).upstreamMessage, '… 토큰 … 전화번호 …')
})

t.test('requestOtp sent a name in Hangul: its upstream message is dropped, not redacted', async (t) => {
  const upstream = await startRawUpstream(t, (req, res) => {
    if (req.url !== '/certifications/otp/request') return answer(req, res)
    const body = JSON.stringify({ code: 1, message: '홍길동 님의 정보가 일치하지 않습니다', response: null })
    res.writeHead(400, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) })
    res.end(body)
  })
  const client = new IamportClient({ apiKey: 'k', apiSecret: 's', baseUrl: upstream.url })
  t.teardown(() => client.close())
  const err = await client.requestOtp({ name: '홍길동', phone: PHONE, birth: '900101', genderDigit: '1', carrier: 'SKT' }).catch((e: unknown) => e)
  t.match(err, { code: 'FST_IAMPORT_UPSTREAM', upstreamStatus: 400, upstreamCode: 1, upstreamMessage: undefined })
  t.notMatch(inspect(err, { showHidden: true }) + JSON.stringify(err), /홍길동/)
})

t.test('property: whatever upstream says, the redacted message has no digit, no Latin letter and at most 200 characters', async (t) => {
  const hangulPhrase = fc.constantFrom('인증에 실패했습니다', '존재하지 않는 인증건입니다.', '토큰이 만료되었습니다!', '점검 중')
  const anything = fc.oneof(fc.string({ unit: 'binary', maxLength: 80 }), fc.string({ unit: 'grapheme', maxLength: 40 }), fc.stringMatching(/^[0-9-]{6,16}$/), fc.base64String({ maxLength: 60 }))
  const message = fc.array(fc.oneof(hangulPhrase, anything), { maxLength: 12 }).map((parts) => parts.join(' '))
  fc.assert(fc.property(message, (text) => {
    const shown = upstreamError('test', { operation: 'op', upstreamMessage: text }).upstreamMessage
    if (shown === undefined) return true
    return shown.length <= 200 && !/[\p{N}A-Za-z]/u.test(shown) && /\p{Script=Hangul}/u.test(shown) && !shown.includes('……')
  }), { numRuns: 2000 })
  t.equal(upstreamError('test', { operation: 'op', upstreamMessage: 'Bad Request' }).upstreamMessage, undefined, 'no Hangul left: no message')
  t.equal(upstreamError('test', { operation: 'op', upstreamMessage: '가'.repeat(100_000) }).upstreamMessage, '가'.repeat(200), 'cut to 200')
})

t.test('no unhandled rejection', async (t) => {
  await sleep(50)
  t.same(rejections, [])
})
