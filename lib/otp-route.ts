import { performance } from 'node:perf_hooks'
import { Type, type TSchema } from '@sinclair/typebox'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { parseBirthday, seoulToday } from './age.js'
import { ensureBinding } from './browser-binding.js'
import {
  HookFailedError, InvalidOptionsError, MerchantMismatchError, OtpAttemptsExceededError, OtpExpiredError,
  OtpNotSentError, OtpTooSoonError
} from './errors.js'
import { MAX_ID_LENGTH } from './id-path-segment.js'
import { reportVerification, type Timings } from './metrics.js'
import type { OtpSettings, RouteSettings } from './options/route.js'
import type { EraseVerification, FetchIdentity, OtpCarrier, OtpUpstream, RouteProfile } from './provider.js'
import { operationSuffix } from './route-schemas.js'
import { boundTo, subjectOf, verifier, type Verify } from './verification-flow.js'

/**
 * Server-driven (SMS) verification, for apps and kiosks where the popup does not fit:
 * `POST {url}/otp` sends a code to the person's phone, `POST {url}/otp/confirm` confirms it
 * upstream and then runs the popup route's flow (checks, one-time consumption bound to the
 * requester, hooks, answers), and where the API has one (V2) `POST {url}/otp/resend` sends a new
 * code for the same id. What differs between V1 and V2 is the provider's {@link OtpUpstream}.
 *
 * Attempts, code lifetimes and the cooldown live in this process (a bounded {@link OtpLedger}),
 * not in the store: a confirmation reaching another instance than the one that sent the code
 * makes no upstream confirmation and is judged by a lookup only (so it fails closed, 422, until
 * the code is confirmed where it was sent). The consumption itself is the store's, shared.
 */

/** What the route hands to the OTP routes. */
export interface OtpRoutesOptions {
  profile: RouteProfile
  settings: RouteSettings
  otp: OtpSettings
  upstream: OtpUpstream
  /** The popup's "fetch and normalize": what a confirmation without a pending code is judged by. */
  fetchIdentity: FetchIdentity
  erase: EraseVerification | undefined
  /** The route's URL with the prefix: what issued ids are bound to. */
  purpose: string
  /** The route's URL without a trailing slash: the OTP routes are below it. */
  base: string
}

const CARRIERS: readonly OtpCarrier[] = ['SKT', 'KT', 'LGU']
const PHONE = /^01[0-9]{8,9}$/
const BIRTH = /^[0-9]{6}$/
const GENDER_DIGIT = /^[1-8]$/
const CODE = /^[0-9]{4,8}$/
/** Longest name taken: Korean names are 2-5 syllables, a foreigner's registered name can be long. */
const MAX_NAME_LENGTH = 60
// A control character (or only blanks) is never a name.
// eslint-disable-next-line no-control-regex
const NAME = /^(?!\s*$)[^\u0000-\u001f\u007f]+$/

/** The body of `POST {url}/otp`. */
interface SendBody {
  name: string
  phone: string
  birth: string
  genderDigit: string
  carrier: OtpCarrier
  isMvno?: boolean
}

