import createError, { type FastifyError } from '@fastify/error'

/**
 * The package's error classes (@fastify/error). Messages are fixed strings or carry only an
 * option path or the name of a failed call: never personal data, a token, the secret or text
 * upstream sent. They name no API generation, since V1 and V2 produce the same ones; the codes
 * keep their V1 words because they are the contract.
 */

export const InvalidOptionsError = createError<[string]>(
  'FST_IAMPORT_INVALID_OPTIONS', 'Invalid fastify-iamport option: %s', 500)

export const InvalidImpUidError = createError(
  'FST_IAMPORT_INVALID_IMP_UID', 'The verification id is not of the expected form', 400)

export const CertificationNotFoundError = createError(
  'FST_IAMPORT_CERTIFICATION_NOT_FOUND', 'No identity verification exists for this id', 404)

export const NotCertifiedError = createError(
  'FST_IAMPORT_NOT_CERTIFIED', 'The identity verification was not completed', 422)

export const StaleCertificationError = createError(
  'FST_IAMPORT_STALE_CERTIFICATION', 'The identity verification is too old; please verify again', 422)

export const MerchantMismatchError = createError(
  'FST_IAMPORT_MERCHANT_MISMATCH', 'The verification was not started by this server for this session', 422)

export const ReplayedError = createError(
  'FST_IAMPORT_REPLAYED', 'This identity verification was already used', 409)

export const AgeRestrictedError = createError(
  'FST_IAMPORT_AGE_RESTRICTED', 'The verified person does not meet the age requirement', 403)

export const DuplicateError = createError(
  'FST_IAMPORT_DUPLICATE', 'An account already exists for this person', 409)

export const MissingIdentityKeyError = createError(
  'FST_IAMPORT_MISSING_IDENTITY_KEY', 'The identity provider returned no CI or DI for this person', 422)

export const HookFailedError = createError(
  'FST_IAMPORT_HOOK_FAILED', 'A verification hook failed', 500)

export const UpstreamError = createError<[string]>(
  'FST_IAMPORT_UPSTREAM', 'Upstream request failed: %s', 502)

export const UpstreamTimeoutError = createError(
  'FST_IAMPORT_UPSTREAM_TIMEOUT', 'Upstream did not answer in time', 504)

export const StoreUnavailableError = createError(
  'FST_IAMPORT_STORE_UNAVAILABLE', 'The verification store is unavailable', 503)

// Server-driven (SMS) verification: the `POST {url}/otp*` routes and the V2 client's send,
// confirm and resend calls. Neutral words only: both generations answer with them.

export const OtpIncorrectError = createError(
  'FST_IAMPORT_OTP_INCORRECT', 'The verification code was not accepted', 422)

export const OtpAttemptsExceededError = createError(
  'FST_IAMPORT_OTP_ATTEMPTS_EXCEEDED', 'Too many wrong verification codes; start the verification again', 429)

export const OtpExpiredError = createError(
  'FST_IAMPORT_OTP_EXPIRED', 'The verification code has expired; request a new one', 422)

export const OtpTooSoonError = createError(
  'FST_IAMPORT_OTP_TOO_SOON', 'A verification code was sent moments ago; try again later', 429)

export const OtpNotSentError = createError(
  'FST_IAMPORT_OTP_NOT_SENT', 'No verification code was sent for this id', 404)

export const OtpAlreadySentError = createError(
  'FST_IAMPORT_OTP_ALREADY_SENT', 'A verification code was already sent for this id', 409)

export const AlreadyVerifiedError = createError(
  'FST_IAMPORT_ALREADY_VERIFIED', 'The identity verification was already completed', 409)

export const OtpLimitReachedError = createError(
  'FST_IAMPORT_OTP_LIMIT_REACHED', 'Too many verification requests; try again later', 429)

export const PgRefusedError = createError(
  'FST_IAMPORT_PG_REFUSED', 'The identity verification provider refused the request', 502)

