import { createHash } from 'node:crypto'
import { OUTCOME_MESSAGES } from './messages.js'
import type { ExampleApiVersion, ExampleMode } from './config.js'

/** What the page needs to know to start a verification. */
export interface PageSettings {
  /** i'mport V1 (`IMP.certification`, `{ imp_uid }`) or PortOne V2 (`PortOne.requestIdentityVerification`, `{ identityVerificationId }`). */
  apiVersion: ExampleApiVersion
  mode: ExampleMode
  /** V1: 가맹점 식별코드 for `IMP.init` (production mode). */
  merchantCode?: string
  /** V2: store id for `PortOne.requestIdentityVerification` (production mode). */
  storeId?: string
  /** V2: the identity-verification channel's key (production mode). */
  channelKey?: string
  /** Origin of the fake server whose stand-in window replaces the SDK (sandbox mode). */
  sandboxUrl?: string
}

/** The i'mport V1 browser SDK (V1 production mode only). */
export const IAMPORT_SDK_URL = 'https://cdn.iamport.kr/v1/iamport.js'
/** The PortOne V2 browser SDK, global `PortOne` (V2 production mode only). */
export const PORTONE_SDK_URL = 'https://cdn.portone.io/v2/browser-sdk.js'

const STYLE = `
:root { color-scheme: light; --ink: #1d2433; --muted: #5b6478; --line: #dfe3ea; --brand: #2451d6; }
* { box-sizing: border-box; }
body { margin: 0; min-height: 100vh; display: grid; place-items: center; background: #f3f5f9; color: var(--ink);
  word-break: keep-all; overflow-wrap: anywhere;
  font: 16px/1.6 "Apple SD Gothic Neo", "Malgun Gothic", "Noto Sans KR", "NanumGothic", system-ui, sans-serif; }
main { width: min(34rem, calc(100vw - 2rem)); background: #fff; border: 1px solid var(--line); border-radius: 14px;
  padding: 2rem 2rem 1.5rem; box-shadow: 0 6px 24px rgba(29, 36, 51, .06); }
h1 { margin: 0 0 .25rem; font-size: 1.45rem; }
.lead { margin: 0 0 1.25rem; color: var(--muted); }
.mode { display: inline-block; margin: 0 0 1rem; padding: .15rem .6rem; border-radius: 999px; font-size: .8rem; font-weight: 600; }
.mode.sandbox { background: #fff4d6; color: #7a5300; }
.mode.production { background: #e3f5e8; color: #1d6b35; }
button { width: 100%; padding: .85rem 1rem; border: 0; border-radius: 10px; background: var(--brand); color: #fff;
  font: inherit; font-weight: 700; font-size: 1.05rem; cursor: pointer; }
button:disabled { opacity: .6; cursor: progress; }
#outcome { margin-top: 1.25rem; padding: 1rem 1.1rem; border-radius: 10px; border: 1px solid var(--line); }
#outcome h2 { margin: 0 0 .35rem; font-size: 1.1rem; }
#outcome p { margin: .2rem 0; }
#outcome .en { color: var(--muted); }
#outcome .code { margin-top: .5rem; font: .75rem/1.4 ui-monospace, monospace; color: var(--muted); }
#outcome.success { background: #eefaf1; border-color: #a8dfb7; }
#outcome.warning { background: #fff8e6; border-color: #f0d08a; }
#outcome.error { background: #fdf0f0; border-color: #eeb4b4; }
#outcome.neutral { background: #f5f6f8; }
#outcome.pending { background: #f5f6f8; color: var(--muted); }
footer { margin-top: 1.5rem; font-size: .8rem; color: var(--muted); }
`

