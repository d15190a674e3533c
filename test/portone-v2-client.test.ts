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
  t.equal((await call(fake, 'GET', path, auth(fake))).status, 200, 'a token fault matches the login only')
  t.equal((await call(fake, 'POST', '/login/api-secret', {}, JSON.stringify({ apiSecret: fake.apiSecret }))).status, 500, 'the login is faulted')
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

// ---------------------------------------------------------------------------------------------
// Server-driven (SMS) verification: the client's send, confirm and resend, and the fake's
// ---------------------------------------------------------------------------------------------

const customer = { name: '김민지', phoneNumber: '01055556666', identityNumber: '9003042', ipAddress: '203.0.113.7' }

t.test('send, confirm and resend: a code is sent, a new one replaces it, the right one completes the verification', async (t) => {
  const { fake, client } = await fakeWithClient(t)
  const id = 'iv' + 'a'.repeat(32)
  await client.sendIdentityVerification(id, { channelKey: fake.channelKey, customer: { ...customer, id: 'user-1' }, operator: 'LGU_MVNO', method: 'SMS', customData: '{"step":1}' })
  t.same(fake.requests.at(-1), { method: 'POST', path: `/identity-verifications/${id}/send` })
  const ready = await client.getIdentityVerification(id)
  t.match(ready, { id, status: 'READY', customData: '{"step":1}', requestedCustomer: { id: 'user-1', name: '김민지', phoneNumber: '01055556666', birthYear: '1990', birthMonth: '03', birthDay: '04' } })
  const first = fake.sentOtp(id)!
  t.match(first, /^[0-9]{6}$/)
  await client.resendIdentityVerification(id)
  t.same(fake.requests.at(-1), { method: 'POST', path: `/identity-verifications/${id}/resend?storeId=${fake.storeId}` })
  const second = fake.sentOtp(id)!
  if (second !== first) await t.rejects(client.confirmIdentityVerification(id, first), { code: 'FST_IAMPORT_PG_REFUSED' }, 'the first code no longer works')
  const verified = await client.confirmIdentityVerification(id, second)
  t.match(verified, {
    id,
    status: 'VERIFIED',
    verifiedAt: String,
    verifiedCustomer: { id: 'user-1', name: '김민지', phoneNumber: '01055556666', birthDate: '1990-03-04', gender: 'FEMALE', isForeigner: false, operator: 'LGU_MVNO', ci: String, di: String }
  })
  t.same(await client.getIdentityVerification(id), verified, 'the fake stores what it answered')
  t.equal(fake.sentOtp(id), undefined, 'no code pending once verified')
  t.same(fake.otpCalls, { loginViaApiSecret: 0, sendIdentityVerification: 1, confirmIdentityVerification: second === first ? 1 : 2, resendIdentityVerification: 1 })

  // The same person again: the same CI and DI.
  const again = 'iv' + 'b'.repeat(32)
  await client.sendIdentityVerification(again, { channelKey: fake.channelKey, customer, operator: 'SKT', method: 'SMS' })
  const person = (await client.confirmIdentityVerification(again, fake.sentOtp(again))).verifiedCustomer
  t.equal(person.ci, verified.verifiedCustomer.ci)
  t.equal(person.di, verified.verifiedCustomer.di)
  t.equal(person.operator, 'SKT')
})

t.test('send and confirm carry the storeId in the body, resend in the query; a client without one sends none', async (t) => {
  const seen: Array<{ url?: string, body: string }> = []
  const server = createServer((req, res) => {
    let body = ''
    req.setEncoding('utf8')
    req.on('data', (chunk: string) => { body += chunk })
    req.on('end', () => {
      seen.push({ url: req.url, body })
      res.setHeader('content-type', 'application/json')
      res.end(JSON.stringify(req.url!.endsWith('/confirm') ? { identityVerification: minimalVerified } : {}))
    })
  }).listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => server.close())
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const stored = new PortOneV2Client({ apiSecret: 's', baseUrl: url, storeId: 'store-1' })
  const plain = new PortOneV2Client({ apiSecret: 's', baseUrl: url })
  t.teardown(() => stored.close())
  t.teardown(() => plain.close())
  const input = { channelKey: 'channel-1', customer, operator: 'KT', method: 'SMS' } as const
  await stored.sendIdentityVerification('iv1', input)
  t.same(await stored.confirmIdentityVerification('iv1', '123456'), minimalVerified)
  await stored.resendIdentityVerification('iv1')
  await plain.sendIdentityVerification('iv1', input)
  await plain.confirmIdentityVerification('iv1')
  await plain.resendIdentityVerification('iv1')
  t.same(seen, [
    { url: '/identity-verifications/iv1/send', body: JSON.stringify({ storeId: 'store-1', ...input }) },
    { url: '/identity-verifications/iv1/confirm', body: '{"storeId":"store-1","otp":"123456"}' },
    { url: '/identity-verifications/iv1/resend?storeId=store-1', body: '' },
    { url: '/identity-verifications/iv1/send', body: JSON.stringify(input) },
    { url: '/identity-verifications/iv1/confirm', body: '{}' },
    { url: '/identity-verifications/iv1/resend', body: '' }
  ])
})

