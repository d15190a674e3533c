import t, { type Test } from 'tap'
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import type { FastifyInstance } from 'fastify'
import { createFakeIamport, type FakeIamport, type Fault } from '../lib/testing/index.js'
import type { CertificationSeed } from '../lib/testing/fake-iamport.js'
import { seed, startApp } from './helpers/app.js'
import { activeResources, assertNoSensitiveLogLines, eventually, settlesWithin, watchUnhandledRejections } from './helpers/suite-checks.js'
import { startCountingProxy, type CountingProxy } from './helpers/tcp-proxy.js'

/**
 * Issue 7: every upstream fault, injected by the fake on getToken (cold client) and on the
 * certification call (token already cached) separately, seen through the route over real HTTP.
 * The client reaches the fake through a counting TCP stand-in, so each case also proves that the
 * pool keeps no socket busy and holds none after close.
 */

const rejections = watchUnhandledRejections()

/** The client's per-request budget here; every latency fault is well past it. */
const TIMEOUT_MS = 300
const PAST_TIMEOUT_MS = 1000
/** A slow-drip answer sends one body byte this often: each gap is shorter than the timeout. */
const DRIP_MS = 200
/** Sockets the pool may keep idle after one case (a request and, at most, its retry). */
const MAX_IDLE_POOL_SOCKETS = 2
/** How far the process's TCP socket count may rise above its level before the matrix. */
const MAX_SOCKET_GROWTH = 4
/** TCP socket handles while a case's app is up: a few keep-alive connections, both ends each. */
const MAX_LIVE_SOCKETS = 12
const TWO_HOURS = 2 * 3600

type Target = 'token' | 'certification'

interface CaseContext {
  fake: FakeIamport
  proxy: CountingProxy
  app: FastifyInstance
}

interface FaultCase {
  fault: string
  target: Target
  /** The fault queued right before the verification (after `arrange` and seeding). */
  inject?: (fake: FakeIamport, target: Target, record: Record<string, unknown>) => Fault | Promise<Fault>
  /** Other arrangements right before the verification (after the token is cached for `certification`). */
  arrange?: (context: CaseContext) => Promise<void> | void
  /** Runs while the verification is in flight. */
  during?: (context: CaseContext) => Promise<void>
  /** The certification to seed (after `arrange`). */
  seed?: () => CertificationSeed
  /** Verifications to send (default 1); all must give the same answer. */
  repeat?: number
  expected: { status: number, code: string, retried: boolean }
}

interface Row {
  fault: string
  target: Target
  status: number
  code: string
  retried: string
}

/** A token envelope's `response` as the fake issues it, for faults that must carry a usable token. */
async function issuedToken (fake: FakeIamport): Promise<{ access_token: string, now: number, expired_at: number }> {
  const res = await fetch(`${fake.url}/users/getToken`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ imp_key: fake.apiKey, imp_secret: fake.apiSecret })
  })
  return ((await res.json()) as { response: { access_token: string, now: number, expired_at: number } }).response
}

/** The body a fault answers with: a valid token for `token`, the stored record for `certification`. */
async function goodResponse (fake: FakeIamport, target: Target, record: Record<string, unknown>): Promise<unknown> {
  return target === 'token' ? await issuedToken(fake) : record
}

const realNow = (): number => Math.floor(Date.now() / 1000)
const upstream502 = { status: 502, code: 'FST_IAMPORT_UPSTREAM', retried: false }
const timeout504 = { status: 504, code: 'FST_IAMPORT_UPSTREAM_TIMEOUT', retried: false }
const success = { status: 200, code: '-', retried: false }

/** Faults that apply the same way to both calls. */
function bothTargets (fault: string, inject: FaultCase['inject'], expected: FaultCase['expected']): FaultCase[] {
  return (['token', 'certification'] as const).map((target) => ({ fault, target, inject, expected }))
}

/** An envelope fault whose body carries a usable token (token) or the stored record (certification). */
function envelopeCase (fault: string, target: Target, status: number, envelope: (response: unknown) => unknown, expected: FaultCase['expected']): FaultCase {
  return {
    fault,
    target,
    inject: async (fake, target, record) => ({ target, kind: 'envelope', status, body: envelope(await goodResponse(fake, target, record)) }),
    expected
  }
}

