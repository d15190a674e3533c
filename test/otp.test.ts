// Server-driven (SMS) verification, once per API version over the same table of cases: i'mport
// V1 (`POST /certifications/otp/request`, `{ imp_uid }`, fake-iamport) and PortOne V2
// (`POST /identity-verifications/{id}/send`, `{ identityVerificationId }`, fake-portone-v2), over
// real HTTP. Each version has an adapter; the cases and their answers are shared.
import t, { type Test } from 'tap'
import fastifyIamport from '../index.js'
import type { CertificationsOptions, OtpOptions } from '../lib/options/route.js'
import { createFakeIamport, createFakePortOneV2, type Fault } from '../lib/testing/index.js'
import { listen, recordSensitive } from './helpers/app.js'
import { assertNoSensitiveLogLines } from './helpers/suite-checks.js'

type Version = 'v1' | 'v2'

interface Answer { status: number, body: any, headers: Headers }

/** The person of every case: an MVNO subscriber on LG U+, born 1990-03-04, a Korean woman. */
const person = { name: '김민지', phone: '01055556666', birth: '900304', genderDigit: '2', carrier: 'LGU', isMvno: true }
recordSensitive(person.name, person.phone)

interface OtpApp {
  version: Version
  field: 'imp_uid' | 'identityVerificationId'
  /** `POST /certifications/otp`. */
  send: (body?: unknown, headers?: Record<string, string>, contentType?: string) => Promise<Answer>
  /** A new code: V1 `POST /otp` again (a new id), V2 `POST /otp/resend` (the same id). */
  sendAgain: (id: string, headers?: Record<string, string>) => Promise<Answer>
  confirm: (id: unknown, otp: unknown, headers?: Record<string, string>) => Promise<Answer>
  post: (path: string, body: unknown, headers?: Record<string, string>) => Promise<Answer>
  /** The code the fake "sent" for this id. */
  codeOf: (id: string) => string
  /** Sends upstream received (V1 otp/request, V2 send + resend). */
  sends: () => number
  /** Confirmations upstream received. */
  confirms: () => number
  /** Lookups upstream received. */
  lookups: () => number
  upstreamTotal: () => number
  inject: (fault: Fault) => void
  /** Moves the route's clock. */
  shiftClock: (seconds: number) => void
  logs: string[]
}

const wrongCode = (code: string): string => code === '000000' ? '111111' : '000000'

/** Every answer body and log line of the V2 apps, for the V2 wording test. */
const v2Texts: string[] = []

