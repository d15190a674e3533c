import t from 'tap'
import { createHash } from 'node:crypto'
import { identityFromV2 } from '../lib/v2/provider.js'
import { PortOneV2Client } from '../lib/v2/client.js'
import { createFakeIamport, createFakePortOneV2, type FakeIamport, type FakePortOneV2 } from '../lib/testing/index.js'
import { escapeHtml, SANDBOX_PAGE_HEADERS, sandboxPage } from '../lib/testing/sandbox-page.js'

// The stand-in verification window, as each fake serves it: V1 (fake i'mport) at
// /sandbox/certification?merchant_uid=..., V2 (fake PortOne V2) at
// /sandbox/identity-verification?identityVerificationId=... One page and one script, parametrized.

async function startFake (): Promise<FakeIamport> {
  const fake = await createFakeIamport()
  t.teardown(() => fake.close())
  return fake
}

async function startFakeV2 (): Promise<FakePortOneV2> {
  const fake = await createFakePortOneV2()
  t.teardown(() => fake.close())
  return fake
}

/** Each generation's window: where it is served and what it calls its request id. */
const WINDOWS = [
  { api: 'v1', path: '/sandbox/certification', param: 'merchant_uid', start: startFake },
  { api: 'v2', path: '/sandbox/identity-verification', param: 'identityVerificationId', start: startFakeV2 }
] as const