/** What an upstream failure carries besides its message: no body, no header, no token. */
export interface UpstreamDetails {
  /** HTTP status upstream answered with, when it answered. */
  upstreamStatus?: number
  /** The envelope's `code`, when the body was an envelope. */
  upstreamCode?: number
  /**
   * The `message` upstream sent, redacted: only Hangul, whitespace and basic punctuation are
   * kept, any other run of characters (Latin words, digits, tokens) becomes `…`, and at most 200
   * characters remain. Absent when no Hangul is left. An upstream or a proxy that echoes the
   * request (the secret, a token, a phone number) cannot put it here.
   */
  upstreamMessage?: string
  /** PortOne V2's error `type` (`UNAUTHORIZED`, `FORBIDDEN`...): upper-case words only, at most 100 characters; absent otherwise. */
  upstreamType?: string
  /** Which call failed. */
  operation: string
  /**
   * The PG's own code of a PortOne V2 refusal (`pgCode` of `PG_PROVIDER`), when it is a short
   * token of letters, digits, `_` and `-` (all digits: at most 5); absent otherwise.
   */
  pgCode?: string
}

/** An upstream failure as thrown by the client. */
export type IamportUpstreamError = FastifyError & UpstreamDetails

/** Builds an UpstreamError that names the failed call and what upstream answered, nothing more. */
export function upstreamError (reason: string, details: UpstreamDetails): IamportUpstreamError {
  return withUpstreamDetails(new UpstreamError(`${details.operation}: ${reason}`), details)
}

/**
 * A documented refusal of upstream (V2 `IDENTITY_VERIFICATION_ALREADY_SENT`, `PG_PROVIDER`...) as
 * one of the package's errors, carrying what upstream answered under the same rules as
 * {@link upstreamError}: its status, its type, a redacted message, a PG code of plain characters.
 */
export function withUpstreamDetails<E extends FastifyError> (err: E, details: UpstreamDetails): E & UpstreamDetails {
  const typed: E & UpstreamDetails = Object.assign(err, { operation: details.operation })
  if (details.upstreamStatus !== undefined) typed.upstreamStatus = details.upstreamStatus
  if (details.upstreamCode !== undefined) typed.upstreamCode = details.upstreamCode
  const message = redactedMessage(details.upstreamMessage)
  if (message !== undefined) typed.upstreamMessage = message
  if (typeof details.upstreamType === 'string' && ERROR_TYPE.test(details.upstreamType)) typed.upstreamType = details.upstreamType.slice(0, 100)
  if (typeof details.pgCode === 'string' && PG_CODE.test(details.pgCode)) typed.pgCode = details.pgCode
  return typed
}

/** Anything but Hangul, whitespace and the punctuation of a Korean sentence. */
const NOT_PHRASE = /[^\p{Script=Hangul}\s.,:;!?'"()~·…-]+/gu
/** Two or more redactions with only spaces, dots, commas or dashes between them. */
const REDACTION_RUN = /…(?:[\s.,:;·-]*…)+/gu
const HANGUL = /\p{Script=Hangul}/u
/** PortOne's error types: `IDENTITY_VERIFICATION_NOT_FOUND` and the like. */
const ERROR_TYPE = /^[A-Z]+(?:_[A-Z]+)*$/
/** A PG's error code (`UCD_0106`, `9015`, `CS24`): all digits only up to 5, so a phone number or a YYMMDD birth date never passes. */
const PG_CODE = /^(?:[0-9]{1,5}|(?=[0-9]*[A-Za-z_-])[A-Za-z0-9_-]{1,32})$/

/**
 * i'mport's and PortOne's messages are fixed Korean phrases, so the Hangul is what tells an
 * operator what went wrong; anything else in them may be an echo of what was sent.
 */
function redactedMessage (message: string | undefined): string | undefined {
  if (typeof message !== 'string') return undefined
  // Cut first: the regular expressions then never see more than a few kilobytes.
  const redacted = message.slice(0, 1000).replace(NOT_PHRASE, '…').replace(REDACTION_RUN, '…').trim().slice(0, 200)
  return HANGUL.test(redacted) ? redacted : undefined
}

/** Builds an UpstreamTimeoutError that names the call that timed out. */
export function upstreamTimeoutError (operation: string): IamportUpstreamError {
  return Object.assign(new UpstreamTimeoutError(), { operation })
}
