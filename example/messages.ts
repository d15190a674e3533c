/**
 * What the page says for each outcome, in Korean and English. Keys are the error codes of
 * fastify-iamport (lib/errors.ts) and Fastify's FST_ERR_VALIDATION, plus the page's own states.
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

const RETRY_KO = '다시 본인인증해 주세요.'
const RETRY_EN = 'Please verify again.'

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
    ko: '이미 가입된 분입니다. 한 사람당 하나의 계정만 만들 수 있습니다. 기존 계정으로 로그인해 주세요.',
    en: 'You are already registered: one account per person. Please sign in to your existing account.'
  },
  FST_IAMPORT_AGE_RESTRICTED: {
    tone: 'warning',
    title: '연령 제한 · Under age',
    ko: '19세 미만은 가입할 수 없습니다. (연 나이 기준: 올해 19세가 되는 분부터 가입할 수 있습니다.)',
    en: 'You are under age: you can sign up from the year you turn 19 (age counted by birth year).'
  },
  FST_ERR_VALIDATION: {
    tone: 'error',
    title: '잘못된 요청 · Invalid request',
    ko: `서버에 전달된 인증 번호의 형식이 올바르지 않습니다. ${RETRY_KO}`,
    en: `The verification reference sent to the server is not valid. ${RETRY_EN}`
  },
  FST_IAMPORT_INVALID_IMP_UID: {
    tone: 'error',
    title: '잘못된 요청 · Invalid request',
    ko: `인증 번호의 형식이 올바르지 않습니다. ${RETRY_KO}`,
    en: `The verification reference is not valid. ${RETRY_EN}`
  },
  FST_IAMPORT_CERTIFICATION_NOT_FOUND: {
    tone: 'error',
    title: '인증 기록 없음 · Verification not found',
    ko: `포트원(아임포트)에서 이 본인인증 기록을 찾을 수 없습니다. ${RETRY_KO}`,
    en: `PortOne (i'mport) has no record of this verification. ${RETRY_EN}`
  },
  FST_IAMPORT_NOT_CERTIFIED: {
    tone: 'error',
    title: '인증 미완료 · Not verified',
    ko: `본인인증이 완료되지 않았습니다. ${RETRY_KO}`,
    en: `The identity verification was not completed. ${RETRY_EN}`
  },
  FST_IAMPORT_STALE_CERTIFICATION: {
    tone: 'error',
    title: '인증 만료 · Verification expired',
    ko: `본인인증 후 시간이 너무 지났습니다. ${RETRY_KO}`,
    en: `This verification is too old. ${RETRY_EN}`
  },
  FST_IAMPORT_MERCHANT_MISMATCH: {
    tone: 'error',
    title: '세션 불일치 · Session mismatch',
    ko: '이 본인인증은 지금 사용 중인 브라우저에서 시작된 것이 아닙니다. 페이지를 새로고침한 뒤 다시 시도해 주세요.',
    en: 'This verification was not started from this browser session. Reload the page and try again.'
  },
  FST_IAMPORT_REPLAYED: {
    tone: 'error',
    title: '이미 사용된 인증 · Already used',
    ko: `이미 사용된 본인인증입니다. ${RETRY_KO}`,
    en: `This verification has already been used. ${RETRY_EN}`
  },
  FST_IAMPORT_MISSING_IDENTITY_KEY: {
    tone: 'error',
    title: '본인확인 정보 없음 · Identity key missing',
    ko: '인증 기관이 본인확인 정보(CI)를 보내 주지 않아 가입할 수 없습니다. 다른 인증 수단을 이용해 주세요.',
    en: 'The identity provider did not return the identity key (CI) needed to sign up. Please use another verification method.'
  },
  FST_IAMPORT_HOOK_FAILED: {
    tone: 'error',
    title: '가입 처리 오류 · Sign-up failed',
    ko: '가입을 처리하는 중 오류가 발생했습니다. 잠시 후 다시 시도해 주세요.',
    en: 'Something went wrong while creating your account. Please try again in a moment.'
  },
  FST_IAMPORT_UPSTREAM: {
    tone: 'error',
    title: '인증 서비스 오류 · Verification service error',
    ko: '본인인증 서비스(포트원)에서 결과를 받아오지 못했습니다. 잠시 후 다시 시도해 주세요.',
    en: 'We could not get the result from the verification service (PortOne). Please try again in a moment.'
  },
  FST_IAMPORT_UPSTREAM_TIMEOUT: {
    tone: 'error',
    title: '응답 지연 · Verification service timeout',
    ko: '본인인증 서비스(포트원)의 응답이 늦어지고 있습니다. 잠시 후 다시 시도해 주세요.',
    en: 'The verification service (PortOne) did not answer in time. Please try again in a moment.'
  },
  FST_IAMPORT_STORE_UNAVAILABLE: {
    tone: 'error',
    title: '일시적 오류 · Temporary problem',
    ko: '서버에 일시적인 문제가 있습니다. 잠시 후 다시 시도해 주세요.',
    en: 'The server has a temporary problem. Please try again in a moment.'
  },
  FST_IAMPORT_INVALID_OPTIONS: {
    tone: 'error',
    title: '서버 설정 오류 · Server misconfigured',
    ko: '서버 설정에 문제가 있습니다. 사이트 관리자에게 문의해 주세요.',
    en: 'The server is misconfigured. Please contact the site administrator.'
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
    ko: '예상하지 못한 오류가 발생했습니다. 다시 시도해 주세요.',
    en: 'An unexpected error occurred. Please try again.'
  }
} satisfies Record<string, OutcomeMessage>

export type OutcomeKey = keyof typeof OUTCOME_MESSAGES

/** The message for a server error code; unknown codes get the generic one. */
export function messageFor (code: string | undefined): OutcomeMessage {
  return (code !== undefined && Object.hasOwn(OUTCOME_MESSAGES, code))
    ? OUTCOME_MESSAGES[code as OutcomeKey]
    : OUTCOME_MESSAGES.UNKNOWN
}