// Static: everything variable comes from the JSON config block, read as data.
const SCRIPT = `
(function () {
  'use strict'
  var config = JSON.parse(document.getElementById('example-config').textContent)
  var button = document.getElementById('verify')
  var outcome = document.getElementById('outcome')

  function show (key, name) {
    var message = config.messages[key] || config.messages.UNKNOWN
    var fill = function (text) { return text.split('{name}').join(name || '') }
    outcome.hidden = false
    outcome.className = message.tone
    outcome.dataset.outcome = key
    document.getElementById('outcome-title').textContent = message.title
    document.getElementById('outcome-ko').textContent = fill(message.ko)
    document.getElementById('outcome-en').textContent = fill(message.en)
    document.getElementById('outcome-code').textContent = /^FST_/.test(key) ? key : ''
  }

  function pending () {
    outcome.hidden = false
    outcome.className = 'pending'
    outcome.dataset.outcome = 'PENDING'
    document.getElementById('outcome-title').textContent = '본인인증 진행 중 · Verifying…'
    document.getElementById('outcome-ko').textContent = ''
    document.getElementById('outcome-en').textContent = ''
    document.getElementById('outcome-code').textContent = ''
  }

  async function post (url, body) {
    var init = { method: 'POST', credentials: 'same-origin', headers: {} }
    if (body !== undefined) {
      init.headers['content-type'] = 'application/json'
      init.body = JSON.stringify(body)
    }
    var response = await fetch(url, init)
    var data = null
    try { data = await response.json() } catch (err) { data = null }
    return { ok: response.ok, data: data || {} }
  }

  // What differs between the generations: the issued id's name, the stand-in window, the SDK call,
  // and the field the server reads. Everything else (and the whole server policy) is the same.
  var v2 = config.apiVersion === 'v2'
  var issuedField = v2 ? 'identityVerificationId' : 'merchantUid'

  // Sandbox: the fake server's stand-in window answers like the SDK, by postMessage.
  function sandboxVerification (popup, issued) {
    return new Promise(function (resolve) {
      var origin = new URL(config.sandboxUrl).origin
      var done = false
      function finish (rsp) {
        if (done) return
        done = true
        window.removeEventListener('message', onMessage)
        clearInterval(watch)
        resolve(rsp)
      }
      function onMessage (event) {
        if (event.origin !== origin || event.source !== popup || !event.data || typeof event.data !== 'object') return
        finish(event.data)
      }
      window.addEventListener('message', onMessage)
      // Closed without an answer: cancelled (a late message still wins within the grace period).
      var watch = setInterval(function () {
        if (!popup.closed) return
        clearInterval(watch)
        setTimeout(function () { finish(null) }, 500)
      }, 300)
      popup.location.href = config.sandboxUrl + (v2
        ? '/sandbox/identity-verification?identityVerificationId='
        : '/sandbox/certification?merchant_uid=') + encodeURIComponent(issued)
    })
  }

  // Production: the vendor's SDK. On mobile it redirects back to this page instead of answering.
  function sdkVerification (issued) {
    var back = location.origin + location.pathname
    if (v2) {
      return window.PortOne.requestIdentityVerification({
        storeId: config.storeId, identityVerificationId: issued, channelKey: config.channelKey, redirectUrl: back
      })
    }
    return new Promise(function (resolve) {
      window.IMP.init(config.merchantCode)
      window.IMP.certification({ merchant_uid: issued, m_redirect_url: back }, resolve)
    })
  }

  // The reference the server looks up, or null when the window was cancelled or failed.
  // V2 resolves with { identityVerificationId } and adds { code, message } on failure.
  function referenceOf (rsp) {
    if (!rsp) return null
    if (v2) return rsp.code == null ? rsp.identityVerificationId : null
    return rsp.imp_uid
  }

  // Only the reference is sent: the server fetches the result from upstream and decides.
  async function submit (reference) {
    if (!reference) return show('CANCELLED')
    var body = {}
    body[v2 ? 'identityVerificationId' : 'imp_uid'] = reference
    var result = await post('/certifications', body)
    if (result.ok && typeof result.data.welcome === 'string') return show('WELCOME', result.data.welcome)
    show(typeof result.data.code === 'string' ? result.data.code : 'UNKNOWN')
  }

  async function start () {
    button.disabled = true
    pending()
    // Opened now, inside the click, so that pop-up blockers allow it; pointed at the page later.
    var popup = config.mode === 'sandbox' ? window.open('about:blank', 'iamport-sandbox', 'popup,width=440,height=720') : null
    try {
      if (config.mode === 'sandbox' && !popup) return show('POPUP_BLOCKED')
      var prepared = await post('/certifications/prepare')
      var issued = prepared.data[issuedField]
      if (!prepared.ok || typeof issued !== 'string') {
        if (popup) popup.close()
        return show(typeof prepared.data.code === 'string' ? prepared.data.code : 'UNKNOWN')
      }
      var rsp = config.mode === 'sandbox' ? await sandboxVerification(popup, issued) : await sdkVerification(issued)
      await submit(referenceOf(rsp))
    } catch (err) {
      show('NETWORK')
    } finally {
      button.disabled = false
    }
  }

  button.addEventListener('click', start)

  // Back from a mobile redirect. V1: ?imp_uid=...&merchant_uid=...&success=... (success is not
  // trusted). V2: ?identityVerificationId=... (or identity_verification_id), plus code and message on failure.
  var query = new URLSearchParams(location.search)
  var redirected = query.get('imp_uid')
  if (v2) {
    var id = query.get('identityVerificationId') || query.get('identity_verification_id')
    redirected = id === null ? null : query.has('code') ? '' : id
  }
  if (redirected !== null) {
    history.replaceState(null, '', location.pathname)
    pending()
    submit(redirected).catch(function () { show('NETWORK') })
  }
})()
`

