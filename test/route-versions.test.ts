// The route's behaviour, once per API version over the same table of cases: i'mport V1
// (`{ imp_uid }`, fake-iamport) and PortOne V2 (`{ identityVerificationId }`, fake-portone-v2).
// Each version has an adapter that seeds, prepares, posts and injects faults its own way; the
// cases and their expected answers are shared, because the hooks must not see the difference.
import t, { type Test } from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import Fastify from 'fastify'
import fastifyIamport, { type FastifyIamportOptions } from '../index.js'
import type { CertificationsOptions } from '../lib/options/route.js'
import {
  createFakeIamport, createFakePortOneV2, type FakeIamport, type FakePortOneV2, type Fault
} from '../lib/testing/index.js'
import { listen, recordSensitive } from './helpers/app.js'
import { assertNoSensitiveLogLines } from './helpers/suite-checks.js'

type Version = 'v1' | 'v2'

/** A person and a verification, in neutral terms each adapter maps to its API's fields. */
interface Seed {
  name?: string
  /** `YYYY-MM-DD`; `null` for none. */
  birthday?: string | null
  gender?: 'male' | 'female'
  phone?: string
  carrier?: 'SKT' | 'KT' | 'LGU'
  foreigner?: boolean
  /** `null` for none (as KG Inicis gives). */
  ci?: string | null
  /** `null` for none. */
  di?: string | null
  /** `false`: the verification did not complete (V1 `certified: false`, V2 `status: 'READY'`). */
  verified?: false
  /** When it completed, in unix seconds (default now). */
  certifiedAt?: number
}

interface SeedOptions {
  /** Headers of the prepare call (the session). */
  headers?: Record<string, string>
  /** `false`: bind to an id / merchant_uid this server never issued, even when the route issues them. */
  issued?: false
}

interface Answer { status: number, body: any }

/** One running app + fake upstream, driven the same way whatever the version. */
interface VersionedApp {
  version: Version
  /** The body field the route reads. */
  field: 'imp_uid' | 'identityVerificationId'
  /** The log line key of the id. */
  logKey: 'impUid' | 'identityVerificationId'
  /** A well-formed id that upstream does not know. */
  unknownId: string
  /** A well-formed id for this version (for bodies that wrap it wrongly). */
  validId: string
  /** Seeds a verification (prepared first when the route issues ids) and returns the id to post. */
  seed: (seed?: Seed, options?: SeedOptions) => Promise<string>
  /** `POST {url}/prepare`; the issued value, or the failed answer. */
  prepare: (headers?: Record<string, string>) => Promise<Answer & { issued: string | undefined }>
  verify: (id: unknown, headers?: Record<string, string>) => Promise<Answer>
  post: (path: string, body: unknown, contentType?: string) => Promise<Answer>
  /** Makes the next fetch answer a completed verification of another id. */
  answerForAnotherId: (id: string) => void
  inject: (fault: Fault) => void
  /** Verification fetches upstream received (V1 getCertification, V2 getIdentityVerification). */
  fetches: () => number
  /** Every request upstream received. */
  upstreamTotal: () => number
  logs: string[]
}

const url = '/certifications'
const nowSeconds = (): number => Math.floor(Date.now() / 1000)

/** `YYYY-MM-DD` of the date `years` years before today in Seoul, shifted by `days`. */
function seoulBirthday (years: number, days = 0): string {
  const seoul = new Date(Date.now() + 9 * 3600_000)
  return new Date(Date.UTC(seoul.getUTCFullYear() - years, seoul.getUTCMonth(), seoul.getUTCDate() + days)).toISOString().slice(0, 10)
}

