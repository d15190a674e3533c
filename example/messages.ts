import { koMessages } from '../lib/messages-ko.js'

/**
 * What the page says for each outcome, in Korean and English. Keys are the error codes of
 * fastify-iamport (lib/errors.ts) and Fastify's FST_ERR_VALIDATION, plus the page's own states.
 * The Korean of every error code is the package's (`koMessages`); the page adds only its own
 * policy (one account per person, the age it asks for) and the English.
 * `{name}` is replaced (as text, never HTML) with the welcome name.
 */

export type Tone = 'success' | 'warning' | 'error' | 'neutral'

export interface OutcomeMessage {
  tone: Tone
  /** Short heading, Korean · English. */
  title: string
  ko: string
  en: string
}

const RETRY_EN = 'Please verify again.'
const LATER_EN = 'Please try again in a moment.'

export const OUTCOME_MESSAGES = {
  WELCOME: {
    tone: 'success',
    title: '가입 완료 · Welcome',
    ko: '{name}님, 환영합니다! 가입이 완료되었습니다.',
    en: 'Welcome, {name}! Your account has been created.'
  },
  FST_IAMPORT_DUPLICATE: {
    tone: 'warning',
    title: '이미 가입된 회원 · Already registered',
    ko: `${koMessages.FST_IAMPORT_DUPLICATE} 한 사람당 하나의 계정만 만들 수 있으니 기존 계정으로 로그인해 주세요.`,
    en: 'You are already registered: one account per person. Please sign in to your existing account.'
  },
  FST_IAMPORT_AGE_RESTRICTED: {
    tone: 'warning',
    title: '연령 제한 · Under age',
    ko: `${koMessages.FST_IAMPORT_AGE_RESTRICTED} 올해 19세가 되는 분부터 가입할 수 있습니다. (연 나이 기준)`,
    en: 'You are under age: you can sign up from the year you turn 19 (age counted by birth year).'
  },
  FST_ERR_VALIDATION: {
    tone: 'error',
    title: '잘못된 요청 · Invalid request',
    ko: koMessages.FST_ERR_VALIDATION,
    en: 'The request is not valid. Please check it and try again.'
  },
  FST_IAMPORT_INVALID_IMP_UID: {
    tone: 'error',
    title: '잘못된 요청 · Invalid request',
    ko: koMessages.FST_IAMPORT_INVALID_IMP_UID,
    en: `The verification details are not valid. ${RETRY_EN}`
  },
  FST_IAMPORT_CERTIFICATION_NOT_FOUND: {
    tone: 'error',
    title: '인증 기록 없음 · Verification not found',
    ko: koMessages.FST_IAMPORT_CERTIFICATION_NOT_FOUND,
    en: `No record of this verification was found. ${RETRY_EN}`
  },
  FST_IAMPORT_NOT_CERTIFIED: {
    tone: 'error',
    title: '인증 미완료 · Not verified',
    ko: koMessages.FST_IAMPORT_NOT_CERTIFIED,
    en: `The identity verification was not completed. ${RETRY_EN}`
  },
  FST_IAMPORT_STALE_CERTIFICATION: {
    tone: 'error',
    title: '인증 만료 · Verification expired',
    ko: koMessages.FST_IAMPORT_STALE_CERTIFICATION,
    en: `Too much time has passed since the verification. ${RETRY_EN}`
  },
  FST_IAMPORT_MERCHANT_MISMATCH: {
    tone: 'error',
    title: '세션 불일치 · Session mismatch',
    ko: koMessages.FST_IAMPORT_MERCHANT_MISMATCH,
    en: 'This verification was not requested from this page. Reload the page and verify again.'
  },
  FST_IAMPORT_REPLAYED: {
    tone: 'error',
    title: '이미 사용된 인증 · Already used',
    ko: koMessages.FST_IAMPORT_REPLAYED,
    en: `This verification has already been used. ${RETRY_EN}`
  },
  FST_IAMPORT_MISSING_IDENTITY_KEY: {
    tone: 'error',
    title: '본인확인 정보 없음 · Identity key missing',
    ko: koMessages.FST_IAMPORT_MISSING_IDENTITY_KEY,
    en: 'The identity details were not received. Please try again with another verification method.'
  },
  FST_IAMPORT_HOOK_FAILED: {
    tone: 'error',
    title: '가입 처리 오류 · Sign-up failed',
    ko: koMessages.FST_IAMPORT_HOOK_FAILED,
    en: `Something went wrong while processing your request. ${LATER_EN}`
  },
  FST_IAMPORT_UPSTREAM: {
    tone: 'error',
    title: '인증 서비스 오류 · Verification service error',
    ko: koMessages.FST_IAMPORT_UPSTREAM,
    en: `The verification service has a temporary problem. ${LATER_EN}`
  },
  FST_IAMPORT_UPSTREAM_TIMEOUT: {
    tone: 'error',
    title: '응답 지연 · Verification service timeout',
    ko: koMessages.FST_IAMPORT_UPSTREAM_TIMEOUT,
    en: `The verification service is slow to answer. ${LATER_EN}`
  },
  FST_IAMPORT_STORE_UNAVAILABLE: {
    tone: 'error',
    title: '일시적 오류 · Temporary problem',
    ko: koMessages.FST_IAMPORT_STORE_UNAVAILABLE,
    en: `A temporary error occurred. ${LATER_EN}`
  },
  FST_IAMPORT_OTP_INCORRECT: {
    tone: 'warning',
    title: '인증번호 오류 · Wrong code',
    ko: koMessages.FST_IAMPORT_OTP_INCORRECT,
    en: 'The code is not right. Please enter it again.'
  },
  FST_IAMPORT_OTP_ATTEMPTS_EXCEEDED: {
    tone: 'warning',
    title: '입력 횟수 초과 · Too many tries',
    ko: koMessages.FST_IAMPORT_OTP_ATTEMPTS_EXCEEDED,
    en: 'The code was wrong too many times. Please ask for a new code.'
  },
  FST_IAMPORT_OTP_EXPIRED: {
    tone: 'warning',
    title: '시간 초과 · Code expired',
    ko: koMessages.FST_IAMPORT_OTP_EXPIRED,
    en: 'The time to enter the code has passed. Please ask for a new code.'
  },
  FST_IAMPORT_OTP_TOO_SOON: {
    tone: 'warning',
    title: '잠시 후 요청 · Please wait',
    ko: koMessages.FST_IAMPORT_OTP_TOO_SOON,
    en: 'We just sent you a code. Please wait a moment before asking again.'
  },
  FST_IAMPORT_OTP_NOT_SENT: {
    tone: 'warning',
    title: '인증번호 없음 · No code sent',
    ko: koMessages.FST_IAMPORT_OTP_NOT_SENT,
    en: 'There is no code for this request. Please ask for a new code.'
  },
  FST_IAMPORT_OTP_ALREADY_SENT: {
    tone: 'warning',
    title: '이미 발송됨 · Already sent',
    ko: koMessages.FST_IAMPORT_OTP_ALREADY_SENT,
    en: 'A code was already sent. Please check your text messages.'
  },
  FST_IAMPORT_ALREADY_VERIFIED: {
    tone: 'warning',
    title: '인증 완료됨 · Already verified',
    ko: koMessages.FST_IAMPORT_ALREADY_VERIFIED,
    en: 'This verification is already complete.'
  },
  FST_IAMPORT_OTP_LIMIT_REACHED: {
    tone: 'error',
    title: '요청 과다 · Too many requests',
    ko: koMessages.FST_IAMPORT_OTP_LIMIT_REACHED,
    en: `There are too many verification requests. ${LATER_EN}`
  },
  FST_IAMPORT_PG_REFUSED: {
    tone: 'error',
    title: '인증 불가 · Cannot verify',
    ko: koMessages.FST_IAMPORT_PG_REFUSED,
    en: 'The verification could not proceed. Please check what you entered and try again.'
  },
  FST_IAMPORT_INVALID_OPTIONS: {
    tone: 'error',
    title: '서비스 오류 · Service error',
    ko: koMessages.FST_IAMPORT_INVALID_OPTIONS,
    en: `A temporary error kept us from processing your request. ${LATER_EN}`
  },
  CANCELLED: {
    tone: 'neutral',
    title: '인증 취소 · Cancelled',
    ko: '본인인증을 취소했습니다. 가입하려면 다시 시도해 주세요.',
    en: 'The verification was cancelled. Try again to sign up.'
  },
  POPUP_BLOCKED: {
    tone: 'error',
    title: '팝업 차단 · Pop-up blocked',
    ko: '본인인증 창이 차단되었습니다. 이 사이트의 팝업을 허용한 뒤 다시 시도해 주세요.',
    en: 'The verification window was blocked. Allow pop-ups for this site and try again.'
  },
  NETWORK: {
    tone: 'error',
    title: '연결 오류 · Connection problem',
    ko: '서버에 연결하지 못했습니다. 인터넷 연결을 확인한 뒤 다시 시도해 주세요.',
    en: 'Could not reach the server. Check your connection and try again.'
  },
  UNKNOWN: {
    tone: 'error',
    title: '알 수 없는 오류 · Unexpected error',
    ko: koMessages.UNKNOWN,
    en: `We could not process your request. ${LATER_EN}`
  }
} satisfies Record<string, OutcomeMessage>

export type OutcomeKey = keyof typeof OUTCOME_MESSAGES

/** The message for a server error code; unknown codes get the generic one. */
export function messageFor (code: string | undefined): OutcomeMessage {
  return (code !== undefined && Object.hasOwn(OUTCOME_MESSAGES, code))
    ? OUTCOME_MESSAGES[code as OutcomeKey]
    : OUTCOME_MESSAGES.UNKNOWN
}
