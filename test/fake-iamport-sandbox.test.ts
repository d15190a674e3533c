import t from 'tap'
import { createHash } from 'node:crypto'
import { createFakeIamport, type FakeIamport } from '../lib/testing/index.js'
import { escapeHtml, SANDBOX_PAGE_HEADERS, sandboxCertificationPage } from '../lib/testing/sandbox-page.js'

async function startFake (): Promise<FakeIamport> {
  const fake = await createFakeIamport()
  t.teardown(() => fake.close())
  return fake
}

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
  t.match(page, 'data-merchant-uid="mid0123456789abcdef"')
  t.match(page, 'merchant_uid: mid0123456789abcdef')
  for (const field of ['name="name"', 'name="birthday"', 'name="gender"', 'name="phone"', 'name="carrier"']) t.match(page, field)
  // Self-contained: nothing loaded from anywhere, and it seeds and answers the SDK way.
  t.notMatch(page, /\s(?:src|href)=/)
  t.match(page, "fetch('/__fake/certifications'")
  t.match(page, "window.opener.postMessage(rsp, '*')")
  t.same(fake.calls, { getToken: 0, getCertification: 0, deleteCertification: 0, otpRequest: 0, otpConfirm: 0, total: 1 })
  t.same(fake.requests, [{ method: 'GET', path: '/sandbox/certification?merchant_uid=mid0123456789abcdef' }])
})

t.test('the CSP allows exactly the inline script and style of the page, and nothing external', async (t) => {
  const fake = await startFake()
  const response = await fetch(`${fake.url}/sandbox/certification?merchant_uid=m1`)
  const page = await response.text()
  const csp = String(response.headers.get('content-security-policy'))
  t.equal(csp, SANDBOX_PAGE_HEADERS['content-security-policy'])
  const hash = (source: string): string => `'sha256-${createHash('sha256').update(source).digest('base64')}'`
  t.match(csp, `script-src ${hash(inline(page, 'script'))};`)
  t.match(csp, `style-src ${hash(inline(page, 'style'))};`)
  t.match(csp, "default-src 'none'")
  t.match(csp, "connect-src 'self'")
  t.match(csp, "frame-ancestors 'none'")
  t.notMatch(csp, 'unsafe-inline')
})

t.test('an echoed merchant_uid is escaped in text and in the attribute', async (t) => {
  const fake = await startFake()
  const hostile = '"><script>alert(1)</script>&\'x'
  const response = await fetch(`${fake.url}/sandbox/certification?merchant_uid=${encodeURIComponent(hostile)}`)
  const page = await response.text()
  t.equal(response.status, 200)
  const escaped = '&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;&amp;&#39;x'
  t.match(page, `data-merchant-uid="${escaped}"`)
  t.match(page, `merchant_uid: ${escaped}`)
  t.notMatch(page, 'alert(1)</script>')
  t.equal(page.split('<script>').length, 2, 'only the page\'s own script element')
})

t.test('without merchant_uid the window still works and says there is none', async (t) => {
  const fake = await startFake()
  for (const path of ['/sandbox/certification', '/sandbox/certification?other=1']) {
    const response = await fetch(fake.url + path)
    const page = await response.text()
    t.equal(response.status, 200, path)
    t.match(page, 'data-merchant-uid=""', path)
    t.match(page, 'merchant_uid: (없음 · none)', path)
  }
})

t.test('only GET on the exact path is the sandbox page', async (t) => {
  const fake = await startFake()
  for (const [method, path] of [['POST', '/sandbox/certification'], ['GET', '/sandbox/certification/x'], ['GET', '/sandbox']]) {
    const response = await fetch(fake.url + path, { method })
    t.equal(response.status, 404, `${method} ${path}`)
    t.same(await response.json(), { code: -1, message: 'Not Found', response: null })
  }
})

t.test('what the page sends to the seeding endpoint gives a certified record the client can read', async (t) => {
  const fake = await startFake()
  const page = await (await fetch(`${fake.url}/sandbox/certification?merchant_uid=mid_from_page`)).text()
  t.match(page, 'if (merchantUid) body.merchant_uid = merchantUid')
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

t.test('escapeHtml and sandboxCertificationPage', async (t) => {
  t.equal(escapeHtml('&<>"\'plain 한글'), '&amp;&lt;&gt;&quot;&#39;plain 한글')
  t.equal(escapeHtml(''), '')
  const page = sandboxCertificationPage('mid<1>')
  t.match(page, 'data-merchant-uid="mid&lt;1&gt;"')
  t.ok(page.startsWith('<!DOCTYPE html>'))
  t.ok(Object.isFrozen(SANDBOX_PAGE_HEADERS))
})
