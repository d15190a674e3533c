import t from 'tap'
import { createHash } from 'node:crypto'
import { copyFile, mkdir } from 'node:fs/promises'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { existsSync } from 'node:fs'
import { chromium, type Browser, type Page, type Request } from 'playwright-core'
import { IamportClient } from '../lib/v1/client.js'
import { PortOneV2Client } from '../lib/v2/client.js'
import { OUTCOME_MESSAGES } from '../example/messages.js'
import { SESSION_COOKIE } from '../example/session.js'
import { birthdayForYearAge, sandboxCi, startExample, type Person, type RunningExample } from './helpers/example.js'

// The example, driven end to end in Debian's Chromium: the page, the sandbox window served by the
// fake i'mport server, postMessage back, POST /certifications, and the outcome in plain words.
// Then the same app on PortOne V2 (PORTONE_API_VERSION=v2) with the fake V2 server's window.
// Screenshots of each outcome go to example/screenshots/; UPDATE_DOCS_SCREENSHOT=1 also refreshes
// docs/example-welcome.png (committed, shown by the README).

const CHROMIUM = '/usr/bin/chromium'
const SCREENSHOTS = 'example/screenshots'

if (!existsSync(CHROMIUM)) {
  throw new Error(`${CHROMIUM} not found: install it with \`apt-get install -y chromium fonts-nanum\` (bash .ci/run does)`)
}
const example = await startExample(t)
const browser: Browser = await chromium.launch({
  executablePath: CHROMIUM,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run']
})
t.teardown(() => browser.close())

// Every document of a context (the page, the about:blank pop-up, the sandbox window) records the
// CSP violations it sees in window.__cspViolations; the console reports them too.
const RECORD_CSP_VIOLATIONS = `window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', function (event) {
  window.__cspViolations.push(event.violatedDirective + ' ' + event.blockedURI)
})`

/** What a document's CSP blocked so far. */
function cspViolations (page: Page): Promise<string[]> {
  return page.evaluate('window.__cspViolations') as Promise<string[]>
}

/** A tab on the example's page, in a fresh browser context; script errors (CSP violations included) land in `errors`. */
async function openPage (url: string, errors: string[]): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 760, height: 640 }, locale: 'ko-KR' })
  await context.addInitScript({ content: RECORD_CSP_VIOLATIONS })
  const page = await context.newPage()
  page.setDefaultTimeout(15_000)
  page.on('pageerror', (err) => errors.push(err.message))
  // 4xx answers are outcomes here, not errors; anything else the console reports is.
  page.on('console', (message) => {
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource: the server responded with a status of 4')) {
      errors.push(message.text())
    }
  })
  await page.goto(url)
  return page
}

const pageErrors: string[] = []
const page = await openPage(example.url, pageErrors)
await mkdir(SCREENSHOTS, { recursive: true })

/** One API generation's page and where its stand-in window opens. */
interface Tab {
  example: RunningExample
  page: Page
  popupUrl: RegExp
  /** The body field of POST /certifications. */
  field: 'imp_uid' | 'identityVerificationId'
}

const v1Tab: Tab = { example, page, popupUrl: /\/sandbox\/certification\?merchant_uid=mid[0-9a-f]{32}$/, field: 'imp_uid' }

interface Outcome {
  key: string
  text: string
  /** The id the page sent to POST /certifications (before any tampering in flight). */
  sentImpUid: string | undefined
}

/**
 * The sandbox window closes itself as its button's click completes; playwright may then report
 * the click as failed although it happened. The test waits for the close event instead.
 */
function unlessWindowClosed (err: Error): void {
  if (!/closed/.test(err.message)) throw err
}

