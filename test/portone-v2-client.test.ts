import t from 'tap'
import { connect } from 'node:net'
import { once } from 'node:events'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { inspect } from 'node:util'
import { Agent, request } from 'undici'
import { PortOneV2Client, type PortOneV2ClientOptions } from '../lib/v2/client.js'
import { createFakePortOneV2, type FakePortOneV2, type FakePortOneV2Options } from '../lib/testing/index.js'

type Teardown = Pick<typeof t, 'teardown'>

async function startFake (t: Teardown, options?: FakePortOneV2Options): Promise<FakePortOneV2> {
  const fake = await createFakePortOneV2(options)
  t.teardown(() => fake.close())
  return fake
}

/** A fake V2 server and a client pointed at it (with its storeId), both closed when the test ends. */
async function fakeWithClient (t: Teardown, options: Partial<PortOneV2ClientOptions> = {}): Promise<{ fake: FakePortOneV2, client: PortOneV2Client }> {
  const fake = await startFake(t)
  const client = new PortOneV2Client({ apiSecret: fake.apiSecret, storeId: fake.storeId, baseUrl: fake.url, ...options })
  t.teardown(() => client.close())
  return { fake, client }
}

interface Answer {
  status: number
  headers: Record<string, string | string[] | undefined>
  json: any
}

/** One raw HTTP call to the fake; the body is always read. */
async function call (fake: FakePortOneV2, method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<Answer> {
  const res = await request(fake.url + path, { method: method as 'GET', headers, body, headersTimeout: 5000, bodyTimeout: 5000 })
  const text = await res.body.text()
  let json: any
  try {
    json = JSON.parse(text)
  } catch {
    json = undefined
  }
  return { status: res.statusCode, headers: res.headers, json }
}

const auth = (fake: FakePortOneV2): Record<string, string> => ({ authorization: `PortOne ${fake.apiSecret}` })

/** A local server answering every request with `answer`, recording URL and Authorization. */
async function recordingServer (t: Teardown, answer: unknown): Promise<{ url: string, seen: Array<{ url?: string, authorization?: string }> }> {
  const seen: Array<{ url?: string, authorization?: string }> = []
  const server = createServer((req, res) => {
    seen.push({ url: req.url, authorization: req.headers.authorization })
    req.resume()
    res.setHeader('content-type', 'application/json')
    res.end(JSON.stringify(answer))
  }).listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => server.close())
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen }
}

const minimalVerified = { id: 'iv1', status: 'VERIFIED', verifiedAt: '2025-01-01T00:00:00Z', verifiedCustomer: { name: 'Kim' } }

// ---------------------------------------------------------------------------------------------
// The client
// ---------------------------------------------------------------------------------------------

t.test('gets a verification in every status, as PortOne stores it', async (t) => {
  const { fake, client } = await fakeWithClient(t)
  const verified = fake.seedIdentityVerification()
  t.same(await client.getIdentityVerification(verified.id), verified)
  const ready = fake.seedIdentityVerification({ status: 'READY' })
  t.match(await client.getIdentityVerification(ready.id), { status: 'READY', id: ready.id })
  const failed = fake.seedIdentityVerification({ status: 'FAILED' })
  t.match(await client.getIdentityVerification(failed.id), { status: 'FAILED', failure: { reason: String } })
  t.equal(fake.calls.getIdentityVerification, 3)
  t.equal(fake.requests[0]!.path, `/identity-verifications/${verified.id}?storeId=${fake.storeId}`)
})