/** Registers the OTP routes below the route's URL; called by the route when `otp` is on. */
export function otpRoutes (fastify: FastifyInstance, options: OtpRoutesOptions): void {
  const { profile, settings, otp, upstream, purpose, base } = options
  if (upstream.needsChannelKey && otp.channelKey === undefined) {
    throw new InvalidOptionsError('certifications.otp.channelKey is required: it names the identity verification channel that sends the code')
  }
  const { idField, logKey } = profile
  const { now, idPattern } = settings
  const issued = otp.issuedIds
  // OTP ids are always bound to their requester, with the popup's issued-id settings if it has them.
  const flowSettings: RouteSettings = { ...settings, issuedIds: issued }
  const store = settings.store!
  const ttlMs = issued.ttlSeconds * 1000
  const erase = settings.eraseAfterVerify ? options.erase : undefined
  const ledger = new OtpLedger(otp.maxPending)
  const lookup = verifier({ fetchIdentity: options.fetchIdentity, erase, logKey }, flowSettings, purpose)
  const site = { apiVersion: profile.version, route: purpose, logKey }
  const cookiePath = fastify.prefix + base
  const operationId = settings.schema.operationId ?? `verify${operationSuffix(purpose)}`
  /** The host's documentation keys, with this route's operationId (they are not FastifySchema's own keys). */
  const documentation = (id: string): object => ({ ...settings.schema, operationId: id })
  const errorRef = { $ref: `${OTP_ERROR_ID}#` }
  fastify.addSchema(otpErrorSchema())
  const shared = { ...settings.routeOptions, bodyLimit: settings.bodyLimit }

  /** The requester an id is bound to: the host's subject, else the binding cookie (set here when absent). */
  async function requesterOf (request: FastifyRequest, reply: FastifyReply): Promise<string> {
    const subject = issued.subject === undefined
      ? boundTo(purpose, ensureBinding(request, reply, cookiePath, issued.ttlSeconds))
      : await subjectOf(request, flowSettings, purpose)
    // No subject (no session yet) is the host's bug here: nothing to bind the id to.
    if (subject === undefined) throw new HookFailedError()
    return subject
  }

  /** Records a code sent to `subject` now, or refuses with a Retry-After while its cooldown runs; returns the undo. */
  function startSending (subject: string, at: number, reply: FastifyReply): () => void {
    const waitMs = ledger.waitMs(subject, at, otp.resendCooldownMs)
    if (waitMs > 0) {
      reply.header('retry-after', String(Math.ceil(waitMs / 1000)))
      throw new OtpTooSoonError()
    }
    return ledger.markSent(subject, at, otp.resendCooldownMs)
  }

  /** Refuses a pending code that is not this requester's, or whose wrong codes used up the id. */
  async function checkPending (pending: PendingCode, request: FastifyRequest): Promise<void> {
    // Checked before anything upstream: someone else's id costs its owner no attempt.
    if (await subjectOf(request, flowSettings, purpose) !== pending.subject) throw new MerchantMismatchError()
    if (pending.attemptsLeft === 0) throw new OtpAttemptsExceededError()
  }

  fastify.post<{ Body: SendBody }>(base + '/otp', {
    ...shared,
    validatorCompiler: () => (data) => {
      const problem = sendBodyProblem(data, now())
      return problem === undefined ? { value: data } : { error: new Error(problem) }
    },
    schema: {
      ...documentation(`${operationId}Otp`),
      body: SEND_BODY,
      response: responses(idField, 'The code was sent; confirm it with this id.', errorRef, SEND_STATUSES)
    }
  }, async function sendOtp (request, reply) {
    const started = performance.now()
    let id: string | undefined
    let outcome = 'SENT'
    // The answer is returned after the try statement, so that its end is reached (and covered).
    let answer: Record<string, string>
    try {
      const subject = await requesterOf(request, reply)
      const at = now().getTime()
      const undo = startSending(subject, at, reply)
      const body = request.body
      const requestId = profile.issue()
      try {
        await store.issue(requestId, subject, ttlMs)
        id = await upstream.send({
          requestId,
          name: body.name,
          phone: body.phone,
          birth: body.birth,
          genderDigit: body.genderDigit,
          carrier: body.carrier,
          isMvno: body.isMvno === true,
          ipAddress: request.ip,
          channelKey: otp.channelKey
        })
      } catch (err) {
        // Nothing was sent (or nothing is known to be): the requester may try again at once.
        undo()
        throw err
      }
      ledger.add(id, { subject, attemptsLeft: otp.attempts, codeExpiresAt: at + otp.codeTtlMs, expiresAt: at + ttlMs }, at)
      answer = { [idField]: id }
    } catch (err) {
      outcome = codeOf(err)
      throw err
    } finally {
      request.log.info({ ...(id === undefined ? {} : { [logKey]: id }), outcome, ms: Math.round(performance.now() - started) }, 'identity verification code sent')
    }
    return answer
  })

  fastify.post<{ Body: Record<string, string> }>(base + '/otp/confirm', {
    ...shared,
    validatorCompiler: () => (data) => isConfirmBody(data, idField, idPattern)
      ? { value: data }
      : { error: new Error(`body must be { ${idField}: a string matching ${idPattern}, otp: 4 to 8 digits }`) },
    schema: {
      ...documentation(`${operationId}OtpConfirm`),
      body: Type.Object({
        [idField]: Type.String({ pattern: idPattern.source, maxLength: MAX_ID_LENGTH }),
        otp: Type.String({ pattern: CODE.source, description: 'The code the person received.' })
      }, { additionalProperties: false }),
      response: confirmResponses(settings, errorRef)
    }
  }, async function confirmOtp (request, reply) {
    const started = performance.now()
    const id = request.body[idField]!
    const code = request.body.otp!
    const timings: Timings = { upstreamMs: 0, hookMs: 0 }
    let answer: unknown
    try {
      const pending = ledger.get(id, now().getTime())
      // Without a code pending here (confirmed already, never sent here, expired from memory), no
      // code is checked upstream: a lookup judges the id, and the store answers a replay.
      const verify: Verify = pending === undefined
        ? lookup
        : verifier({ fetchIdentity: (verificationId, clock) => confirmCode(verificationId, code, pending, request, clock), erase, logKey }, flowSettings, purpose)
      answer = await verify(id, request, reply, timings)
    } catch (err) {
      reportVerification(request, site, id, codeOf(err), started, timings)
      throw err
    }
    reportVerification(request, site, id, 'VERIFIED', started, timings)
    return answer
  })

  /** Checks the code upstream, within the attempt budget and the code's lifetime. */
  async function confirmCode (id: string, code: string, pending: PendingCode, request: FastifyRequest, clock: () => Date) {
    await checkPending(pending, request)
    if (now().getTime() >= pending.codeExpiresAt) throw new OtpExpiredError()
    // Taken before the call: concurrent guesses cannot outnumber the budget.
    pending.attemptsLeft -= 1
    const last = pending.attemptsLeft === 0
    try {
      const identity = await upstream.confirm(id, code, clock)
      ledger.drop(id)
      return identity
    } catch (err) {
      if (codeOf(err) !== 'FST_IAMPORT_OTP_INCORRECT') {
        // Not a judgment of the code (upstream failed): the attempt is given back.
        pending.attemptsLeft += 1
        throw err
      }
      throw last ? new OtpAttemptsExceededError() : err
    }
  }

  const resend = upstream.resend
  if (resend === undefined) return
  fastify.post<{ Body: Record<string, string> }>(base + '/otp/resend', {
    ...shared,
    validatorCompiler: () => (data) => isResendBody(data, idField, idPattern)
      ? { value: data }
      : { error: new Error(`body must be { ${idField}: a string matching ${idPattern} }`) },
    schema: {
      ...documentation(`${operationId}OtpResend`),
      body: Type.Object({ [idField]: Type.String({ pattern: idPattern.source, maxLength: MAX_ID_LENGTH }) }, { additionalProperties: false }),
      response: responses(idField, 'A new code was sent for the same id; the wrong codes so far still count.', errorRef, RESEND_STATUSES)
    }
  }, async function resendOtp (request, reply) {
    const started = performance.now()
    const id = request.body[idField]!
    let outcome = 'SENT'
    try {
      const at = now().getTime()
      const pending = ledger.get(id, at)
      if (pending === undefined) throw new OtpNotSentError()
      await checkPending(pending, request)
      const undo = startSending(pending.subject, at, reply)
      try {
        await resend(id)
      } catch (err) {
        undo()
        throw err
      }
      // A new code, a new lifetime; the attempt budget stays what is left of it.
      pending.codeExpiresAt = at + otp.codeTtlMs
    } catch (err) {
      outcome = codeOf(err)
      throw err
    } finally {
      request.log.info({ [logKey]: id, outcome, ms: Math.round(performance.now() - started) }, 'identity verification code resent')
    }
    return { [idField]: id }
  })
}