/** Clicks the button, fills the sandbox window with `person` (or cancels), and reads the outcome. */
async function verifyAs (person: Person | 'cancel', screenshotName: string, tab: Tab = v1Tab): Promise<Outcome> {
  const { page } = tab
  let sentImpUid: string | undefined
  const onRequest = (request: Request): void => {
    if (request.method() === 'POST' && request.url() === `${tab.example.url}/certifications`) {
      sentImpUid = (request.postDataJSON() as Record<string, string>)[tab.field]
    }
  }
  page.on('request', onRequest)
  const [popup] = await Promise.all([page.waitForEvent('popup'), page.click('#verify')])
  await popup.waitForURL(tab.popupUrl)
  const popupErrors: string[] = []
  popup.on('console', (message) => { if (message.type() === 'error') popupErrors.push(message.text()) })
  await popup.waitForSelector('#certification')
  if (person === 'cancel') {
    await Promise.all([popup.waitForEvent('close'), popup.click('#cancel').catch(unlessWindowClosed)])
  } else {
    await popup.fill('input[name=name]', person.name)
    await popup.fill('input[name=birthday]', person.birthday)
    await popup.check(`input[name=gender][value=${person.gender ?? 'male'}]`)
    await popup.fill('input[name=phone]', person.phone ?? '010-1234-5678')
    await popup.selectOption('select[name=carrier]', person.carrier ?? 'SKT')
    if (screenshotName === 'welcome') await popup.screenshot({ path: `${SCREENSHOTS}/sandbox-window.png` })
    await Promise.all([popup.waitForEvent('close'), popup.click('button[type=submit]').catch(unlessWindowClosed)])
  }
  t.same(popupErrors, [], 'the sandbox window ran without errors (its CSP allowed its script)')
  const outcome = page.locator('#outcome')
  await page.locator('#outcome[data-outcome]:not([data-outcome="PENDING"])').waitFor()
  await page.waitForSelector('#verify:not([disabled])')
  page.off('request', onRequest)
  await page.screenshot({ path: `${SCREENSHOTS}/${screenshotName}.png`, fullPage: true })
  return { key: String(await outcome.getAttribute('data-outcome')), text: await outcome.innerText(), sentImpUid }
}

const adult: Person = { name: '홍길동', birthday: '1990-01-01', phone: '010-1234-5678', carrier: 'SKT' }

t.test('the page: one button, sandbox badge, no outcome yet', async (t) => {
  t.equal(await page.title(), '회원가입 · Sign up — fastify-iamport example')
  t.equal(await page.locator('#verify').innerText(), '본인인증 · Verify my identity')
  t.match(await page.locator('.mode').innerText(), 'Sandbox')
  t.equal(await page.locator('#outcome').isVisible(), false)
})

/** The example's session cookie in a tab's context. */
async function sessionCookie (page: Page): Promise<string | undefined> {
  return (await page.context().cookies()).find((cookie) => cookie.name === SESSION_COOKIE)?.value
}

t.test('an adult signs up and sees the welcome', async (t) => {
  const before = await sessionCookie(page)
  t.ok(before, 'the page gave the tab a session')
  const outcome = await verifyAs(adult, 'welcome')
  t.equal(outcome.key, 'WELCOME')
  t.match(outcome.text, '홍길동님, 환영합니다! 가입이 완료되었습니다.')
  t.match(outcome.text, 'Welcome, 홍길동! Your account has been created.')
  t.equal(await page.locator('#outcome').getAttribute('class'), 'success')
  t.equal(example.users.count(), 1)
  const after = await sessionCookie(page)
  t.ok(after)
  t.not(after!.split('.')[0], before!.split('.')[0], 'the sign-up rotated the session: the browser holds a new id (the next flows run on it)')
  if (process.env.UPDATE_DOCS_SCREENSHOT === '1') {
    await mkdir('docs', { recursive: true })
    await copyFile(`${SCREENSHOTS}/welcome.png`, 'docs/example-welcome.png')
  }

  // What the sandbox window seeded: the person as typed, with the deterministic sandbox CI.
  const client = new IamportClient({ apiKey: example.sandbox!.apiKey, apiSecret: example.sandbox!.apiSecret, baseUrl: example.sandbox!.url })
  t.teardown(() => client.close())
  const certification = await client.getCertification(outcome.sentImpUid!)
  t.match(certification, { certified: true, name: '홍길동', birthday: '1990-01-01', phone: '01012345678', carrier: 'SKT', gender: 'male' })
  t.equal(certification.unique_key, sandboxCi(adult))
  t.equal(createHash('sha512').update('ci|홍길동|1990-01-01|1').digest('base64'), sandboxCi(adult))
})

