import { STATUS_CODES } from 'node:http'
import type * as errors from './errors.js'

/**
 * Korean messages for end users: one per error code the package's routes answer with, in the
 * polite form a Korean service uses, and helpers that put them in an error reply. They say what
 * happened and what to do, never how the server works (no store, hook, option or upstream name).
 */

type ErrorExports = typeof errors

/** The literal code of an @fastify/error class; `never` for anything else or a code typed `string`. */
type LiteralCode<T> = T extends { readonly prototype: { code: infer C extends string } }
  ? (string extends C ? never : C)
  : never

/**
 * Every `FST_IAMPORT_*` code of lib/errors.ts, read from the classes: a new class with a literal
 * code makes {@link koMessages} fail to compile until it has a message. The two classes built with
 * a message argument (`createError<[string]>`) have their code typed `string`, so they are named
 * here; test/messages-ko.test.ts checks the table against the classes at run time as well.
 */
export type IamportErrorCode =
  | { [K in keyof ErrorExports]: LiteralCode<ErrorExports[K]> }[keyof ErrorExports]
  | 'FST_IAMPORT_INVALID_OPTIONS'
  | 'FST_IAMPORT_UPSTREAM'

/** The errors Fastify itself gives before the routes' handlers run: a bad or missing body. */
export type FastifyBodyErrorCode =
  | 'FST_ERR_VALIDATION'
  | 'FST_ERR_CTP_BODY_TOO_LARGE'
  | 'FST_ERR_CTP_INVALID_MEDIA_TYPE'
  | 'FST_ERR_CTP_INVALID_JSON_BODY'
  | 'FST_ERR_CTP_EMPTY_JSON_BODY'

/** The keys of {@link koMessages}: every code, and `UNKNOWN` for anything else. */
export type KoMessageKey = IamportErrorCode | FastifyBodyErrorCode | 'UNKNOWN'

const RETRY = '잠시 후 다시 시도해 주세요.'
const VERIFY_AGAIN = '다시 인증해 주세요.'

/**
 * A Korean message for users for every code the routes answer with. `UNKNOWN` is the generic
 * one: {@link koreanMessage} gives it to a server error (5xx) outside the table.
 */
