import t from 'tap'
import { once } from 'node:events'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { inspect } from 'node:util'
import { IamportClient } from '../lib/v1/client.js'
import { fakeWithClient } from './helpers/fake.js'

const danal = { name: '홍길동', birthday: '1994-09-15', phone: '01012345678', unique_key: 'CI-value-'.padEnd(88, 'x'), unique_in_site: 'DI-value-'.padEnd(64, 'y') }

t.test('gets a certification in the upstream shape, tolerant of absent fields', async (t) => {
  const { fake, client } = await fakeWithClient(t)
  const seeded = fake.seedCertification({ ...danal, phone: undefined, carrier: undefined })
  const got = await client.getCertification(seeded.imp_uid)
  t.same(got, seeded)
  t.notOk('phone' in got, 'an absent optional field stays absent')
  t.equal(fake.calls.getToken, 1)
  t.equal(fake.calls.getCertification, 1)
})

t.test('200 concurrent cold calls make exactly one getToken', async (t) => {
  const { fake, client } = await fakeWithClient(t)
  const seeded = fake.seedCertification()
  const results = await Promise.all(Array.from({ length: 200 }, () => client.getCertification(seeded.imp_uid)))
  t.equal(results.length, 200)
  t.ok(results.every((r) => r.imp_uid === seeded.imp_uid))
  t.equal(fake.calls.getToken, 1)
  t.equal(fake.calls.getCertification, 200)
})

t.test('the token is reused within its lifetime and refreshed a margin before expiry', async (t) => {
  // 62 s of lifetime leaves 2 s before the 60 s refresh margin.
  const { fake, client } = await fakeWithClient(t, {}, { tokenLifetimeSeconds: 62 })
  const first = await client.getToken()
  t.equal(await client.getToken(), first)
  t.equal(fake.calls.getToken, 1, 'reused while more than the margin is left')
  await new Promise((resolve) => setTimeout(resolve, 2100))
  const second = await client.getToken()
  t.equal(fake.calls.getToken, 2, 'asked again once inside the margin')
  t.equal(second, first, 'i\'mport re-issues the same token, its expiry extended')
  t.equal(await client.getToken(), second)
  t.equal(fake.calls.getToken, 2, 'the extended token is cached again')
})

t.test('a server clock two hours off in either direction changes nothing', async (t) => {
  for (const offset of [7200, -7200]) {
    const { fake, client } = await fakeWithClient(t, {}, { clockOffsetSeconds: offset })
    const seeded = fake.seedCertification()
    for (let i = 0; i < 20; i++) await client.getCertification(seeded.imp_uid)
    t.equal(fake.calls.getToken, 1, `offset ${offset} s: one getToken for 20 calls`)
  }
})

t.test('a 401 drops the token and retries once; a second 401 fails', async (t) => {
  const { fake, client } = await fakeWithClient(t)
  const seeded = fake.seedCertification()
  const before = await client.getToken()
  fake.expireTokens()
  const got = await client.getCertification(seeded.imp_uid)
  t.equal(got.imp_uid, seeded.imp_uid, 'the retry succeeded')
  t.equal(fake.calls.getToken, 2)
  t.equal(fake.calls.getCertification, 2)
  t.not(await client.getToken(), before, 'a new token replaced the refused one')

  fake.resetCalls()
  fake.inject({ target: 'certification', kind: 'status', status: 401, times: 2 })
  await t.rejects(client.getCertification(seeded.imp_uid), { code: 'FST_IAMPORT_UPSTREAM', statusCode: 502, upstreamStatus: 401, message: /token refused twice/ })
  t.equal(fake.calls.getCertification, 2, 'retried exactly once')
  t.equal(fake.calls.getToken, 1)
})