async function start (t: Test, version: Version, route: CertificationsOptions = {}, otp: OtpOptions | true = {}): Promise<OtpApp> {
  let offsetMs = 0
  const certifications: CertificationsOptions = { now: () => new Date(Date.now() + offsetMs), ...route }
  if (version === 'v1') {
    const fake = await createFakeIamport()
    t.teardown(async () => {
      recordSensitive(...fake.issuedTokens())
      await fake.close()
    })
    recordSensitive(fake.apiSecret)
    const app = await listen(t, async (app) => {
      await app.register(fastifyIamport, { apiKey: fake.apiKey, apiSecret: fake.apiSecret, baseUrl: fake.url, certifications: { ...certifications, otp } })
    })
    const post = withHeaders(app.app.listeningOrigin)
    const send = (body: unknown = person, headers: Record<string, string> = {}, contentType?: string) => post('/certifications/otp', body, headers, contentType)
    return {
      version,
      field: 'imp_uid',
      send,
      sendAgain: (_id, headers) => send(person, headers),
      confirm: (id, code, headers) => post('/certifications/otp/confirm', { imp_uid: id, otp: code }, headers),
      post,
      codeOf: (id) => fake.sentOtp(id)!,
      sends: () => fake.calls.otpRequest,
      confirms: () => fake.calls.otpConfirm,
      lookups: () => fake.calls.getCertification,
      upstreamTotal: () => fake.calls.total,
      inject: (fault) => fake.inject(fault),
      shiftClock: (seconds) => { offsetMs += seconds * 1000 },
      logs: app.logs
    }
  }
  const fake = await createFakePortOneV2()
  t.teardown(() => fake.close())
  recordSensitive(fake.apiSecret)
  const app = await listen(t, async (app) => {
    await app.register(fastifyIamport, {
      apiVersion: 'v2', apiSecret: fake.apiSecret, storeId: fake.storeId, baseUrl: fake.url, certifications: { ...certifications, otp: otp === true ? { channelKey: fake.channelKey } : { channelKey: fake.channelKey, ...otp } }
    })
  })
  t.teardown(() => { v2Texts.push(...app.logs) })
  const raw = withHeaders(app.app.listeningOrigin)
  const post: typeof raw = async (...args) => {
    const answer = await raw(...args)
    v2Texts.push(JSON.stringify(answer.body ?? null))
    return answer
  }
  return {
    version,
    field: 'identityVerificationId',
    send: (body = person, headers = {}, contentType) => post('/certifications/otp', body, headers, contentType),
    sendAgain: (id, headers) => post('/certifications/otp/resend', { identityVerificationId: id }, headers),
    confirm: (id, code, headers) => post('/certifications/otp/confirm', { identityVerificationId: id, otp: code }, headers),
    post,
    codeOf: (id) => fake.sentOtp(id)!,
    sends: () => fake.otpCalls.sendIdentityVerification + fake.otpCalls.resendIdentityVerification,
    confirms: () => fake.otpCalls.confirmIdentityVerification,
    lookups: () => fake.calls.getIdentityVerification,
    upstreamTotal: () => fake.calls.total,
    inject: (fault) => fake.inject(fault),
    shiftClock: (seconds) => { offsetMs += seconds * 1000 },
    logs: app.logs
  }
}

/**
 * POST over real HTTP as one browser (the binding cookie goes back with every request), unless
 * `headers` names its own `cookie`.
 */
function withHeaders (address: string) {
  let cookie: string | undefined
  return async (path: string, body: unknown, headers: Record<string, string> = {}, contentType = 'application/json'): Promise<Answer> => {
    const res = await fetch(address + path, {
      method: 'POST',
      headers: { 'content-type': contentType, ...(cookie === undefined ? {} : { cookie }), ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body)
    })
    if (headers.cookie === undefined) {
      for (const setCookie of res.headers.getSetCookie()) cookie = setCookie.split(';')[0]
    }
    const text = await res.text()
    return { status: res.status, body: text === '' ? undefined : JSON.parse(text), headers: res.headers }
  }
}

const expectRefusal = (t: Test, res: Answer, status: number, code: string): void => {
  t.equal(res.status, status, code)
  t.equal(res.body?.code, code)
  t.same(Object.keys(res.body ?? {}).sort(), ['code', 'error', 'message', 'statusCode'], 'the standard error body only')
}

async function sent (t: Test, app: OtpApp, headers?: Record<string, string>): Promise<string> {
  const res = await app.send(person, headers)
  t.equal(res.status, 200, 'sent')
  t.same(Object.keys(res.body), [app.field], 'the answer is the id only')
  return res.body[app.field]
}

/** What the hooks saw, as the route answers it. */
const echoIdentity: CertificationsOptions['onVerified'] = (identity) => ({
  verificationId: identity.verificationId,
  requestId: identity.requestId,
  name: identity.name,
  gender: identity.gender,
  birthday: identity.birthday,
  phone: identity.phone,
  carrier: identity.carrier,
  foreigner: identity.foreigner,
  hasCi: identity.ci !== undefined,
  hasDi: identity.di !== undefined
})

let hookFails = false

interface Case {
  name: string
  route?: CertificationsOptions
  otp?: OtpOptions | true
  run: (t: Test, app: OtpApp) => Promise<void>
}

const other = { cookie: `idv_binding=${'f'.repeat(32)}` }