function codeOf (err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code
  return typeof code === 'string' ? code : 'ERROR'
}

/** A pending code of one verification id. */
interface PendingCode {
  /** The requester the id is bound to (route purpose and subject). */
  subject: string
  /** Wrong codes still accepted. */
  attemptsLeft: number
  /** When the code expires, in ms since the epoch. */
  codeExpiresAt: number
  /** When the entry is forgotten (the issued id's lifetime), in ms since the epoch. */
  expiresAt: number
}

/**
 * The OTP routes' memory: the pending codes by verification id, and when each requester was last
 * sent a code. Both maps are bounded by `max` (the oldest entry gives way: its code can then no
 * longer be confirmed, and its requester's cooldown is over) and swept of expired entries on
 * every write; no timer. Map order is insertion order: the pending codes all live as long, and a
 * requester's entry is moved to the end when it is sent a code, so the oldest is always first.
 */
export class OtpLedger {
  readonly #max: number
  readonly #pending = new Map<string, PendingCode>()
  /** subject -> when its cooldown is over (ms). */
  readonly #cooldowns = new Map<string, number>()

  constructor (max: number) {
    this.#max = max
  }

  /** The pending code of `id`, unless it expired. */
  get (id: string, at: number): PendingCode | undefined {
    const pending = this.#pending.get(id)
    return pending === undefined || pending.expiresAt <= at ? undefined : pending
  }