const CASES: FaultCase[] = [
  ...bothTargets(`latency ${PAST_TIMEOUT_MS} ms (timeout ${TIMEOUT_MS} ms)`, (_fake, target) => ({ target, kind: 'latency', ms: PAST_TIMEOUT_MS }), timeout504),
  ...bothTargets('HTTP 500 (envelope)', (_fake, target) => ({ target, kind: 'status', status: 500 }), upstream502),
  ...bothTargets('HTTP 502, HTML body', (_fake, target) => ({ target, kind: 'html', status: 502 }), upstream502),
  ...bothTargets('HTTP 429 (envelope)', (_fake, target) => ({ target, kind: 'status', status: 429 }), upstream502),
  ...bothTargets('200, malformed JSON', (_fake, target) => ({ target, kind: 'malformed-json' }), upstream502),
  ...bothTargets('200, truncated body', (_fake, target) => ({ target, kind: 'truncated' }), upstream502),
  // A reset before any answer byte: the GET of the certification is sent once more, the POST of
  // getToken never.
  {
    fault: 'connection dropped',
    target: 'token',
    inject: (_fake, target) => ({ target, kind: 'drop' }),
    expected: upstream502
  },
  {
    fault: 'connection dropped',
    target: 'certification',
    inject: (_fake, target) => ({ target, kind: 'drop' }),
    expected: { status: 200, code: '-', retried: true }
  },
  {
    fault: 'connection dropped twice',
    target: 'token',
    inject: (_fake, target) => ({ target, kind: 'drop', times: 2 }),
    expected: upstream502
  },
  {
    fault: 'connection dropped twice',
    target: 'certification',
    inject: (_fake, target) => ({ target, kind: 'drop', times: 2 }),
    expected: { ...upstream502, retried: true }
  },
  // Headers at once, then one body byte every 200 ms: the call is aborted at the deadline and its
  // socket destroyed (the idle-pool check below fails while a dripping socket is still open).
  ...(['token', 'certification'] as const).map((target): FaultCase => ({
    fault: `slow-drip body (1 byte / ${DRIP_MS} ms, timeout ${TIMEOUT_MS} ms)`,
    target,
    arrange: ({ proxy }) => { proxy.dripNextAnswer(DRIP_MS) },
    expected: timeout504
  })),
  ...(['token', 'certification'] as const).map((target): FaultCase => ({
    fault: 'upstream not listening (closed port)',
    target,
    arrange: ({ proxy }) => proxy.close(),
    expected: upstream502
  })),
  ...(['token', 'certification'] as const).map((target) =>
    envelopeCase('200, `code: 1` (response present)', target, 200, (response) => ({ code: 1, message: 'refused', response }), upstream502)),
  ...(['token', 'certification'] as const).map((target) =>
    envelopeCase('200, `code: 0`, `response: null`', target, 200, () => ({ code: 0, message: null, response: null }), upstream502)),
  ...(['token', 'certification'] as const).map((target) =>
    envelopeCase('201 instead of 200 (valid envelope)', target, 201, (response) => ({ code: 0, message: null, response }), success)),
  {
    fault: 'token expires in flight (401, new token, one retry)',
    target: 'token',
    // Cold client: the token is issued, then expired while the certification call is on its way.
    inject: () => ({ target: 'certification', kind: 'latency', ms: 150 }),
    during: async ({ fake }) => {
      await eventually(() => fake.calls.getCertification >= 1)
      fake.expireTokens()
    },
    expected: { status: 200, code: '-', retried: true }
  },
  {
    fault: 'token expires in flight (401, new token, one retry)',
    target: 'certification',
    // Warm client: the cached token is expired at i'mport before the call uses it.
    arrange: ({ fake }) => { fake.expireTokens() },
    expected: { status: 200, code: '-', retried: true }
  },
  {
    fault: '`expired_at` in the past (not cached, no refresh loop)',
    target: 'token',
    arrange: async ({ fake }) => {
      const token = await issuedToken(fake)
      fake.inject({ target: 'token', kind: 'envelope', times: 3, body: { code: 0, message: null, response: { ...token, expired_at: token.now - 10 } } })
    },
    repeat: 3,
    expected: success
  },
  ...[TWO_HOURS, -TWO_HOURS].flatMap((offset): FaultCase[] => {
    const label = `server clock ${offset > 0 ? '+' : '-'}2 h`
    return [{
      fault: label,
      target: 'token',
      arrange: ({ fake }) => { fake.setClockOffset(offset) },
      // i'mport's certified_at is real time here: only the token's now/expired_at are skewed.
      seed: () => ({ certified_at: realNow() }),
      repeat: 3,
      expected: success
    }, {
      fault: label,
      target: 'certification',
      arrange: ({ fake }) => { fake.setClockOffset(offset) },
      // certified_at comes from the skewed clock: the freshness check refuses it (60 s skew allowed).
      // +2 h also expires the cached token by i'mport's clock: 401, new token, one retry.
      expected: { status: 422, code: 'FST_IAMPORT_STALE_CERTIFICATION', retried: offset > 0 }
    }]
  })
]

const rows: Row[] = []
const socketCounts: number[] = []
const liveSocketCounts: number[] = []
let socketsBefore = 0
let serversBefore = 0
let timersBefore = 0