t.test('an expired_at that is not in the future gives at most one getToken per call', async (t) => {
  const { fake, client } = await fakeWithClient(t)
  const seeded = fake.seedCertification()
  const res = await fetch(`${fake.url}/users/getToken`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ imp_key: fake.apiKey, imp_secret: fake.apiSecret }) })
  const { response } = await res.json() as { response: { access_token: string, now: number } }
  fake.resetCalls()
  fake.inject({ target: 'token', kind: 'envelope', times: Infinity, body: { code: 0, message: null, response: { access_token: response.access_token, now: response.now, expired_at: response.now - 10 } } })
  for (let i = 0; i < 5; i++) await client.getCertification(seeded.imp_uid)
  t.equal(fake.calls.getToken, 5)
  t.equal(fake.calls.getCertification, 5)
})

t.test('a hung upstream fails with FST_IAMPORT_UPSTREAM_TIMEOUT within the timeout plus 250 ms', async (t) => {
  const { fake, client } = await fakeWithClient(t, { timeoutMs: 300 })
  const seeded = fake.seedCertification()
  await client.getToken()
  fake.inject({ target: 'certification', kind: 'latency', ms: 5000 })
  const started = performance.now()
  await t.rejects(client.getCertification(seeded.imp_uid), { code: 'FST_IAMPORT_UPSTREAM_TIMEOUT', statusCode: 504, operation: 'getCertification' })
  const elapsed = performance.now() - started
  t.ok(elapsed >= 290 && elapsed < 550, `failed after ${Math.round(elapsed)} ms`)

  fake.inject({ target: 'token', kind: 'latency', ms: 5000 })
  fake.expireTokens()
  await t.rejects(client.getCertification(seeded.imp_uid), { code: 'FST_IAMPORT_UPSTREAM_TIMEOUT', operation: 'getToken' })
})