function inline (page: string, tag: 'script' | 'style'): string {
  const match = new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`).exec(page)
  if (match === null) throw new Error(`no inline <${tag}>`)
  return match[1] as string
}

t.test('GET /sandbox/certification serves the stand-in window, without auth and outside the API counters', async (t) => {
  const fake = await startFake()
  const response = await fetch(`${fake.url}/sandbox/certification?merchant_uid=mid0123456789abcdef`)
  const page = await response.text()
  t.equal(response.status, 200)
  t.equal(response.headers.get('content-type'), 'text/html; charset=utf-8')
  t.equal(response.headers.get('cache-control'), 'no-store')
  t.equal(response.headers.get('x-content-type-options'), 'nosniff')
  t.equal(Number(response.headers.get('content-length')), Buffer.byteLength(page))
  t.match(page, 'data-api="v1" data-request-id="mid0123456789abcdef"')
  t.match(page, 'merchant_uid: mid0123456789abcdef')
  for (const field of ['name="name"', 'name="birthday"', 'name="gender"', 'name="phone"', 'name="carrier"']) t.match(page, field)
  t.match(page, '<option value="LGT">LG U+</option>')
  // Self-contained: nothing loaded from anywhere, and it seeds and answers the SDK way.
  t.notMatch(page, /\s(?:src|href)=/)
  t.match(page, "fetch(v2 ? '/__fake/identity-verifications' : '/__fake/certifications'")
  t.match(page, "window.opener.postMessage(rsp, '*')")
  t.same(fake.calls, { getToken: 0, getCertification: 0, deleteCertification: 0, otpRequest: 0, otpConfirm: 0, total: 1 })
  t.same(fake.requests, [{ method: 'GET', path: '/sandbox/certification?merchant_uid=mid0123456789abcdef' }])
})

t.test('GET /sandbox/identity-verification serves the V2 window, without auth and outside the API counter', async (t) => {
  const fake = await startFakeV2()
  const response = await fetch(`${fake.url}/sandbox/identity-verification?identityVerificationId=iv0123456789abcdef`)
  const page = await response.text()
  t.equal(response.status, 200)
  for (const [name, value] of Object.entries(SANDBOX_PAGE_HEADERS)) t.equal(response.headers.get(name), value, name)
  t.equal(Number(response.headers.get('content-length')), Buffer.byteLength(page))
  t.match(page, 'data-api="v2" data-request-id="iv0123456789abcdef"')
  t.match(page, 'identityVerificationId: iv0123456789abcdef')
  t.notMatch(page, '<p class="meta">merchant_uid')
  // V2 spells LG U+ as PortOne V2's operator enum does.
  t.match(page, '<option value="LGU">LG U+</option>')
  t.match(page, '<option value="LGU_MVNO">')
  t.notMatch(page, 'value="LGT')
  t.notMatch(page, /\s(?:src|href)=/)
  // It answers the way PortOne.requestIdentityVerification resolves.
  t.match(page, "{ transactionType: 'IDENTITY_VERIFICATION', identityVerificationId: seeded.id, identityVerificationTxId: txId() }")
  t.match(page, "code: 'FAILURE_TYPE_PG'")
  t.same(fake.calls, { getIdentityVerification: 0, total: 1 })
  t.same(fake.requests, [{ method: 'GET', path: '/sandbox/identity-verification?identityVerificationId=iv0123456789abcdef' }])
})

t.test('the CSP allows exactly the inline script and style of the page, and nothing external (both generations)', async (t) => {
  for (const sandbox of WINDOWS) {
    const fake = await sandbox.start()
    const response = await fetch(`${fake.url}${sandbox.path}?${sandbox.param}=m1`)
    const page = await response.text()
    const csp = String(response.headers.get('content-security-policy'))
    t.equal(csp, SANDBOX_PAGE_HEADERS['content-security-policy'], sandbox.api)
    const hash = (source: string): string => `'sha256-${createHash('sha256').update(source).digest('base64')}'`
    t.match(csp, `script-src ${hash(inline(page, 'script'))};`)
    t.match(csp, `style-src ${hash(inline(page, 'style'))};`)
    t.match(csp, "default-src 'none'")
    t.match(csp, "connect-src 'self'")
    t.match(csp, "frame-ancestors 'none'")
    t.notMatch(csp, 'unsafe-inline')
  }
})

t.test('an echoed request id is escaped in text and in the attribute (both generations)', async (t) => {
  const hostile = '"><script>alert(1)</script>&\'x'
  const escaped = '&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;&amp;&#39;x'
  for (const sandbox of WINDOWS) {
    const fake = await sandbox.start()
    const response = await fetch(`${fake.url}${sandbox.path}?${sandbox.param}=${encodeURIComponent(hostile)}`)
    const page = await response.text()
    t.equal(response.status, 200, sandbox.api)
    t.match(page, `data-request-id="${escaped}"`)
    t.match(page, `${sandbox.param}: ${escaped}`)
    t.notMatch(page, 'alert(1)</script>')
    t.equal(page.split('<script>').length, 2, 'only the page\'s own script element')
  }
})

t.test('without a request id the window still works and says there is none (both generations)', async (t) => {
  for (const sandbox of WINDOWS) {
    const fake = await sandbox.start()
    for (const path of [sandbox.path, `${sandbox.path}?other=1`]) {
      const response = await fetch(fake.url + path)
      const page = await response.text()
      t.equal(response.status, 200, path)
      t.match(page, `data-api="${sandbox.api}" data-request-id=""`, path)
      t.match(page, `${sandbox.param}: (없음 · none)`, path)
    }
  }
})

t.test('only GET on the exact path is the sandbox page', async (t) => {
  const fake = await startFake()
  for (const [method, path] of [['POST', '/sandbox/certification'], ['GET', '/sandbox/certification/x'], ['GET', '/sandbox'], ['GET', '/sandbox/identity-verification']]) {
    const response = await fetch(fake.url + path, { method })
    t.equal(response.status, 404, `${method} ${path}`)
    t.same(await response.json(), { code: -1, message: 'Not Found', response: null })
  }
  const v2 = await startFakeV2()
  for (const [method, path] of [['POST', '/sandbox/identity-verification'], ['GET', '/sandbox/identity-verification/x'], ['GET', '/sandbox'], ['GET', '/sandbox/certification']]) {
    const response = await fetch(v2.url + path, { method })
    t.equal(response.status, 404, `V2 ${method} ${path}`)
    t.same(await response.json(), { type: 'NOT_FOUND', message: 'Not Found' })
  }
})

t.test('what the page sends to the seeding endpoint gives a certified record the client can read', async (t) => {
  const fake = await startFake()
  const page = await (await fetch(`${fake.url}/sandbox/certification?merchant_uid=mid_from_page`)).text()
  t.match(page, "if (requestId) body[v2 ? 'id' : 'merchant_uid'] = requestId")
  // The body the page builds for 홍길동, born 1990-01-01, male (gender digit 1).
  const person = '홍길동|1990-01-01|1'
  const ci = createHash('sha512').update(`ci|${person}`).digest('base64')
  const seeded = await fetch(`${fake.url}/__fake/certifications`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      name: '홍길동',
      birthday: '1990-01-01',
      gender: 'male',
      phone: '01012345678',
      carrier: 'SKT',
      pg_provider: 'danal',
      unique_key: ci,
      unique_in_site: createHash('sha384').update(`di|sandbox|${person}`).digest('base64'),
      merchant_uid: 'mid_from_page'
    })
  })
  t.equal(seeded.status, 201)
  const { imp_uid: impUid, merchant_uid: merchantUid } = await seeded.json() as { imp_uid: string, merchant_uid: string }
  t.equal(merchantUid, 'mid_from_page')
  t.match(impUid, /^imp_[0-9]{12}$/)
  t.equal(ci.length, 88, 'a CI-shaped key: 64 bytes in base64')

  const token = await (await fetch(`${fake.url}/users/getToken`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ imp_key: fake.apiKey, imp_secret: fake.apiSecret })
  })).json() as { response: { access_token: string } }
  const record = await (await fetch(`${fake.url}/certifications/${impUid}`, {
    headers: { authorization: `Bearer ${token.response.access_token}` }
  })).json() as { response: Record<string, unknown> }
  t.match(record.response, {
    imp_uid: impUid, merchant_uid: 'mid_from_page', certified: true, name: '홍길동', birthday: '1990-01-01', phone: '01012345678', carrier: 'SKT', unique_key: ci
  })
})

t.test('what the V2 page sends to the seeding endpoint gives a VERIFIED verification with the same CI as V1', async (t) => {
  const fake = await startFakeV2()
  const page = await (await fetch(`${fake.url}/sandbox/identity-verification?identityVerificationId=iv_from_page`)).text()
  t.match(page, "fetch(v2 ? '/__fake/identity-verifications' : '/__fake/certifications'")
  t.match(page, 'name: name, birthDate: birthday, gender: gender.toUpperCase(), phoneNumber: phone, operator: carrier, isForeigner: false, ci: ci, di: di')
  // The body the page builds for 김민지, born 2001-02-03, female (gender digit 4), LG U+ MVNO.
  const person = '김민지|2001-02-03|4'
  const ci = createHash('sha512').update(`ci|${person}`).digest('base64')
  const di = createHash('sha384').update(`di|sandbox|${person}`).digest('base64')
  const seeded = await fetch(`${fake.url}/__fake/identity-verifications`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      id: 'iv_from_page',
      verifiedCustomer: {
        name: '김민지', birthDate: '2001-02-03', gender: 'FEMALE', phoneNumber: '01055556666', operator: 'LGU_MVNO', isForeigner: false, ci, di
      }
    })
  })
  t.equal(seeded.status, 201)
  t.same(await seeded.json(), { id: 'iv_from_page', status: 'VERIFIED' })

  const client = new PortOneV2Client({ apiSecret: fake.apiSecret, storeId: fake.storeId, baseUrl: fake.url })
  t.teardown(() => client.close())
  const verification = await client.getIdentityVerification('iv_from_page')
  t.equal(verification.status, 'VERIFIED')
  const identity = identityFromV2(verification as Parameters<typeof identityFromV2>[0])
  t.match(identity, {
    verificationId: 'iv_from_page', requestId: 'iv_from_page', name: '김민지', birthday: '2001-02-03', gender: 'female', phone: '01055556666', carrier: 'LGU_MVNO', ci, di
  })
})

t.test('escapeHtml and sandboxPage', async (t) => {
  t.equal(escapeHtml('&<>"\'plain 한글'), '&amp;&lt;&gt;&quot;&#39;plain 한글')
  t.equal(escapeHtml(''), '')
  const page = sandboxPage('v1', 'mid<1>')
  t.match(page, 'data-api="v1" data-request-id="mid&lt;1&gt;"')
  t.match(page, 'merchant_uid: mid&lt;1&gt;')
  t.ok(page.startsWith('<!DOCTYPE html>'))
  const v2 = sandboxPage('v2', 'iv<1>')
  t.match(v2, 'data-api="v2" data-request-id="iv&lt;1&gt;"')
  t.match(v2, 'identityVerificationId: iv&lt;1&gt;')
  t.equal(inline(v2, 'script'), inline(page, 'script'), 'one script for both: one CSP')
  t.ok(Object.isFrozen(SANDBOX_PAGE_HEADERS))
})