export const koMessages: Readonly<Record<KoMessageKey, string>> = Object.freeze({
  FST_IAMPORT_INVALID_OPTIONS: `일시적인 오류로 요청을 처리하지 못했습니다. ${RETRY}`,
  FST_IAMPORT_INVALID_IMP_UID: `본인인증 정보가 올바르지 않습니다. ${VERIFY_AGAIN}`,
  FST_IAMPORT_CERTIFICATION_NOT_FOUND: `본인인증 내역을 찾을 수 없습니다. ${VERIFY_AGAIN}`,
  FST_IAMPORT_NOT_CERTIFIED: `본인인증이 완료되지 않았습니다. ${VERIFY_AGAIN}`,
  FST_IAMPORT_STALE_CERTIFICATION: `본인인증 후 시간이 너무 지났습니다. ${VERIFY_AGAIN}`,
  FST_IAMPORT_MERCHANT_MISMATCH: `지금 이용 중인 화면에서 요청한 본인인증이 아닙니다. 페이지를 새로고침한 뒤 ${VERIFY_AGAIN}`,
  FST_IAMPORT_REPLAYED: `이미 사용된 본인인증입니다. ${VERIFY_AGAIN}`,
  FST_IAMPORT_AGE_RESTRICTED: '이용 가능한 연령이 아닙니다.',
  FST_IAMPORT_DUPLICATE: '이미 가입된 회원입니다.',
  FST_IAMPORT_MISSING_IDENTITY_KEY: '본인확인 정보를 받지 못했습니다. 다른 인증 수단으로 다시 시도해 주세요.',
  FST_IAMPORT_HOOK_FAILED: `요청을 처리하는 중 오류가 발생했습니다. ${RETRY}`,
  FST_IAMPORT_UPSTREAM: `본인인증 서비스에 일시적인 문제가 있습니다. ${RETRY}`,
  FST_IAMPORT_UPSTREAM_TIMEOUT: `본인인증 서비스의 응답이 늦어지고 있습니다. ${RETRY}`,
  FST_IAMPORT_STORE_UNAVAILABLE: `일시적인 오류가 발생했습니다. ${RETRY}`,
  FST_IAMPORT_OTP_INCORRECT: '인증번호가 올바르지 않습니다. 다시 입력해 주세요.',
  FST_IAMPORT_OTP_ATTEMPTS_EXCEEDED: '인증번호를 여러 번 잘못 입력하셨습니다. 인증번호를 다시 요청해 주세요.',
  FST_IAMPORT_OTP_EXPIRED: '인증번호 입력 시간이 지났습니다. 인증번호를 다시 요청해 주세요.',
  FST_IAMPORT_OTP_TOO_SOON: '인증번호를 방금 보내 드렸습니다. 잠시 후 다시 요청해 주세요.',
  FST_IAMPORT_OTP_NOT_SENT: '요청하신 인증번호가 없습니다. 인증번호를 다시 요청해 주세요.',
  FST_IAMPORT_OTP_ALREADY_SENT: '이미 인증번호를 보내 드렸습니다. 문자 메시지를 확인해 주세요.',
  FST_IAMPORT_ALREADY_VERIFIED: '이미 완료된 본인인증입니다.',
  FST_IAMPORT_OTP_LIMIT_REACHED: `본인인증 요청이 너무 많습니다. ${RETRY}`,
  FST_IAMPORT_PG_REFUSED: '본인인증을 진행할 수 없습니다. 입력하신 정보를 확인한 뒤 다시 시도해 주세요.',
  FST_ERR_VALIDATION: '요청 내용이 올바르지 않습니다. 확인한 뒤 다시 시도해 주세요.',
  FST_ERR_CTP_BODY_TOO_LARGE: '요청 내용이 너무 큽니다.',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: '지원하지 않는 요청 형식입니다.',
  FST_ERR_CTP_INVALID_JSON_BODY: '요청 형식이 올바르지 않습니다.',
  FST_ERR_CTP_EMPTY_JSON_BODY: '요청 내용이 비어 있습니다.',
  UNKNOWN: `요청을 처리하지 못했습니다. ${RETRY}`
} satisfies Record<KoMessageKey, string>)

/** An error reply in Fastify's standard error body (what the routes' response schemas describe). */
export interface KoreanErrorBody {
  statusCode: number
  /** The error's code; absent for a server error outside the table and for an error without one. */
  code?: string
  /** The status text: `Conflict`, `Bad Request`... */
  error: string
  message: string
}

function statusOf (error: { statusCode?: unknown, status?: unknown }): number {
  const status = error.statusCode ?? error.status
  return typeof status === 'number' && Number.isInteger(status) && status >= 400 && status <= 599 ? status : 500
}

/**
 * The reply for `error` with a Korean message, keeping its status and code, for a host's
 * `setErrorHandler`. A code of `messages` gets its message. Anything else: a server error (5xx)
 * gets `messages.UNKNOWN` and no code, so nothing about it reaches the user; a client error (4xx)
 * keeps its own message (a hook's own `httpErrors.forbidden('...')`, say), or `UNKNOWN` when it
 * has none. The status is the error's `statusCode` (or `status`) when it is 400-599, else 500, as
 * Fastify's default handler does. Pass `{ ...koMessages, MY_CODE: '...' }` to add or reword.
 */
export function koreanMessage (error: unknown, messages: Readonly<Record<string, string>> = koMessages): KoreanErrorBody {
  const fields = (typeof error === 'object' && error !== null ? error : {}) as { statusCode?: unknown, status?: unknown, code?: unknown, message?: unknown }
  const statusCode = statusOf(fields)
  const code = typeof fields.code === 'string' ? fields.code : undefined
  const body = (message: string, withCode: boolean): KoreanErrorBody => ({
    statusCode,
    ...(withCode && code !== undefined ? { code } : {}),
    error: STATUS_CODES[statusCode] ?? 'Error',
    message
  })
  const known = code !== undefined && Object.hasOwn(messages, code) ? messages[code] : undefined
  if (known !== undefined) return body(known, true)
  const fallback = messages.UNKNOWN ?? koMessages.UNKNOWN
  if (statusCode >= 500) return body(fallback, false)
  return body(typeof fields.message === 'string' && fields.message !== '' ? fields.message : fallback, true)
}