async function startV1 (t: Test, route: CertificationsOptions, plugin: Partial<FastifyIamportOptions>): Promise<VersionedApp> {
  const fake: FakeIamport = await createFakeIamport()
  t.teardown(async () => {
    recordSensitive(...fake.issuedTokens())
    await fake.close()
  })
  recordSensitive(fake.apiSecret)
  const { logs, post } = await listen(t, async (app) => {
    await app.register(fastifyIamport, { apiKey: fake.apiKey, apiSecret: fake.apiSecret, baseUrl: fake.url, certifications: route, ...plugin } as FastifyIamportOptions)
  })
  const issuing = route.issuedIds !== undefined && route.issuedIds !== false
  const prepare = async (headers: Record<string, string> = {}) => {
    const res = await post(`${url}/prepare`, {}, 'application/json', headers)
    return { ...res, issued: res.body?.merchantUid as string | undefined }
  }
  return {
    version: 'v1',
    field: 'imp_uid',
    logKey: 'impUid',
    unknownId: 'imp_000000000001',
    validId: 'imp_123456789012',
    async seed (seed = {}, options = {}) {
      const merchantUid = issuing && options.issued !== false ? (await prepare(options.headers)).issued : `mid_never_issued_${Date.now()}`
      const record = fake.seedCertification({
        merchant_uid: merchantUid,
        certified: seed.verified ?? true,
        certified_at: seed.certifiedAt ?? nowSeconds(),
        ...(seed.name === undefined ? {} : { name: seed.name }),
        ...(seed.birthday === undefined ? {} : { birthday: seed.birthday ?? undefined, birth: undefined }),
        ...(seed.gender === undefined ? {} : { gender: seed.gender }),
        ...(seed.phone === undefined ? {} : { phone: seed.phone }),
        ...(seed.carrier === undefined ? {} : { carrier: seed.carrier === 'LGU' ? 'LGT' : seed.carrier }),
        ...(seed.foreigner === undefined ? {} : { foreigner_v2: seed.foreigner }),
        ...(seed.ci === undefined ? {} : { unique_key: seed.ci ?? '' }),
        ...(seed.di === undefined ? {} : { unique_in_site: seed.di })
      })
      recordSensitive(record.name, record.birthday, record.phone, record.unique_key, record.unique_in_site)
      return record.imp_uid
    },
    prepare,
    verify: (id, headers) => post(url, { imp_uid: id }, 'application/json', headers),
    post,
    answerForAnotherId (id) {
      const other = fake.seedCertification()
      fake.inject({ target: 'certification', kind: 'envelope', body: { code: 0, message: null, response: { ...other, imp_uid: id === 'imp_999999999999' ? 'imp_999999999998' : 'imp_999999999999' } } })
    },
    inject: (fault) => fake.inject(fault),
    fetches: () => fake.calls.getCertification,
    upstreamTotal: () => fake.calls.total,
    logs
  }
}

/** Every answer body and log line of the V2 apps, for the V2 wording test. */
const v2Texts: string[] = []

async function startV2 (t: Test, route: CertificationsOptions, plugin: Partial<FastifyIamportOptions>): Promise<VersionedApp> {
  const fake: FakePortOneV2 = await createFakePortOneV2()
  t.teardown(() => fake.close())
  recordSensitive(fake.apiSecret)
  const { logs, post: send } = await listen(t, async (app) => {
    await app.register(fastifyIamport, { apiVersion: 'v2', apiSecret: fake.apiSecret, storeId: fake.storeId, baseUrl: fake.url, certifications: route, ...plugin } as FastifyIamportOptions)
  })
  t.teardown(() => { v2Texts.push(...logs) })
  const post: typeof send = async (...args) => {
    const answer = await send(...args)
    v2Texts.push(JSON.stringify(answer.body ?? null))
    return answer
  }
  const issuing = route.issuedIds !== false
  const prepare = async (headers: Record<string, string> = {}) => {
    const res = await post(`${url}/prepare`, {}, 'application/json', headers)
    return { ...res, issued: res.body?.identityVerificationId as string | undefined }
  }
  return {
    version: 'v2',
    field: 'identityVerificationId',
    logKey: 'identityVerificationId',
    unknownId: 'iv00000000000000000000000000000001',
    validId: 'identity-verification-1',
    async seed (seed = {}, options = {}) {
      const id = issuing && options.issued !== false ? (await prepare(options.headers)).issued : undefined
      const customer: Record<string, unknown> = {
        ...(seed.name === undefined ? {} : { name: seed.name }),
        ...(seed.birthday === undefined ? {} : { birthDate: seed.birthday ?? undefined }),
        ...(seed.gender === undefined ? {} : { gender: seed.gender.toUpperCase() }),
        ...(seed.phone === undefined ? {} : { phoneNumber: seed.phone }),
        ...(seed.carrier === undefined ? {} : { operator: seed.carrier }),
        ...(seed.foreigner === undefined ? {} : { isForeigner: seed.foreigner }),
        ...(seed.ci === undefined ? {} : { ci: seed.ci ?? undefined }),
        ...(seed.di === undefined ? {} : { di: seed.di ?? undefined })
      }
      const record = fake.seedIdentityVerification({
        ...(id === undefined ? {} : { id }),
        ...(seed.verified === false ? { status: 'READY' } : {}),
        ...(seed.certifiedAt === undefined ? {} : { verifiedAt: new Date(seed.certifiedAt * 1000).toISOString() }),
        verifiedCustomer: customer
      })
      const person = (record.verifiedCustomer ?? {}) as Record<string, unknown>
      recordSensitive(person.name, person.birthDate, person.phoneNumber, person.ci, person.di)
      return record.id
    },
    prepare,
    verify: (id, headers) => post(url, { identityVerificationId: id }, 'application/json', headers),
    post,
    answerForAnotherId (id) {
      fake.inject({ target: 'certification', kind: 'envelope', body: fake.seedIdentityVerification({ id: id + 'x' }) })
    },
    inject: (fault) => fake.inject(fault),
    fetches: () => fake.calls.getIdentityVerification,
    upstreamTotal: () => fake.calls.total,
    logs
  }
}

