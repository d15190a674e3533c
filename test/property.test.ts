import t, { type Test } from 'tap'
import { strict as assert } from 'node:assert'
import fc from 'fast-check'
import { Pool } from 'undici'
import { seed, startApp, type TestApp } from './helpers/app.js'
import { assertNoSensitiveLogLines, watchUnhandledRejections } from './helpers/suite-checks.js'

/**
 * Issue 7: property-based tests of the route over real HTTP. Whatever the body, its content type
 * and its size, the answer is 400, 413 or 415 with no upstream request at all, unless the body is
 * JSON `{ imp_uid }` matching `^imp_[0-9]{6,20}$` within the 1 KiB limit: only that reaches i'mport.
 */

const rejections = watchUnhandledRejections()

/** Runs per property: ~2 ms a request keeps the file well under its 20 s budget. */
const RUNS = Number(process.env.PROPERTY_RUNS ?? 150)
const IMP_UID = /^imp_[0-9]{6,20}$/
const BODY_LIMIT = 1024
const REFUSALS = new Set([400, 413, 415])

interface Answer { status: number, code: string | undefined, keys: string[] }

interface Harness extends TestApp {
  send: (raw: string, contentType: string | undefined) => Promise<Answer>
}

/** An app plus an undici pool to it, so headers and bodies are sent byte for byte as generated. */
async function harness (t: Test): Promise<Harness> {
  const started = await startApp(t)
  const pool = new Pool(started.app.listeningOrigin, { connections: 4 })
  t.teardown(() => pool.close())
  async function send (raw: string, contentType: string | undefined): Promise<Answer> {
    const res = await pool.request({
      path: '/certifications',
      method: 'POST',
      headers: contentType === undefined ? {} : { 'content-type': contentType },
      body: raw
    })
    const text = await res.body.text()
    const body = text === '' ? {} : JSON.parse(text) as Record<string, unknown>
    return { status: res.statusCode, code: body.code as string | undefined, keys: Object.keys(body).sort() }
  }
  return { ...started, send }
}

/** Keys Fastify's JSON parser refuses anywhere in the document (prototype poisoning). */
function poisoned (value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false
  if (Object.hasOwn(value, '__proto__')) return true
  const ctor = (value as Record<string, unknown>).constructor
  if (Object.hasOwn(value, 'constructor') && typeof ctor === 'object' && ctor !== null && Object.hasOwn(ctor, 'prototype')) return true
  return Object.values(value).some(poisoned)
}