t.test('sends Authorization: PortOne <secret> under a base path, and an encoded storeId', async (t) => {
  const { url, seen } = await recordingServer(t, { ...minimalVerified, unknownField: { deep: true } })
  const withStore = new PortOneV2Client({ apiSecret: 'sec-ret_1', baseUrl: `${url}/v2/`, storeId: 'store a&b=c' })
  t.teardown(() => withStore.close())
  t.same(await withStore.getIdentityVerification('iv1'), { ...minimalVerified, unknownField: { deep: true } }, 'unknown fields are kept but ignored')
  const noStore = new PortOneV2Client({ apiSecret: 'sec-ret_1', baseUrl: url })
  t.teardown(() => noStore.close())
  await noStore.getIdentityVerification('iv1')
  t.same(seen, [
    { url: '/v2/identity-verifications/iv1?storeId=store%20a%26b%3Dc', authorization: 'PortOne sec-ret_1' },
    { url: '/identity-verifications/iv1', authorization: 'PortOne sec-ret_1' }
  ])
})

t.test('every documented V2 error and every kind of garbage gives its documented error', async (t) => {
  const { fake, client } = await fakeWithClient(t)
  const seeded = fake.seedIdentityVerification()
  await t.rejects(client.getIdentityVerification('never-seeded'), { code: 'FST_IAMPORT_CERTIFICATION_NOT_FOUND', statusCode: 404 })

  const wrongSecret = new PortOneV2Client({ apiSecret: 'wrong-s3cr3t', baseUrl: fake.url })
  t.teardown(() => wrongSecret.close())
  await t.rejects(wrongSecret.getIdentityVerification(seeded.id), {
    code: 'FST_IAMPORT_UPSTREAM', statusCode: 502, upstreamStatus: 401, upstreamType: 'UNAUTHORIZED', message: /could not authenticate \(check apiSecret\)/
  })
  const otherStore = new PortOneV2Client({ apiSecret: fake.apiSecret, baseUrl: fake.url, storeId: 'store-not-mine' })
  t.teardown(() => otherStore.close())
  await t.rejects(otherStore.getIdentityVerification(seeded.id), {
    code: 'FST_IAMPORT_UPSTREAM', upstreamStatus: 403, upstreamType: 'FORBIDDEN', message: /HTTP 403, FORBIDDEN$/
  })

  const cases = [
    [{ kind: 'status', status: 400, message: '잘못된 요청' }, { upstreamStatus: 400, upstreamType: 'INVALID_REQUEST', upstreamMessage: '잘못된 요청', message: /HTTP 400, INVALID_REQUEST$/ }],
    [{ kind: 'status', status: 401 }, { upstreamStatus: 401, message: /could not authenticate/ }],
    [{ kind: 'status', status: 500 }, { upstreamStatus: 500, upstreamType: 'INTERNAL_SERVER_ERROR', message: /getIdentityVerification: HTTP 500$/ }],
    [{ kind: 'envelope', status: 503, body: { type: 'X'.repeat(500), message: '가'.repeat(500) } }, { upstreamType: 'X'.repeat(100), upstreamMessage: '가'.repeat(200), message: /HTTP 503$/ }],
    // Only upper-case words are a type, and only Hangul survives in a message: the rest could be an echo.
    [{ kind: 'envelope', status: 500, body: { type: 'Bearer abc.123', message: 'Internal error for 01012345678' } }, { upstreamType: undefined, upstreamMessage: undefined, message: /HTTP 500$/ }],
    [{ kind: 'envelope', status: 500, body: { type: 'PG_PROVIDER', message: '결제대행사 오류: key=sk_live_9f8e7d 01012345678' } }, { upstreamType: 'PG_PROVIDER', upstreamMessage: '결제대행사 오류: …', message: /HTTP 500$/ }],
    [{ kind: 'envelope', status: 404, body: { type: 'NOT_FOUND' } }, { upstreamStatus: 404, upstreamType: 'NOT_FOUND', message: /HTTP 404$/ }],
    [{ kind: 'html', status: 404 }, { upstreamStatus: 404, message: /HTTP 404 with a body that is not JSON/ }],
    [{ kind: 'html', status: 502 }, { upstreamStatus: 502, message: /HTTP 502 with a body that is not JSON/ }],
    [{ kind: 'envelope', status: 500, body: { code: -1, message: 'V1 shaped' } }, { upstreamStatus: 500, message: /not a PortOne error/ }],
    [{ kind: 'malformed-json' }, { upstreamStatus: 200, message: /HTTP 200 with a body that is not JSON/ }],
    [{ kind: 'envelope', body: { ...seeded, status: 'CANCELLED' } }, { message: /unexpected identity verification shape/ }],
    [{ kind: 'envelope', body: { ...seeded, verifiedCustomer: undefined } }, { message: /unexpected identity verification shape/ }],
    [{ kind: 'envelope', body: { ...seeded, verifiedAt: 1735689600 } }, { message: /unexpected identity verification shape/ }],
    [{ kind: 'envelope', body: { ...seeded, verifiedCustomer: { ...seeded.verifiedCustomer as object, ci: null } } }, { message: /unexpected identity verification shape/ }],
    [{ kind: 'envelope', body: { code: 0, message: null, response: seeded } }, { message: /unexpected identity verification shape/ }],
    [{ kind: 'envelope', body: { id: 'x'.repeat(1024 * 1024), status: 'READY' } }, { message: /body too large/ }],
    [{ kind: 'truncated' }, { message: /connection failed/ }],
    // A GET dropped before its answer is sent once more: only a second drop fails it.
    [{ kind: 'drop', times: 2 }, { message: /connection failed \(UND_ERR_SOCKET\)/ }]
  ] as const
  for (const [fault, expected] of cases) {
    fake.inject({ target: 'certification', ...fault })
    await t.rejects(client.getIdentityVerification(seeded.id), { code: 'FST_IAMPORT_UPSTREAM', statusCode: 502, ...expected }, `${fault.kind} ${'status' in fault ? fault.status : ''}`)
  }
  fake.inject({ target: 'certification', kind: 'envelope', status: 201, body: seeded })
  t.same(await client.getIdentityVerification(seeded.id), seeded, 'any 2xx with a good body is success')
  t.same(await client.getIdentityVerification(seeded.id), seeded, 'the client is still usable')
})

