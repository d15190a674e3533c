import t from 'tap'
import Fastify from 'fastify'
import fastifyIamport from '../index.js'
import * as errors from '../lib/errors.js'
import { koMessages, koreanMessage, type KoMessageKey } from '../lib/messages-ko.js'
import { createFakeIamport } from '../lib/testing/index.js'

/** Every exported error class's code, read from an instance (@fastify/error sets it in the constructor, not on the prototype). */
function exportedErrorCodes (): string[] {
  type ErrorClass = new () => Error & { code: unknown }
  return (Object.values(errors) as unknown[])
    .filter((value): value is ErrorClass => typeof value === 'function' && value.prototype instanceof Error)
    .map((ErrorClass) => new ErrorClass().code)
    .filter((code): code is string => typeof code === 'string' && code.startsWith('FST_IAMPORT_'))
}

const FASTIFY_BODY_CODES = ['FST_ERR_VALIDATION', 'FST_ERR_CTP_BODY_TOO_LARGE', 'FST_ERR_CTP_INVALID_MEDIA_TYPE', 'FST_ERR_CTP_INVALID_JSON_BODY', 'FST_ERR_CTP_EMPTY_JSON_BODY']

t.test('koMessages has a Korean message for every exported error code, and nothing else', async (t) => {
  const codes = exportedErrorCodes()
  t.ok(codes.length >= 14, `${codes.length} codes found`)
  for (const code of codes) t.ok(Object.hasOwn(koMessages, code), `${code} has a message`)
  t.same(Object.keys(koMessages).sort(), [...codes, ...FASTIFY_BODY_CODES, 'UNKNOWN'].sort(), 'no message for a code that does not exist')
  for (const [key, message] of Object.entries(koMessages)) {
    t.match(message, /^[가-힣][가-힣 .,()]*[.?]$/, `${key}: Hangul sentences`)
    t.notMatch(message, /redis|hook|store|option|upstream|imp_uid|portone|iamport|[A-Za-z]/i, `${key} names nothing internal`)
  }
  t.ok(Object.isFrozen(koMessages))
  t.equal(koMessages.FST_IAMPORT_DUPLICATE, '이미 가입된 회원입니다.')
  t.equal(koMessages.FST_IAMPORT_STALE_CERTIFICATION, '본인인증 후 시간이 너무 지났습니다. 다시 인증해 주세요.')
})

t.test('koreanMessage: a known code keeps its status and code and gets its Korean message', async (t) => {
  t.same(koreanMessage(new errors.ReplayedError()), { statusCode: 409, code: 'FST_IAMPORT_REPLAYED', error: 'Conflict', message: koMessages.FST_IAMPORT_REPLAYED })
  t.same(koreanMessage(new errors.UpstreamError('getCertification: HTTP 500')), {
    statusCode: 502, code: 'FST_IAMPORT_UPSTREAM', error: 'Bad Gateway', message: koMessages.FST_IAMPORT_UPSTREAM
  }, 'a 5xx of the table: its own message (generic by construction), never the English one')
  t.same(koreanMessage(Object.assign(new Error('body must have required property'), { statusCode: 400, code: 'FST_ERR_VALIDATION' })), {
    statusCode: 400, code: 'FST_ERR_VALIDATION', error: 'Bad Request', message: koMessages.FST_ERR_VALIDATION
  })
})

t.test('koreanMessage: anything else', async (t) => {
  const generic = koMessages.UNKNOWN
  t.same(koreanMessage(Object.assign(new Error('connect ECONNREFUSED 10.0.0.7:5432'), { code: 'ECONNREFUSED' })),
    { statusCode: 500, error: 'Internal Server Error', message: generic }, 'a server error outside the table: generic, and no code')
  t.same(koreanMessage(Object.assign(new Error('db down'), { statusCode: 503, code: 'DB_DOWN' })),
    { statusCode: 503, error: 'Service Unavailable', message: generic })
  t.same(koreanMessage(Object.assign(new Error('휴면 계정입니다.'), { statusCode: 403, code: 'APP_DORMANT' })),
    { statusCode: 403, code: 'APP_DORMANT', error: 'Forbidden', message: '휴면 계정입니다.' }, 'a client error keeps its own message and code')
  t.same(koreanMessage(Object.assign(new Error('Too many requests'), { status: 429 })),
    { statusCode: 429, error: 'Too Many Requests', message: 'Too many requests' }, '`status` counts like `statusCode`; no code, none invented')
  t.same(koreanMessage(Object.assign(new Error(''), { statusCode: 400 })), { statusCode: 400, error: 'Bad Request', message: generic }, 'no message: the generic one')
  t.same(koreanMessage(Object.assign(new Error('x'), { statusCode: 499 })), { statusCode: 499, error: 'Error', message: 'x' }, 'a status without a name')
  for (const statusCode of [200, 302, 600, 404.5, '404']) {
    t.equal(koreanMessage(Object.assign(new Error('x'), { statusCode })).statusCode, 500, `statusCode ${String(statusCode)} is not an error status: 500`)
  }
  t.same(koreanMessage('thrown string'), { statusCode: 500, error: 'Internal Server Error', message: generic })
  t.same(koreanMessage(null), { statusCode: 500, error: 'Internal Server Error', message: generic })
  t.same(koreanMessage({ code: 'toString', statusCode: 400 }), { statusCode: 400, code: 'toString', error: 'Bad Request', message: generic }, 'only own keys of the table count')
})