t.test('every kind of upstream failure gives its documented error', async (t) => {
  const { fake, client } = await fakeWithClient(t)
  const seeded = fake.seedCertification()
  await client.getToken()
  const cases = [
    [{ kind: 'status', status: 500 }, { upstreamStatus: 500, upstreamCode: -1, message: /HTTP 500, code -1/ }],
    // The message keeps its Hangul only: anything else in it could be an echo of the request.
    [{ kind: 'status', status: 503, code: 7, message: '점검 중입니다 (maintenance until 2025-01-01 09:00)' }, { upstreamStatus: 503, upstreamCode: 7, upstreamMessage: '점검 중입니다 (…)' }],
    [{ kind: 'html', status: 502 }, { upstreamStatus: 502, message: /not JSON/ }],
    [{ kind: 'malformed-json' }, { upstreamStatus: 200, message: /not JSON/ }],
    [{ kind: 'envelope', body: { hello: 'world' } }, { upstreamStatus: 200, message: /not an i'mport envelope/ }],
    [{ kind: 'envelope', body: { code: 1, message: 'nope', response: null } }, { upstreamCode: 1, upstreamMessage: undefined, message: /HTTP 200, code 1$/ }],
    [{ kind: 'envelope', body: { code: 1012345678, message: null, response: null } }, { upstreamCode: undefined, message: /HTTP 200, code out of range$/ }],
    [{ kind: 'envelope', body: { code: 1.5, message: null, response: null } }, { upstreamCode: undefined, message: /code out of range$/ }],
    [{ kind: 'envelope', body: { code: 0, message: null, response: null } }, { upstreamCode: 0, message: /HTTP 200, code 0/ }],
    [{ kind: 'envelope', body: { code: 0, message: null, response: { imp_uid: 42 } } }, { message: /unexpected certification shape/ }],
    [{ kind: 'envelope', body: { code: 0, message: 'x'.repeat(1024 * 1024), response: null } }, { message: /body too large/ }],
    [{ kind: 'envelope', body: { code: 9, message: '가'.repeat(200_000), response: null } }, { upstreamCode: 9, upstreamMessage: '가'.repeat(200) }],
    [{ kind: 'truncated' }, { message: /connection failed/ }],
    // A GET dropped before its answer is sent once more: only a second drop fails it.
    [{ kind: 'drop', times: 2 }, { message: /connection failed \(UND_ERR_SOCKET\)/ }]
  ] as const
  for (const [fault, expected] of cases) {
    fake.inject({ target: 'certification', ...fault })
    await t.rejects(client.getCertification(seeded.imp_uid), { code: 'FST_IAMPORT_UPSTREAM', statusCode: 502, ...expected }, fault.kind)
  }
  // 201 is still a 2xx with a good envelope: success.
  fake.inject({ target: 'certification', kind: 'envelope', status: 201, body: { code: 0, message: null, response: seeded } })
  t.same(await client.getCertification(seeded.imp_uid), seeded)
  await t.rejects(client.getCertification('imp_000000000000'), { code: 'FST_IAMPORT_CERTIFICATION_NOT_FOUND', statusCode: 404 })
})

t.test('getToken failures: bad credentials, bad shape, nobody listening', async (t) => {
  const { fake } = await fakeWithClient(t)
  const wrong = new IamportClient({ apiKey: fake.apiKey, apiSecret: 'wrong-s3cr3t', baseUrl: fake.url })
  t.teardown(() => wrong.close())
  const err = await wrong.getToken().catch((e: unknown) => e)
  t.match(err, { code: 'FST_IAMPORT_UPSTREAM', upstreamStatus: 401, message: /could not authenticate/ })
  t.notMatch(inspect(err, { depth: 10, showHidden: true }), /wrong-s3cr3t/)
  t.notMatch(JSON.stringify(err), /wrong-s3cr3t/)
  t.notMatch(inspect(wrong, { depth: 10, showHidden: true }), /wrong-s3cr3t/, 'the secret is not visible on the client either')

  const { fake: fake2, client } = await fakeWithClient(t)
  fake2.inject({ target: 'token', kind: 'envelope', body: { code: 0, message: null, response: { access_token: '' } } })
  await t.rejects(client.getToken(), { code: 'FST_IAMPORT_UPSTREAM', message: /getToken: unexpected response shape/ })

  const closed = new IamportClient({ apiKey: 'k', apiSecret: 's', baseUrl: 'http://127.0.0.1:1', timeoutMs: 1000 })
  t.teardown(() => closed.close())
  await t.rejects(closed.getToken(), { code: 'FST_IAMPORT_UPSTREAM', message: /connection failed \(ECONNREFUSED\)/ })
})

t.test('errors never carry the secret, a token or personal data from the body', async (t) => {
  const { fake, client } = await fakeWithClient(t)
  const seeded = fake.seedCertification(danal)
  const token = await client.getToken()
  fake.inject({ target: 'certification', kind: 'envelope', status: 500, body: { code: 3, message: 'failed', response: seeded } })
  const err = await client.getCertification(seeded.imp_uid).catch((e: unknown) => e)
  const shown = inspect(err, { depth: 10, showHidden: true }) + JSON.stringify(err)
  for (const secret of [fake.apiSecret, token, danal.name, danal.birthday, danal.phone, danal.unique_key, danal.unique_in_site]) {
    t.notOk(shown.includes(secret), 'error does not show a sensitive value')
  }
})

t.test('every path-injection form is refused with zero upstream requests', async (t) => {
  const { fake, client } = await fakeWithClient(t)
  const forms: unknown[] = ['..', '../x', '%2e%2e', 'imp_1/..', 'imp_123456/..', 'imp_123456?x=1', 'imp_123456#x', 'imp_١٢٣٤٥٦',
    'imp_' + '1'.repeat(10_000), '', 123456, null, undefined, {}, ['imp_123456'], 'imp_123456\n', ' imp_123456']
  for (const form of forms) {
    await t.rejects(client.getCertification(form as string), { code: 'FST_IAMPORT_INVALID_IMP_UID', statusCode: 400 })
    await t.rejects(client.deleteCertification(form as string), { code: 'FST_IAMPORT_INVALID_IMP_UID' })
    await t.rejects(client.confirmOtp(form as string, '123456'), { code: 'FST_IAMPORT_INVALID_IMP_UID' })
  }
  t.equal(fake.calls.total, 0)
})

t.test('delete, and the OTP flow', async (t) => {
  const { fake, client } = await fakeWithClient(t)
  const seeded = fake.seedCertification()
  t.same(await client.deleteCertification(seeded.imp_uid), seeded)
  await t.rejects(client.getCertification(seeded.imp_uid), { code: 'FST_IAMPORT_CERTIFICATION_NOT_FOUND' })

  const { impUid } = await client.requestOtp({ name: '김민지', phone: '010-1234-5678', birth: '070228', genderDigit: '4', carrier: 'KT', isMvno: true })
  t.match(impUid, /^imp_[0-9]+$/)
  t.equal((await client.getCertification(impUid)).certified, false, 'not certified before the code')
  await t.rejects(client.confirmOtp(impUid, '000000'), { code: 'FST_IAMPORT_UPSTREAM', upstreamStatus: 400 })
  const confirmed = await client.confirmOtp(impUid, '123456')
  t.equal(confirmed.certified, true)
  t.equal(confirmed.birthday, '2007-02-28')
  await t.rejects(client.confirmOtp(impUid), { code: 'FST_IAMPORT_UPSTREAM', upstreamStatus: 400 }, 'no second confirmation')
  await t.rejects(client.requestOtp({ name: '', phone: '', birth: '', genderDigit: '', carrier: 'SKT' }), { code: 'FST_IAMPORT_UPSTREAM', upstreamStatus: 400 })
  fake.inject({ target: 'certification', kind: 'envelope', body: { code: 0, message: null, response: {} } })
  await t.rejects(client.requestOtp({ name: 'a', phone: '01000000000', birth: '900101', genderDigit: '1', carrier: 'SKT' }), { message: /requestOtp: unexpected response shape/ })
})

t.test('sends the Tier header and the Bearer token under a base path', async (t) => {
  const seen: Array<{ url?: string, tier?: string | string[], authorization?: string }> = []
  const server = createServer((req, res) => {
    seen.push({ url: req.url, tier: req.headers.tier, authorization: req.headers.authorization })
    req.resume()
    res.setHeader('content-type', 'application/json')
    res.end(req.url === '/v1/users/getToken'
      ? JSON.stringify({ code: 0, message: null, response: { access_token: 'tok', now: 1000, expired_at: 2800 } })
      : JSON.stringify({ code: 0, message: null, response: { imp_uid: 'imp_123456', certified: true } }))
  }).listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => server.close())
  const client = new IamportClient({ apiKey: 'k', apiSecret: 's', baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/`, tier: 'AB1' })
  t.teardown(() => client.close())
  t.same(await client.getCertification('imp_123456'), { imp_uid: 'imp_123456', certified: true })
  t.same(seen, [
    { url: '/v1/users/getToken', tier: 'AB1', authorization: undefined },
    { url: '/v1/certifications/imp_123456', tier: 'AB1', authorization: 'Bearer tok' }
  ])
})

t.test('a chunked body is read as it streams and cut off past 1 MiB', async (t) => {
  const server = createServer((req, res) => {
    req.resume()
    res.setHeader('content-type', 'application/json')
    if (req.url === '/users/getToken') {
      res.end(JSON.stringify({ code: 0, message: null, response: { access_token: 'tok', now: 1000, expired_at: 2800 } }))
      return
    }
    // No content-length: the body streams in chunks.
    const big = req.url === '/certifications/imp_999999'
    res.write('{"code":0,"message":"')
    res.write(big ? 'z'.repeat(1024 * 1024) : 'ok')
    res.end('","response":{"imp_uid":"imp_123456","certified":true}}')
  }).listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => server.close())
  const client = new IamportClient({ apiKey: 'k', apiSecret: 's', baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}` })
  t.teardown(() => client.close())
  t.same(await client.getCertification('imp_123456'), { imp_uid: 'imp_123456', certified: true })
  await t.rejects(client.getCertification('imp_999999'), { code: 'FST_IAMPORT_UPSTREAM', message: /body too large/ })
})