t.test('a hung upstream fails with FST_IAMPORT_UPSTREAM_TIMEOUT within the timeout plus 250 ms', async (t) => {
  const { fake, client } = await fakeWithClient(t, { timeoutMs: 300 })
  const seeded = fake.seedIdentityVerification()
  fake.inject({ target: 'certification', kind: 'latency', ms: 5000 })
  const started = performance.now()
  await t.rejects(client.getIdentityVerification(seeded.id), { code: 'FST_IAMPORT_UPSTREAM_TIMEOUT', statusCode: 504, operation: 'getIdentityVerification' })
  const elapsed = performance.now() - started
  t.ok(elapsed >= 290 && elapsed < 550, `failed after ${Math.round(elapsed)} ms`)
})

t.test('every id-injection form is refused with zero upstream requests', async (t) => {
  const { fake, client } = await fakeWithClient(t)
  const forms: unknown[] = ['.', '..', '../x', '%2e%2e', 'a/b', 'a/..', 'iv?x=1', 'iv#x', 'iv x', 'iv\n', ' iv', 'iv.1', '',
    'x'.repeat(65), 'ｉｖ', 'iv١٢٣', 123456, null, undefined, {}, ['iv1']]
  for (const form of forms) {
    await t.rejects(client.getIdentityVerification(form as string), { code: 'FST_IAMPORT_INVALID_IMP_UID', statusCode: 400 }, JSON.stringify(form))
  }
  t.equal(fake.calls.total, 0)

  // A host that widens the pattern still gets `.`/`..` refused and every other id URL-encoded.
  const wide = new PortOneV2Client({ apiSecret: fake.apiSecret, baseUrl: fake.url, identityVerificationIdPattern: /^.+$/ })
  t.teardown(() => wide.close())
  await t.rejects(wide.getIdentityVerification('..'), { code: 'FST_IAMPORT_INVALID_IMP_UID' })
  await t.rejects(wide.getIdentityVerification('.'), { code: 'FST_IAMPORT_INVALID_IMP_UID' })
  t.equal(fake.calls.total, 0)
  const odd = fake.seedIdentityVerification({ id: 'a/b?c#d e%' })
  t.equal((await wide.getIdentityVerification(odd.id)).id, odd.id)
  t.same(fake.requests.map((r) => r.path), ['/identity-verifications/a%2Fb%3Fc%23d%20e%25'])
})