const cases: Case[] = [
  {
    name: 'send, a wrong code refused, the right code verified through the hooks; the same id again is 409',
    route: { onVerified: echoIdentity },
    async run (t, app) {
      const res = await app.send()
      t.equal(res.status, 200)
      t.match(res.headers.get('set-cookie'), /^idv_binding=[0-9a-f]{32}; Path=\/certifications; Max-Age=1800; HttpOnly; SameSite=Lax$/, 'bound to this browser')
      const id = res.body[app.field]
      t.match(id, app.version === 'v1' ? /^imp_[0-9]{12}$/ : /^iv[0-9a-f]{32}$/, 'V1: upstream names the id; V2: the server does')
      t.equal(app.sends(), 1)
      const code = app.codeOf(id)
      t.match(code, /^[0-9]{6}$/)

      expectRefusal(t, await app.confirm(id, wrongCode(code)), 422, 'FST_IAMPORT_OTP_INCORRECT')
      const verified = await app.confirm(id, code)
      t.equal(verified.status, 200)
      t.same(verified.body, {
        verificationId: id,
        requestId: app.version === 'v2' ? id : verified.body.requestId,
        name: '김민지',
        gender: 'female',
        birthday: '1990-03-04',
        phone: '01055556666',
        carrier: 'LGU_MVNO',
        foreigner: false,
        hasCi: true,
        hasDi: true
      })
      if (app.version === 'v1') t.match(verified.body.requestId, /^mid[0-9a-f]{32}$/, 'V1: the merchant_uid the route issued')
      t.equal(app.confirms(), 2, 'two codes checked upstream')

      expectRefusal(t, await app.confirm(id, code), 409, 'FST_IAMPORT_REPLAYED')
      expectRefusal(t, await app.confirm(id, wrongCode(code)), 409, 'FST_IAMPORT_REPLAYED')
      t.equal(app.confirms(), 2, 'a verified id is judged by a lookup: no code is checked again')
      const lines = app.logs.map((line) => JSON.parse(line)).filter((line) => /^identity verification/.test(line.msg))
      t.match(lines.map((line) => [line.msg, line.outcome]), [
        ['identity verification code sent', 'SENT'],
        ['identity verification', 'FST_IAMPORT_OTP_INCORRECT'],
        ['identity verification', 'VERIFIED'],
        ['identity verification', 'FST_IAMPORT_REPLAYED'],
        ['identity verification', 'FST_IAMPORT_REPLAYED']
      ])
    }
  },
  {
    name: 'the attempt limit: the last wrong code and everything after it is 429, with no more upstream confirmations',
    otp: { attempts: 3 },
    async run (t, app) {
      const id = await sent(t, app)
      const code = app.codeOf(id)
      expectRefusal(t, await app.confirm(id, wrongCode(code)), 422, 'FST_IAMPORT_OTP_INCORRECT')
      expectRefusal(t, await app.confirm(id, wrongCode(code)), 422, 'FST_IAMPORT_OTP_INCORRECT')
      expectRefusal(t, await app.confirm(id, wrongCode(code)), 429, 'FST_IAMPORT_OTP_ATTEMPTS_EXCEEDED')
      expectRefusal(t, await app.confirm(id, code), 429, 'FST_IAMPORT_OTP_ATTEMPTS_EXCEEDED')
      t.equal(app.confirms(), 3, 'three codes reached upstream, the right one never')

      const concurrent = await sent(t, app, { cookie: `idv_binding=${'a'.repeat(32)}` })
      const guesses = await Promise.all(Array.from({ length: 10 }, (_, i) =>
        app.confirm(concurrent, String(100000 + i), { cookie: `idv_binding=${'a'.repeat(32)}` })))
      t.equal(app.confirms(), 6, '10 concurrent guesses: 3 reach upstream')
      t.same(guesses.map((res) => res.status).sort(), [422, 422, 429, 429, 429, 429, 429, 429, 429, 429])
    }
  },
  {
    name: 'the cooldown: a new code within 60 s is 429 with Retry-After and no SMS; after it, a new code works',
    async run (t, app) {
      const id = await sent(t, app)
      const early = await app.sendAgain(id)
      expectRefusal(t, early, 429, 'FST_IAMPORT_OTP_TOO_SOON')
      t.equal(early.headers.get('retry-after'), '60')
      t.equal(app.sends(), 1, 'nothing sent upstream')
      app.shiftClock(45)
      t.equal((await app.sendAgain(id)).headers.get('retry-after'), '15')
      app.shiftClock(15)
      const again = await app.sendAgain(id)
      t.equal(again.status, 200)
      t.equal(app.sends(), 2)
      const next: string = again.body[app.field]
      if (app.version === 'v2') t.equal(next, id, 'V2: the same id')
      else t.not(next, id, 'V1: a new imp_uid')
      t.equal((await app.confirm(next, app.codeOf(next))).status, 200, 'the new code verifies')
      t.equal((await app.send(person, other)).status, 200, 'another requester has a cooldown of its own')
    }
  },
  {
    name: 'resendCooldownSeconds: 0 turns the cooldown off',
    otp: { resendCooldownSeconds: 0 },
    async run (t, app) {
      const id = await sent(t, app)
      t.equal((await app.sendAgain(id)).status, 200)
      t.equal(app.sends(), 2)
    }
  },
  {
    name: 'an expired code: 422 FST_IAMPORT_OTP_EXPIRED without an upstream confirmation; a new code verifies',
    async run (t, app) {
      const id = await sent(t, app)
      app.shiftClock(180)
      expectRefusal(t, await app.confirm(id, app.codeOf(id)), 422, 'FST_IAMPORT_OTP_EXPIRED')
      t.equal(app.confirms(), 0)
      const again = await app.sendAgain(id)
      t.equal(again.status, 200)
      const next = again.body[app.field]
      t.equal((await app.confirm(next, app.codeOf(next))).status, 200)
    }
  },
  {
    name: 'codeTtlSeconds sets the lifetime of a code',
    otp: { codeTtlSeconds: 30 },
    async run (t, app) {
      const id = await sent(t, app)
      app.shiftClock(29)
      expectRefusal(t, await app.confirm(id, wrongCode(app.codeOf(id))), 422, 'FST_IAMPORT_OTP_INCORRECT')
      app.shiftClock(1)
      expectRefusal(t, await app.confirm(id, app.codeOf(id)), 422, 'FST_IAMPORT_OTP_EXPIRED')
    }
  },
  {
    name: 'bad send input: 400 (or 413/415) with no upstream request at all',
    async run (t, app) {
      const bodies: Array<[unknown, number, string, string?]> = [
        [{}, 400, 'FST_ERR_VALIDATION'],
        ['null', 400, 'FST_ERR_VALIDATION'],
        [[person], 400, 'FST_ERR_VALIDATION'],
        [{ ...person, company: 'shop.example' }, 400, 'FST_ERR_VALIDATION'],
        [{ ...person, name: '' }, 400, 'FST_ERR_VALIDATION'],
        [{ ...person, name: '   ' }, 400, 'FST_ERR_VALIDATION'],
        [{ ...person, name: '김\n민지' }, 400, 'FST_ERR_VALIDATION'],
        [{ ...person, name: '가'.repeat(61) }, 400, 'FST_ERR_VALIDATION'],
        [{ ...person, name: ['김민지'] }, 400, 'FST_ERR_VALIDATION'],
        [{ ...person, phone: '010-5555-6666' }, 400, 'FST_ERR_VALIDATION'],
        [{ ...person, phone: '0212345678' }, 400, 'FST_ERR_VALIDATION'],
        [{ ...person, phone: '010555566667' }, 400, 'FST_ERR_VALIDATION'],
        [{ ...person, phone: '010555566' }, 400, 'FST_ERR_VALIDATION'],
        [{ ...person, phone: 1055556666 }, 400, 'FST_ERR_VALIDATION'],
        [{ ...person, phone: '０１０５５５５６６６６' }, 400, 'FST_ERR_VALIDATION'],
        [{ ...person, birth: '19900304' }, 400, 'FST_ERR_VALIDATION'],
        [{ ...person, birth: '900230' }, 400, 'FST_ERR_VALIDATION'],
        [{ ...person, birth: '901304' }, 400, 'FST_ERR_VALIDATION'],
        [{ ...person, birth: '9003O4' }, 400, 'FST_ERR_VALIDATION'],
        [{ ...person, birth: 900304 }, 400, 'FST_ERR_VALIDATION'],
        [{ ...person, birth: '990101', genderDigit: '3' }, 400, 'FST_ERR_VALIDATION', 'born in 2099: the future'],
        [{ ...person, genderDigit: '9' }, 400, 'FST_ERR_VALIDATION'],
        [{ ...person, genderDigit: '0' }, 400, 'FST_ERR_VALIDATION'],
        [{ ...person, genderDigit: 2 }, 400, 'FST_ERR_VALIDATION'],
        [{ ...person, genderDigit: '12' }, 400, 'FST_ERR_VALIDATION'],
        [{ ...person, carrier: 'LGT' }, 400, 'FST_ERR_VALIDATION', 'V1 spells it LGT on the wire; the route takes LGU'],
        [{ ...person, carrier: 'skt' }, 400, 'FST_ERR_VALIDATION'],
        [{ ...person, carrier: 'SKT_MVNO' }, 400, 'FST_ERR_VALIDATION'],
        [{ ...person, isMvno: 'true' }, 400, 'FST_ERR_VALIDATION'],
        [{ ...person, carrier: undefined }, 400, 'FST_ERR_VALIDATION'],
        ['{"name":', 400, 'FST_ERR_CTP_INVALID_JSON_BODY'],
        [{ ...person, name: '가'.repeat(400) }, 413, 'FST_ERR_CTP_BODY_TOO_LARGE']
      ]
      for (const [body, status, code, why] of bodies) {
        const res = await app.send(body)
        expectRefusal(t, res, status, code)
        t.notMatch(res.body.message, /5555|6666|900304|민지/, why ?? 'the message never echoes a value')
      }
      expectRefusal(t, await app.send('name=x', {}, 'application/x-www-form-urlencoded'), 415, 'FST_ERR_CTP_INVALID_MEDIA_TYPE')
      expectRefusal(t, await app.send('김민지', {}, 'text/plain'), 400, 'FST_ERR_VALIDATION')
      t.match((await app.send({ ...person, birth: '900230' })).body.message, /^body\/birth must be YYMMDD/)
      for (const [body, problem] of [
        [{ ...person, extra: 1 }, /^body must have only/], [{ ...person, name: '' }, /^body\/name/], [{ ...person, phone: 'x' }, /^body\/phone/],
        [{ ...person, genderDigit: 'x' }, /^body\/genderDigit/], [{ ...person, carrier: 'x' }, /^body\/carrier/], [{ ...person, isMvno: 1 }, /^body\/isMvno/]
      ] as Array<[unknown, RegExp]>) {
        t.match((await app.send(body)).body.message, problem)
      }
      t.equal(app.upstreamTotal(), 0, 'not a single upstream request (no token either)')
      t.equal((await app.send({ ...person, isMvno: undefined, carrier: 'SKT', genderDigit: '3', birth: '050229' })).status, 400, 'no 29 February in 2005')
      t.equal((await app.send({ ...person, isMvno: false, carrier: 'KT', genderDigit: '4', birth: '040229', phone: '0105555666' })).status, 200,
        'a 10-digit phone, born 29 February 2004')
    }
  },
  {
    name: 'bad confirm input: 400 with no upstream request',
    async run (t, app) {
      const id = await sent(t, app)
      const before = app.upstreamTotal()
      const field = app.field
      for (const body of [{}, { [field]: id }, { otp: '123456' }, { [field]: id, otp: 123456 }, { [field]: id, otp: '12345a' },
        { [field]: id, otp: '123' }, { [field]: id, otp: '123456789' }, { [field]: id, otp: '123456', extra: true }, { [field]: '../x', otp: '123456' },
        { [field]: [id], otp: '123456' }, [id]]) {
        expectRefusal(t, await app.post('/certifications/otp/confirm', body), 400, 'FST_ERR_VALIDATION')
      }
      t.match((await app.post('/certifications/otp/confirm', {})).body.message, new RegExp(`^body must be \\{ ${field}: a string matching`))
      t.equal(app.upstreamTotal(), before)
    }
  },
  {
    name: 'binding: another browser, or none, cannot confirm (no attempt used, nothing upstream); the owner can',
    otp: { attempts: 1 },
    async run (t, app) {
      const id = await sent(t, app)
      const code = app.codeOf(id)
      expectRefusal(t, await app.confirm(id, code, other), 422, 'FST_IAMPORT_MERCHANT_MISMATCH')
      expectRefusal(t, await app.confirm(id, code, { cookie: '' }), 422, 'FST_IAMPORT_MERCHANT_MISMATCH')
      t.equal(app.confirms(), 0)
      t.equal((await app.confirm(id, code)).status, 200, 'the one attempt is still there')
    }
  },
  {
    name: 'a host subject binds the id to the session',
    route: { issuedIds: { required: true, subject: (request) => String(request.headers['x-session'] ?? '') } },
    async run (t, app) {
      expectRefusal(t, await app.send(person, { 'x-session': '' }), 500, 'FST_IAMPORT_HOOK_FAILED')
      const id = await sent(t, app, { 'x-session': 'alice', cookie: '' })
      t.equal((await app.send(person, { 'x-session': 'alice', cookie: '' })).status, 429, 'the cooldown is the session\'s')
      expectRefusal(t, await app.confirm(id, app.codeOf(id), { 'x-session': 'mallory', cookie: '' }), 422, 'FST_IAMPORT_MERCHANT_MISMATCH')
      t.equal((await app.confirm(id, app.codeOf(id), { 'x-session': 'alice', cookie: 'idv_binding=' + 'b'.repeat(32) })).status, 200, 'the cookie plays no part')
    }
  },
  {
    name: 'an upstream failure while confirming gives the attempt back; the code still verifies',
    otp: { attempts: 1 },
    async run (t, app) {
      const id = await sent(t, app)
      app.inject({ target: 'certification', kind: 'status', status: 500 })
      expectRefusal(t, await app.confirm(id, app.codeOf(id)), 502, 'FST_IAMPORT_UPSTREAM')
      t.equal((await app.confirm(id, app.codeOf(id))).status, 200)
    }
  },
  {
    name: 'an upstream failure while sending: 502, no cooldown, and a retry sends',
    async run (t, app) {
      app.inject({ target: 'certification', kind: 'status', status: 500 })
      expectRefusal(t, await app.send(), 502, 'FST_IAMPORT_UPSTREAM')
      t.equal((await app.send()).status, 200, 'no cooldown after a failed send')
    }
  },
  {
    name: 'a hook that fails releases the verification: the retry is judged by a lookup and verifies',
    route: {
      onVerified: () => {
        if (hookFails) throw new Error('database down')
        return { ok: true }
      }
    },
    async run (t, app) {
      hookFails = true
      const id = await sent(t, app)
      expectRefusal(t, await app.confirm(id, app.codeOf(id)), 500, 'FST_IAMPORT_HOOK_FAILED')
      hookFails = false
      const retry = await app.confirm(id, '000000')
      t.equal(retry.status, 200)
      t.same(retry.body, { ok: true })
      t.equal(app.confirms(), 1, 'the code was checked once')
      expectRefusal(t, await app.confirm(id, '000000'), 409, 'FST_IAMPORT_REPLAYED')
    }
  },
  {
    name: 'the right code posted 5 times at once: one 200, four 409',
    async run (t, app) {
      const id = await sent(t, app)
      const code = app.codeOf(id)
      const answers = await Promise.all(Array.from({ length: 5 }, () => app.confirm(id, code)))
      t.same(answers.map((res) => res.status).sort(), [200, 409, 409, 409, 409])
      t.ok(answers.filter((res) => res.status === 409).every((res) => res.body.code === 'FST_IAMPORT_REPLAYED'))
    }
  },
  {
    name: 'an id no code is pending for (never sent here) is judged by a lookup, never confirmed upstream',
    async run (t, app) {
      expectRefusal(t, await app.confirm(app.version === 'v1' ? 'imp_000000000001' : 'iv00000000000000000000000000000001', '123456'), 404, 'FST_IAMPORT_CERTIFICATION_NOT_FOUND')
      t.equal(app.confirms(), 0)
      t.equal(app.lookups(), 1)
    }
  },
  {
    name: 'the checks and hooks of the route apply: minAge',
    route: { minAge: 40 },
    async run (t, app) {
      const id = await sent(t, app)
      const code = app.codeOf(id)
      expectRefusal(t, await app.confirm(id, code), 403, 'FST_IAMPORT_AGE_RESTRICTED')
      expectRefusal(t, await app.confirm(id, code), 409, 'FST_IAMPORT_REPLAYED')
    }
  },
  {
    name: 'otp: true gives the defaults',
    otp: true,
    async run (t, app) {
      const id = await sent(t, app)
      expectRefusal(t, await app.sendAgain(id), 429, 'FST_IAMPORT_OTP_TOO_SOON')
      t.equal((await app.confirm(id, app.codeOf(id))).status, 200)
    }
  }
]

