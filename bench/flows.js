/**
 * What the load generator (bench/load.js) sends, by flow name. A flow is the autocannon request
 * sequence one connection repeats, and the step whose 2xx answers are the operations counted
 * (verifications, or prepares). Each flow gets `nextId()`, a counter that never repeats within the
 * load process, so every verification carries a new id (the plugin consumes each one once).
 *
 * Another route (the SMS/OTP routes, for example) gets its flow from a BENCH_SUITE_MODULES
 * module, which sets `FLOWS[name]` and adds its candidates (bench/suite.js); the harness needs
 * nothing else.
 */

const JSON_HEADERS = { 'content-type': 'application/json' }

/** The `idv_binding` cookie a prepare answer set, as a `cookie` request header value. */
function bindingCookie (headers) {
  const setCookie = headers['set-cookie']
  const first = Array.isArray(setCookie) ? setCookie[0] : setCookie
  return typeof first === 'string' ? first.split(';', 1)[0] : undefined
}

/**
 * The two requests of one browser: `first` answers an id (its field `idField`) and sets the
 * `idv_binding` cookie; then `POST secondPath` with `bodyOf(id)` and that cookie is the counted
 * step. Without an id (the first failed) `bodyOf(undefined)` is a body the route refuses, counted
 * as a failure; the id is cleared before each first request, so a failure never reuses the last.
 */
function browserPair (counted, first, idField, secondPath, bodyOf) {
  return [{
    ...first,
    setupRequest (request, context) {
      context.id = undefined
      return request
    },
    onResponse (status, body, context, headers) {
      if (status !== 200) return
      context.id = JSON.parse(body)[idField]
      context.cookie = bindingCookie(headers)
    }
  }, {
    method: 'POST',
    path: secondPath,
    setupRequest (request, context) {
      request.body = bodyOf(context.id)
      request.headers = context.cookie === undefined ? JSON_HEADERS : { ...JSON_HEADERS, cookie: context.cookie }
      return request
    },
    onResponse: counted
  }]
}

/**
 * @type {Record<string, { describe: string, requests: (nextId: () => number, counted: (status: number) => void) => object[] }>}
 * `counted(status)` is called with the status of every answer of the counted step.
 */
export const FLOWS = {
  'v1-verify': {
    describe: 'POST /certifications { imp_uid } with a new imp_uid every time',
    requests: (nextId, counted) => [{
      method: 'POST',
      path: '/certifications',
      headers: JSON_HEADERS,
      // 12 digits, inside the default imp_uid pattern ^imp_[0-9]{6,20}$.
      setupRequest (request) {
        request.body = '{"imp_uid":"imp_' + nextId() + '"}'
        return request
      },
      onResponse: counted
    }]
  },
  'v2-verify': {
    describe: 'POST /certifications { identityVerificationId } with a new id every time (route without issued ids)',
    requests: (nextId, counted) => [{
      method: 'POST',
      path: '/certifications',
      headers: JSON_HEADERS,
      setupRequest (request) {
        request.body = '{"identityVerificationId":"bench' + nextId() + '"}'
        return request
      },
      onResponse: counted
    }]
  },
  'v2-prepare': {
    describe: 'POST /certifications/prepare from a new browser every time (no cookie: a new idv_binding)',
    requests: (nextId, counted) => [{ method: 'POST', path: '/certifications/prepare', onResponse: counted }]
  },
  'v1-otp': {
    describe: 'one browser per pair: POST /certifications/otp (the SMS is sent upstream), then POST /certifications/otp/confirm with the imp_uid, the code and the idv_binding cookie',
    requests: (nextId, counted) => browserPair(counted, {
      method: 'POST',
      path: '/certifications/otp',
      headers: JSON_HEADERS,
      body: JSON.stringify({ name: '홍길동', phone: '01012345678', birth: '900315', genderDigit: '1', carrier: 'SKT' })
    }, 'imp_uid', '/certifications/otp/confirm',
    // bench/upstream.js accepts this one code (OTP_CODE there).
    (id) => '{"imp_uid":"' + (id ?? 'no-send') + '","otp":"123456"}')
  },
  'v2-prepare-verify': {
    describe: 'one browser per pair: POST /certifications/prepare, then POST /certifications with the issued id and the idv_binding cookie',
    requests: (nextId, counted) => browserPair(counted, { method: 'POST', path: '/certifications/prepare' }, 'identityVerificationId', '/certifications',
      (id) => '{"identityVerificationId":"' + (id ?? 'no-prepare') + '"}')
  }
}