const start: Record<Version, typeof startV1> = { v1: startV1, v2: startV2 }

interface Case {
  name: string
  route?: CertificationsOptions
  plugin?: Partial<FastifyIamportOptions>
  run: (t: Test, app: VersionedApp) => Promise<void>
}

const expectRefusal = async (t: Test, answer: Promise<Answer>, status: number, code: string): Promise<void> => {
  const res = await answer
  t.equal(res.status, status, code)
  t.equal(res.body?.code, code)
  t.same(Object.keys(res.body ?? {}).sort(), ['code', 'error', 'message', 'statusCode'], 'the standard error body only')
}

/** What the throwing-hook case's `onVerified` does next. */
let hookMode: 'throw' | 'unavailable' | 'teapot' | 'ok' = 'throw'

const cases: Case[] = [
  {
    name: 'happy path: 200 { verified: true }, one upstream fetch, one log line with the id and nothing personal',
    async run (t, app) {
      const id = await app.seed()
      const res = await app.verify(id)
      t.equal(res.status, 200)
      t.same(res.body, { verified: true })
      t.equal(app.fetches(), 1)
      const lines = app.logs.map((line) => JSON.parse(line)).filter((line) => line.msg === 'identity verification')
      t.equal(lines.length, 1)
      t.match(lines[0], { level: 20, [app.logKey]: id, outcome: 'VERIFIED', ms: Number }, 'a success is debug')
      const refused = await app.verify(id)
      t.equal(refused.status, 409)
      const refusal = app.logs.map((line) => JSON.parse(line)).filter((line) => line.msg === 'identity verification')[1]
      t.match(refusal, { level: 30, [app.logKey]: id, outcome: 'FST_IAMPORT_REPLAYED', ms: Number }, 'a refusal is info')
    }
  },
  {
    name: 'validation: a malformed body is 400 (or 413/415) with zero upstream calls',
    async run (t, app) {
      const other = app.field === 'imp_uid' ? 'identityVerificationId' : 'imp_uid'
      const bodies: Array<[unknown, string, number, string]> = [
        [{}, 'application/json', 400, 'FST_ERR_VALIDATION'],
        [{ [app.field]: 123456 }, 'application/json', 400, 'FST_ERR_VALIDATION'],
        [{ [app.field]: '..' }, 'application/json', 400, 'FST_ERR_VALIDATION'],
        [{ [app.field]: '../certifications/x' }, 'application/json', 400, 'FST_ERR_VALIDATION'],
        [{ [app.field]: `${app.validId}?storeId=x` }, 'application/json', 400, 'FST_ERR_VALIDATION'],
        [{ [app.field]: `${app.validId}/..` }, 'application/json', 400, 'FST_ERR_VALIDATION'],
        [{ [app.field]: app.validId.replace(/[0-9]/g, (digit) => String.fromCharCode(0x0660 + Number(digit))) }, 'application/json', 400, 'FST_ERR_VALIDATION'],
        [{ [app.field]: [app.validId] }, 'application/json', 400, 'FST_ERR_VALIDATION'],
        [{ [app.field]: app.validId + '1'.repeat(70) }, 'application/json', 400, 'FST_ERR_VALIDATION'],
        [{ [other]: app.validId }, 'application/json', 400, 'FST_ERR_VALIDATION'],
        ['null', 'application/json', 400, 'FST_ERR_VALIDATION'],
        [`{"${app.field}":`, 'application/json', 400, 'FST_ERR_CTP_INVALID_JSON_BODY'],
        [app.validId, 'text/plain', 400, 'FST_ERR_VALIDATION'],
        [`${app.field}=${app.validId}`, 'application/x-www-form-urlencoded', 415, 'FST_ERR_CTP_INVALID_MEDIA_TYPE'],
        [{ [app.field]: 'x'.repeat(2000) }, 'application/json', 413, 'FST_ERR_CTP_BODY_TOO_LARGE']
      ]
      for (const [body, contentType, status, code] of bodies) {
        await expectRefusal(t, app.post(url, body, contentType), status, code)
      }
      const named = await app.post(url, {})
      t.match(named.body.message, new RegExp(`body/${app.field} must be a string matching`))
      t.equal(app.upstreamTotal(), 0, 'no upstream request at all')
    }
  },
  {
    name: 'not found: 404 FST_IAMPORT_CERTIFICATION_NOT_FOUND',
    async run (t, app) {
      await expectRefusal(t, app.verify(app.unknownId), 404, 'FST_IAMPORT_CERTIFICATION_NOT_FOUND')
    }
  },
  {
    name: 'not verified (even with a completion time of 0), or an answer about another id: 422 FST_IAMPORT_NOT_CERTIFIED',
    async run (t, app) {
      await expectRefusal(t, app.verify(await app.seed({ verified: false })), 422, 'FST_IAMPORT_NOT_CERTIFIED')
      await expectRefusal(t, app.verify(await app.seed({ verified: false, certifiedAt: 0 })), 422, 'FST_IAMPORT_NOT_CERTIFIED')
      const id = await app.seed()
      app.answerForAnotherId(id)
      await expectRefusal(t, app.verify(id), 422, 'FST_IAMPORT_NOT_CERTIFIED')
    }
  },
  {
    name: 'stale or from the future: 422 FST_IAMPORT_STALE_CERTIFICATION; just fresh enough: 200',
    async run (t, app) {
      await expectRefusal(t, app.verify(await app.seed({ certifiedAt: nowSeconds() - 600 - 61 - 5 })), 422, 'FST_IAMPORT_STALE_CERTIFICATION')
      await expectRefusal(t, app.verify(await app.seed({ certifiedAt: nowSeconds() + 300 })), 422, 'FST_IAMPORT_STALE_CERTIFICATION')
      t.equal((await app.verify(await app.seed({ certifiedAt: nowSeconds() - 600 }))).status, 200)
    }
  },
  {
    name: 'replay: the second use is 409 FST_IAMPORT_REPLAYED; 50 concurrent posts give one 200',
    async run (t, app) {
      const id = await app.seed()
      t.equal((await app.verify(id)).status, 200)
      await expectRefusal(t, app.verify(id), 409, 'FST_IAMPORT_REPLAYED')
      const concurrent = await app.seed()
      const results = await Promise.all(Array.from({ length: 50 }, () => app.verify(concurrent)))
      t.equal(results.filter((r) => r.status === 200).length, 1)
      t.equal(results.filter((r) => r.status === 409 && r.body?.code === 'FST_IAMPORT_REPLAYED').length, 49)
    }
  },
  {
    name: 'oneTime: false (without issued ids) accepts the same id again',
    route: { oneTime: false, issuedIds: false },
    async run (t, app) {
      const id = await app.seed()
      t.equal((await app.verify(id)).status, 200)
      t.equal((await app.verify(id)).status, 200, 'accepted again')
    }
  },
  {
    name: 'age via minAge: 403 FST_IAMPORT_AGE_RESTRICTED the day before the birthday and with no birthday',
    route: { minAge: 19 },
    async run (t, app) {
      t.equal((await app.verify(await app.seed({ birthday: seoulBirthday(19) }))).status, 200, '19th birthday today')
      await expectRefusal(t, app.verify(await app.seed({ birthday: seoulBirthday(19, 1) })), 403, 'FST_IAMPORT_AGE_RESTRICTED')
      await expectRefusal(t, app.verify(await app.seed({ birthday: null })), 403, 'FST_IAMPORT_AGE_RESTRICTED')
    }
  },
  {
    name: 'duplicate: 409 FST_IAMPORT_DUPLICATE when findDuplicate finds the CI',
    route: { findDuplicate: (identity) => identity.ci === 'CI-already-registered' },
    async run (t, app) {
      await expectRefusal(t, app.verify(await app.seed({ ci: 'CI-already-registered' })), 409, 'FST_IAMPORT_DUPLICATE')
      t.equal((await app.verify(await app.seed({ ci: 'CI-new-person' }))).status, 200)
    }
  },
  {
    name: 'missing CI: 422 FST_IAMPORT_MISSING_IDENTITY_KEY and findDuplicate is never called',
    route: { findDuplicate: () => { throw new Error('must not be called') } },
    async run (t, app) {
      await expectRefusal(t, app.verify(await app.seed({ ci: null })), 422, 'FST_IAMPORT_MISSING_IDENTITY_KEY')
    }
  },
  {
    name: 'requireIdentityKey: \'di\': a missing DI is 422 FST_IAMPORT_MISSING_IDENTITY_KEY',
    route: { requireIdentityKey: 'di' },
    async run (t, app) {
      await expectRefusal(t, app.verify(await app.seed({ di: null })), 422, 'FST_IAMPORT_MISSING_IDENTITY_KEY')
    }
  },
  {
    name: 'upstream failure: 502 FST_IAMPORT_UPSTREAM, and the id is not burned',
    async run (t, app) {
      const id = await app.seed()
      app.inject({ target: 'certification', kind: 'html', status: 502 })
      await expectRefusal(t, app.verify(id), 502, 'FST_IAMPORT_UPSTREAM')
      app.inject({ target: 'certification', kind: 'status', status: 500 })
      await expectRefusal(t, app.verify(id), 502, 'FST_IAMPORT_UPSTREAM')
      // Twice: a GET dropped once on a reused socket is retried.
      app.inject({ target: 'certification', kind: 'drop', times: 2 })
      await expectRefusal(t, app.verify(id), 502, 'FST_IAMPORT_UPSTREAM')
      t.equal((await app.verify(id)).status, 200)
    }
  },
  {
    name: 'upstream timeout: 504 FST_IAMPORT_UPSTREAM_TIMEOUT',
    plugin: { timeoutMs: 300 },
    async run (t, app) {
      const id = await app.seed()
      app.inject({ target: 'certification', kind: 'latency', ms: 2000 })
      await expectRefusal(t, app.verify(id), 504, 'FST_IAMPORT_UPSTREAM_TIMEOUT')
      t.equal((await app.verify(id)).status, 200, 'not burned')
    }
  },
  {
    name: 'issued ids: another session, a never-issued or a used one is 422 FST_IAMPORT_MERCHANT_MISMATCH',
    route: { issuedIds: { required: true, subject: (request) => String(request.headers['x-session'] ?? 'none') } },
    async run (t, app) {
      const alice = { 'x-session': 'alice' }
      const mine = await app.seed({}, { headers: alice })
      await expectRefusal(t, app.verify(mine, { 'x-session': 'mallory' }), 422, 'FST_IAMPORT_MERCHANT_MISMATCH')
      t.equal((await app.verify(mine, alice)).status, 200, 'the same session finishes the flow')
      await expectRefusal(t, app.verify(await app.seed({}, { issued: false }), alice), 422, 'FST_IAMPORT_MERCHANT_MISMATCH')
    }
  },
  {
    name: 'issued ids: one used after its ttlSeconds is 422 FST_IAMPORT_MERCHANT_MISMATCH',
    route: { issuedIds: { required: true, ttlSeconds: 1, subject: (request) => String(request.headers['x-session'] ?? 'none') } },
    async run (t, app) {
      const alice = { 'x-session': 'alice' }
      const late = await app.seed({}, { headers: alice })
      await sleep(1100)
      await expectRefusal(t, app.verify(late, alice), 422, 'FST_IAMPORT_MERCHANT_MISMATCH')
    }
  },
  {
    name: 'a throwing hook: 500 FST_IAMPORT_HOOK_FAILED without personal data, and the id is released; a status of its own is kept',
    route: {
      onVerified: (identity) => {
        if (hookMode === 'throw') throw new Error(`database down while saving ${identity.name} ${identity.ci ?? ''}`)
        if (hookMode === 'unavailable') throw Object.assign(new Error('maintenance'), { statusCode: 503 })
        if (hookMode === 'teapot') throw Object.assign(new Error('custom refusal'), { statusCode: 418, code: 'APP_TEAPOT' })
        return undefined
      }
    },
    async run (t, app) {
      hookMode = 'throw'
      const id = await app.seed({ name: '이서준' })
      const res = await app.verify(id)
      t.equal(res.status, 500)
      t.same(res.body, { statusCode: 500, code: 'FST_IAMPORT_HOOK_FAILED', error: 'Internal Server Error', message: 'A verification hook failed' })
      await expectRefusal(t, app.verify(id), 500, 'FST_IAMPORT_HOOK_FAILED')
      t.equal(app.fetches(), 2, 'the retry was judged again (a 500, not a 409 replay): the id was released')
      hookMode = 'unavailable'
      t.equal((await app.verify(id)).status, 503, 'a 5xx of the hook\'s own keeps its status and also releases')
      hookMode = 'ok'
      const retry = await app.verify(id)
      t.equal(retry.status, 200, 'the id was released for a retry')
      t.same(retry.body, { verified: true }, 'onVerified returning nothing gives the default body')
      hookMode = 'teapot'
      const teapot = await app.verify(await app.seed())
      t.equal(teapot.status, 418, 'a 4xx of the hook\'s own is kept')
      t.equal(teapot.body.code, 'APP_TEAPOT')
    }
  },
  {
    name: 'the same Identity reaches the hooks',
    route: {
      onVerified: (identity) => ({
        verificationId: identity.verificationId,
        requestId: identity.requestId,
        name: identity.name,
        gender: identity.gender,
        birthday: identity.birthday,
        ci: identity.ci,
        di: identity.di,
        phone: identity.phone,
        carrier: identity.carrier,
        foreigner: identity.foreigner,
        certifiedAt: identity.certifiedAt.toISOString(),
        age: identity.age('international')
      })
    },
    async run (t, app) {
      const certifiedAt = nowSeconds() - 30
      const id = await app.seed({
        name: '김민지', birthday: '1990-03-04', gender: 'female', phone: '01055556666', carrier: 'LGU', foreigner: false, ci: 'CI-kim', di: 'DI-kim', certifiedAt
      })
      const res = await app.verify(id)
      t.equal(res.status, 200)
      const { requestId, ...rest } = res.body
      t.same(rest, {
        verificationId: id,
        name: '김민지',
        gender: 'female',
        birthday: '1990-03-04',
        ci: 'CI-kim',
        di: 'DI-kim',
        phone: '01055556666',
        carrier: 'LGU',
        foreigner: false,
        certifiedAt: new Date(certifiedAt * 1000).toISOString(),
        age: rest.age
      })
      t.ok(rest.age >= 34, 'an age')
      if (app.version === 'v2') t.equal(requestId, id, 'V2: the issued id is the verification id')
      else t.match(requestId, /^mid/)
    }
  }
]