t.test('the V2 error types of send, confirm and resend map to documented codes', async (t) => {
  const { fake, client } = await fakeWithClient(t)
  const input = { channelKey: fake.channelKey, customer, operator: 'SKT', method: 'SMS' } as const
  const id = 'iv' + 'c'.repeat(32)
  await client.sendIdentityVerification(id, input)
  await t.rejects(client.sendIdentityVerification(id, input), {
    code: 'FST_IAMPORT_OTP_ALREADY_SENT', statusCode: 409, upstreamStatus: 409, upstreamType: 'IDENTITY_VERIFICATION_ALREADY_SENT', operation: 'sendIdentityVerification'
  })
  const refused = await client.confirmIdentityVerification(id, '000000').catch((e: unknown) => e) as Record<string, unknown>
  t.match(refused, { code: 'FST_IAMPORT_PG_REFUSED', statusCode: 502, upstreamStatus: 502, upstreamType: 'PG_PROVIDER', pgCode: 'FAKE_OTP_MISMATCH', operation: 'confirmIdentityVerification' })
  t.equal(refused.upstreamMessage, undefined, 'the messages of the server-driven calls are dropped: the PG knows the name')
  t.equal(refused.message, 'The identity verification provider refused the request')
  await client.confirmIdentityVerification(id, fake.sentOtp(id))
  for (const call of [() => client.sendIdentityVerification(id, input), () => client.confirmIdentityVerification(id, '123456'), () => client.resendIdentityVerification(id)] as Array<() => Promise<unknown>>) {
    await t.rejects(call(), { code: 'FST_IAMPORT_ALREADY_VERIFIED', statusCode: 409, upstreamType: 'IDENTITY_VERIFICATION_ALREADY_VERIFIED' })
  }
  const browserStarted = fake.seedIdentityVerification({ status: 'READY' })
  await t.rejects(client.confirmIdentityVerification(browserStarted.id, '123456'), { code: 'FST_IAMPORT_OTP_NOT_SENT', statusCode: 404, upstreamType: 'IDENTITY_VERIFICATION_NOT_SENT' })
  await t.rejects(client.resendIdentityVerification(browserStarted.id), { code: 'FST_IAMPORT_OTP_NOT_SENT' })
  for (const call of [() => client.confirmIdentityVerification('never-sent', '123456'), () => client.resendIdentityVerification('never-sent')] as Array<() => Promise<unknown>>) {
    await t.rejects(call(), { code: 'FST_IAMPORT_CERTIFICATION_NOT_FOUND', statusCode: 404 })
  }
  await t.rejects(client.sendIdentityVerification('iv2', { ...input, channelKey: 'channel-key-other' }), {
    code: 'FST_IAMPORT_UPSTREAM', upstreamStatus: 404, upstreamType: 'CHANNEL_NOT_FOUND', message: 'Upstream request failed: sendIdentityVerification: HTTP 404, CHANNEL_NOT_FOUND (check the channel key)'
  })
  await t.rejects(client.sendIdentityVerification('iv2', { ...input, customer: { ...customer, identityNumber: '9002302' } }), {
    code: 'FST_IAMPORT_UPSTREAM', upstreamStatus: 400, upstreamType: 'INVALID_REQUEST', upstreamMessage: undefined, message: /sendIdentityVerification: HTTP 400, INVALID_REQUEST$/
  })

  const cases = [
    [{ status: 400, body: { type: 'MAX_TRANSACTION_COUNT_REACHED', message: '최대 시도 횟수 초과' } }, { code: 'FST_IAMPORT_OTP_LIMIT_REACHED', statusCode: 429 }],
    [{ status: 502, body: { type: 'PG_PROVIDER', pgCode: 'UCD_0106', pgMessage: '인증번호 불일치' } }, { code: 'FST_IAMPORT_PG_REFUSED', pgCode: 'UCD_0106' }],
    [{ status: 502, body: { type: 'PG_PROVIDER', pgCode: '9015' } }, { code: 'FST_IAMPORT_PG_REFUSED', pgCode: '9015' }],
    // A PG code that could be an echo (a phone number, a birth date, anything long or odd) is dropped.
    [{ status: 502, body: { type: 'PG_PROVIDER', pgCode: '01055556666' } }, { code: 'FST_IAMPORT_PG_REFUSED', pgCode: undefined }],
    [{ status: 502, body: { type: 'PG_PROVIDER', pgCode: '900304' } }, { code: 'FST_IAMPORT_PG_REFUSED', pgCode: undefined }],
    [{ status: 502, body: { type: 'PG_PROVIDER', pgCode: 'key=sk_live 1' } }, { code: 'FST_IAMPORT_PG_REFUSED', pgCode: undefined }],
    [{ status: 502, body: { type: 'PG_PROVIDER', pgCode: 'A'.repeat(33) } }, { code: 'FST_IAMPORT_PG_REFUSED', pgCode: undefined }],
    [{ status: 502, body: { type: 'PG_PROVIDER', pgCode: 7 } }, { code: 'FST_IAMPORT_PG_REFUSED', pgCode: undefined }],
    // A documented type under another status than its own is an unexpected answer.
    [{ status: 409, body: { type: 'PG_PROVIDER' } }, { code: 'FST_IAMPORT_UPSTREAM', upstreamType: 'PG_PROVIDER', message: /sendIdentityVerification: HTTP 409$/ }],
    [{ status: 500, body: { type: 'IDENTITY_VERIFICATION_ALREADY_SENT' } }, { code: 'FST_IAMPORT_UPSTREAM', message: /HTTP 500$/ }],
    [{ status: 401, body: { type: 'UNAUTHORIZED' } }, { code: 'FST_IAMPORT_UPSTREAM', message: /could not authenticate/ }],
    [{ status: 200, body: [] }, { code: 'FST_IAMPORT_UPSTREAM', message: /sendIdentityVerification: unexpected response shape/ }],
    [{ status: 200, body: 'sent' }, { code: 'FST_IAMPORT_UPSTREAM', message: /unexpected response shape/ }]
  ] as const
  for (const [answer, expected] of cases) {
    fake.inject({ target: 'certification', kind: 'envelope', ...answer })
    await t.rejects(client.sendIdentityVerification('iv3', input), expected, JSON.stringify(answer.body))
  }
  fake.inject({ target: 'certification', kind: 'envelope', body: { identityVerification: { id: 'iv3', status: 'READY' } } })
  await t.rejects(client.confirmIdentityVerification('iv3', '123456'), { code: 'FST_IAMPORT_UPSTREAM', message: /confirmIdentityVerification: unexpected identity verification shape/ })
  fake.inject({ target: 'certification', kind: 'envelope', body: [] })
  await t.rejects(client.resendIdentityVerification('iv3'), { code: 'FST_IAMPORT_UPSTREAM', message: /resendIdentityVerification: unexpected response shape/ })
  fake.inject({ target: 'certification', kind: 'drop' })
  await t.rejects(client.sendIdentityVerification('iv3', input), { code: 'FST_IAMPORT_UPSTREAM', message: /connection failed/ })
  t.equal(fake.otpCalls.sendIdentityVerification, 5 + cases.length + 1, 'a dropped send is never sent twice')
  for (const call of [() => client.sendIdentityVerification('../x', input), () => client.confirmIdentityVerification('a/b'), () => client.resendIdentityVerification('..')] as Array<() => Promise<unknown>>) {
    const before = fake.calls.total
    await t.rejects(call(), { code: 'FST_IAMPORT_INVALID_IMP_UID' })
    t.equal(fake.calls.total, before, 'no request for a bad id')
  }
})