/** The oracle for a body Fastify parses as JSON: does it reach i'mport? */
function reachesUpstream (raw: string): boolean {
  if (Buffer.byteLength(raw) > BODY_LIMIT) return false
  let parsed: unknown
  try {
    parsed = JSON.parse(raw)
  } catch {
    return false
  }
  if (poisoned(parsed) || typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return false
  const impUid = (parsed as Record<string, unknown>).imp_uid
  return typeof impUid === 'string' && IMP_UID.test(impUid)
}

/** Sends one body and checks the answer against the oracle; returns which class it fell in. */
async function check (h: Harness, raw: string, contentType: string | undefined, json: boolean): Promise<'upstream' | number> {
  const before = { total: h.fake.calls.total, certification: h.fake.calls.getCertification }
  const res = await h.send(raw, contentType)
  assert.deepEqual(res.keys, ['code', 'error', 'message', 'statusCode'], 'Fastify\'s standard error body')
  if (json && reachesUpstream(raw)) {
    // Nothing is seeded under a generated imp_uid: i'mport answers 404.
    assert.equal(res.status, 404)
    assert.equal(res.code, 'FST_IAMPORT_CERTIFICATION_NOT_FOUND')
    assert.equal(h.fake.calls.getCertification - before.certification, 1, 'exactly one certification request')
    return 'upstream'
  }
  assert.ok(REFUSALS.has(res.status), `status ${res.status} (${String(res.code)}) for ${JSON.stringify(raw.slice(0, 80))} as ${String(contentType)}`)
  if (Buffer.byteLength(raw) > BODY_LIMIT) assert.equal(res.status, 413)
  assert.equal(h.fake.calls.total, before.total, 'no upstream request')
  return res.status
}

const digits = (min: number, max: number): fc.Arbitrary<string> =>
  fc.array(fc.constantFrom(...'0123456789'), { minLength: min, maxLength: max }).map((d) => d.join(''))

/** imp_uids: valid ones, and near misses (length, prefix, non-ASCII digits, separators, encodings). */
const impUidish: fc.Arbitrary<unknown> = fc.oneof(
  digits(6, 20).map((d) => 'imp_' + d),
  digits(0, 5).map((d) => 'imp_' + d),
  digits(21, 30).map((d) => 'imp_' + d),
  fc.tuple(digits(6, 12), fc.constantFrom('\n', ' ', '/', '?x=1', '%2F..', '#', '\u0000', '١', '０'), digits(0, 4))
    .map(([a, sep, b]) => 'imp_' + a + sep + b),
  fc.tuple(fc.constantFrom('IMP_', 'imp-', 'imp', ' imp_', 'mid_', '../imp_', ''), digits(6, 20)).map(([p, d]) => p + d),
  fc.string({ unit: 'grapheme', maxLength: 30 }),
  digits(6, 20).map((d) => Number(d)),
  digits(6, 20).map((d) => ['imp_' + d]),
  digits(6, 20).map((d) => ({ imp_uid: 'imp_' + d })),
  fc.constantFrom(null, true, 0)
)

/** JSON documents: arbitrary values, and objects around `imp_uid` with extra or hostile keys. */
const jsonDocument: fc.Arbitrary<string> = fc.oneof(
  fc.jsonValue().map((v) => JSON.stringify(v)),
  fc.tuple(impUidish, fc.dictionary(fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }))
    .map(([impUid, extra]) => JSON.stringify({ ...extra, imp_uid: impUid })),
  impUidish.map((impUid) => JSON.stringify({ imp_uid: impUid })),
  digits(6, 20).map((d) => `{"imp_uid":"imp_${d}","__proto__":{"admin":true}}`),
  digits(6, 20).map((d) => `{"imp_uid":"imp_${d}","constructor":{"prototype":{"admin":true}}}`),
  digits(6, 20).map((d) => `{"imp_uid":"bad","imp_uid":"imp_${d}"}`),
  fc.string({ unit: 'binary', maxLength: 60 }),
  fc.constantFrom('', ' ', '{', '{"imp_uid":', 'null', '[]', '"imp_123456"', '{"imp_uid":"imp_123456"}garbage')
)