t.test('errors and the client never show the secret or personal data from the body', async (t) => {
  const { fake, client } = await fakeWithClient(t)
  const seeded = fake.seedIdentityVerification()
  const customer = seeded.verifiedCustomer as Record<string, string>
  const wrong = new PortOneV2Client({ apiSecret: 'wrong-s3cr3t', baseUrl: fake.url })
  t.teardown(() => wrong.close())
  const errors = [await wrong.getIdentityVerification(seeded.id).catch((e: unknown) => e)]
  fake.inject({ target: 'certification', kind: 'envelope', status: 500, body: seeded })
  errors.push(await client.getIdentityVerification(seeded.id).catch((e: unknown) => e))
  fake.inject({ target: 'certification', kind: 'envelope', status: 200, body: { ...seeded, status: 'OTHER' } })
  errors.push(await client.getIdentityVerification(seeded.id).catch((e: unknown) => e))
  fake.inject({ target: 'certification', kind: 'drop', times: 2 })
  errors.push(await client.getIdentityVerification(seeded.id).catch((e: unknown) => e))
  for (const err of errors) {
    t.match(err, { code: 'FST_IAMPORT_UPSTREAM' })
    const shown = inspect(err, { depth: 10, showHidden: true }) + JSON.stringify(err)
    for (const secret of ['wrong-s3cr3t', fake.apiSecret, customer.name, customer.birthDate, customer.phoneNumber, customer.ci, customer.di]) {
      t.notOk(shown.includes(secret as string), 'error does not show a sensitive value')
    }
  }
  t.notMatch(inspect(client, { depth: 10, showHidden: true }) + JSON.stringify(client), fake.apiSecret, 'the secret is not visible on the client')
})

t.test('options are checked and a bad one is named', async (t) => {
  const cases: Array<[unknown, RegExp]> = [
    [undefined, /PortOneV2Client options must be an object/],
    [{}, /PortOneV2Client apiSecret is required/],
    [{ apiSecret: '   ' }, /apiSecret must be visible ASCII/],
    [{ apiSecret: 'abc\n' }, /apiSecret must be visible ASCII/],
    [{ apiSecret: 'a b' }, /apiSecret must be visible ASCII/],
    [{ apiSecret: 's3cr3t', storeId: '' }, /storeId must be a non-blank string/],
    [{ apiSecret: 's3cr3t', storeId: 42 }, /storeId must be a non-blank string/],
    [{ apiSecret: 's3cr3t', identityVerificationIdPattern: '(' }, /identityVerificationIdPattern must be a RegExp or a valid regular expression/],
    [{ apiSecret: 's3cr3t', dispatcher: {} }, /dispatcher must be an undici Dispatcher/],
    [{ apiSecret: 's3cr3t', apiKey: 'k' }, /PortOneV2Client apiKey is not an option/],
    [{ apiSecret: 's3cr3t', baseUrl: 'not a url' }, /baseUrl must be an absolute http\(s\) URL/],
    [{ apiSecret: 's3cr3t', baseUrl: 'file:///etc' }, /baseUrl must be an absolute http\(s\) URL/],
    [{ apiSecret: 's3cr3t', timeoutMs: -1 }, /timeoutMs must be a positive whole number of milliseconds/],
    [{ apiSecret: 's3cr3t', connections: 0 }, /connections must be a positive whole number/]
  ]
  for (const [options, message] of cases) {
    const err = (() => {
      try {
        return new PortOneV2Client(options as PortOneV2ClientOptions)
      } catch (e) {
        return e as Error & { code?: string }
      }
    })()
    t.match(err, { code: 'FST_IAMPORT_INVALID_OPTIONS', message }, String(message))
    t.notMatch((err as Error).message, /s3cr3t/)
  }
})