t.test('fake: POST /login/api-secret gives a Bearer access token that authorizes every call until it expires', async (t) => {
  const fake = await startFake(t)
  const login = (body: string) => call(fake, 'POST', '/login/api-secret', { 'content-type': 'application/json' }, body)
  const answer = await login(JSON.stringify({ apiSecret: fake.apiSecret }))
  t.equal(answer.status, 200)
  t.same(Object.keys(answer.json).sort(), ['accessToken', 'refreshToken'])
  t.match(answer.json, { accessToken: /^[A-Za-z0-9_-]{40,}$/, refreshToken: /^[A-Za-z0-9_-]{40,}$/ })
  t.same(fake.issuedTokens(), [answer.json.accessToken])
  const bearer = { authorization: `Bearer ${answer.json.accessToken}` }
  const record = fake.seedIdentityVerification()
  t.equal((await call(fake, 'GET', `/identity-verifications/${record.id}`, bearer)).status, 200)
  t.equal((await call(fake, 'GET', `/identity-verifications/${record.id}`, { authorization: `bearer  ${answer.json.accessToken}` })).status, 200, 'the scheme is case-insensitive')
  const send = await call(fake, 'POST', '/identity-verifications/iv-bearer/send', bearer,
    JSON.stringify({ channelKey: fake.channelKey, customer, operator: 'KT', method: 'SMS' }))
  t.equal(send.status, 200)
  t.same(send.json, {})
  for (const headers of [{ authorization: `Bearer ${answer.json.refreshToken}` }, { authorization: `Bearer ${fake.apiSecret}` }, { authorization: `PortOne ${answer.json.accessToken}` }]) {
    t.equal((await call(fake, 'GET', `/identity-verifications/${record.id}`, headers)).status, 401, 'only an access token, only as Bearer')
  }
  fake.expireTokens()
  const expired = await call(fake, 'GET', `/identity-verifications/${record.id}`, bearer)
  t.equal(expired.status, 401)
  t.equal(expired.json.type, 'UNAUTHORIZED')

  t.equal((await login(JSON.stringify({ apiSecret: 'wrong' }))).status, 401)
  for (const body of ['{}', '[]', '{"apiSecret":1}', '{"apiSecret":', '']) {
    const refused = await login(body)
    t.equal(refused.status, 400, body)
    t.equal(refused.json.type, 'INVALID_REQUEST')
  }
  t.equal(fake.otpCalls.loginViaApiSecret, 7)
  t.equal((await call(fake, 'GET', '/login/api-secret')).status, 404, 'POST only')
  t.equal(fake.otpCalls.loginViaApiSecret, 7)
})