t.test('koreanMessage: a host table adds and rewords', async (t) => {
  const messages: Record<KoMessageKey | 'APP_DORMANT', string> = { ...koMessages, FST_IAMPORT_DUPLICATE: '이미 가입하셨습니다. 로그인해 주세요.', APP_DORMANT: '휴면 상태인 계정입니다.' }
  t.equal(koreanMessage(new errors.DuplicateError(), messages).message, '이미 가입하셨습니다. 로그인해 주세요.')
  t.equal(koreanMessage({ statusCode: 403, code: 'APP_DORMANT', message: 'dormant' }, messages).message, '휴면 상태인 계정입니다.')
  t.equal(koreanMessage(new Error('x'), { FST_IAMPORT_DUPLICATE: '...' }).message, koMessages.UNKNOWN, 'a table without UNKNOWN falls back to the package\'s')
})

t.test('over real HTTP: setErrorHandler with koreanMessage answers the route\'s refusals in Korean', async (t) => {
  const fake = await createFakeIamport()
  t.teardown(() => fake.close())
  const app = Fastify()
  t.teardown(() => app.close())
  app.setErrorHandler((error, _request, reply) => {
    const body = koreanMessage(error)
    return reply.code(body.statusCode).send(body)
  })
  let dormant = false
  await app.register(fastifyIamport, {
    apiKey: fake.apiKey,
    apiSecret: fake.apiSecret,
    baseUrl: fake.url,
    certifications: {
      issuedIds: false,
      findDuplicate: () => {
        if (dormant) throw Object.assign(new Error('휴면 계정입니다. 고객센터에 문의해 주세요.'), { statusCode: 403, code: 'APP_DORMANT' })
        return false
      }
    }
  })
  const address = await app.listen({ port: 0, host: '127.0.0.1' })
  const post = async (body: string, contentType = 'application/json') => {
    const res = await fetch(`${address}/certifications`, { method: 'POST', headers: { 'content-type': contentType }, body })
    return { status: res.status, body: await res.json() as Record<string, unknown> }
  }

  const { imp_uid: impUid } = fake.seedCertification()
  t.same(await post(JSON.stringify({ imp_uid: impUid })), { status: 200, body: { verified: true } })
  t.same(await post(JSON.stringify({ imp_uid: impUid })), {
    status: 409, body: { statusCode: 409, code: 'FST_IAMPORT_REPLAYED', error: 'Conflict', message: '이미 사용된 본인인증입니다. 다시 인증해 주세요.' }
  }, 'a replay: 409, its code, the Korean message')

  t.same(await post('{}'), { status: 400, body: { statusCode: 400, code: 'FST_ERR_VALIDATION', error: 'Bad Request', message: koMessages.FST_ERR_VALIDATION } })
  t.same(await post('{"imp_uid":'), { status: 400, body: { statusCode: 400, code: 'FST_ERR_CTP_INVALID_JSON_BODY', error: 'Bad Request', message: koMessages.FST_ERR_CTP_INVALID_JSON_BODY } })
  t.same(await post('<imp_uid/>', 'application/xml'), {
    status: 415, body: { statusCode: 415, code: 'FST_ERR_CTP_INVALID_MEDIA_TYPE', error: 'Unsupported Media Type', message: koMessages.FST_ERR_CTP_INVALID_MEDIA_TYPE }
  })

  fake.inject({ target: 'certification', kind: 'html', status: 502, times: Infinity })
  t.same(await post(JSON.stringify({ imp_uid: fake.seedCertification().imp_uid })), {
    status: 502, body: { statusCode: 502, code: 'FST_IAMPORT_UPSTREAM', error: 'Bad Gateway', message: koMessages.FST_IAMPORT_UPSTREAM }
  }, 'an upstream failure: no call name, no status text from upstream')
  fake.clearFaults()

  dormant = true
  t.same(await post(JSON.stringify({ imp_uid: fake.seedCertification().imp_uid })), {
    status: 403, body: { statusCode: 403, code: 'APP_DORMANT', error: 'Forbidden', message: '휴면 계정입니다. 고객센터에 문의해 주세요.' }
  }, 'a hook\'s own client error keeps its words')
})