t.test('the own pool is closed by close(); an injected dispatcher is used and left open', async (t) => {
  const fake = await startFake(t)
  const seeded = fake.seedIdentityVerification()
  const client = new PortOneV2Client({ apiSecret: fake.apiSecret, baseUrl: fake.url })
  await client.close()
  await t.rejects(client.getIdentityVerification(seeded.id), { code: 'FST_IAMPORT_UPSTREAM' }, 'a closed pool refuses further calls')

  const agent = new Agent()
  t.teardown(() => agent.close())
  const injected = new PortOneV2Client({ apiSecret: fake.apiSecret, baseUrl: fake.url, dispatcher: agent })
  t.equal((await injected.getIdentityVerification(seeded.id)).id, seeded.id)
  await injected.close()
  t.equal(agent.closed, false, 'close() leaves a dispatcher it did not create')
  t.equal((await injected.getIdentityVerification(seeded.id)).id, seeded.id, 'and the client still works through it')
})

// ---------------------------------------------------------------------------------------------
// The fake V2 server
// ---------------------------------------------------------------------------------------------

t.test('fake: starts on 127.0.0.1 with a random secret and store, or the given ones', async (t) => {
  const a = await startFake(t)
  const b = await startFake(t, { apiSecret: 'given-secret', storeId: 'store-given' })
  t.match(a.url, /^http:\/\/127\.0\.0\.1:\d+$/)
  t.not(a.url, b.url)
  t.ok(a.apiSecret.length >= 40)
  t.match(a.storeId, /^store-[0-9a-f-]{36}$/)
  t.equal(b.apiSecret, 'given-secret')
  t.equal(b.storeId, 'store-given')
})

t.test('fake: seeded defaults are a VERIFIED Danal-like person, verified now', async (t) => {
  const fake = await startFake(t)
  const before = Date.now()
  const record = fake.seedIdentityVerification() as Record<string, any>
  t.match(record, {
    status: 'VERIFIED',
    id: /^identity-verification-[0-9a-f-]{36}$/,
    channel: { type: 'TEST', pgProvider: 'DANAL', key: /^channel-key-/ },
    verifiedCustomer: { name: '홍길동', birthDate: '1990-01-01', gender: 'MALE', phoneNumber: '01012345678', operator: 'LGU', isForeigner: false, ci: String, di: String },
    pgTxId: /^[0-9]{24}$/,
    pgRawResponse: String,
    version: 'V2'
  })
  const verifiedAt = Date.parse(record.verifiedAt)
  t.ok(verifiedAt >= before - 1000 && verifiedAt <= Date.now(), 'verifiedAt is now')
  t.ok(Date.parse(record.requestedAt) < verifiedAt, 'requested before verified')
  t.equal(record.verifiedCustomer.ci.length, 88)
  t.not(fake.seedIdentityVerification().verifiedCustomer, record.verifiedCustomer, 'a new person each time')
  t.not((fake.seedIdentityVerification() as any).verifiedCustomer.ci, record.verifiedCustomer.ci)

  record.status = 'READY'
  const stored = await call(fake, 'GET', `/identity-verifications/${record.id}`, auth(fake))
  t.equal(stored.json.status, 'VERIFIED', 'the returned copy is detached from the stored record')
})

