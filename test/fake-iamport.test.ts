import t from 'tap'
import { connect } from 'node:net'
import { once } from 'node:events'
import { setTimeout as sleep } from 'node:timers/promises'
import { request } from 'undici'
import { createFakeIamport, type FakeIamport, type FakeIamportOptions } from '../lib/testing/index.js'

type Teardown = Pick<typeof t, 'teardown'>

interface Answer {
  status: number
  headers: Record<string, string | string[] | undefined>
  text: string
  json: any
}

interface CallOptions {
  json?: unknown
  form?: Record<string, string>
  body?: string
  token?: string
  authorization?: string
  headers?: Record<string, string>
  signal?: AbortSignal
}

/** One real HTTP call to the fake; the body is always read. */
async function call (fake: FakeIamport, method: string, path: string, options: CallOptions = {}): Promise<Answer> {
  const headers: Record<string, string> = { ...options.headers }
  let body = options.body
  if (options.json !== undefined) {
    headers['content-type'] = 'application/json'
    body = JSON.stringify(options.json)
  }
  if (options.form !== undefined) {
    headers['content-type'] = 'application/x-www-form-urlencoded'
    body = new URLSearchParams(options.form).toString()
  }
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`
  if (options.authorization !== undefined) headers.authorization = options.authorization
  const res = await request(fake.url + path, {
    method: method as 'GET',
    headers,
    body,
    signal: options.signal,
    headersTimeout: 5000,
    bodyTimeout: 5000
  })
  const text = await res.body.text()
  let json: any
  try {
    json = JSON.parse(text)
  } catch {
    json = undefined
  }
  return { status: res.statusCode, headers: res.headers, text, json }
}

async function getToken (fake: FakeIamport) {
  const answer = await call(fake, 'POST', '/users/getToken', { json: { imp_key: fake.apiKey, imp_secret: fake.apiSecret } })
  return answer.json.response as { access_token: string, now: number, expired_at: number }
}

async function startFake (t: Teardown, options?: FakeIamportOptions): Promise<FakeIamport> {
  const fake = await createFakeIamport(options)
  t.teardown(() => fake.close())
  return fake
}

const UNAUTHORIZED = { code: -1, message: 'Unauthorized', response: null }
const NOT_FOUND = { code: -1, message: '인증결과가 존재하지 않습니다.', response: null }
const realNow = () => Math.floor(Date.now() / 1000)

t.test('starts on 127.0.0.1 with random credentials when none are given', async (t) => {
  const a = await startFake(t)
  const b = await startFake(t)
  t.match(a.url, /^http:\/\/127\.0\.0\.1:\d+$/)
  t.not(a.url, b.url)
  t.ok(a.apiKey.length > 0 && a.apiSecret.length > 0)
  t.not(a.apiKey, b.apiKey)
  t.not(a.apiSecret, b.apiSecret)
  const fixed = await startFake(t, { apiKey: 'key', apiSecret: 'secret' })
  t.equal(fixed.apiKey, 'key')
  t.equal(fixed.apiSecret, 'secret')
})

t.test('getToken: same token while valid, extended in the last minute, new after expiry', async (t) => {
  const fake = await startFake(t, { apiKey: 'key', apiSecret: 'secret' })
  const answer = await call(fake, 'POST', '/users/getToken', { json: { imp_key: 'key', imp_secret: 'secret' } })
  t.equal(answer.status, 200)
  t.match(answer.headers['content-type'], /^application\/json/)
  t.equal(answer.headers['content-length'], String(Buffer.byteLength(answer.text)))
  t.equal(answer.json.code, 0)
  t.equal(answer.json.message, null)
  const first = answer.json.response
  t.match(first.access_token, /^[0-9a-f]{40}$/)
  t.equal(first.expired_at - first.now, 1800)
  t.ok(Math.abs(first.now - realNow()) <= 1)

  const again = await getToken(fake)
  t.equal(again.access_token, first.access_token, 'reused, not rotated')
  t.equal(again.expired_at, first.expired_at, 'same expiry')

  fake.setClockOffset(1800 - 30)
  const extended = await getToken(fake)
  t.equal(extended.access_token, first.access_token)
  t.equal(extended.expired_at, first.expired_at + 300, 'extended by 5 minutes in the last minute')
  t.ok(extended.now - first.now >= 1770 && extended.now - first.now <= 1771, 'now is on the fake clock')
  const afterExtension = await getToken(fake)
  t.equal(afterExtension.expired_at, extended.expired_at, 'not extended again with more than a minute left')

  const seeded = fake.seedCertification()
  t.equal((await call(fake, 'GET', `/certifications/${seeded.imp_uid}`, { token: first.access_token })).status, 200)
  fake.setClockOffset(1800 + 300 + 5)
  t.same((await call(fake, 'GET', `/certifications/${seeded.imp_uid}`, { token: first.access_token })).json,
    UNAUTHORIZED, 'expired token refused')
  const renewed = await getToken(fake)
  t.not(renewed.access_token, first.access_token, 'a new token after expiry')
  t.equal(renewed.expired_at - renewed.now, 1800)
  t.same(fake.issuedTokens(), [first.access_token, renewed.access_token])
})

t.test('tokenLifetimeSeconds and clockOffsetSeconds options; a 60 s token is extended at once', async (t) => {
  const fake = await startFake(t, { tokenLifetimeSeconds: 60, clockOffsetSeconds: -3600 })
  const first = await getToken(fake)
  t.equal(first.expired_at - first.now, 60)
  t.ok(Math.abs(first.now - (realNow() - 3600)) <= 1)
  const second = await getToken(fake)
  t.equal(second.access_token, first.access_token)
  t.equal(second.expired_at, first.expired_at + 300)
})

t.test('expireTokens and setTokenLifetime', async (t) => {
  const fake = await startFake(t)
  const first = await getToken(fake)
  const record = fake.seedCertification()
  fake.setTokenLifetime(100)
  t.equal((await getToken(fake)).expired_at, first.expired_at, 'the lifetime applies to new tokens only')
  fake.expireTokens()
  t.same((await call(fake, 'GET', `/certifications/${record.imp_uid}`, { token: first.access_token })).json, UNAUTHORIZED)
  const second = await getToken(fake)
  t.not(second.access_token, first.access_token)
  t.equal(second.expired_at - second.now, 100)
  t.equal((await call(fake, 'GET', `/certifications/${record.imp_uid}`, { token: second.access_token })).status, 200)
  t.same(fake.issuedTokens(), [first.access_token, second.access_token])
})

t.test('getToken accepts a form-encoded body', async (t) => {
  const fake = await startFake(t)
  const ok = await call(fake, 'POST', '/users/getToken', { form: { imp_key: fake.apiKey, imp_secret: fake.apiSecret } })
  t.equal(ok.status, 200)
  t.match(ok.json.response.access_token, /^[0-9a-f]{40}$/)
  const bad = await call(fake, 'POST', '/users/getToken', { form: { imp_key: fake.apiKey, imp_secret: 'nope' } })
  t.equal(bad.status, 401)
  t.same(bad.json, UNAUTHORIZED)
})

t.test('401 for bad credentials and for missing, unknown or expired tokens; 400 for a bad body', async (t) => {
  const fake = await startFake(t)
  for (const json of [{ imp_key: fake.apiKey, imp_secret: 'wrong' }, { imp_key: 'wrong', imp_secret: fake.apiSecret }, {}]) {
    const answer = await call(fake, 'POST', '/users/getToken', { json })
    t.equal(answer.status, 401)
    t.same(answer.json, UNAUTHORIZED)
  }
  t.equal((await call(fake, 'POST', '/users/getToken')).status, 401, 'empty body')
  for (const body of ['{"imp_key":', '[1]', 'null', '42']) {
    const answer = await call(fake, 'POST', '/users/getToken', { body, headers: { 'content-type': 'application/json' } })
    t.equal(answer.status, 400, body)
    t.same(answer.json, { code: -1, message: 'Invalid request body', response: null })
  }
  const record = fake.seedCertification()
  const path = `/certifications/${record.imp_uid}`
  t.same((await call(fake, 'GET', path)).json, UNAUTHORIZED, 'no Authorization header')
  t.equal((await call(fake, 'GET', path, { token: 'f'.repeat(40) })).status, 401, 'unknown token')
  t.equal((await call(fake, 'DELETE', path, { authorization: '' })).status, 401, 'empty header')
  t.equal((await call(fake, 'POST', '/certifications/otp/request', { json: {} })).status, 401)
  t.equal((await call(fake, 'POST', `/certifications/otp/confirm/${record.imp_uid}`, { json: {} })).status, 401)
  const { access_token: token } = await getToken(fake)
  fake.expireTokens()
  t.same((await call(fake, 'GET', path, { token })).json, UNAUTHORIZED, 'expired token')
  t.equal(fake.calls.deleteCertification, 1)
  const fresh = await getToken(fake)
  t.not(fresh.access_token, token)
  t.same((await call(fake, 'GET', path, { token: fresh.access_token })).json.response, record,
    'the refused DELETE removed nothing')
})

t.test('Authorization: Bearer <token> and the raw token are both accepted', async (t) => {
  const fake = await startFake(t)
  const { access_token: token } = await getToken(fake)
  const record = fake.seedCertification()
  const path = `/certifications/${record.imp_uid}`
  for (const authorization of [`Bearer ${token}`, token, `bearer   ${token}`]) {
    const answer = await call(fake, 'GET', path, { authorization })
    t.equal(answer.status, 200, authorization.slice(0, 8))
    t.same(answer.json, { code: 0, message: null, response: record })
  }
})

t.test('GET and DELETE a certification, 404 when absent', async (t) => {
  const fake = await startFake(t)
  const { access_token: token } = await getToken(fake)
  const record = fake.seedCertification()
  const path = `/certifications/${record.imp_uid}`
  t.same((await call(fake, 'GET', path, { token })).json.response, record)
  t.same((await call(fake, 'GET', `/certifications/${record.imp_uid.replace('_', '%5F')}?x=1`, { token })).json.response,
    record, 'the path segment is percent-decoded and the query ignored')
  const deleted = await call(fake, 'DELETE', path, { token })
  t.equal(deleted.status, 200)
  t.same(deleted.json, { code: 0, message: null, response: record })
  for (const method of ['GET', 'DELETE']) {
    const answer = await call(fake, method, path, { token })
    t.equal(answer.status, 404)
    t.same(answer.json, NOT_FOUND)
  }
  const malformed = await call(fake, 'GET', '/certifications/imp_%E0%A4%A', { token })
  t.equal(malformed.status, 404)
  t.same(malformed.json, NOT_FOUND)
  t.same(fake.calls, { getToken: 1, getCertification: 4, deleteCertification: 2, otpRequest: 0, otpConfirm: 0, total: 7 })
})

t.test('seedCertification: Danal-shaped defaults', async (t) => {
  const fake = await startFake(t)
  const before = realNow()
  const record = fake.seedCertification()
  t.match(record.imp_uid, /^imp_\d{12}$/)
  t.match(record.merchant_uid, /^mid_\d{13,}$/)
  t.match(record.pg_tid, /^\d{24}$/)
  t.equal(record.pg_provider, 'danal')
  t.equal(record.name, '홍길동')
  t.equal(record.gender, 'male')
  t.equal(record.birthday, '1990-01-01')
  t.equal(record.birth, Date.UTC(1990, 0, 1) / 1000 - 9 * 3600)
  t.equal(record.birth, 631119600)
  t.equal(record.foreigner, false)
  t.equal(record.foreigner_v2, null)
  t.equal(record.certified, true)
  t.ok(record.certified_at! >= before && record.certified_at! <= realNow())
  t.match(record.unique_key, /^[A-Za-z0-9+/]{86}==$/)
  t.equal(record.unique_key!.length, 88)
  t.equal(Buffer.from(record.unique_key!, 'base64').length, 64)
  t.equal(record.unique_in_site!.length, 64)
  t.equal(Buffer.from(record.unique_in_site!, 'base64').length, 48)
  t.equal(record.origin, 'https://shop.example/signup')
  t.notOk('phone' in record, 'phone absent, as from Danal without carrier approval')
  t.notOk('carrier' in record)

  const other = fake.seedCertification()
  t.not(other.imp_uid, record.imp_uid)
  t.not(other.merchant_uid, record.merchant_uid)
  t.not(other.unique_key, record.unique_key)

  record.name = 'changed'
  const { access_token: token } = await getToken(fake)
  t.equal((await call(fake, 'GET', `/certifications/${record.imp_uid}`, { token })).json.response.name, '홍길동',
    'the returned record is a copy')
})

t.test('seedCertification: overrides, removed keys, birth derived from birthday', async (t) => {
  const fake = await startFake(t, { clockOffsetSeconds: 1000 })
  t.ok(Math.abs(fake.seedCertification().certified_at! - (realNow() + 1000)) <= 1, 'certified_at on the fake clock')
  t.equal(fake.seedCertification({ birthday: '2007-02-28' }).birth, 1172588400)
  t.equal(fake.seedCertification({ birthday: '1994-09-15', birth: 1 }).birth, 1, 'an explicit birth wins')
  t.equal(fake.seedCertification({ birthday: '1960-02-29' }).birth, -310554000, 'negative before 1970')
  const blank = fake.seedCertification({ birthday: '' })
  t.equal(blank.birthday, '')
  t.notOk('birth' in blank, 'no birth for an unparsable birthday')
  const nulled = fake.seedCertification({ birthday: null })
  t.equal(nulled.birthday, null)
  t.notOk('birth' in nulled)
  const legacy = fake.seedCertification({ birthday: undefined, birth: -152701200, gender: undefined, foreigner_v2: undefined })
  t.notOk('birthday' in legacy)
  t.notOk('gender' in legacy)
  t.notOk('foreigner_v2' in legacy)
  t.equal(legacy.birth, -152701200)
  const inicis = fake.seedCertification({
    imp_uid: 'imp_448280090640',
    pg_provider: 'inicis_unified',
    gender: null,
    unique_key: '',
    unique_in_site: null,
    phone: '01098765432',
    extra_field: { nested: true }
  })
  t.equal(inicis.imp_uid, 'imp_448280090640')
  t.equal(inicis.unique_key, '')
  t.equal(inicis.phone, '01098765432')
  t.same((inicis as Record<string, unknown>).extra_field, { nested: true }, 'unknown fields are kept')
  const { access_token: token } = await getToken(fake)
  t.same((await call(fake, 'GET', '/certifications/imp_448280090640', { token })).json.response, inicis)
  t.throws(() => fake.seedCertification({ imp_uid: undefined }), TypeError)
  t.throws(() => fake.seedCertification({ imp_uid: '' }), TypeError)
})

t.test('seedCertification reproduces a fixture response exactly', async (t) => {
  const fake = await startFake(t)
  const fixture = {
    imp_uid: 'imp_448280090638',
    merchant_uid: 'mid_1764123456789',
    pg_tid: '202611261530451234567890',
    pg_provider: 'danal',
    name: '홍길동',
    gender: 'male',
    birth: 779554800,
    birthday: '1994-09-15',
    foreigner: false,
    foreigner_v2: null,
    certified: true,
    certified_at: 1764138645,
    unique_key: '6lN9uypc2qAGVcfzVQ1msaGRyCyYSYT0l32Hj8soQPv6m2PNUghK0LW/TarINARReso6VCVyYgel1jci9zG6/A==',
    unique_in_site: 'nNaPGBpQF5qnAA3l04poGl2nXSKwRSy4xS2RNtVR0qIfJTiCq80D3uOVerZoxJE=',
    origin: 'https://shop.example/signup'
  }
  fake.seedCertification(fixture)
  t.equal(fake.seedCertification({ birthday: '1994-09-15' }).birth, fixture.birth, 'derived birth matches the fixture')
  const { access_token: token } = await getToken(fake)
  const answer = await call(fake, 'GET', `/certifications/${fixture.imp_uid}`, { token })
  t.same(answer.json, { code: 0, message: null, response: fixture })
  t.equal(answer.text, JSON.stringify({ code: 0, message: null, response: fixture }), 'same keys in the same order')
})

t.test('generated imp_uids skip ids already seeded', async (t) => {
  const fake = await startFake(t)
  const last = Number(fake.seedCertification().imp_uid.slice(4))
  for (let i = 1; i <= 9; i++) fake.seedCertification({ imp_uid: `imp_${last + i}` })
  const next = Number(fake.seedCertification().imp_uid.slice(4))
  t.ok(next > last + 9, 'a generated id never overwrites a seeded one')
})

t.test('POST /__fake/certifications seeds without auth, with CORS, outside the API counters', async (t) => {
  const fake = await startFake(t)
  fake.inject({ target: 'any', kind: 'status', status: 500 })
  const seeded = await call(fake, 'POST', '/__fake/certifications', { json: { name: '김민지', birthday: '2007-02-28' } })
  t.equal(seeded.status, 201)
  t.equal(seeded.headers['access-control-allow-origin'], '*')
  t.match(seeded.json, { imp_uid: /^imp_\d{12}$/, merchant_uid: /^mid_\d+$/ })
  t.same(Object.keys(seeded.json), ['imp_uid', 'merchant_uid'])
  t.equal((await call(fake, 'POST', '/users/getToken')).status, 500, 'faults skip /__fake/* and stay queued')

  const { access_token: token } = await getToken(fake)
  const record = (await call(fake, 'GET', `/certifications/${seeded.json.imp_uid}`, { token })).json.response
  t.match(record, { name: '김민지', birthday: '2007-02-28', birth: 1172588400, merchant_uid: seeded.json.merchant_uid })

  const nullMerchant = await call(fake, 'POST', '/__fake/certifications', { json: { merchant_uid: null } })
  t.equal(nullMerchant.status, 201)
  t.equal(nullMerchant.json.merchant_uid, null)
  const empty = await call(fake, 'POST', '/__fake/certifications')
  t.equal(empty.status, 201, 'an empty body seeds the defaults')

  const preflight = await call(fake, 'OPTIONS', '/__fake/certifications', {
    headers: { origin: 'http://localhost:3000', 'access-control-request-method': 'POST' }
  })
  t.equal(preflight.status, 204)
  t.equal(preflight.headers['access-control-allow-origin'], '*')
  t.match(preflight.headers['access-control-allow-methods'], /POST/)
  t.match(preflight.headers['access-control-allow-headers'], /content-type/)

  for (const body of ['[]', '{']) {
    const bad = await call(fake, 'POST', '/__fake/certifications', { body, headers: { 'content-type': 'application/json' } })
    t.equal(bad.status, 400)
    t.equal(bad.json.code, -1)
    t.equal(bad.headers['access-control-allow-origin'], '*')
  }
  const badId = await call(fake, 'POST', '/__fake/certifications', { json: { imp_uid: 5 } })
  t.equal(badId.status, 400)
  t.same(badId.json, { code: -1, message: 'imp_uid must be a non-empty string', response: null })
  t.equal((await call(fake, 'GET', '/__fake/certifications')).status, 404)

  t.same(fake.calls, { getToken: 2, getCertification: 1, deleteCertification: 0, otpRequest: 0, otpConfirm: 0, total: 11 })
})

t.test('OTP: request, wrong code, confirm, already confirmed', async (t) => {
  const fake = await startFake(t)
  const { access_token: token } = await getToken(fake)

  const missing = await call(fake, 'POST', '/certifications/otp/request', { token, json: {} })
  t.equal(missing.status, 400)
  t.same(missing.json, {
    code: -1, message: 'Missing or invalid parameters: name, phone, birth, gender_digit, carrier', response: null
  })
  const base = { name: '김민지', phone: '010-1234-5678', birth: '070228', gender_digit: 4, carrier: 'KT' }
  for (const [field, value] of [['birth', '19901301'], ['birth', '900230'], ['birth', '1234'], ['phone', '0101'],
    ['carrier', 'LGU'], ['gender_digit', '9'], ['name', '  '], ['name', { first: 'x' }]] as const) {
    const answer = await call(fake, 'POST', '/certifications/otp/request', { token, json: { ...base, [field]: value } })
    t.equal(answer.status, 400, `${field}=${JSON.stringify(value)}`)
    t.equal(answer.json.message, `Missing or invalid parameters: ${field}`)
  }

  const requested = await call(fake, 'POST', '/certifications/otp/request', {
    token, json: { ...base, is_mvno: true, merchant_uid: 'mid_otp_1', company: 'shop.example' }
  })
  t.equal(requested.status, 200)
  t.equal(requested.json.code, 0)
  t.equal(requested.json.message, null)
  t.same(Object.keys(requested.json.response), ['imp_uid'])
  const impUid: string = requested.json.response.imp_uid
  t.match(impUid, /^imp_\d{12}$/)

  const pending = (await call(fake, 'GET', `/certifications/${impUid}`, { token })).json.response
  t.match(pending, { imp_uid: impUid, merchant_uid: 'mid_otp_1', certified: false, certified_at: 0, name: '', unique_key: '' })
  t.notOk('phone' in pending, 'nothing about the person before confirmation')

  const confirmPath = `/certifications/otp/confirm/${impUid}`
  for (const json of [{ otp: '000000' }, {}]) {
    const wrong = await call(fake, 'POST', confirmPath, { token, json })
    t.equal(wrong.status, 400)
    t.same(wrong.json, { code: -1, message: 'OTP missing or incorrect', response: null })
  }
  const unknown = await call(fake, 'POST', '/certifications/otp/confirm/imp_000000000001', { token, json: { otp: '123456' } })
  t.equal(unknown.status, 404)
  t.same(unknown.json, NOT_FOUND)

  const before = realNow()
  const confirmed = await call(fake, 'POST', confirmPath, { token, json: { otp: 123456 } })
  t.equal(confirmed.status, 200)
  const record = confirmed.json.response
  t.match(record, {
    imp_uid: impUid,
    merchant_uid: 'mid_otp_1',
    pg_provider: 'danal',
    pg_tid: /^\d{24}$/,
    name: '김민지',
    gender: 'female',
    birthday: '2007-02-28',
    birth: 1172588400,
    foreigner: false,
    foreigner_v2: false,
    phone: '01012345678',
    carrier: 'KT_MVNO',
    certified: true
  })
  t.ok(record.certified_at >= before && record.certified_at <= realNow())
  t.equal(record.unique_key.length, 88)
  t.equal(record.unique_in_site.length, 64)
  t.same((await call(fake, 'GET', `/certifications/${impUid}`, { token })).json.response, record)

  const twice = await call(fake, 'POST', confirmPath, { token, json: { otp: '123456' } })
  t.equal(twice.status, 400)
  t.same(twice.json, { code: -1, message: 'Certification already completed', response: null })
  t.equal(fake.calls.otpRequest, 10)
  t.equal(fake.calls.otpConfirm, 5)
})

t.test('OTP: form bodies, century rule, foreigners, stable CI, custom otp, seeded and deleted records', async (t) => {
  const fake = await startFake(t, { otp: '654321' })
  const { access_token: token } = await getToken(fake)
  async function verify (form: Record<string, string>) {
    const requested = await call(fake, 'POST', '/certifications/otp/request', { token, form })
    t.equal(requested.status, 200)
    const confirmed = await call(fake, 'POST', `/certifications/otp/confirm/${requested.json.response.imp_uid}`,
      { token, form: { otp: '654321' } })
    t.equal(confirmed.status, 200)
    return confirmed.json.response
  }
  const person = { name: '홍길동', phone: '01098765432', birth: '900101', gender_digit: '1', carrier: 'SKT' }
  const first = await verify({ ...person, is_mvno: 'true' })
  t.match(first, { name: '홍길동', gender: 'male', birthday: '1990-01-01', birth: 631119600, carrier: 'SKT_MVNO', merchant_uid: null })
  const again = await verify({ ...person, phone: '01011112222', is_mvno: 'false' })
  t.equal(again.carrier, 'SKT')
  t.equal(again.unique_key, first.unique_key, 'CI is stable per person across phones')
  t.equal(again.unique_in_site, first.unique_in_site)
  t.not(again.imp_uid, first.imp_uid)

  const foreigner = await verify({ name: 'Smith John', phone: '01055556666', birth: '1988-06-01', gender_digit: '6', carrier: 'LGT' })
  t.match(foreigner, { birthday: '1988-06-01', gender: 'female', foreigner: true, foreigner_v2: true, carrier: 'LGT' })
  t.not(foreigner.unique_key, first.unique_key)
  const born2000s = await verify({ ...person, birth: '050301', gender_digit: '7' })
  t.match(born2000s, { birthday: '2005-03-01', gender: 'male', foreigner: true })
  const other = await createFakeIamport({ otp: '654321' })
  t.teardown(() => other.close())
  const otherToken = (await getToken(other)).access_token
  const otherRequest = await call(other, 'POST', '/certifications/otp/request', { token: otherToken, form: person })
  const otherRecord = (await call(other, 'POST', `/certifications/otp/confirm/${otherRequest.json.response.imp_uid}`,
    { token: otherToken, form: { otp: '654321' } })).json.response
  t.equal(otherRecord.unique_key, first.unique_key, 'CI is the same at every merchant')
  t.not(otherRecord.unique_in_site, first.unique_in_site, 'DI differs per merchant')

  const seeded = fake.seedCertification({ certified: false, certified_at: 0 })
  const confirmedSeed = await call(fake, 'POST', `/certifications/otp/confirm/${seeded.imp_uid}`, { token, json: { otp: '654321' } })
  t.equal(confirmedSeed.status, 200)
  t.match(confirmedSeed.json.response, { name: '홍길동', unique_key: seeded.unique_key, certified: true })
  t.ok(confirmedSeed.json.response.certified_at > 0)

  const pending = await call(fake, 'POST', '/certifications/otp/request', { token, form: person })
  const pendingId = pending.json.response.imp_uid
  t.equal((await call(fake, 'DELETE', `/certifications/${pendingId}`, { token })).status, 200)
  t.equal((await call(fake, 'POST', `/certifications/otp/confirm/${pendingId}`, { token, form: { otp: '654321' } })).status, 404)
})

t.test('OTP: sentOtp shows tests the code of a pending request only', async (t) => {
  const fake = await startFake(t, { otp: '135790' })
  const { access_token: token } = await getToken(fake)
  const person = { name: '홍길동', phone: '01098765432', birth: '900101', gender_digit: '1', carrier: 'SKT' }
  const impUid: string = (await call(fake, 'POST', '/certifications/otp/request', { token, json: person })).json.response.imp_uid
  t.equal(fake.sentOtp(impUid), '135790')
  t.equal(fake.sentOtp('imp_000000000001'), undefined, 'never requested')
  t.equal((await call(fake, 'POST', `/certifications/otp/confirm/${impUid}`, { token, json: { otp: '135790' } })).status, 200)
  t.equal(fake.sentOtp(impUid), undefined, 'confirmed')
  const seeded: string = (await call(fake, 'POST', '/certifications/otp/request', { token, json: person })).json.response.imp_uid
  fake.seedCertification({ imp_uid: seeded })
  t.equal(fake.sentOtp(seeded), undefined, 'seeded over')
  t.equal((await startFake(t)).sentOtp('imp_1'), undefined)
  const defaults = await startFake(t)
  const defaultToken = (await getToken(defaults)).access_token
  const pending: string = (await call(defaults, 'POST', '/certifications/otp/request', { token: defaultToken, json: person })).json.response.imp_uid
  t.equal(defaults.sentOtp(pending), '123456', 'the default code')
})

t.test('fault: latency delays then answers normally, once by default', async (t) => {
  const fake = await startFake(t)
  const { access_token: token } = await getToken(fake)
  const record = fake.seedCertification()
  fake.inject({ target: 'certification', kind: 'latency', ms: 300 })
  let started = Date.now()
  const slow = await call(fake, 'GET', `/certifications/${record.imp_uid}`, { token })
  t.ok(Date.now() - started >= 290, 'delayed')
  t.same(slow.json.response, record)
  started = Date.now()
  t.equal((await call(fake, 'GET', `/certifications/${record.imp_uid}`, { token })).status, 200)
  t.ok(Date.now() - started < 290, 'the fault was used up')

  fake.inject({ target: 'token', kind: 'latency', ms: 200 })
  await t.rejects(call(fake, 'POST', '/users/getToken', { signal: AbortSignal.timeout(50) }), { name: 'TimeoutError' })
  await sleep(300)
  t.equal((await call(fake, 'GET', `/certifications/${record.imp_uid}`, { token })).status, 200,
    'still serving after answering a client that gave up')
})

t.test('fault: status with the default and a custom envelope', async (t) => {
  const fake = await startFake(t)
  fake.inject({ target: 'token', kind: 'status', status: 503 })
  fake.inject({ target: 'token', kind: 'status', status: 500, code: 1, message: 'PG error' })
  fake.inject({ target: 'token', kind: 'status', status: 599 })
  const first = await call(fake, 'POST', '/users/getToken')
  t.equal(first.status, 503)
  t.same(first.json, { code: -1, message: 'Service Unavailable', response: null })
  const second = await call(fake, 'POST', '/users/getToken')
  t.equal(second.status, 500)
  t.same(second.json, { code: 1, message: 'PG error', response: null })
  const third = await call(fake, 'POST', '/users/getToken')
  t.equal(third.status, 599)
  t.same(third.json, { code: -1, message: 'Error', response: null })
  t.equal((await call(fake, 'POST', '/users/getToken', { json: { imp_key: fake.apiKey, imp_secret: fake.apiSecret } })).status, 200)
  t.equal(fake.calls.getToken, 4, 'faulted calls are counted')
})

t.test('fault: html error page, times', async (t) => {
  const fake = await startFake(t)
  const { access_token: token } = await getToken(fake)
  const record = fake.seedCertification()
  fake.inject({ target: 'certification', kind: 'html', status: 502, times: 2 })
  for (let i = 0; i < 2; i++) {
    const answer = await call(fake, 'GET', `/certifications/${record.imp_uid}`, { token })
    t.equal(answer.status, 502)
    t.match(answer.headers['content-type'], /^text\/html/)
    t.match(answer.text, /<title>502 Bad Gateway<\/title>/)
    t.equal(answer.json, undefined)
  }
  t.equal((await call(fake, 'GET', `/certifications/${record.imp_uid}`, { token })).status, 200)
})

t.test('fault: malformed JSON', async (t) => {
  const fake = await startFake(t)
  fake.inject({ target: 'token', kind: 'malformed-json' })
  const answer = await call(fake, 'POST', '/users/getToken')
  t.equal(answer.status, 200)
  t.match(answer.headers['content-type'], /^application\/json/)
  t.ok(answer.text.length > 0)
  t.equal(answer.json, undefined, 'not parseable')
  t.throws(() => JSON.parse(answer.text), SyntaxError)
})

t.test('fault: truncated body', async (t) => {
  const fake = await startFake(t)
  fake.inject({ target: 'any', kind: 'truncated' })
  const res = await request(`${fake.url}/users/getToken`, { method: 'POST' })
  t.equal(res.statusCode, 200)
  t.ok(Number(res.headers['content-length']) > 0)
  await t.rejects(res.body.text(), 'the body ends early')
  t.equal((await call(fake, 'POST', '/users/getToken')).status, 401, 'next request is answered normally')
})

t.test('fault: dropped connection', async (t) => {
  const fake = await startFake(t)
  fake.inject({ target: 'certification', kind: 'drop' })
  await t.rejects(call(fake, 'GET', '/certifications/imp_123456789012'), { code: 'UND_ERR_SOCKET' })
  t.equal((await call(fake, 'GET', '/certifications/imp_123456789012')).status, 401)
  t.equal(fake.calls.getCertification, 2)
})

t.test('fault: arbitrary envelope and status', async (t) => {
  const fake = await startFake(t)
  fake.inject({ target: 'token', kind: 'envelope', body: { code: 0, message: null, response: null } })
  fake.inject({ target: 'token', kind: 'envelope', status: 201, body: { code: 1, message: 'x', response: { access_token: 'a' } } })
  const first = await call(fake, 'POST', '/users/getToken')
  t.equal(first.status, 200)
  t.same(first.json, { code: 0, message: null, response: null })
  const second = await call(fake, 'POST', '/users/getToken')
  t.equal(second.status, 201)
  t.same(second.json, { code: 1, message: 'x', response: { access_token: 'a' } })
})

t.test('fault targets, order, Infinity, clearFaults and validation', async (t) => {
  const fake = await startFake(t)
  const { access_token: token } = await getToken(fake)
  const record = fake.seedCertification()
  const path = `/certifications/${record.imp_uid}`

  fake.inject({ target: 'token', kind: 'status', status: 500 })
  t.equal((await call(fake, 'GET', path, { token })).status, 200, 'a token fault skips certification calls')
  t.equal((await call(fake, 'GET', '/nope')).status, 404, 'and unknown paths')
  t.equal((await call(fake, 'POST', '/users/getToken')).status, 500)

  fake.inject({ target: 'certification', kind: 'status', status: 500 })
  fake.inject({ target: 'any', kind: 'status', status: 502 })
  t.equal((await call(fake, 'POST', '/users/getToken')).status, 502, 'the first matching fault is used')
  t.equal((await call(fake, 'GET', path, { token })).status, 500)
  t.equal((await call(fake, 'GET', path, { token })).status, 200)

  const fault = { target: 'any', kind: 'status', status: 503, times: Infinity } as const
  fake.inject(fault)
  for (const [method, url] of [['GET', path], ['POST', '/users/getToken'], ['GET', '/nope'], ['POST', '/certifications/otp/request']]) {
    t.equal((await call(fake, method as string, url as string, { token })).status, 503, `${method} ${url}`)
  }
  t.equal(fault.times, Infinity, "the caller's object is not mutated")
  fake.clearFaults()
  t.equal((await call(fake, 'GET', path, { token })).status, 200)

  for (const times of [0, -1, Number.NaN]) {
    t.throws(() => fake.inject({ target: 'any', kind: 'drop', times }), RangeError)
  }
  t.equal((await call(fake, 'GET', path, { token })).status, 200, 'refused faults are not queued')
})

t.test('calls counters, requests log and resetCalls', async (t) => {
  const fake = await startFake(t)
  const { calls, requests } = fake
  const { access_token: token } = await getToken(fake)
  await getToken(fake)
  const record = fake.seedCertification()
  await call(fake, 'GET', `/certifications/${record.imp_uid}`, { token })
  await call(fake, 'DELETE', `/certifications/${record.imp_uid}`, { token })
  await call(fake, 'POST', '/certifications/otp/request', { token, json: {} })
  await call(fake, 'POST', '/certifications/otp/confirm/imp_1', { token, json: {} })
  await call(fake, 'GET', '/nope?x=%20y')
  await call(fake, 'POST', '/__fake/certifications', { json: {} })
  t.same(calls, { getToken: 2, getCertification: 1, deleteCertification: 1, otpRequest: 1, otpConfirm: 1, total: 8 })
  t.equal(requests.length, 8)
  t.same(requests[0], { method: 'POST', path: '/users/getToken' })
  t.same(requests[6], { method: 'GET', path: '/nope?x=%20y' }, 'the raw URL')
  t.same(requests[7], { method: 'POST', path: '/__fake/certifications' })
  fake.resetCalls()
  t.equal(fake.calls, calls, 'reset in place')
  t.equal(fake.requests, requests)
  t.same(calls, { getToken: 0, getCertification: 0, deleteCertification: 0, otpRequest: 0, otpConfirm: 0, total: 0 })
  t.same(requests, [])
  await call(fake, 'GET', `/certifications/${record.imp_uid}`, { token })
  t.equal(calls.getCertification, 1)
  t.equal(calls.total, 1)
})

t.test('unknown paths and methods get a 404 envelope', async (t) => {
  const fake = await startFake(t)
  const { access_token: token } = await getToken(fake)
  for (const [method, path] of [['GET', '/nope'], ['GET', '/users/getToken'], ['PUT', '/certifications/imp_123456789012'],
    ['GET', '/certifications/a/b'], ['GET', '/certifications'], ['GET', '/__fake/other']]) {
    const answer = await call(fake, method as string, path as string, { token })
    t.equal(answer.status, 404, `${method} ${path}`)
    t.same(answer.json, { code: -1, message: 'Not Found', response: null })
  }
  t.equal(fake.calls.total, 7)
  t.equal(fake.calls.getToken, 1)
})

t.test('bodies over 64 KiB are drained and refused with 413', async (t) => {
  const fake = await startFake(t)
  const creds = JSON.stringify({ imp_key: fake.apiKey, imp_secret: fake.apiSecret, pad: '' })
  const exact = creds.replace('"pad":""', `"pad":"${'x'.repeat(64 * 1024 - Buffer.byteLength(creds))}"`)
  t.equal(Buffer.byteLength(exact), 64 * 1024)
  const ok = await call(fake, 'POST', '/users/getToken', { body: exact, headers: { 'content-type': 'application/json' } })
  t.equal(ok.status, 200, 'exactly 64 KiB is accepted')
  const over = await call(fake, 'POST', '/users/getToken', { body: exact + ' ', headers: { 'content-type': 'application/json' } })
  t.equal(over.status, 413)
  t.same(over.json, { code: -1, message: 'Payload Too Large', response: null })
  const huge = await call(fake, 'POST', '/__fake/certifications', { body: 'x'.repeat(1024 * 1024) })
  t.equal(huge.status, 413)
  t.equal((await call(fake, 'POST', '/users/getToken')).status, 401, 'the connection is still usable')
  t.equal(fake.calls.getToken, 3)
})

t.test('a client that vanishes mid-body does not disturb the server', async (t) => {
  const fake = await startFake(t)
  const { port } = new URL(fake.url)
  const socket = connect(Number(port), '127.0.0.1')
  await once(socket, 'connect')
  socket.write('POST /users/getToken HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{"imp_')
  while (fake.calls.getToken === 0) await sleep(5)
  socket.destroy()
  await sleep(50)
  t.equal(fake.calls.getToken, 1)
  t.equal((await call(fake, 'POST', '/users/getToken', { json: { imp_key: fake.apiKey, imp_secret: fake.apiSecret } })).status, 200)
})

t.test('close ends idle keep-alive sockets, is idempotent, and the port stops answering', async (t) => {
  const fake = await createFakeIamport()
  t.equal((await call(fake, 'POST', '/users/getToken')).status, 401)
  const started = Date.now()
  const closing = fake.close()
  t.equal(fake.close(), closing, 'the same promise')
  await closing
  t.ok(Date.now() - started < 1000, 'does not wait for keep-alive timeouts')
  await t.rejects(call(fake, 'POST', '/users/getToken'))
})