for (const version of ['v1', 'v2'] as const) {
  t.test(`${version}: the shared table`, async (t) => {
    for (const c of cases) {
      await t.test(c.name, async (t) => {
        const app = await start[version](t, c.route ?? {}, c.plugin ?? {})
        await c.run(t, app)
      })
    }
  })
}

// ---------------------------------------------------------------------------------------------
// What only V2 has
// ---------------------------------------------------------------------------------------------

t.test('v2: prepare issues ids on by default; issuedIds: false turns it off', async (t) => {
  const app = await startV2(t, {}, {})
  const prepared = await app.prepare()
  t.equal(prepared.status, 200)
  t.match(prepared.body, { identityVerificationId: /^iv[0-9a-f]{32}$/ })
  t.same(Object.keys(prepared.body), ['identityVerificationId'])
  t.not((await app.prepare()).issued, prepared.issued, 'a new id each time')
  await expectRefusal(t, app.verify(await app.seed({}, { issued: false })), 422, 'FST_IAMPORT_MERCHANT_MISMATCH')
  t.equal(app.upstreamTotal(), 1, 'prepare makes no upstream call')

  const open = await startV2(t, { issuedIds: false }, {})
  t.equal((await open.prepare()).status, 404, 'no prepare route')
  const browserChosen = await open.seed()
  t.match(browserChosen, /^identity-verification-/)
  t.equal((await open.verify(browserChosen)).status, 200, 'an id the browser chose is accepted once')
  await expectRefusal(t, open.verify(browserChosen), 409, 'FST_IAMPORT_REPLAYED')
})