t.test('fake: overrides, removed keys, merged verifiedCustomer, READY and FAILED shapes', async (t) => {
  const fake = await startFake(t)
  const custom = fake.seedIdentityVerification({
    id: 'my-id_1',
    verifiedAt: '2020-01-01T00:00:00Z',
    customData: '{"plan":"pro"}',
    pgTxId: undefined,
    verifiedCustomer: { name: 'Kim', ci: undefined, gender: 'FEMALE', operator: 'SKT_MVNO' }
  }) as Record<string, any>
  t.equal(custom.id, 'my-id_1')
  t.equal(custom.verifiedAt, '2020-01-01T00:00:00Z')
  t.equal(custom.customData, '{"plan":"pro"}')
  t.notOk('pgTxId' in custom)
  t.match(custom.verifiedCustomer, { name: 'Kim', gender: 'FEMALE', operator: 'SKT_MVNO', birthDate: '1990-01-01', di: String })
  t.notOk('ci' in custom.verifiedCustomer, 'ci removed')

  t.equal(fake.seedIdentityVerification({ verifiedCustomer: null as never }).verifiedCustomer, null)
  t.notOk('verifiedCustomer' in fake.seedIdentityVerification({ verifiedCustomer: undefined }))

  const ready = fake.seedIdentityVerification({ status: 'READY' }) as Record<string, any>
  t.match(ready, { status: 'READY', requestedCustomer: {}, version: 'V2' })
  t.notOk('verifiedCustomer' in ready || 'verifiedAt' in ready)
  const failed = fake.seedIdentityVerification({ status: 'FAILED' }) as Record<string, any>
  t.match(failed, { status: 'FAILED', failure: { reason: String, pgCode: String, pgMessage: String } })
  t.notOk('verifiedCustomer' in failed)
  const readyWithCustomer = fake.seedIdentityVerification({ status: 'READY', verifiedCustomer: { name: 'x' } }) as Record<string, any>
  t.same(readyWithCustomer.verifiedCustomer, { name: 'x' })
  t.equal(fake.seedIdentityVerification({ status: 7 as never }).status, 7 as never, 'a non-string status is stored as given')

  const same = fake.seedIdentityVerification({ id: 'my-id_1', status: 'READY' })
  t.equal((await call(fake, 'GET', '/identity-verifications/my-id_1', auth(fake))).json.status, same.status, 'seeding an id again replaces it')
  for (const id of ['', 5, null, undefined]) {
    t.throws(() => fake.seedIdentityVerification({ id: id as string }), TypeError)
  }
})

t.test('fake: Authorization must be PortOne <secret>; a foreign storeId is 403; unknown ids 404', async (t) => {
  const fake = await startFake(t)
  const record = fake.seedIdentityVerification()
  const path = `/identity-verifications/${record.id}`
  const unauthorized = { type: 'UNAUTHORIZED', message: '인증 정보가 올바르지 않습니다.' }
  for (const headers of [{}, { authorization: `Bearer ${fake.apiSecret}` }, { authorization: fake.apiSecret },
    { authorization: 'PortOne wrong' }, { authorization: `PortOne ${fake.apiSecret} extra` }] as Array<Record<string, string>>) {
    const answer = await call(fake, 'GET', path, headers)
    t.equal(answer.status, 401, JSON.stringify(headers))
    t.same(answer.json, unauthorized)
  }
  t.equal((await call(fake, 'GET', path, { authorization: `portone  ${fake.apiSecret}` })).status, 200, 'the scheme is case-insensitive')
  t.equal((await call(fake, 'GET', `${path}?storeId=${fake.storeId}`, auth(fake))).status, 200)
  const forbidden = await call(fake, 'GET', `${path}?storeId=store-other`, auth(fake))
  t.equal(forbidden.status, 403)
  t.equal(forbidden.json.type, 'FORBIDDEN')
  for (const id of ['unknown', '%E0%A4%A']) {
    const missing = await call(fake, 'GET', `/identity-verifications/${id}`, auth(fake))
    t.equal(missing.status, 404, id)
    t.equal(missing.json.type, 'IDENTITY_VERIFICATION_NOT_FOUND')
  }
  for (const [method, url] of [['POST', path], ['GET', '/identity-verifications'], ['GET', `${path}/x`], ['GET', '/nope'], ['GET', '/__fake/identity-verifications']]) {
    const answer = await call(fake, method as string, url as string, auth(fake))
    t.equal(answer.status, 404, `${method} ${url}`)
    t.same(answer.json, { type: 'NOT_FOUND', message: 'Not Found' })
  }
})