async function runCase (t: Test, c: FaultCase): Promise<void> {
  const fake = await createFakeIamport()
  const proxy = await startCountingProxy(fake.url)
  t.teardown(async () => {
    await proxy.close()
    await fake.close()
  })
  const { app, verify } = await startApp(t, undefined, { baseUrl: proxy.url, timeoutMs: TIMEOUT_MS }, fake)
  const context = { fake, proxy, app }
  if (c.target === 'certification') await app.iamport!.getToken()
  await c.arrange?.(context)
  const records = Array.from({ length: c.repeat ?? 1 }, () => seed(fake, c.seed?.()))
  if (c.inject !== undefined) fake.inject(await c.inject(fake, c.target, records[0] as unknown as Record<string, unknown>))
  fake.resetCalls()

  let retried = false
  let first: { status: number, code: string } | undefined
  for (const record of records) {
    const before = { token: fake.calls.getToken, certification: fake.calls.getCertification }
    const started = performance.now()
    const pending = verify(record.imp_uid)
    await c.during?.(context)
    const res = await pending
    if (res.status === 504) t.ok(performance.now() - started < PAST_TIMEOUT_MS, 'answered at the timeout, not when i\'mport finally answered')
    t.equal(res.status, c.expected.status, 'status')
    t.equal(res.body.code ?? '-', c.expected.code, 'code')
    first ??= { status: res.status, code: res.body.code ?? '-' }
    if (res.status !== 200) t.same(Object.keys(res.body).sort(), ['code', 'error', 'message', 'statusCode'], 'Fastify\'s standard error body')
    const tokenCalls = fake.calls.getToken - before.token
    const certificationCalls = fake.calls.getCertification - before.certification
    t.ok(tokenCalls <= 2 && certificationCalls <= 2, `at most one retry (${tokenCalls} getToken, ${certificationCalls} certification)`)
    retried ||= certificationCalls === 2
  }
  t.equal(retried, c.expected.retried, 'retried')
  rows.push({
    fault: c.fault,
    target: c.target,
    status: first!.status,
    code: first!.code,
    retried: retried ? 'yes, once' : 'no'
  })

  // The pool recovers: with the fault gone (and the port back), the next verification passes.
  fake.clearFaults()
  fake.setClockOffset(0)
  await proxy.reopen()
  const next = await verify(seed(fake).imp_uid)
  t.equal(next.status, 200, 'the next verification passes')
  t.ok(await eventually(() => proxy.openConnections() <= MAX_IDLE_POOL_SOCKETS), `pool idle: ${proxy.openConnections()} socket(s) open`)
  // Both ends of every connection in this process: browser -> app, pool -> proxy, proxy -> fake.
  const live = activeResources('TCPSocketWrap')
  liveSocketCounts.push(live)
  t.ok(live <= MAX_LIVE_SOCKETS, `${live} TCPSocketWrap while the app is up`)

  t.equal(await settlesWithin(app.close(), 2000), 'done', 'app.close() does not hang')
  t.ok(await eventually(() => proxy.openConnections() === 0), 'every pool socket is closed after app.close()')
}

t.before(() => {
  socketsBefore = activeResources('TCPSocketWrap')
  serversBefore = activeResources('TCPServerWrap')
  timersBefore = activeResources('Timeout')
})

for (const c of CASES) {
  t.test(`${c.fault} on ${c.target}`, async (t) => {
    await runCase(t, c)
  })
  t.test(`after "${c.fault}" on ${c.target}: no socket, server or timer left`, async (t) => {
    // Closed handles leave the list on the next turns of the event loop.
    await eventually(() => activeResources('TCPSocketWrap') <= socketsBefore + MAX_SOCKET_GROWTH &&
      activeResources('TCPServerWrap') <= serversBefore && activeResources('Timeout') <= timersBefore)
    const sockets = activeResources('TCPSocketWrap')
    socketCounts.push(sockets)
    t.ok(sockets <= socketsBefore + MAX_SOCKET_GROWTH, `${sockets} TCPSocketWrap (${socketsBefore} before the matrix)`)
    t.equal(activeResources('TCPServerWrap'), serversBefore, 'no listening server left')
    t.ok(activeResources('Timeout') <= timersBefore, 'no timer left')
  })
}

t.test('the failure-behaviour table', async (t) => {
  const table = [
    '| fault | target | status | code | retried |',
    '|---|---|---|---|---|',
    ...rows.map((row) => `| ${row.fault} | ${row.target} | ${row.status} | ${row.code === '-' ? '-' : '`' + row.code + '`'} | ${row.retried} |`)
  ].join('\n')
  t.comment('\n' + table)
  t.equal(rows.length, CASES.length, 'one row per case')
  t.ok(Math.max(...socketCounts) <= socketsBefore + MAX_SOCKET_GROWTH, `TCP sockets after each case stayed within ${MAX_SOCKET_GROWTH} of the start`)
  t.comment(`TCPSocketWrap while each case's app was up: ${liveSocketCounts.join(' ')}`)
  t.ok(Math.max(...liveSocketCounts) - Math.min(...liveSocketCounts) <= MAX_SOCKET_GROWTH, 'and did not grow from case to case while the apps were up')
})

t.test('no unhandled rejection', async (t) => {
  await sleep(50)
  t.same(rejections, [])
})

// Runs last: every log line this file's apps wrote, checked for every sensitive value.
t.test('no log line carries personal data, the secret or a token', async (t) => {
  assertNoSensitiveLogLines(t, { lines: 50, values: 20 })
})