  add (id: string, pending: PendingCode, at: number): void {
    sweep(this.#pending, (entry) => entry.expiresAt <= at)
    this.#pending.set(id, pending)
    trim(this.#pending, this.#max)
  }

  drop (id: string): void {
    this.#pending.delete(id)
  }

  /** Milliseconds before `subject` may be sent another code; 0 when it may now. */
  waitMs (subject: string, at: number, cooldownMs: number): number {
    if (cooldownMs === 0) return 0
    const until = this.#cooldowns.get(subject)
    return until === undefined ? 0 : Math.max(0, until - at)
  }

  /**
   * Starts `subject`'s cooldown (after `waitMs` said 0: any cooldown it had is over); the function
   * returned ends it again.
   */
  markSent (subject: string, at: number, cooldownMs: number): () => void {
    if (cooldownMs === 0) return noop
    sweep(this.#cooldowns, (until) => until <= at)
    // Moved to the end: the map stays in the order the cooldowns end.
    this.#cooldowns.delete(subject)
    this.#cooldowns.set(subject, at + cooldownMs)
    trim(this.#cooldowns, this.#max)
    return () => { this.#cooldowns.delete(subject) }
  }

  /** Entries held: pending codes and running cooldowns (tests, memory measurements). */
  get size (): { pending: number, cooldowns: number } {
    return { pending: this.#pending.size, cooldowns: this.#cooldowns.size }
  }
}

function noop (): void {}

/** Drops the expired entries at the front of an insertion-ordered map. */
function sweep<V> (map: Map<string, V>, expired: (value: V) => boolean): void {
  for (const [key, value] of map) {
    if (!expired(value)) return
    map.delete(key)
  }
}

/** Drops the oldest entries beyond `max`. */
function trim<V> (map: Map<string, V>, max: number): void {
  while (map.size > max) map.delete(map.keys().next().value!)
}

/**
 * Why a `POST {url}/otp` body is refused, or `undefined`: every field is checked before anything
 * is sent upstream, so a typo costs no SMS. The message names the field, never its value.
 */
export function sendBodyProblem (data: unknown, at: Date): string | undefined {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return 'body must be an object'
  const body = data as Record<string, unknown>
  const unknown = Object.keys(body).find((key) => !SEND_FIELDS.has(key))
  if (unknown !== undefined) return 'body must have only name, phone, birth, genderDigit, carrier and isMvno'
  const { name, phone, birth, genderDigit, carrier, isMvno } = body
  if (typeof name !== 'string' || name.length > MAX_NAME_LENGTH || !NAME.test(name)) return `body/name must be a non-blank string of at most ${MAX_NAME_LENGTH} characters`
  if (typeof phone !== 'string' || !PHONE.test(phone)) return 'body/phone must be 10 or 11 digits starting with 01'
  if (typeof genderDigit !== 'string' || !GENDER_DIGIT.test(genderDigit)) return 'body/genderDigit must be one digit from 1 to 8'
  if (typeof birth !== 'string' || !BIRTH.test(birth) || !isPastBirth(birth, genderDigit, at)) {
    return 'body/birth must be YYMMDD, a past date in the century genderDigit names (1, 2, 5, 6: 1900s; 3, 4, 7, 8: 2000s)'
  }
  if (typeof carrier !== 'string' || !(CARRIERS as readonly string[]).includes(carrier)) return 'body/carrier must be SKT, KT or LGU'
  if (isMvno !== undefined && typeof isMvno !== 'boolean') return 'body/isMvno must be a boolean'
  return undefined
}

const SEND_FIELDS = new Set(['name', 'phone', 'birth', 'genderDigit', 'carrier', 'isMvno'])

/** `YYMMDD` is a real date, not after today in Seoul, in the century of the resident-number digit. */
function isPastBirth (birth: string, genderDigit: string, at: Date): boolean {
  const century = /^[3478]$/.test(genderDigit) ? '20' : '19'
  const date = parseBirthday(`${century}${birth.slice(0, 2)}-${birth.slice(2, 4)}-${birth.slice(4, 6)}`)
  if (date === undefined) return false
  const today = seoulToday(at)
  return date.year * 10_000 + date.month * 100 + date.day <= today.year * 10_000 + today.month * 100 + today.day
}

function isConfirmBody (data: unknown, idField: string, pattern: RegExp): boolean {
  if (!hasOnly(data, [idField, 'otp'])) return false
  const { [idField]: id, otp } = data as Record<string, unknown>
  return isId(id, pattern) && typeof otp === 'string' && CODE.test(otp)
}

function isResendBody (data: unknown, idField: string, pattern: RegExp): boolean {
  return hasOnly(data, [idField]) && isId((data as Record<string, unknown>)[idField], pattern)
}

function hasOnly (data: unknown, keys: string[]): boolean {
  return typeof data === 'object' && data !== null && !Array.isArray(data) && Object.keys(data).every((key) => keys.includes(key))
}

function isId (id: unknown, pattern: RegExp): boolean {
  return typeof id === 'string' && id.length <= MAX_ID_LENGTH && pattern.test(id)
}

/** The documented body of `POST {url}/otp` (checked by {@link sendBodyProblem}, not by Ajv, which would coerce). */
const SEND_BODY: TSchema = Type.Object({
  name: Type.String({ minLength: 1, maxLength: MAX_NAME_LENGTH, description: 'The real name, as the carrier knows it.' }),
  phone: Type.String({ pattern: PHONE.source, description: 'Digits only.' }),
  birth: Type.String({ pattern: BIRTH.source, description: 'YYMMDD.' }),
  genderDigit: Type.String({ pattern: GENDER_DIGIT.source, description: 'The 7th digit of the resident registration number: 1/2 (born 1900-1999), 3/4 (2000-), 5-8 for foreigners.' }),
  carrier: Type.Union(CARRIERS.map((carrier) => Type.Literal(carrier)), { description: 'The network; an MVNO (알뜰폰) subscriber gives its host network and isMvno.' }),
  isMvno: Type.Optional(Type.Boolean({ default: false }))
}, { additionalProperties: false })

type StatusCodes = Record<number, { description: string, codes: readonly string[] }>

const BODY_STATUSES: StatusCodes = {
  400: { description: 'The body is not of the expected form, or not JSON.', codes: ['FST_ERR_VALIDATION', 'FST_ERR_CTP_INVALID_JSON_BODY', 'FST_ERR_CTP_EMPTY_JSON_BODY'] },
  413: { description: 'The body is larger than `bodyLimit`.', codes: ['FST_ERR_CTP_BODY_TOO_LARGE'] },
  415: { description: 'The body is not `application/json`.', codes: ['FST_ERR_CTP_INVALID_MEDIA_TYPE'] }
}

const UPSTREAM_STATUSES: StatusCodes = {
  502: { description: 'Upstream or the provider (PG) refused the request, or answered something unexpected.', codes: ['FST_IAMPORT_UPSTREAM', 'FST_IAMPORT_PG_REFUSED'] },
  503: { description: 'The verification store failed or did not answer in time.', codes: ['FST_IAMPORT_STORE_UNAVAILABLE'] },
  504: { description: 'Upstream did not answer within `timeoutMs`.', codes: ['FST_IAMPORT_UPSTREAM_TIMEOUT'] }
}

const SEND_STATUSES: StatusCodes = {
  ...BODY_STATUSES,
  429: { description: 'A code was sent to this requester moments ago (see Retry-After), or upstream limits the requests.', codes: ['FST_IAMPORT_OTP_TOO_SOON', 'FST_IAMPORT_OTP_LIMIT_REACHED'] },
  500: { description: 'The `subject` hook failed or gave no subject to bind the id to.', codes: ['FST_IAMPORT_HOOK_FAILED'] },
  ...UPSTREAM_STATUSES
}

const RESEND_STATUSES: StatusCodes = {
  ...BODY_STATUSES,
  404: { description: 'No code is pending here for this id.', codes: ['FST_IAMPORT_OTP_NOT_SENT', 'FST_IAMPORT_CERTIFICATION_NOT_FOUND'] },
  409: { description: 'The verification completed already.', codes: ['FST_IAMPORT_ALREADY_VERIFIED'] },
  422: { description: 'The id was not sent to this requester.', codes: ['FST_IAMPORT_MERCHANT_MISMATCH'] },
  429: { description: 'A code was sent moments ago (see Retry-After), or the wrong codes used up the id.', codes: ['FST_IAMPORT_OTP_TOO_SOON', 'FST_IAMPORT_OTP_ATTEMPTS_EXCEEDED'] },
  500: { description: 'The `subject` hook failed.', codes: ['FST_IAMPORT_HOOK_FAILED'] },
  ...UPSTREAM_STATUSES
}

const CONFIRM_STATUSES: StatusCodes = {
  ...BODY_STATUSES,
  403: { description: 'The verified person does not meet the age requirement (`minAge` or `checkAge`).', codes: ['FST_IAMPORT_AGE_RESTRICTED'] },
  404: { description: 'Upstream has no identity verification, or no code sent, for this id.', codes: ['FST_IAMPORT_CERTIFICATION_NOT_FOUND', 'FST_IAMPORT_OTP_NOT_SENT'] },
  409: { description: 'The verification was used before, or `findDuplicate` found an account for this person.', codes: ['FST_IAMPORT_REPLAYED', 'FST_IAMPORT_DUPLICATE'] },
  422: {
    description: 'The code was not accepted or has expired; or the verification did not complete, is too old, was not sent to this requester, or lacks the identity key the hooks need.',
    codes: ['FST_IAMPORT_OTP_INCORRECT', 'FST_IAMPORT_OTP_EXPIRED', 'FST_IAMPORT_NOT_CERTIFIED', 'FST_IAMPORT_STALE_CERTIFICATION', 'FST_IAMPORT_MERCHANT_MISMATCH', 'FST_IAMPORT_MISSING_IDENTITY_KEY']
  },
  429: { description: 'The wrong codes used up this id: start again with `POST {url}/otp`.', codes: ['FST_IAMPORT_OTP_ATTEMPTS_EXCEEDED'] },
  500: { description: 'A verification hook failed; the verification can be retried.', codes: ['FST_IAMPORT_HOOK_FAILED'] },
  ...UPSTREAM_STATUSES
}

const OTP_ERROR_ID = 'fastify-iamport-otp-error'

/** One error schema for the three OTP routes, in Fastify's standard error body, with every code they answer. */
function otpErrorSchema (): Record<string, unknown> {
  const codes = [SEND_STATUSES, RESEND_STATUSES, CONFIRM_STATUSES].flatMap((statuses) => Object.values(statuses).flatMap((status) => status.codes))
  return {
    $id: OTP_ERROR_ID,
    type: 'object',
    description: 'A refusal, in Fastify\'s standard error body.',
    required: ['statusCode', 'error', 'message'],
    properties: {
      statusCode: { type: 'integer' },
      code: { type: 'string', enum: [...new Set(codes)] },
      error: { type: 'string' },
      message: { type: 'string' }
    }
  }
}

function refusals (statuses: StatusCodes, errorRef: object): Record<number, unknown> {
  return Object.fromEntries(Object.entries(statuses).map(([status, { description, codes }]) =>
    [status, { description: `${description} Codes: ${codes.join(', ')}.`, ...errorRef }]))
}

function responses (idField: string, description: string, errorRef: object, statuses: StatusCodes): Record<number, unknown> {
  return {
    200: { description, type: 'object', required: [idField], properties: { [idField]: { type: 'string' } } },
    ...refusals(statuses, errorRef)
  }
}

/** The confirmation answers like the popup route: `{ verified: true }`, or what `onVerified` returns. */
function confirmResponses (settings: RouteSettings, errorRef: object): Record<number, unknown> {
  const description = 'Verified: the code and every check and hook passed.'
  const verified = settings.verifiedResponseSchema !== undefined
    ? { description, ...settings.verifiedResponseSchema }
    : settings.onVerified !== undefined
      ? { description: `${description} The body is what \`onVerified\` returned.` }
      : { description, type: 'object', required: ['verified'], properties: { verified: { type: 'boolean', const: true } } }
  return { 200: verified, ...refusals(CONFIRM_STATUSES, errorRef) }
}