for (const version of ['v1', 'v2'] as const) {
  t.test(`${version}: the shared table`, async (t) => {
    for (const c of cases) {
      await t.test(c.name, async (t) => {
        const app = await start(t, version, c.route, c.otp)
        await c.run(t, app)
      })
    }
  })
}

// ---------------------------------------------------------------------------------------------
// What only one version has
// ---------------------------------------------------------------------------------------------

t.test('v2: resend sends a new code for the same id; the old one fails, the wrong codes still count', async (t) => {
  const app = await start(t, 'v2', {}, { attempts: 2 })
  const id = await sent(t, app)
  const first = app.codeOf(id)
  expectRefusal(t, await app.confirm(id, wrongCode(first)), 422, 'FST_IAMPORT_OTP_INCORRECT')
  app.shiftClock(60)
  const resent = await app.sendAgain(id)
  t.equal(resent.status, 200)
  t.same(resent.body, { identityVerificationId: id })
  const second = app.codeOf(id)
  if (second === first) t.pass('the same 6 digits by chance')
  else expectRefusal(t, await app.confirm(id, first), 429, 'FST_IAMPORT_OTP_ATTEMPTS_EXCEEDED')
  expectRefusal(t, await app.confirm(id, second), 429, 'FST_IAMPORT_OTP_ATTEMPTS_EXCEEDED')
  app.shiftClock(60)
  expectRefusal(t, await app.sendAgain(id), 429, 'FST_IAMPORT_OTP_ATTEMPTS_EXCEEDED')
  t.equal(app.sends(), 2, 'a used-up id gets no more SMS')
})