t.test('the same person again sees "already registered"', async (t) => {
  const outcome = await verifyAs({ ...adult, phone: '010-9999-8888', carrier: 'KT_MVNO' }, 'already-registered')
  t.equal(outcome.key, 'FST_IAMPORT_DUPLICATE')
  t.match(outcome.text, '이미 가입된 회원입니다')
  t.match(outcome.text, 'You are already registered')
  t.match(outcome.text, 'FST_IAMPORT_DUPLICATE')
  t.equal(await page.locator('#outcome').getAttribute('class'), 'warning')
  t.equal(example.users.count(), 1)
})

t.test('a 17-year-old sees "under age"', async (t) => {
  const outcome = await verifyAs({ name: '김민지', birthday: birthdayForYearAge(17), gender: 'female', carrier: 'LGT' }, 'under-age')
  t.equal(outcome.key, 'FST_IAMPORT_AGE_RESTRICTED')
  t.match(outcome.text, '올해 19세가 되는 분부터 가입할 수 있습니다')
  t.match(outcome.text, 'You are under age')
  t.equal(example.users.count(), 1)
})

t.test('a tampered imp_uid sees a clear error', async (t) => {
  // Someone edits the request in flight (devtools, a proxy): the server asks i'mport and finds nothing.
  await page.route(`${example.url}/certifications`, (route) => route.continue({ postData: JSON.stringify({ imp_uid: 'imp_000000000001' }) }))
  const notFound = await verifyAs({ name: '이서연', birthday: '1985-03-03', gender: 'female' }, 'tampered-imp-uid')
  t.match(notFound.sentImpUid, /^imp_[0-9]{12}$/, 'the page sent the real imp_uid; the route rewrote it')
  t.equal(notFound.key, 'FST_IAMPORT_CERTIFICATION_NOT_FOUND')
  t.match(notFound.text, OUTCOME_MESSAGES.FST_IAMPORT_CERTIFICATION_NOT_FOUND.ko)
  t.match(notFound.text, OUTCOME_MESSAGES.FST_IAMPORT_CERTIFICATION_NOT_FOUND.en)
  await page.unroute(`${example.url}/certifications`)

  // A path-shaped imp_uid is refused by the schema before any call to i'mport.
  await page.route(`${example.url}/certifications`, (route) => route.continue({ postData: JSON.stringify({ imp_uid: 'imp_1/../../users/getToken' }) }))
  const malformed = await verifyAs({ name: '이서연', birthday: '1985-03-03', gender: 'female' }, 'malformed-imp-uid')
  t.equal(malformed.key, 'FST_ERR_VALIDATION')
  t.match(malformed.text, OUTCOME_MESSAGES.FST_ERR_VALIDATION.ko)
  t.match(malformed.text, OUTCOME_MESSAGES.FST_ERR_VALIDATION.en)
  await page.unroute(`${example.url}/certifications`)
  t.equal(example.users.count(), 1)
})

t.test('cancelling in the verification window says so', async (t) => {
  const outcome = await verifyAs('cancel', 'cancelled')
  t.equal(outcome.key, 'CANCELLED')
  t.equal(outcome.sentImpUid, undefined, 'nothing posted')
  t.match(outcome.text, 'The verification was cancelled.')
})

