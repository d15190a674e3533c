import t, { type Test } from 'tap'
import { createHash } from 'node:crypto'
import { access, mkdtemp, readFile, rm } from 'node:fs/promises'
import { createServer, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import Database from 'better-sqlite3'
import * as errors from '../lib/errors.js'
import { koMessages } from '../lib/messages-ko.js'
import { createFakeIamport, createFakePortOneV2 } from '../lib/testing/index.js'
import { buildExampleApp, MIN_AGE } from '../example/app.js'
import { DEV_CI_PEPPER, PRODUCTION_PEPPER_REQUIRED, trustProxyOption } from '../example/config.js'
import { messageFor, OUTCOME_MESSAGES } from '../example/messages.js'
import { IAMPORT_SDK_URL, PORTONE_SDK_URL } from '../example/page.js'
import { readCookie, SESSION_COOKIE, sessionOf } from '../example/session.js'
import { ciKey, openUserStore } from '../example/users.js'
import {
  birthdayForYearAge, BrowserSession, runExampleServer, sandboxCi, seedSandbox, seedVerification, startExample, TEST_PEPPER,
  type Person, type RunningExample
} from './helpers/example.js'

const adult: Person = { name: '홍길동', birthday: '1990-01-01', phone: '01012345678' }

function fakeUrl (example: RunningExample): string {
  if (example.sandbox === undefined) throw new Error('not in sandbox mode')
  return example.sandbox.url
}

/**
 * The whole browserless flow: prepare in this session, "verify" in the sandbox window of the
 * example's generation, post the id. `extra` overrides V1 certification fields (V1 only).
 */
async function signUp (example: RunningExample, session: BrowserSession, person: Person, extra?: Record<string, unknown>) {
  const merchantUid = await session.prepare()
  const impUid = extra === undefined
    ? await seedSandbox(example, person, merchantUid)
    : await seedVerification(fakeUrl(example), person, merchantUid, extra)
  return { impUid, merchantUid, answer: await session.verify(impUid) }
}

/** Every error code lib/errors.ts defines. */
function packageErrorCodes (): string[] {
  type ErrorClass = new (message: string) => Error & { code: string }
  return (Object.values(errors) as unknown[])
    .filter((value): value is ErrorClass => typeof value === 'function' && value.prototype instanceof Error)
    .map((ErrorClass) => new ErrorClass('x').code)
}

t.test('GET / in sandbox mode: the page, a session cookie, the fake server as the verification window', async (t) => {
  const example = await startExample(t)
  t.equal(example.mode, 'sandbox')
  const session = new BrowserSession(example.url)
  const answer = await session.request('GET', '/')
  t.equal(answer.status, 200)
  t.equal(answer.headers.get('content-type'), 'text/html; charset=utf-8')
  t.equal(answer.headers.get('cache-control'), 'no-store')
  t.match(answer.body, '본인인증 · Verify my identity')
  t.match(answer.body, `"sandboxUrl":"${fakeUrl(example)}"`)
  t.notMatch(answer.body, 'cdn.iamport.kr', 'no SDK in the sandbox')
  t.match(session.cookie, new RegExp(`^${SESSION_COOKIE}=[A-Za-z0-9_-]{22}\\.[A-Za-z0-9_-]{43}$`))
  const setCookie = String(answer.headers.get('set-cookie'))
  t.match(setCookie, /; Path=\/; HttpOnly; SameSite=Lax$/)

  const again = await session.request('GET', '/')
  t.equal(again.headers.get('set-cookie'), null, 'a valid cookie keeps its session')
})

t.test('GET / in V2 sandbox mode: the page speaks V2 and opens the fake PortOne V2 server\'s window', async (t) => {
  const example = await startExample(t, { PORTONE_API_VERSION: 'v2' })
  const page = (await new BrowserSession(example.url, 'v2').request('GET', '/')).body as string
  t.match(page, `"sandboxUrl":"${example.sandboxV2!.url}"`)
  t.match(page, '"apiVersion":"v2"')
  t.match(page, "'/sandbox/identity-verification?identityVerificationId='")
  t.match(page, 'Sandbox (PortOne V2)')
  t.notMatch(page, /<script src=/, 'no SDK in the sandbox')

  // The window the page opens: the V2 flavour of the sandbox page, served by the fake V2 server.
  const sandboxWindow = await fetch(`${example.sandboxV2!.url}/sandbox/identity-verification?identityVerificationId=iv0123`)
  t.equal(sandboxWindow.status, 200)
  t.match(await sandboxWindow.text(), 'data-api="v2" data-request-id="iv0123"')
})

/** The CSP hash source of an inline element's text, the way a browser computes it. */
function hashSource (text: string): string {
  return `'sha256-${createHash('sha256').update(text).digest('base64')}'`
}

/** A CSP header as directive name -> its sources. */
function directives (policy: string | null): Map<string, string[]> {
  const parsed = new Map<string, string[]>()
  for (const directive of String(policy).split(';')) {
    const [name, ...sources] = directive.trim().split(/\s+/)
    if (name !== undefined && name !== '') parsed.set(name, sources)
  }
  return parsed
}

t.test('the page is sent with a CSP that allows exactly its own script and style, and no framing', async (t) => {
  const example = await startExample(t)
  const answer = await new BrowserSession(example.url).request('GET', '/')
  const page = answer.body as string
  t.equal(answer.headers.get('x-frame-options'), 'DENY', 'for browsers without frame-ancestors')
  t.equal(answer.headers.get('x-content-type-options'), 'nosniff')
  const policy = directives(answer.headers.get('content-security-policy'))
  t.same(policy.get('frame-ancestors'), ["'none'"], 'nobody may frame the page')

  // The inline script and style are allowed by their hashes, and nothing else is.
  const inlineScripts = [...page.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((match) => match[1]!)
  const inlineStyles = [...page.matchAll(/<style>([\s\S]*?)<\/style>/g)].map((match) => match[1]!)
  t.equal(inlineScripts.length, 1)
  t.equal(inlineStyles.length, 1)
  t.same(Object.fromEntries(policy), {
    'default-src': ["'none'"],
    'script-src': [hashSource(inlineScripts[0]!)],
    'style-src': [hashSource(inlineStyles[0]!)],
    'connect-src': ["'self'"],
    'form-action': ["'none'"],
    'base-uri': ["'none'"],
    'frame-ancestors': ["'none'"]
  }, 'sandbox: no SDK origin, no unsafe-inline, fetch to this origin only')
  t.notMatch(page, / on[a-z]+=/, 'no inline event handlers (the CSP would block them)')

  // V2 sandbox: the same policy (the page's script is the same for both generations).
  const v2 = await startExample(t, { PORTONE_API_VERSION: 'v2' })
  const v2Answer = await new BrowserSession(v2.url, 'v2').request('GET', '/')
  t.equal(v2Answer.headers.get('content-security-policy'), answer.headers.get('content-security-policy'))

  // Everything else the app answers (JSON, 404) allows nothing and cannot be framed either.
  for (const [method, path] of [['POST', '/certifications/prepare'], ['POST', '/certifications'], ['GET', '/nowhere']] as const) {
    const other = await new BrowserSession(example.url).request(method, path, method === 'POST' && path === '/certifications' ? {} : undefined)
    t.equal(other.headers.get('content-security-policy'), "default-src 'none'; frame-ancestors 'none'", `${method} ${path}`)
    t.equal(other.headers.get('x-frame-options'), 'DENY', `${method} ${path}`)
  }
})

t.test('production pages allow the vendor SDK\'s origin for scripts, and still no framing', async (t) => {
  const iamport = await createFakeIamport()
  const portone = await createFakePortOneV2()
  t.teardown(() => Promise.all([iamport.close(), portone.close()]))
  const v1 = await startExample(t, {
    IAMPORT_API_KEY: iamport.apiKey, IAMPORT_API_SECRET: iamport.apiSecret, IAMPORT_MERCHANT_CODE: 'imp12345678', IAMPORT_BASE_URL: iamport.url
  })
  const v2 = await startExample(t, {
    PORTONE_API_VERSION: 'v2', PORTONE_API_SECRET: portone.apiSecret, PORTONE_STORE_ID: portone.storeId, PORTONE_CHANNEL_KEY: 'channel-key-0123', PORTONE_BASE_URL: portone.url
  })
  for (const [example, sdk, other] of [[v1, IAMPORT_SDK_URL, PORTONE_SDK_URL], [v2, PORTONE_SDK_URL, IAMPORT_SDK_URL]] as const) {
    const answer = await new BrowserSession(example.url, example.apiVersion).request('GET', '/')
    const page = answer.body as string
    const policy = directives(answer.headers.get('content-security-policy'))
    const inlineScript = /<script>([\s\S]*?)<\/script>/.exec(page)![1]!
    t.same(policy.get('script-src'), [hashSource(inlineScript), new URL(sdk).origin], `${example.apiVersion}: the page's script and ${new URL(sdk).origin}`)
    t.match(page, `<script src="${sdk}"></script>`)
    t.notOk(policy.get('script-src')!.includes(new URL(other).origin), 'not the other generation\'s SDK')
    t.same(policy.get('default-src'), ["'none'"])
    t.same(policy.get('object-src'), undefined, "plugins fall back to default-src 'none'")
    t.same(policy.get('base-uri'), ["'none'"])
    t.same(policy.get('frame-ancestors'), ["'none'"])
    t.same(policy.get('frame-src'), ['https:'], 'the SDK\'s verification window and the pages it goes on to')
    t.equal(answer.headers.get('x-frame-options'), 'DENY')
  }
})

/** One API generation of the example, for the flows that must behave the same in both. */
interface Flavor {
  version: 'v1' | 'v2'
  environment: Record<string, unknown>
  /** Ids the route's body schema refuses before any upstream call. */
  malformed: string[]
  /** A well-formed id upstream does not know. */
  unknownId: string
  /** An id the browser made up: never issued by this server. */
  chosenByBrowser: string
  /** Upstream lookups so far. */
  lookups: (example: RunningExample) => number
}

const FLAVORS: Flavor[] = [
  {
    version: 'v1',
    environment: {},
    malformed: ['imp_1/../../subscribe/customers/x', 'imp_12345abc', '../users/getToken', ''],
    unknownId: 'imp_000000000001',
    chosenByBrowser: 'mid_chosen_by_the_browser',
    lookups: (example) => example.sandbox!.calls.getCertification
  },
  {
    version: 'v2',
    environment: { PORTONE_API_VERSION: 'v2' },
    malformed: ['iv1/../../identity-verifications/x', 'iv 1', '../payments', '', 'x'.repeat(65)],
    unknownId: 'iv' + '0'.repeat(32),
    chosenByBrowser: 'iv_chosen_by_the_browser',
    lookups: (example) => example.sandboxV2!.calls.getIdentityVerification
  }
]

// The flows of the sign-up page, once per API generation: the hooks are the same code, so the
// answers must be too.
for (const flavor of FLAVORS) {
  const start = (t: Test): Promise<RunningExample> => startExample(t, flavor.environment)
  const tab = (example: RunningExample): BrowserSession => new BrowserSession(example.url, example.apiVersion)

  t.test(`${flavor.version}: the app runs on that API generation, in sandbox mode`, async (t) => {
    const example = await start(t)
    t.equal(example.apiVersion, flavor.version)
    t.equal(example.mode, 'sandbox')
    t.equal(flavor.version === 'v2' ? example.sandbox : example.sandboxV2, undefined, 'one fake server, of that generation')
  })

  t.test(`${flavor.version}: an adult signs up and is welcomed by name, and nothing else`, async (t) => {
    const example = await start(t)
    const session = tab(example)
    const { answer } = await signUp(example, session, adult)
    t.equal(answer.status, 200)
    t.same(answer.body, { welcome: '홍길동' }, 'no CI, phone or birthday in the body')
    t.equal(example.users.count(), 1)
  })

  t.test(`${flavor.version}: the same person again is already registered, from any browser`, async (t) => {
    const example = await start(t)
    const first = tab(example)
    t.equal((await signUp(example, first, adult)).answer.status, 200)

    const sameBrowser = await signUp(example, first, adult)
    t.equal(sameBrowser.answer.status, 409)
    t.same(sameBrowser.answer.body, { statusCode: 409, code: 'FST_IAMPORT_DUPLICATE', error: 'Conflict', message: koMessages.FST_IAMPORT_DUPLICATE }, 'in the package\'s Korean')

    // Another phone, another carrier: the same CI, so the same person.
    const other = await signUp(example, tab(example), { ...adult, phone: '01099998888', carrier: 'KT' })
    t.match(other.answer.body, { code: 'FST_IAMPORT_DUPLICATE' })
    // Same name and birthday but another person (another CI) is welcome.
    const namesake = await signUp(example, first, { ...adult, gender: 'female' })
    t.same(namesake.answer.body, { welcome: '홍길동' })
    t.equal(example.users.count(), 2)
  })

  t.test(`${flavor.version}: a 17-year-old (born this year minus 17, Seoul time) is under age`, async (t) => {
    const example = await start(t)
    t.equal(MIN_AGE, 19)
    const session = tab(example)
    const { answer } = await signUp(example, session, { name: '김민지', birthday: birthdayForYearAge(17), gender: 'female' })
    t.equal(answer.status, 403)
    t.match(answer.body, { code: 'FST_IAMPORT_AGE_RESTRICTED' })
    t.equal(example.users.count(), 0)

    // The year basis (연 나이): born Jan 1 of this year minus 18 is still 18; Dec 31 of this year minus 19 is 19.
    const eighteen = await signUp(example, session, { name: '이서준', birthday: birthdayForYearAge(18, '01-01') })
    t.match(eighteen.answer.body, { code: 'FST_IAMPORT_AGE_RESTRICTED' })
    const nineteen = await signUp(example, session, { name: '박지호', birthday: birthdayForYearAge(19, '12-31') })
    t.same(nineteen.answer.body, { welcome: '박지호' }, '19 by birth year even before the birthday')
  })

  t.test(`${flavor.version}: a tampered id gets a clear error and never becomes an account`, async (t) => {
    const example = await start(t)
    const session = tab(example)
    await session.prepare()
    const before = flavor.lookups(example)

    for (const tampered of flavor.malformed) {
      const answer = await session.verify(tampered)
      t.equal(answer.status, 400, JSON.stringify(tampered))
      t.match(answer.body, { code: 'FST_ERR_VALIDATION' })
    }
    t.equal(flavor.lookups(example), before, 'malformed ones never reach upstream')

    const unknown = await session.verify(flavor.unknownId)
    t.equal(unknown.status, 404)
    t.match(unknown.body, { code: 'FST_IAMPORT_CERTIFICATION_NOT_FOUND' })

    const { impUid } = await signUp(example, session, adult)
    const replayed = await session.verify(impUid)
    t.equal(replayed.status, 409)
    t.match(replayed.body, { code: 'FST_IAMPORT_REPLAYED' })
    t.equal(example.users.count(), 1)
  })

  t.test(`${flavor.version}: an id issued to another session, or never issued, is a mismatch`, async (t) => {
    const example = await start(t)
    const alice = tab(example)
    const mallory = tab(example)
    const issued = await alice.prepare()
    await mallory.prepare()
    const id = await seedSandbox(example, adult, issued)

    const stolen = await mallory.verify(id)
    t.equal(stolen.status, 422)
    t.match(stolen.body, { code: 'FST_IAMPORT_MERCHANT_MISMATCH' })

    const cookieless = await tab(example).verify(id)
    t.match(cookieless.body, { code: 'FST_IAMPORT_MERCHANT_MISMATCH' }, 'no cookie: a new session')

    const forged = tab(example)
    forged.cookie = `${SESSION_COOKIE}=${String(alice.cookie).split('=')[1]!.split('.')[0]}.forgedsignatureforgedsignatureforgedsignatu`
    t.match((await forged.verify(id)).body, { code: 'FST_IAMPORT_MERCHANT_MISMATCH' }, 'an unsigned copy of the id is not the session')

    const notIssued = await seedSandbox(example, adult, flavor.chosenByBrowser)
    t.match((await alice.verify(notIssued)).body, { code: 'FST_IAMPORT_MERCHANT_MISMATCH' })
    const fakeDefault = await seedSandbox(example, adult, undefined)
    t.match((await alice.verify(fakeDefault)).body, { code: 'FST_IAMPORT_MERCHANT_MISMATCH' })

    // The refusals consumed nothing: the right session still signs up with it, once.
    t.same((await alice.verify(id)).body, { welcome: '홍길동' })
    t.match((await alice.verify(id)).body, { code: 'FST_IAMPORT_REPLAYED' })
  })
}

t.test('the users table holds an HMAC of the CI, never the CI, phone or birthday; WAL mode; it survives a restart', async (t) => {
  const example = await startExample(t)
  const session = new BrowserSession(example.url)
  t.same((await signUp(example, session, adult)).answer.body, { welcome: '홍길동' })

  const ci = sandboxCi(adult)
  const db = new Database(example.databaseFile, { readonly: true })
  t.teardown(() => db.close())
  t.equal(db.pragma('journal_mode', { simple: true }), 'wal')
  const rows = db.prepare('SELECT * FROM users').all() as Array<Record<string, unknown>>
  t.equal(rows.length, 1)
  t.same(Object.keys(rows[0]!).sort(), ['ci_hmac', 'created_at', 'display_name', 'id'])
  t.equal(rows[0]!.ci_hmac, ciKey(TEST_PEPPER, ci))
  t.not(ciKey(TEST_PEPPER, ci), ciKey(DEV_CI_PEPPER, ci), 'the pepper matters')
  const index = db.prepare("SELECT sql FROM sqlite_master WHERE name = 'users_ci_hmac'").get() as { sql: string }
  t.match(index.sql, /CREATE UNIQUE INDEX/)

  const bytes = Buffer.concat(await Promise.all(['', '-wal'].map((suffix) => readFile(example.databaseFile + suffix).catch(() => Buffer.alloc(0)))))
  for (const secret of [ci, ci.slice(0, 40), adult.phone!, adult.birthday]) {
    t.equal(bytes.indexOf(secret), -1, `not in the database files: ${secret.slice(0, 12)}…`)
  }

  // A restart on the same file (another app, same pepper) still knows the person.
  await example.app.close()
  const restarted = await buildExampleApp({ DATABASE_FILE: example.databaseFile, CI_PEPPER: TEST_PEPPER })
  t.teardown(() => restarted.app.close())
  const url = await restarted.app.listen({ host: '127.0.0.1', port: 0 })
  const again = new BrowserSession(url)
  const impUid = await seedVerification(restarted.sandbox!.url, adult, await again.prepare())
  t.match((await again.verify(impUid)).body, { code: 'FST_IAMPORT_DUPLICATE' })
})

t.test('two concurrent sign-ups of one person: one account, the other is a duplicate (the UNIQUE race)', async (t) => {
  const example = await startExample(t)
  const one = new BrowserSession(example.url)
  const two = new BrowserSession(example.url)
  const [a, b] = await Promise.all([one.prepare(), two.prepare()])
  const [impA, impB] = await Promise.all([seedVerification(fakeUrl(example), adult, a), seedVerification(fakeUrl(example), adult, b)])
  const answers = await Promise.all([one.verify(impA), two.verify(impB)])
  t.same(answers.map((answer) => answer.status).sort(), [200, 409])
  t.equal(example.users.count(), 1)

  // The race itself, made deterministic: findDuplicate said "no" to both, the second insert loses.
  const users = openUserStore(':memory:', TEST_PEPPER)
  t.teardown(() => users.close())
  const person = { ci: sandboxCi(adult), name: ' 홍길동 ' }
  t.same(users.register(person), { id: 1, displayName: '홍길동' })
  t.throws(() => users.register(person), { code: 'FST_IAMPORT_DUPLICATE', statusCode: 409 })
  t.equal(users.count(), 1)
  t.same(users.register({ ci: sandboxCi({ ...adult, name: '홍길순' }), name: '' }), { id: 2, displayName: '회원' }, 'no name: a neutral one')
})

t.test('a missing or malformed CI fails closed', async (t) => {
  const example = await startExample(t)
  const session = new BrowserSession(example.url)
  const missing = await signUp(example, session, adult, { unique_key: null })
  t.equal(missing.answer.status, 422)
  t.match(missing.answer.body, { code: 'FST_IAMPORT_MISSING_IDENTITY_KEY' })
  const malformed = await signUp(example, session, adult, { unique_key: 'not-a-ci' })
  t.equal(malformed.answer.status, 422)
  t.match(malformed.answer.body, { code: 'FST_IAMPORT_MISSING_IDENTITY_KEY' })
  t.equal(example.users.count(), 0)
  t.throws(() => ciKey(TEST_PEPPER, undefined), { code: 'FST_IAMPORT_MISSING_IDENTITY_KEY' })
  t.throws(() => ciKey(TEST_PEPPER, 'A'.repeat(87) + '!'), { code: 'FST_IAMPORT_MISSING_IDENTITY_KEY' })
})

t.test('every code the server can answer has plain words on the page, Korean and English', async (t) => {
  const codes = [...packageErrorCodes(), 'FST_ERR_VALIDATION']
  t.equal(codes.length, 24)
  for (const code of codes) {
    const message = messageFor(code)
    t.not(message, OUTCOME_MESSAGES.UNKNOWN, `${code} has its own message`)
    t.match(message.ko, /[가-힣]/, `${code} in Korean`)
    t.ok(message.ko.startsWith(koMessages[code as keyof typeof koMessages]), `${code}: the package's Korean message`)
    t.match(message.en, /^[\x20-\x7e]+$/, `${code} in English`)
  }
  const pageKeys = Object.keys(OUTCOME_MESSAGES).filter((key) => key.startsWith('FST_'))
  t.same(pageKeys.sort(), codes.sort(), 'and no message for a code that does not exist')
  t.equal(messageFor('FST_SOMETHING_NEW'), OUTCOME_MESSAGES.UNKNOWN)
  t.equal(messageFor(undefined), OUTCOME_MESSAGES.UNKNOWN)
  t.equal(messageFor('toString'), OUTCOME_MESSAGES.UNKNOWN)
  t.match(OUTCOME_MESSAGES.FST_IAMPORT_DUPLICATE.en, 'already registered')
  t.match(OUTCOME_MESSAGES.FST_IAMPORT_AGE_RESTRICTED.en, 'under age')

  // The page ships the same messages it shows.
  const example = await startExample(t)
  const page = (await new BrowserSession(example.url).request('GET', '/')).body as string
  const json = /<script type="application\/json" id="example-config">([^<]*)<\/script>/.exec(page)![1]!
  t.same(JSON.parse(json).messages, OUTCOME_MESSAGES)
})

t.test('the other refusals arrive with their codes (what the page maps)', async (t) => {
  const example = await startExample(t)
  const session = new BrowserSession(example.url)
  const sandbox = example.sandbox!

  t.match((await signUp(example, session, adult, { certified: false })).answer.body, { code: 'FST_IAMPORT_NOT_CERTIFIED' })
  const stale = await signUp(example, session, adult, { certified_at: Math.floor(Date.now() / 1000) - 3600 })
  t.match(stale.answer.body, { statusCode: 422, code: 'FST_IAMPORT_STALE_CERTIFICATION' })

  sandbox.inject({ target: 'certification', kind: 'status', status: 500 })
  const upstream = await signUp(example, session, adult)
  t.equal(upstream.answer.status, 502)
  t.match(upstream.answer.body, { code: 'FST_IAMPORT_UPSTREAM' })

  // A database failure is a server-side failure: the imp_uid is released for a retry.
  const merchantUid = await session.prepare()
  const impUid = await seedVerification(fakeUrl(example), adult, merchantUid)
  example.users.close()
  const failed = await session.verify(impUid)
  t.equal(failed.status, 500)
  t.match(failed.body, { code: 'FST_IAMPORT_HOOK_FAILED' })
  t.notMatch(JSON.stringify(failed.body), /database|sqlite/i, 'the body says nothing about the host\'s internals')
})

t.test('no CI, name, phone or birthday in the log lines', async (t) => {
  const lines: string[] = []
  const stream = new Writable({ write (chunk, _encoding, callback) { lines.push(String(chunk)); callback() } })
  // debug: a success's line is debug, a refusal's info; both must be free of personal data.
  const example = await startExample(t, {}, { logger: { level: 'debug', stream } })
  const session = new BrowserSession(example.url)
  const { impUid } = await signUp(example, session, adult)
  await signUp(example, session, adult)
  const log = lines.join('')
  t.match(log, new RegExp(`"impUid":"${impUid}","outcome":"VERIFIED"`))
  t.match(log, '"outcome":"FST_IAMPORT_DUPLICATE"')
  t.notMatch(log, 'CI_PEPPER', 'no dev-pepper warning with a real pepper')
  for (const secret of [sandboxCi(adult), adult.name, adult.phone!, adult.birthday]) {
    t.equal(log.indexOf(secret), -1, `not logged: ${secret.slice(0, 12)}…`)
  }
})

t.test('configuration: the dev pepper warns; half or weak settings are refused by name', async (t) => {
  const lines: string[] = []
  const stream = new Writable({ write (chunk, _encoding, callback) { lines.push(String(chunk)); callback() } })
  const dev = await startExample(t, { CI_PEPPER: undefined }, { logger: { level: 'warn', stream } })
  t.equal(dev.config.CI_PEPPER, DEV_CI_PEPPER)
  t.match(lines.join(''), /"level":40.*CI_PEPPER is the dev-only default/)

  const refused = async (environment: Record<string, unknown>): Promise<string> => {
    try {
      const built = await buildExampleApp({ DATABASE_FILE: ':memory:', CI_PEPPER: TEST_PEPPER, ...environment })
      await built.app.close()
    } catch (err) {
      return (err as Error).message
    }
    throw new Error('the configuration was accepted')
  }
  t.match(await refused({ IAMPORT_API_KEY: 'key' }), 'Set both IAMPORT_API_KEY and IAMPORT_API_SECRET')
  t.match(await refused({ IAMPORT_API_SECRET: 'secret' }), 'Set both IAMPORT_API_KEY and IAMPORT_API_SECRET')
  t.match(await refused({ IAMPORT_API_KEY: 'key', IAMPORT_API_SECRET: 'secret' }), 'IAMPORT_MERCHANT_CODE')
  t.match(await refused({ CI_PEPPER: 'short' }), 'CI_PEPPER')
  t.match(await refused({ PORTONE_API_VERSION: 'v3' }), 'PORTONE_API_VERSION')
  // V2: the three production variables go together; a generation's variables are refused by the other.
  const v2 = { PORTONE_API_VERSION: 'v2' }
  t.match(await refused({ ...v2, PORTONE_API_SECRET: 'secret' }), 'missing: PORTONE_STORE_ID, PORTONE_CHANNEL_KEY')
  t.match(await refused({ ...v2, PORTONE_STORE_ID: 'store-1', PORTONE_CHANNEL_KEY: 'channel-key-1' }), 'missing: PORTONE_API_SECRET')
  t.match(await refused({ ...v2, IAMPORT_API_KEY: 'key', IAMPORT_API_SECRET: 'secret' }), "IAMPORT_API_KEY, IAMPORT_API_SECRET: i'mport V1 settings, but PORTONE_API_VERSION is v2")
  t.match(await refused({ PORTONE_API_SECRET: 'secret' }), 'PORTONE_API_SECRET: PortOne V2 settings; set PORTONE_API_VERSION=v2')
  t.match(await refused({ PORTONE_API_VERSION: 'v1', PORTONE_CHANNEL_KEY: 'channel-key-1' }), 'PORTONE_CHANNEL_KEY: PortOne V2 settings')
  t.match(await refused({ PORT: 'eighty' }), 'PORT')
  t.match(await refused({ TRUST_PROXY: '2' }), 'TRUST_PROXY=2: a hop count is not supported')
  t.match(await refused({ TRUST_PROXY: '10.0.0.1, proxy.internal, 10.0.0.0/33' }), 'TRUST_PROXY: not an address, CIDR or range name: "proxy.internal", "10.0.0.0/33"')

  const blank = await buildExampleApp({ DATABASE_FILE: ':memory:', CI_PEPPER: TEST_PEPPER, IAMPORT_API_KEY: ' ', IAMPORT_API_SECRET: '', PORT: '', HOST: '' })
  t.teardown(() => blank.app.close())
  t.equal(blank.mode, 'sandbox', 'empty variables count as unset')
  t.equal(blank.apiVersion, 'v1', 'V1 unless PORTONE_API_VERSION=v2')
  const blankV2 = await buildExampleApp({ DATABASE_FILE: ':memory:', CI_PEPPER: TEST_PEPPER, PORTONE_API_VERSION: '', PORTONE_API_SECRET: ' ' })
  t.teardown(() => blankV2.app.close())
  t.same([blankV2.apiVersion, blankV2.mode], ['v1', 'sandbox'], 'an empty PORTONE_API_VERSION is V1')
  t.equal(blank.config.PORT, 3000)
  t.equal(blank.config.HOST, '127.0.0.1')
})

t.test('production mode: three variables switch to a real i\'mport (here: a fake at IAMPORT_BASE_URL) and the SDK', async (t) => {
  const iamport = await createFakeIamport()
  t.teardown(() => iamport.close())
  const example = await startExample(t, {
    IAMPORT_API_KEY: iamport.apiKey,
    IAMPORT_API_SECRET: iamport.apiSecret,
    IAMPORT_MERCHANT_CODE: 'imp12345678',
    IAMPORT_BASE_URL: iamport.url
  })
  t.equal(example.mode, 'production')
  t.equal(example.sandbox, undefined, 'no fake server started')
  const session = new BrowserSession(example.url)
  const page = (await session.request('GET', '/')).body as string
  t.match(page, '<script src="https://cdn.iamport.kr/v1/iamport.js"></script>')
  t.match(page, '"merchantCode":"imp12345678"')
  t.match(page, 'window.IMP.init(config.merchantCode)')
  t.match(page, '"sandboxUrl":null')

  const merchantUid = await session.prepare()
  const { imp_uid: impUid } = iamport.seedCertification({ merchant_uid: merchantUid, name: '홍길동', birthday: '1990-01-01' })
  const answer = await session.verify(impUid)
  t.same(answer.body, { welcome: '홍길동' })
  t.equal(iamport.calls.getToken, 1)
  t.equal(iamport.calls.getCertification, 1)
})

t.test('V2 production mode: PORTONE_API_SECRET, PORTONE_STORE_ID and PORTONE_CHANNEL_KEY switch to PortOne V2 (here: a fake at PORTONE_BASE_URL) and its SDK', async (t) => {
  const portone = await createFakePortOneV2()
  t.teardown(() => portone.close())
  const example = await startExample(t, {
    PORTONE_API_VERSION: 'v2',
    PORTONE_API_SECRET: portone.apiSecret,
    PORTONE_STORE_ID: portone.storeId,
    PORTONE_CHANNEL_KEY: 'channel-key-0123',
    PORTONE_BASE_URL: portone.url
  })
  t.same([example.apiVersion, example.mode], ['v2', 'production'])
  t.same([example.sandbox, example.sandboxV2], [undefined, undefined], 'no fake server started')
  const session = new BrowserSession(example.url, 'v2')
  const page = (await session.request('GET', '/')).body as string
  t.match(page, '<script src="https://cdn.portone.io/v2/browser-sdk.js"></script>')
  t.notMatch(page, 'cdn.iamport.kr')
  t.match(page, `"storeId":"${portone.storeId}","channelKey":"channel-key-0123"`)
  t.match(page, '"merchantCode":null')
  t.match(page, 'window.PortOne.requestIdentityVerification({')
  t.match(page, 'storeId: config.storeId, identityVerificationId: issued, channelKey: config.channelKey')
  t.match(page, '"sandboxUrl":null')

  const identityVerificationId = await session.prepare()
  t.match(identityVerificationId, /^iv[0-9a-f]{32}$/)
  portone.seedIdentityVerification({ id: identityVerificationId, verifiedCustomer: { name: '홍길동', ci: sandboxCi(adult) } })
  t.same((await session.verify(identityVerificationId)).body, { welcome: '홍길동' })
  t.equal(portone.calls.getIdentityVerification, 1)
  t.match(portone.requests.at(-1)!.path, `?storeId=${portone.storeId}`)
})

t.test('the session cookie helpers', async (t) => {
  t.equal(readCookie(undefined, 'a'), undefined)
  t.equal(readCookie('x=1; a=two=2 ; b', 'a'), 'two=2')
  t.equal(readCookie('b; xa=1', 'a'), undefined)
  const example = await startExample(t)
  example.app.log.level = 'silent'
  t.throws(() => sessionOf({} as never), /installSessions\(\) must be called/)

  const session = new BrowserSession(example.url)
  await session.request('GET', '/')
  const first = session.cookie
  for (const cookie of [`${first}.extra`, `${SESSION_COOKIE}=short.sig`, `${SESSION_COOKIE}=`, 'other=1']) {
    const probe = new BrowserSession(example.url)
    probe.cookie = cookie
    const answer = await probe.request('GET', '/')
    t.not(answer.headers.get('set-cookie'), null, `a new session for ${cookie.slice(0, 30)}`)
    t.not(probe.cookie, first)
  }
})

t.test('production mode refuses to start without its own CI_PEPPER, by name, with how to make one', async (t) => {
  const iamport = { IAMPORT_API_KEY: 'key', IAMPORT_API_SECRET: 'secret', IAMPORT_MERCHANT_CODE: 'imp12345678' }
  const portone = { PORTONE_API_VERSION: 'v2', PORTONE_API_SECRET: 'secret', PORTONE_STORE_ID: 'store-1', PORTONE_CHANNEL_KEY: 'channel-key-1' }
  t.match(PRODUCTION_PEPPER_REQUIRED, /CI_PEPPER.*`openssl rand -hex 32`/)
  const dir = await mkdtemp(join(tmpdir(), 'iamport-example-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const databaseFile = join(dir, 'users.sqlite')
  for (const production of [iamport, portone]) {
    for (const pepper of [undefined, '', DEV_CI_PEPPER]) {
      await t.rejects(buildExampleApp({ DATABASE_FILE: databaseFile, CI_PEPPER: pepper, ...production }), { message: PRODUCTION_PEPPER_REQUIRED },
        `${production === portone ? 'V2' : 'V1'}, CI_PEPPER ${pepper === undefined ? 'unset' : JSON.stringify(pepper.slice(0, 12))}`)
    }
  }
  await t.rejects(access(databaseFile), 'refused before the users database is created')

  // `npm run example` itself: one line on stderr, exit code 1, no stack.
  const run = await runExampleServer({ ...iamport, DATABASE_FILE: databaseFile, PORT: '0' })
  t.equal(run.code, 1)
  t.equal(run.stderr, `Cannot start the example: ${PRODUCTION_PEPPER_REQUIRED}\n`)
  t.notMatch(run.stderr + run.stdout, /\n\s+at /, 'no stack trace')

  // Sandbox mode still starts on the dev pepper (with a warning, tested above); a real pepper starts production.
  const started = await buildExampleApp({ DATABASE_FILE: ':memory:', CI_PEPPER: TEST_PEPPER, ...iamport })
  t.teardown(() => started.app.close())
  t.equal(started.mode, 'production')
})

t.test('a busy port: one line on stderr naming PORT, exit code 1', async (t) => {
  const taken = createServer()
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => taken.close(() => resolve())))
  const port = (taken.address() as AddressInfo).port
  const dir = await mkdtemp(join(tmpdir(), 'iamport-example-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))

  const run = await runExampleServer({ PORT: String(port), HOST: '127.0.0.1', DATABASE_FILE: join(dir, 'users.sqlite'), CI_PEPPER: TEST_PEPPER, LOG_LEVEL: 'warn' })
  t.equal(run.code, 1)
  t.equal(run.stderr, `Port ${port} is in use on 127.0.0.1; set PORT to another port (for example PORT=${port + 1} npm run example)\n`)
  t.equal(run.stderr.trim().split('\n').length, 1, 'one line')
  t.notMatch(run.stderr + run.stdout, /EADDRINUSE|\n\s+at /, 'no raw error, no stack trace')
  t.notMatch(run.stdout, 'fastify-iamport example (', 'no "listening" banner')
})

t.test('the session cookie is Secure when the request came over https, also through a trusted proxy (TRUST_PROXY)', async (t) => {
  t.equal(trustProxyOption(undefined), false)
  t.equal(trustProxyOption(' '), false)
  t.equal(trustProxyOption('false'), false)
  t.equal(trustProxyOption('true'), true)
  t.equal(trustProxyOption(' 127.0.0.1 , 10.0.0.0/8,::1,fd00::/8,loopback '), '127.0.0.1,10.0.0.0/8,::1,fd00::/8,loopback')
  t.throws(() => trustProxyOption(1), /TRUST_PROXY must be a string/)

  /** The session cookie of a first visit, sent as if a proxy had terminated TLS. */
  const cookieFor = async (example: RunningExample, forwardedProto = 'https'): Promise<string> => {
    const response = await fetch(`${example.url}/`, { headers: { 'x-forwarded-proto': forwardedProto } })
    await response.text()
    return response.headers.getSetCookie().find((cookie) => cookie.startsWith(`${SESSION_COOKIE}=`))!
  }
  const secure = / HttpOnly; SameSite=Lax; Secure$/

  const direct = await startExample(t)
  t.notMatch(await cookieFor(direct), /Secure/, 'no trustProxy: X-Forwarded-Proto from anyone is ignored')

  const trustAll = await startExample(t, { TRUST_PROXY: 'true' })
  t.match(await cookieFor(trustAll), secure, 'TRUST_PROXY=true: X-Forwarded-Proto: https gives Secure')
  t.notMatch(await cookieFor(trustAll, 'http'), /Secure/, 'and a proxy that says http gets none')
  t.match(await cookieFor(trustAll, 'http, https'), secure, 'the last hop\'s word counts')

  const trustLoopback = await startExample(t, { TRUST_PROXY: '127.0.0.1' })
  t.match(await cookieFor(trustLoopback), secure, 'TRUST_PROXY=127.0.0.1: the test client is that proxy')
  const trustOther = await startExample(t, { TRUST_PROXY: '10.0.0.1,192.168.0.0/16' })
  t.notMatch(await cookieFor(trustOther), /Secure/, 'a peer that is not the listed proxy is not believed')

  // Behind the trusted proxy a whole sign-up keeps working, and the rotated cookie is Secure too.
  const tab = new BrowserSession(trustLoopback.url)
  const merchantUid = await tab.prepare()
  const impUid = await seedVerification(fakeUrl(trustLoopback), adult, merchantUid)
  const response = await fetch(`${trustLoopback.url}/certifications`, {
    method: 'POST',
    headers: { cookie: tab.cookie!, 'content-type': 'application/json', 'x-forwarded-proto': 'https' },
    body: JSON.stringify({ imp_uid: impUid })
  })
  t.same(await response.json(), { welcome: '홍길동' })
  t.match(response.headers.getSetCookie().find((cookie) => cookie.startsWith(`${SESSION_COOKIE}=`)), secure)
})

for (const flavor of FLAVORS) {
  t.test(`${flavor.version}: a successful sign-up rotates the session: a new id, the old one refused`, async (t) => {
    const example = await startExample(t, flavor.environment)
    const tab = new BrowserSession(example.url, example.apiVersion)
    await tab.request('GET', '/')
    const before = tab.cookie!
    // An id issued to the old session before the sign-up, still outstanding after it.
    const outstanding = await tab.prepare()
    t.equal(tab.cookie, before, 'prepare keeps the session')

    const { answer } = await signUp(example, tab, adult)
    t.same(answer.body, { welcome: '홍길동' })
    const setCookie = answer.headers.getSetCookie().filter((cookie) => cookie.startsWith(`${SESSION_COOKIE}=`))
    t.equal(setCookie.length, 1, 'one new session cookie with the welcome')
    t.match(setCookie[0], /; Path=\/; HttpOnly; SameSite=Lax$/)
    const after = tab.cookie!
    t.not(after, before, 'a new cookie')
    t.not(after.split('.')[0], before.split('.')[0], 'a new session id')
    t.equal(example.sessions.retired, 1)

    // The old cookie is no session any more: it gets a fresh one, and what was issued to it is dead.
    const stale = new BrowserSession(example.url, example.apiVersion)
    stale.cookie = before
    const revisit = await stale.request('GET', '/')
    t.not(revisit.headers.get('set-cookie'), null, 'the old cookie is replaced')
    t.not(stale.cookie, before)
    t.not(stale.cookie, after, 'by a session of its own, not the rotated one')
    const otherPerson = { ...adult, name: '김철수', birthday: '1988-08-08' }
    const lateId = await seedSandbox(example, otherPerson, outstanding)
    const oldCookie = new BrowserSession(example.url, example.apiVersion)
    oldCookie.cookie = before
    t.match((await oldCookie.verify(lateId)).body, { code: 'FST_IAMPORT_MERCHANT_MISMATCH' }, 'the old cookie cannot use an id issued to it')
    t.match((await tab.verify(lateId)).body, { code: 'FST_IAMPORT_MERCHANT_MISMATCH' }, 'nor can the new session: it was issued to the old one')

    // The new session works, and keeps its id until the next success.
    const again = await tab.request('GET', '/')
    t.equal(again.headers.get('set-cookie'), null, 'the new cookie is a valid session')
    const refused = await signUp(example, tab, { ...adult, birthday: birthdayForYearAge(17) })
    t.match(refused.answer.body, { code: 'FST_IAMPORT_AGE_RESTRICTED' })
    t.equal(refused.answer.headers.get('set-cookie'), null, 'a refusal does not rotate')
    t.equal(tab.cookie, after)
    t.same((await signUp(example, tab, otherPerson)).answer.body, { welcome: '김철수' })
    t.not(tab.cookie, after, 'the next sign-up rotates again')
    t.equal(example.sessions.retired, 2)
    t.equal(example.users.count(), 2)
  })
}