t.test('fake: POST /__fake/identity-verifications seeds without auth, with CORS, outside the API counter', async (t) => {
  const fake = await startFake(t)
  const preflight = await call(fake, 'OPTIONS', '/__fake/identity-verifications', { origin: 'http://page.example', 'access-control-request-method': 'POST' })
  t.equal(preflight.status, 204)
  t.equal(preflight.headers['access-control-allow-origin'], '*')
  t.equal(preflight.headers['access-control-allow-methods'], 'POST, OPTIONS')
  const json = { 'content-type': 'application/json' }
  const created = await call(fake, 'POST', '/__fake/identity-verifications', json, JSON.stringify({ id: 'iv-from-page', verifiedCustomer: { name: '이서준' } }))
  t.equal(created.status, 201)
  t.same(created.json, { id: 'iv-from-page', status: 'VERIFIED' })
  t.equal(created.headers['access-control-allow-origin'], '*')
  const fetched = await call(fake, 'GET', '/identity-verifications/iv-from-page', auth(fake))
  t.equal(fetched.json.verifiedCustomer.name, '이서준')
  for (const body of ['not json', '[1]', 'null', JSON.stringify({ id: '' })]) {
    const refused = await call(fake, 'POST', '/__fake/identity-verifications', json, body)
    t.equal(refused.status, 400, body)
    t.equal(refused.json.type, 'INVALID_REQUEST')
    t.equal(refused.headers['access-control-allow-origin'], '*')
  }
  fake.inject({ target: 'any', kind: 'drop' })
  t.equal((await call(fake, 'POST', '/__fake/identity-verifications', json, '{}')).status, 201, '/__fake is never faulted')
  t.same(fake.calls, { getIdentityVerification: 1, total: 8 })
})

t.test('fake: every fault kind, targets, times, clearFaults and validation', async (t) => {
  const fake = await startFake(t)
  const record = fake.seedIdentityVerification()
  const path = `/identity-verifications/${record.id}`

  fake.inject({ target: 'certification', kind: 'latency', ms: 300 })
  let started = Date.now()
  t.same((await call(fake, 'GET', path, auth(fake))).json, record, 'latency then a normal answer')
  t.ok(Date.now() - started >= 290)
  started = Date.now()
  await call(fake, 'GET', path, auth(fake))
  t.ok(Date.now() - started < 290, 'used up')

  fake.inject({ target: 'certification', kind: 'status', status: 400 })
  fake.inject({ target: 'certification', kind: 'status', status: 500, message: 'PG error' })
  fake.inject({ target: 'certification', kind: 'status', status: 599 })
  t.same((await call(fake, 'GET', path)).json, { type: 'INVALID_REQUEST', message: 'Bad Request' })
  t.same((await call(fake, 'GET', path)).json, { type: 'INTERNAL_SERVER_ERROR', message: 'PG error' })
  const unknownStatus = await call(fake, 'GET', path)
  t.equal(unknownStatus.status, 599)
  t.same(unknownStatus.json, { type: 'ERROR', message: 'Error' })

  fake.inject({ target: 'certification', kind: 'html', status: 502, times: 2 })
  for (let i = 0; i < 2; i++) {
    const html = await request(fake.url + path)
    t.equal(html.statusCode, 502)
    t.match(html.headers['content-type'], /text\/html/)
    t.match(await html.body.text(), /<title>502 Bad Gateway<\/title>/)
  }
  fake.inject({ target: 'certification', kind: 'malformed-json' })
  const malformed = await request(fake.url + path)
  t.equal(malformed.statusCode, 200)
  await t.rejects(malformed.body.json(), SyntaxError)

  fake.inject({ target: 'certification', kind: 'truncated' })
  const truncated = await request(fake.url + path)
  await t.rejects(truncated.body.text(), 'the body ends early')

  fake.inject({ target: 'certification', kind: 'drop' })
  await t.rejects(call(fake, 'GET', path, auth(fake)), { code: 'UND_ERR_SOCKET' })

  fake.inject({ target: 'certification', kind: 'envelope', body: { anything: 1 } })
  fake.inject({ target: 'certification', kind: 'envelope', status: 418, body: [1, 2] })
  const arbitrary = await call(fake, 'GET', path)
  t.equal(arbitrary.status, 200, 'default status 200')
  t.same(arbitrary.json, { anything: 1 })
  const teapot = await call(fake, 'GET', path)
  t.equal(teapot.status, 418)
  t.same(teapot.json, [1, 2])

  fake.inject({ target: 'token', kind: 'status', status: 500 })
  t.equal((await call(fake, 'GET', path, auth(fake))).status, 200, 'a token fault matches nothing in V2')
  fake.clearFaults()
  fake.inject({ target: 'certification', kind: 'status', status: 503 })
  t.equal((await call(fake, 'GET', '/nope')).status, 404, 'a certification fault skips other paths')
  t.equal((await call(fake, 'GET', path)).status, 503)
  const forever = { target: 'any', kind: 'status', status: 503, times: Infinity } as const
  fake.inject(forever)
  for (const url of [path, '/nope', path]) t.equal((await call(fake, 'GET', url, auth(fake))).status, 503, url)
  t.equal(forever.times, Infinity, "the caller's object is not mutated")
  fake.clearFaults()
  t.equal((await call(fake, 'GET', path, auth(fake))).status, 200)
  for (const times of [0, -1, Number.NaN]) {
    t.throws(() => fake.inject({ target: 'any', kind: 'drop', times }), RangeError)
  }
  t.equal((await call(fake, 'GET', path, auth(fake))).status, 200, 'refused faults are not queued')
})