t.test('v2: resend refuses an unknown id (404), someone else\'s (422) and bad bodies (400), with no upstream request', async (t) => {
  const app = await start(t, 'v2')
  const id = await sent(t, app)
  app.shiftClock(60)
  const before = app.upstreamTotal()
  expectRefusal(t, await app.sendAgain('iv00000000000000000000000000000001'), 404, 'FST_IAMPORT_OTP_NOT_SENT')
  expectRefusal(t, await app.sendAgain(id, other), 422, 'FST_IAMPORT_MERCHANT_MISMATCH')
  for (const body of [{}, { identityVerificationId: '..' }, { identityVerificationId: id, otp: '123456' }, null]) {
    expectRefusal(t, await app.post('/certifications/otp/resend', body), 400, 'FST_ERR_VALIDATION')
  }
  t.match((await app.post('/certifications/otp/resend', {})).body.message, /^body must be \{ identityVerificationId: a string matching/)
  t.equal(app.upstreamTotal(), before)
  t.equal((await app.confirm(id, app.codeOf(id))).status, 200)
  expectRefusal(t, await app.sendAgain(id), 404, 'FST_IAMPORT_OTP_NOT_SENT')
})

t.test('v2: a failed resend starts no cooldown; upstream refusals keep their codes', async (t) => {
  const app = await start(t, 'v2')
  const id = await sent(t, app)
  app.shiftClock(60)
  app.inject({ target: 'certification', kind: 'status', status: 502, message: 'x' })
  expectRefusal(t, await app.sendAgain(id), 502, 'FST_IAMPORT_UPSTREAM')
  app.inject({ target: 'certification', kind: 'envelope', status: 502, body: { type: 'PG_PROVIDER', pgCode: 'X1', pgMessage: '오류' } })
  expectRefusal(t, await app.sendAgain(id), 502, 'FST_IAMPORT_PG_REFUSED')
  t.equal((await app.sendAgain(id)).status, 200, 'no cooldown after the failures')
  app.inject({ target: 'certification', kind: 'envelope', status: 400, body: { type: 'MAX_TRANSACTION_COUNT_REACHED' } })
  expectRefusal(t, await app.send(person, other), 429, 'FST_IAMPORT_OTP_LIMIT_REACHED')
  app.inject({ target: 'certification', kind: 'envelope', status: 502, body: { type: 'PG_PROVIDER', pgCode: 'UCD_0106', pgMessage: '인증번호 불일치' } })
  expectRefusal(t, await app.confirm(id, app.codeOf(id)), 422, 'FST_IAMPORT_OTP_INCORRECT')
  t.equal((await app.confirm(id, app.codeOf(id))).status, 200, 'one attempt of five was used')
})

t.test('v2: the channel key is required, and a wrong one is a 502 naming CHANNEL_NOT_FOUND', async (t) => {
  const fake = await createFakePortOneV2()
  t.teardown(() => fake.close())
  for (const otp of [true, {}] as const) {
    const { registrationError } = await import('./helpers/registration.js')
    const err = await registrationError({ apiVersion: 'v2', apiSecret: 's', certifications: { otp } })
    t.equal(err.code, 'FST_IAMPORT_INVALID_OPTIONS')
    t.equal(err.message, 'Invalid fastify-iamport option: certifications.otp.channelKey is required: it names the identity verification channel that sends the code')
  }
  const { post } = await listen(t, async (app) => {
    await app.register(fastifyIamport, { apiVersion: 'v2', apiSecret: fake.apiSecret, baseUrl: fake.url, certifications: { otp: { channelKey: 'channel-key-wrong' } } })
  })
  const res = await post('/certifications/otp', person)
  t.equal(res.status, 502)
  t.equal(res.body.code, 'FST_IAMPORT_UPSTREAM')
  t.match(res.body.message, /sendIdentityVerification: HTTP 404, CHANNEL_NOT_FOUND \(check the channel key\)/)
})

t.test('v1: there is no resend route (a new code is a new POST /otp); a channelKey is taken', async (t) => {
  const app = await start(t, 'v1', {}, { channelKey: 'channel-key-kcp' })
  const id = await sent(t, app)
  const res = await app.post('/certifications/otp/resend', { imp_uid: id })
  t.equal(res.status, 404, 'V1 asks for a new code with POST /otp')
  t.equal(app.sends(), 1)
})

t.test('v1: a confirmation upstream that is not certified is refused', async (t) => {
  const app = await start(t, 'v1')
  const id = await sent(t, app)
  app.inject({ target: 'certification', kind: 'envelope', body: { code: 0, message: null, response: { imp_uid: id, certified: false } } })
  expectRefusal(t, await app.confirm(id, app.codeOf(id)), 422, 'FST_IAMPORT_NOT_CERTIFIED')
})

// Runs after the table: V2 users never read V1 words. Error codes keep them (FST_IAMPORT_*: the
// contract), and so does the package's name.
t.test('v2: no answer body, error message or log line names imp_uid, i\'mport or iamport', async (t) => {
  t.ok(v2Texts.length > 100, `${v2Texts.length} V2 answers and log lines captured`)
  const v1Words = /imp_uid|i'mport|(?<!fastify-|FST_)iamport/i
  t.same(v2Texts.filter((text) => v1Words.test(text)), [], 'no V1 words')
})

// Runs last: every log line this file's apps wrote, checked for every sensitive value.
t.test('no log line carries personal data, a secret or a token, in either version', async (t) => {
  assertNoSensitiveLogLines(t, { lines: 100, values: 10 })
})
