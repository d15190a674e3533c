import { createHash } from 'node:crypto'
import type { ServerResponse } from 'node:http'

/**
 * The sandbox stand-in for the verification window, one page for both API generations:
 * - V1 (fake i'mport, `GET /sandbox/certification?merchant_uid=...`): seeds a certified record
 *   through `POST /__fake/certifications` and answers its opener the way the `IMP.certification`
 *   callback would: `postMessage({ success, imp_uid, merchant_uid, ... })`.
 * - V2 (fake PortOne V2, `GET /sandbox/identity-verification?identityVerificationId=...`): seeds
 *   `{ id, verifiedCustomer }` through `POST /__fake/identity-verifications` and answers the way
 *   `PortOne.requestIdentityVerification` resolves: `postMessage({ transactionType,
 *   identityVerificationId, identityVerificationTxId })`, plus `code` and `message` on a cancel.
 * The tester types a person; the window answers and closes. CI and DI are derived from name,
 * birthday and the resident-number gender digit exactly as the V1 fake's OTP confirmation derives
 * them, so the same person always gets the same CI, in both generations.
 * Self-contained: no external resource; the request id is the only echoed value and is escaped.
 */

/** Which fake serves the window: i'mport V1 or PortOne V2. */
export type SandboxApi = 'v1' | 'v2'

interface SandboxFlavor {
  /** The request id's name, as the page shows it. */
  idLabel: string
  /** LG U+'s operator code: V1 `LGT`, V2 `LGU`. */
  lgu: string
}

const FLAVORS: Record<SandboxApi, SandboxFlavor> = {
  v1: { idLabel: 'merchant_uid', lgu: 'LGT' },
  v2: { idLabel: 'identityVerificationId', lgu: 'LGU' }
}

const STYLE = `
* { box-sizing: border-box; }
body { margin: 0; background: #f4f5f7; color: #1f2430; word-break: keep-all; overflow-wrap: anywhere;
  font: 15px/1.5 "Apple SD Gothic Neo", "Malgun Gothic", "Noto Sans KR", "NanumGothic", system-ui, sans-serif; }
header { padding: .9rem 1.2rem; background: #23262f; color: #fff; }
header h1 { margin: 0; font-size: 1.05rem; }
header p { margin: .15rem 0 0; font-size: .8rem; color: #ffd479; }
form { padding: 1rem 1.2rem 1.4rem; display: grid; gap: .8rem; }
label { display: grid; gap: .25rem; font-weight: 600; font-size: .9rem; }
input, select { font: inherit; font-weight: 400; padding: .55rem .6rem; border: 1px solid #c9ced8; border-radius: 8px; background: #fff; }
fieldset { border: 1px solid #c9ced8; border-radius: 8px; padding: .4rem .7rem .6rem; }
legend { font-weight: 600; font-size: .9rem; }
fieldset label { display: inline-flex; gap: .3rem; margin-right: 1rem; font-weight: 400; }
.meta { margin: 0; font-size: .75rem; color: #6b7280; word-break: break-all; }
.actions { display: grid; grid-template-columns: 1fr 2fr; gap: .6rem; }
button { font: inherit; font-weight: 700; padding: .7rem; border-radius: 8px; border: 1px solid #c9ced8; background: #fff; cursor: pointer; }
button[type=submit] { background: #2451d6; border-color: #2451d6; color: #fff; }
#status { margin: 0; min-height: 1.5em; color: #b42318; font-size: .9rem; }
`