t.test('v2: FAILED is 422; the V1 fake answering in V2 mode is a 502', async (t) => {
  const fake = await createFakePortOneV2()
  t.teardown(() => fake.close())
  const { post } = await listen(t, async (app) => {
    await app.register(fastifyIamport, { apiVersion: 'v2', apiSecret: fake.apiSecret, baseUrl: fake.url, certifications: { issuedIds: false } })
  })
  const failed = fake.seedIdentityVerification({ status: 'FAILED' })
  await expectRefusal(t, post(url, { identityVerificationId: failed.id }), 422, 'FST_IAMPORT_NOT_CERTIFIED')
  const verified = fake.seedIdentityVerification()
  fake.inject({ target: 'certification', kind: 'envelope', body: { code: 0, message: null, response: { imp_uid: verified.id } } })
  await expectRefusal(t, post(url, { identityVerificationId: verified.id }), 502, 'FST_IAMPORT_UPSTREAM')
})

t.test('v2: a body pattern that refuses the issued ids fails registration; a custom one is used', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await t.rejects(async () => {
    await app.register(fastifyIamport, { apiVersion: 'v2', apiSecret: 's', certifications: { idPattern: '^signup-[0-9]+$' } })
    await app.ready()
  }, { code: 'FST_IAMPORT_INVALID_OPTIONS', message: /certifications.idPattern must accept the issued identity verification ids/ })

  const bad = Fastify()
  t.teardown(() => bad.close())
  await t.rejects(async () => {
    await bad.register(fastifyIamport, { apiVersion: 'v2', apiSecret: 's', certifications: { idPattern: '(' } })
    await bad.ready()
  }, { code: 'FST_IAMPORT_INVALID_OPTIONS', message: /certifications.idPattern must be a RegExp or a valid regular expression/ })

  const custom = await startV2(t, { issuedIds: false, idPattern: '^signup-[0-9]+$' }, {})
  await expectRefusal(t, custom.verify('identity-verification-1'), 400, 'FST_ERR_VALIDATION')
  await expectRefusal(t, custom.verify('signup-42'), 404, 'FST_IAMPORT_CERTIFICATION_NOT_FOUND')
})

// Runs after the table: V2 users never read V1 words. Error codes keep them (FST_IAMPORT_*: the
// contract), and so does the package's name.
t.test('v2: no answer body, error message or log line names imp_uid, i\'mport or iamport', async (t) => {
  t.ok(v2Texts.length > 100, `${v2Texts.length} V2 answers and log lines captured`)
  t.ok(v2Texts.some((text) => text.includes('"code":"FST_IAMPORT_UPSTREAM"')), 'upstream failures are among them')
  t.ok(v2Texts.some((text) => text.includes('"msg":"identity verification"')), 'the route\'s log lines are among them')
  const v1Words = /imp_uid|i'mport|(?<!fastify-|FST_)iamport/i
  const offending = v2Texts.filter((text) => v1Words.test(text))
  t.same(offending, [], 'no V1 words')
})

// Runs last: every log line this file's apps wrote, checked for every sensitive value.
t.test('no log line carries personal data, a secret or a token, in either version', async (t) => {
  assertNoSensitiveLogLines(t, { lines: 40, values: 40 })
})