const token = fc.stringMatching(/^[a-z0-9!#$&^_.+-]{1,12}$/)
const params = fc.array(fc.tuple(token, fc.oneof(token, token.map((v) => `"${v}"`))).map(([k, v]) => `; ${k}=${v}`), { maxLength: 2 })
  .map((list) => list.join(''))

/** Content types Fastify reads as JSON: `application/json` in any case, with any parameters. */
const jsonContentType = fc.tuple(fc.constantFrom('application/json', 'Application/JSON', 'APPLICATION/json'), params)
  .map(([type, p]) => type + p)

/** Any other content type, or none at all. */
const otherContentType: fc.Arbitrary<string | undefined> = fc.oneof(
  fc.constantFrom(undefined, '', 'text/plain', 'text/plain; charset=utf-8', 'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=x', 'application/xml', 'text/json', 'application/jsonp', 'application/json-patch+json',
    'application/vnd.api+json', 'application/x-json', 'application/octet-stream', 'json', 'application', '*/*'),
  fc.tuple(token, token, params).map(([type, sub, p]) => `${type}/${sub}${p}`)
).filter((ct) => ct === undefined || ct.split(';')[0]!.trim().toLowerCase() !== 'application/json')

t.test('any JSON body under application/json: 400 or 413 and no upstream request, unless it is a valid { imp_uid }', async (t) => {
  const h = await harness(t)
  const seen = new Map<string | number, number>()
  await fc.assert(fc.asyncProperty(jsonDocument, jsonContentType, async (raw, contentType) => {
    const outcome = await check(h, raw, contentType, true)
    seen.set(outcome, (seen.get(outcome) ?? 0) + 1)
  }), { numRuns: RUNS * 2 })
  t.comment(JSON.stringify(Object.fromEntries(seen)))
  t.ok((seen.get('upstream') ?? 0) >= 5, 'valid bodies were generated and reached i\'mport')
  t.ok((seen.get(400) ?? 0) >= 50, 'invalid bodies were generated and refused')
})

t.test('any other content type, even around a valid JSON body: 400, 413 or 415 and no upstream request', async (t) => {
  const h = await harness(t)
  const valid = seed(h.fake)
  const body = fc.oneof(jsonDocument, fc.constant(JSON.stringify({ imp_uid: valid.imp_uid })), fc.constant(`imp_uid=${valid.imp_uid}`))
  const seen = new Map<string | number, number>()
  await fc.assert(fc.asyncProperty(body, otherContentType, async (raw, contentType) => {
    const outcome = await check(h, raw, contentType, false)
    seen.set(outcome, (seen.get(outcome) ?? 0) + 1)
  }), { numRuns: RUNS })
  t.comment(JSON.stringify(Object.fromEntries(seen)))
  t.ok((seen.get(415) ?? 0) >= 10, 'unsupported media types were refused with 415')
  t.equal(h.fake.calls.total, 0, 'i\'mport never heard of any of them')
})

t.test('sizes around the 1 KiB limit: 413 above it with no upstream request, whatever the body', async (t) => {
  const h = await harness(t)
  const sized = fc.tuple(digits(6, 20), fc.integer({ min: 0, max: 3 * BODY_LIMIT }), fc.constantFrom('pad', 'space', 'garbage'))
    .map(([d, n, how]) => {
      if (how === 'space') return `{"imp_uid":"imp_${d}"}` + ' '.repeat(n)
      if (how === 'garbage') return `{"imp_uid":"imp_${d}",` + 'x'.repeat(n)
      return JSON.stringify({ imp_uid: 'imp_' + d, pad: '한'.repeat(Math.floor(n / 3)) })
    })
  const seen = new Map<string | number, number>()
  await fc.assert(fc.asyncProperty(sized, async (raw) => {
    const outcome = await check(h, raw, 'application/json', true)
    seen.set(outcome, (seen.get(outcome) ?? 0) + 1)
  }), { numRuns: RUNS })
  t.comment(JSON.stringify(Object.fromEntries(seen)))
  t.ok((seen.get(413) ?? 0) >= 20, 'bodies over the limit were generated')
  t.ok((seen.get('upstream') ?? 0) >= 5, 'bodies under the limit reached i\'mport')
})

t.test('a seeded valid imp_uid under any JSON content type is verified', async (t) => {
  const h = await harness(t)
  await fc.assert(fc.asyncProperty(jsonContentType, async (contentType) => {
    const record = seed(h.fake)
    const res = await h.send(JSON.stringify({ imp_uid: record.imp_uid }), contentType)
    assert.equal(res.status, 200, contentType)
  }), { numRuns: Math.ceil(RUNS / 5) })
  t.equal(h.fake.calls.getToken, 1, 'one getToken for all of them')
})

t.test('no unhandled rejection', async (t) => {
  t.same(rejections, [])
})

// Runs last: every log line this file's apps wrote, checked for every sensitive value.
t.test('no log line carries personal data, the secret or a token', async (t) => {
  assertNoSensitiveLogLines(t, { lines: 50, values: 20 })
})