t.test('the page ran without script errors, and its CSP blocked nothing', async (t) => {
  t.same(pageErrors, [], 'no script error, no CSP violation in the console')
  t.same(await cspViolations(page), [], 'no securitypolicyviolation event')
})

t.test('the CSP is in force: an injected inline script does not run, and another site cannot frame the page', async (t) => {
  const errors: string[] = []
  const probe = await openPage(example.url, errors)
  t.teardown(() => probe.context().close())
  t.same(await cspViolations(probe), [], 'the page loads clean')
  await probe.evaluate("(function () { var s = document.createElement('script'); s.textContent = 'window.__injected = true'; document.body.appendChild(s) })()")
  t.equal(await probe.evaluate('window.__injected'), undefined, 'the injected script did not run')
  t.same(await cspViolations(probe), ['script-src-elem inline'])
  t.match(errors, [/violates the following Content Security Policy directive 'script-src/])

  // Another origin that puts the page in an iframe gets Chromium's error page in it.
  const site = createServer((_request, response) => {
    response.setHeader('content-type', 'text/html; charset=utf-8')
    response.end(`<!DOCTYPE html><title>framer</title><iframe src="${example.url}/"></iframe>`)
  })
  await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => site.close(() => resolve())))
  const framer = await probe.context().newPage()
  const refused = framer.waitForEvent('console', { predicate: (message) => /frame-ancestors 'none'/.test(message.text()) })
  await framer.goto(`http://127.0.0.1:${(site.address() as AddressInfo).port}/`)
  t.match((await refused).text(), `Framing '${example.url}/' violates the following Content Security Policy directive: "frame-ancestors 'none'"`)
  t.same(framer.frames().slice(1).map((frame) => frame.url()), ['chrome-error://chromewebdata/'], 'the frame holds an error page, not the sign-up page')
})

t.test('V2 (PORTONE_API_VERSION=v2): an adult signs up and sees the welcome; cancel says so', async (t) => {
  const v2 = await startExample(t, { PORTONE_API_VERSION: 'v2' })
  const errors: string[] = []
  const v2Page = await openPage(v2.url, errors)
  t.teardown(() => v2Page.context().close())
  const tab: Tab = {
    example: v2, page: v2Page, popupUrl: /\/sandbox\/identity-verification\?identityVerificationId=iv[0-9a-f]{32}$/, field: 'identityVerificationId'
  }
  t.match(await v2Page.locator('.mode').innerText(), 'Sandbox (PortOne V2)')

  const outcome = await verifyAs({ ...adult, carrier: 'LGU_MVNO' }, 'v2-welcome', tab)
  t.equal(outcome.key, 'WELCOME')
  t.match(outcome.text, 'Welcome, 홍길동! Your account has been created.')
  t.match(outcome.sentImpUid, /^iv[0-9a-f]{32}$/, 'the page posted { identityVerificationId }')
  t.equal(v2.users.count(), 1)

  // What the V2 window seeded under the issued id: the person as typed, the same sandbox CI as V1.
  const fake = v2.sandboxV2!
  const client = new PortOneV2Client({ apiSecret: fake.apiSecret, storeId: fake.storeId, baseUrl: fake.url })
  t.teardown(() => client.close())
  t.match(await client.getIdentityVerification(outcome.sentImpUid!), {
    id: outcome.sentImpUid,
    status: 'VERIFIED',
    verifiedCustomer: { name: '홍길동', birthDate: '1990-01-01', gender: 'MALE', phoneNumber: '01012345678', operator: 'LGU_MVNO', ci: sandboxCi(adult) }
  })

  const cancelled = await verifyAs('cancel', 'v2-cancelled', tab)
  t.equal(cancelled.key, 'CANCELLED', 'a resolved { code, message } is a cancel')
  t.equal(cancelled.sentImpUid, undefined, 'nothing posted')
  t.same(errors, [], 'no script error, no CSP violation in the console')
  t.same(await cspViolations(v2Page), [], 'no securitypolicyviolation event')
})