t.test('fake: send checks what the real API requires; confirm, resend and the APP method', async (t) => {
  const fake = await startFake(t, { otp: '246810' })
  const send = (id: string, body: unknown, headers = auth(fake)) => call(fake, 'POST', `/identity-verifications/${id}/send`, headers, JSON.stringify(body))
  const valid = { channelKey: fake.channelKey, customer, operator: 'SKT', method: 'SMS' }
  const invalid: Array<[unknown, string]> = [
    [{}, 'channelKey, customer.name, customer.phoneNumber, customer.ipAddress, operator, method'],
    [{ ...valid, channelKey: 7 }, 'channelKey'],
    [{ ...valid, customer: { ...customer, name: ' ' } }, 'customer.name'],
    [{ ...valid, customer: { ...customer, phoneNumber: '010-5555-6666' } }, 'customer.phoneNumber'],
    [{ ...valid, customer: { ...customer, ipAddress: '' } }, 'customer.ipAddress'],
    [{ ...valid, customer: { ...customer, identityNumber: undefined } }, 'customer.identityNumber'],
    [{ ...valid, customer: { ...customer, identityNumber: '9013042' } }, 'customer.identityNumber'],
    [{ ...valid, customer: { ...customer, identityNumber: '900304' } }, 'customer.identityNumber'],
    [{ ...valid, operator: 'LGT' }, 'operator'],
    [{ ...valid, method: 'sms' }, 'method'],
    [{ ...valid, customer: 'kim' }, 'customer.name, customer.phoneNumber, customer.ipAddress, customer.identityNumber']
  ]
  for (const [body, fields] of invalid) {
    const refused = await send('iv-x', body)
    t.equal(refused.status, 400, fields)
    t.same(refused.json, { type: 'INVALID_REQUEST', message: `Missing or invalid: ${fields}` })
  }
  t.equal((await call(fake, 'POST', '/identity-verifications/iv-x/send', auth(fake), '{"channelKey":')).json.type, 'INVALID_REQUEST', 'not JSON')
  t.equal((await call(fake, 'POST', '/identity-verifications/iv-x/send', auth(fake), '[1]')).status, 400, 'not an object')
  t.equal((await send('iv-x', valid, {})).status, 401)
  t.equal((await send('iv-x', { ...valid, storeId: 'store-other' })).status, 403)
  t.equal((await send('iv-x', { ...valid, storeId: fake.storeId })).status, 200)
  t.equal(fake.sentOtp('iv-x'), '246810', 'the otp option fixes the code')
  t.equal((await call(fake, 'POST', '/identity-verifications/iv-x/resend?storeId=store-other', auth(fake))).status, 403)
  t.equal((await call(fake, 'POST', '/identity-verifications/iv-x/confirm', auth(fake), JSON.stringify({ otp: '246810', storeId: 'store-other' }))).status, 403)
  t.equal((await call(fake, 'POST', '/identity-verifications/iv-x/resend', auth(fake))).status, 200)
  t.equal(fake.sentOtp('iv-x'), '246810')
  t.equal((await call(fake, 'POST', '/identity-verifications/iv-x/confirm', auth(fake), '{"otp":"246810"}')).status, 200)
  t.equal((await call(fake, 'POST', '/identity-verifications/iv-x/cancel', auth(fake), '{}')).status, 404, 'no other action')
  t.equal((await call(fake, 'GET', '/identity-verifications/iv-x/confirm', auth(fake))).status, 404, 'POST only')
  t.equal((await call(fake, 'POST', '/identity-verifications/%E0%A4%A/confirm', auth(fake), '{}')).json.type, 'IDENTITY_VERIFICATION_NOT_FOUND')

  // APP: approval in the carrier's app, confirmed without a code; no identity number needed.
  const { identityNumber, ...withoutNumber } = customer
  t.ok(identityNumber)
  t.equal((await send('iv-app', { ...valid, method: 'APP', customer: withoutNumber })).status, 200)
  t.equal(fake.sentOtp('iv-app'), undefined, 'no code for APP')
  t.equal((await call(fake, 'POST', '/identity-verifications/iv-app/resend', auth(fake))).status, 200)
  const app = await call(fake, 'POST', '/identity-verifications/iv-app/confirm', auth(fake), '')
  t.equal(app.status, 200)
  t.match(app.json.identityVerification.verifiedCustomer, { name: '김민지', phoneNumber: '01055556666', operator: 'SKT' })
  t.notOk('birthDate' in app.json.identityVerification.verifiedCustomer, 'no birth date without the identity number')
  t.notOk('gender' in app.json.identityVerification.verifiedCustomer)

  // A send over a browser-started (seeded) verification starts it afresh; seeding over a sent one drops its code.
  fake.seedIdentityVerification({ id: 'iv-seeded', status: 'READY' })
  t.equal((await send('iv-seeded', { ...valid, customer: { ...customer, identityNumber: '0501013' } })).status, 200)
  t.equal((await call(fake, 'GET', '/identity-verifications/iv-seeded', auth(fake))).json.requestedCustomer.birthYear, '2005', '3: born in the 2000s')
  fake.seedIdentityVerification({ id: 'iv-seeded', status: 'READY' })
  t.equal(fake.sentOtp('iv-seeded'), undefined)
  t.equal((await call(fake, 'POST', '/identity-verifications/iv-seeded/confirm', auth(fake), '{"otp":"246810"}')).json.type, 'IDENTITY_VERIFICATION_NOT_SENT')

  t.same(fake.otpCalls, { loginViaApiSecret: 0, sendIdentityVerification: 18, confirmIdentityVerification: 5, resendIdentityVerification: 3 })
  fake.resetCalls()
  t.same(fake.otpCalls, { loginViaApiSecret: 0, sendIdentityVerification: 0, confirmIdentityVerification: 0, resendIdentityVerification: 0 })
})