t.test('fake: counters, requests log and resetCalls', async (t) => {
  const fake = await startFake(t)
  const { calls, requests } = fake
  const record = fake.seedIdentityVerification()
  await call(fake, 'GET', `/identity-verifications/${record.id}?storeId=x`)
  await call(fake, 'GET', '/nope?x=%20y')
  await call(fake, 'POST', '/__fake/identity-verifications', {}, '{}')
  t.same(calls, { getIdentityVerification: 1, total: 3 })
  t.same(requests, [
    { method: 'GET', path: `/identity-verifications/${record.id}?storeId=x` },
    { method: 'GET', path: '/nope?x=%20y' },
    { method: 'POST', path: '/__fake/identity-verifications' }
  ])
  fake.resetCalls()
  t.equal(fake.calls, calls, 'reset in place')
  t.same(calls, { getIdentityVerification: 0, total: 0 })
  t.same(requests, [])
})

t.test('fake: bodies over 64 KiB are drained and refused with 413; a vanishing client is harmless', async (t) => {
  const fake = await startFake(t)
  const json = { 'content-type': 'application/json' }
  const over = await call(fake, 'POST', '/__fake/identity-verifications', json, JSON.stringify({ pad: 'x'.repeat(64 * 1024) }))
  t.equal(over.status, 413)
  t.same(over.json, { type: 'INVALID_REQUEST', message: 'Payload Too Large' })

  const { port } = new URL(fake.url)
  const socket = connect(Number(port), '127.0.0.1')
  await once(socket, 'connect')
  socket.write('POST /__fake/identity-verifications HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{"id')
  while (fake.calls.total === 1) await sleep(5)
  socket.destroy()
  await sleep(50)
  t.equal((await call(fake, 'POST', '/__fake/identity-verifications', json, '{}')).status, 201, 'still serving')
})

t.test('fake: close ends keep-alive sockets, is idempotent, and the port stops answering', async (t) => {
  const fake = await createFakePortOneV2()
  t.equal((await call(fake, 'GET', '/nope')).status, 404)
  const started = Date.now()
  const closing = fake.close()
  t.equal(fake.close(), closing, 'the same promise')
  await closing
  t.ok(Date.now() - started < 1000)
  await t.rejects(call(fake, 'GET', '/nope'))
})