/** A CSP hash source for an inline element's exact text. */
function cspHash (source: string): string {
  return `'sha256-${createHash('sha256').update(source).digest('base64')}'`
}

/** The page's one inline script and one inline style, as CSP sources (the page itself is static, so hashes serve). */
const SCRIPT_HASH = cspHash(SCRIPT)
const STYLE_HASH = cspHash(STYLE)

/**
 * The page's Content-Security-Policy. Everything starts from `default-src 'none'`; what is
 * allowed back is what the page uses:
 *
 * - scripts: the inline script (by hash) and, in production mode, the vendor SDK's origin. The
 *   JSON config block is data (`type="application/json"`), never executed, so it needs nothing;
 * - its inline style (by hash);
 * - `fetch` to this origin only (`/certifications/prepare`, `/certifications`). The sandbox window
 *   is a pop-up the page navigates to the fake server and hears from by `postMessage`: neither is
 *   a fetch or a frame, so the fake's origin needs no entry (its window sends its own CSP);
 * - no plugins, no `<base>`, no form posts, and no framing by anyone (`frame-ancestors 'none'`).
 *
 * In production the vendor SDK runs in the page and opens its verification UI, which goes on to
 * the carrier's and PG's pages on hosts that vary by channel. So frames, the SDK's own requests,
 * form posts, images and inline styles are allowed on any https origin there; scripts stay limited
 * to this page's own and the SDK's origin, which is what keeps an injection from running.
 */
export function contentSecurityPolicy (settings: PageSettings): string {
  const sdkOrigin = new URL(settings.apiVersion === 'v2' ? PORTONE_SDK_URL : IAMPORT_SDK_URL).origin
  const production = settings.mode === 'production'
  return [
    "default-src 'none'",
    `script-src ${SCRIPT_HASH}${production ? ` ${sdkOrigin}` : ''}`,
    production ? "style-src 'unsafe-inline' https:" : `style-src ${STYLE_HASH}`,
    production ? "connect-src 'self' https:" : "connect-src 'self'",
    ...(production ? ['frame-src https:', "img-src 'self' https: data:"] : []),
    production ? 'form-action https:' : "form-action 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'"
  ].join('; ')
}

/** JSON that is safe inside a `<script type="application/json">` element. */
function scriptJson (value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026')
}

/** The example's sign-up page: one "verify" button and the outcome in plain words. */
export function examplePage (settings: PageSettings): string {
  const sandbox = settings.mode === 'sandbox'
  const v2 = settings.apiVersion === 'v2'
  const config = {
    apiVersion: settings.apiVersion,
    mode: settings.mode,
    merchantCode: v2 ? null : settings.merchantCode ?? null,
    storeId: v2 ? settings.storeId ?? null : null,
    channelKey: v2 ? settings.channelKey ?? null : null,
    sandboxUrl: settings.sandboxUrl ?? null,
    messages: OUTCOME_MESSAGES
  }
  const vendor = v2 ? 'PortOne V2' : 'i\'mport'
  const badge = sandbox
    ? `<p class="mode sandbox">샌드박스 · Sandbox (${vendor}): 실제 인증 없음, no real verification</p>`
    : `<p class="mode production">운영 · Production: ${vendor}</p>`
  const sdk = v2 ? PORTONE_SDK_URL : IAMPORT_SDK_URL
  return `<!DOCTYPE html>
<html lang="ko">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>회원가입 · Sign up — fastify-iamport example</title>
<style>${STYLE}</style>
</head>
<body>
<main>
<h1>회원가입 · Sign up</h1>
<p class="lead">휴대폰 본인인증으로 가입합니다. 19세 이상(연 나이), 한 사람당 한 계정.<br>Sign up with mobile identity verification: 19 or older (by birth year), one account per person.</p>
${badge}
<button id="verify" type="button">본인인증 · Verify my identity</button>
<section id="outcome" role="status" aria-live="polite" hidden>
<h2 id="outcome-title"></h2>
<p id="outcome-ko" class="ko"></p>
<p id="outcome-en" class="en"></p>
<p id="outcome-code" class="code"></p>
</section>
<footer>fastify-iamport example${sandbox ? ` · 샌드박스 인증 창은 가짜 ${v2 ? '포트원 V2' : '아임포트'} 서버가 띄웁니다 · the verification window comes from a fake ${vendor} server` : ''}</footer>
</main>
<script type="application/json" id="example-config">${scriptJson(config)}</script>
${sandbox ? '' : `<script src="${sdk}"></script>\n`}<script>${SCRIPT}</script>
</body>
</html>
`
}