// Static, one script for both generations: the API and the request id are read from the form's
// data attributes, never spliced into code (one CSP hash for both).
const SCRIPT = `
(function () {
  'use strict'
  var form = document.getElementById('certification')
  var v2 = form.dataset.api === 'v2'
  var requestId = form.dataset.requestId
  var status = document.getElementById('status')
  document.getElementById('birthday').max = new Date().toISOString().slice(0, 10)

  // Like the SDK: only references (imp_uid / identityVerificationId), never the person's data.
  function answer (rsp) {
    if (window.opener && !window.opener.closed) {
      window.opener.postMessage(rsp, '*')
      window.close()
    } else if (v2) {
      status.textContent = rsp.code === undefined ? 'identityVerificationId: ' + rsp.identityVerificationId : rsp.message
    } else {
      status.textContent = rsp.success ? 'imp_uid: ' + rsp.imp_uid : rsp.error_msg
    }
  }

  async function digest (algorithm, text) {
    var bytes = new Uint8Array(await crypto.subtle.digest(algorithm, new TextEncoder().encode(text)))
    var binary = ''
    for (var i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i])
    return btoa(binary)
  }

  function txId () {
    return 'sandbox-tx-' + Date.now().toString(36) + Math.random().toString(36).slice(2)
  }

  form.addEventListener('submit', async function (event) {
    event.preventDefault()
    status.textContent = ''
    var data = new FormData(form)
    var name = String(data.get('name')).trim()
    var birthday = String(data.get('birthday'))
    var gender = String(data.get('gender'))
    var genderDigit = String((Number(birthday.slice(0, 4)) >= 2000 ? 3 : 1) + (gender === 'female' ? 1 : 0))
    var person = name + '|' + birthday + '|' + genderDigit
    var phone = String(data.get('phone')).replace(/[^0-9]/g, '')
    var carrier = String(data.get('carrier'))
    var ci = await digest('SHA-512', 'ci|' + person)
    var di = await digest('SHA-384', 'di|sandbox|' + person)
    var body = v2
      ? {
          verifiedCustomer: {
            name: name, birthDate: birthday, gender: gender.toUpperCase(), phoneNumber: phone, operator: carrier, isForeigner: false, ci: ci, di: di
          }
        }
      : { name: name, birthday: birthday, gender: gender, phone: phone, carrier: carrier, pg_provider: 'danal', unique_key: ci, unique_in_site: di }
    if (requestId) body[v2 ? 'id' : 'merchant_uid'] = requestId
    try {
      var response = await fetch(v2 ? '/__fake/identity-verifications' : '/__fake/certifications', {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body)
      })
      if (!response.ok) throw new Error(String(response.status))
      var seeded = await response.json()
      answer(v2
        ? { transactionType: 'IDENTITY_VERIFICATION', identityVerificationId: seeded.id, identityVerificationTxId: txId() }
        : { success: true, imp_uid: seeded.imp_uid, merchant_uid: seeded.merchant_uid, pg_provider: 'danal', pg_type: 'certification' })
    } catch (err) {
      status.textContent = '가짜 서버에 저장하지 못했습니다 · Could not save to the fake server'
    }
  })

  document.getElementById('cancel').addEventListener('click', function () {
    var message = '본인인증을 취소하셨습니다 · Verification cancelled'
    answer(v2
      ? { transactionType: 'IDENTITY_VERIFICATION', identityVerificationId: requestId || '', identityVerificationTxId: txId(), code: 'FAILURE_TYPE_PG', message: message }
      : { success: false, imp_uid: null, merchant_uid: requestId || null, error_code: 'F0000', error_msg: message })
  })
})()
`

function cspHash (source: string): string {
  return `'sha256-${createHash('sha256').update(source).digest('base64')}'`
}

/** Response headers of the sandbox page: a CSP that allows only its own inline script and style. */
export const SANDBOX_PAGE_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'content-type': 'text/html; charset=utf-8',
  'content-security-policy': [
    "default-src 'none'",
    `script-src ${cspHash(SCRIPT)}`,
    `style-src ${cspHash(STYLE)}`,
    "connect-src 'self'",
    "form-action 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'"
  ].join('; '),
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer'
})

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }

/** Text made safe for HTML element content and quoted attribute values. */
export function escapeHtml (text: string): string {
  return text.replace(/[&<>"']/g, (character) => HTML_ESCAPES[character] as string)
}

/**
 * The sandbox verification window of `api` for `requestId` (V1 the merchant_uid, V2 the
 * identityVerificationId; `''` when the caller gave none).
 */
export function sandboxPage (api: SandboxApi, requestId: string): string {
  const flavor = FLAVORS[api]
  const escaped = escapeHtml(requestId)
  return `<!DOCTYPE html>
<html lang="ko">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>본인인증 (샌드박스) · Identity verification (sandbox)</title>
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>휴대폰 본인인증 · Mobile identity verification</h1>
<p>샌드박스: 실제 인증이 아닙니다 · Sandbox: nothing is really verified</p>
</header>
<form id="certification" data-api="${api}" data-request-id="${escaped}" autocomplete="off">
<label>이름 · Name <input name="name" required maxlength="40" placeholder="홍길동"></label>
<label>생년월일 · Date of birth <input id="birthday" name="birthday" type="date" required min="1900-01-01"></label>
<fieldset>
<legend>성별 · Gender</legend>
<label><input type="radio" name="gender" value="male" checked> 남 · Male</label>
<label><input type="radio" name="gender" value="female"> 여 · Female</label>
</fieldset>
<label>휴대폰 번호 · Phone <input name="phone" type="tel" required inputmode="numeric" pattern="01[0-9]-?[0-9]{3,4}-?[0-9]{4}" placeholder="010-1234-5678"></label>
<label>통신사 · Carrier
<select name="carrier">
<option value="SKT">SKT</option>
<option value="KT">KT</option>
<option value="${flavor.lgu}">LG U+</option>
<option value="SKT_MVNO">SKT 알뜰폰 · MVNO</option>
<option value="KT_MVNO">KT 알뜰폰 · MVNO</option>
<option value="${flavor.lgu}_MVNO">LG U+ 알뜰폰 · MVNO</option>
</select>
</label>
<p class="meta">${flavor.idLabel}: ${escaped === '' ? '(없음 · none)' : escaped}</p>
<p id="status" role="alert"></p>
<div class="actions">
<button id="cancel" type="button">취소 · Cancel</button>
<button type="submit">인증 완료 · Verify</button>
</div>
</form>
<script>${SCRIPT}</script>
</body>
</html>
`
}

/** Answers a request with the sandbox window of `api` for `requestId`. */
export function sendSandboxPage (res: ServerResponse, api: SandboxApi, requestId: string): void {
  const page = sandboxPage(api, requestId)
  res.writeHead(200, { ...SANDBOX_PAGE_HEADERS, 'content-length': Buffer.byteLength(page) })
  res.end(page)
}
