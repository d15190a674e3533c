import { performance } from 'node:perf_hooks'
import { Type } from '@sinclair/typebox'
import { TypeCompiler } from '@sinclair/typebox/compiler'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { meetsMinAge } from './age.js'
import { CERTIFIED_AT_SKEW_SECONDS, STORE_TIMEOUT_MS } from './constants.js'
import {
  AgeRestrictedError, DuplicateError, HookFailedError, InvalidOptionsError, MerchantMismatchError, MissingIdentityKeyError,
  NotCertifiedError, ReplayedError, StaleCertificationError, StoreUnavailableError
} from './errors.js'
import type { Identity } from './identity.js'
import { routeSettings, type CertificationsOptions, type RouteSettings } from './route-options.js'
import type { Consumption, VerificationStore } from './stores/store.js'
import type { VerificationApi } from './verification-apis.js'

export type { ApiVersion, CertificationsOptions, MerchantUidOptions } from './route-options.js'

/** Options the plugin hands to the route. */
export interface CertificationsRouteOptions {
  /** The API generation: {@link v1Api} or {@link v2Api} around the plugin's client. */
  api: VerificationApi
  route: string | CertificationsOptions | undefined
  /** The client's id whitelist (plugin option), the default of the body's. */
  clientPattern?: string | undefined
}

/** Fastify's standard error body: the only thing any refusal sends. */
const ErrorBody = Type.Object({
  statusCode: Type.Integer(),
  code: Type.Optional(Type.String()),
  error: Type.String(),
  message: Type.String()
})
const errorResponses = Object.fromEntries([400, 403, 404, 409, 413, 415, 422, 500, 502, 503, 504].map((status) => [status, ErrorBody]))
const VerifiedBody = Type.Object({ verified: Type.Literal(true) })
const VERIFIED = { verified: true } as const

/**
 * `POST {url}` with `{ imp_uid }` (V1) or `{ identityVerificationId }` (V2): fetches the
 * verification from upstream, runs the built-in checks, then the host's hooks, and answers 200 or a
 * documented error. With issued ids (V1 merchant_uids, V2 identity verification ids), also
 * `POST {url}/prepare`.
 */
export async function certificationsRoute (fastify: FastifyInstance, options: CertificationsRouteOptions): Promise<void> {
  const { api } = options
  const settings = routeSettings(options.route, api.version, options.clientPattern)
  const { idField, logKey, issuedField } = api
  // V2 issued ids are what the browser posts back: a pattern that refuses them would refuse everyone.
  if (api.version === 'v2' && settings.merchantUid !== undefined && !new RegExp(settings.idPattern).test(api.issue())) {
    throw new InvalidOptionsError('certifications.identityVerificationIdPattern must accept the issued ids (iv + 32 hex digits)')
  }
  // Issued ids are bound to this route, prefix included: its purpose (sign-up, recovery, ...).
  const purpose = fastify.prefix + settings.url
  const verify = verifier(api, settings, purpose)
  const body = Type.Object({ [idField]: Type.String({ pattern: settings.idPattern, maxLength: 64 }) })
  const bodyCheck = TypeCompiler.Compile(body)
  const bodyError = `body/${idField} must be a string matching ${settings.idPattern}`

  fastify.post<{ Body: Record<string, string> }>(settings.url, {
    bodyLimit: settings.bodyLimit,
    // TypeBox's compiled check instead of Fastify's Ajv, whose type coercion would turn
    // ["imp_1…"] into "imp_1…": the body must already be { [idField]: string }.
    validatorCompiler: () => (data) => bodyCheck.Check(data) ? { value: data } : { error: new Error(bodyError) },
    schema: {
      ...settings.schema,
      body,
      response: {
        ...errorResponses,
        ...(settings.onVerified === undefined ? { 200: VerifiedBody } : {}),
        ...(settings.verifiedResponseSchema === undefined ? {} : { 200: settings.verifiedResponseSchema })
      }
    }
  }, async function verifyCertification (request, reply) {
    const started = performance.now()
    const id = request.body[idField]!
    try {
      const result = await verify(id, request, reply)
      logOutcome(request, logKey, id, 'VERIFIED', started)
      return result
    } catch (err) {
      logOutcome(request, logKey, id, (err as { code?: string }).code ?? 'ERROR', started)
      throw err
    }
  })

  const merchantUid = settings.merchantUid
  if (merchantUid !== undefined) {
    const store = settings.store!
    fastify.post(settings.url.replace(/\/$/, '') + '/prepare', {
      schema: { ...settings.schema, response: { 200: Type.Object({ [issuedField]: Type.String() }), ...errorResponses } }
    }, async function prepareCertification (request) {
      const subject = await subjectOf(request, settings, purpose)
      // No subject (no session yet) is the host's bug here: nothing to bind the id to.
      if (subject === undefined) throw new HookFailedError()
      const issued = api.issue()
      await storeCall(store, () => store.issueMerchantUid(issued, subject, merchantUid.ttlSeconds))
      return { [issuedField]: issued }
    })
  }
}

/** The one line a verification writes: the id and the outcome, never anything from the verification itself. */
function logOutcome (request: FastifyRequest, logKey: string, id: string, outcome: string, started: number): void {
  request.log.info({ [logKey]: id, outcome, ms: Math.round(performance.now() - started) }, 'iamport verification')
}

type Verify = (id: string, request: FastifyRequest, reply: FastifyReply) => Promise<unknown>

/** The verification flow of one route, with its settings bound once: the same for V1 and V2. */
function verifier (api: VerificationApi, settings: RouteSettings, purpose: string): Verify {
  const { store, minAge, ageBasis, checkAge, findDuplicate, onVerified, requireIdentityKey, now } = settings

  return async function verify (id, request, reply) {
    const identity = await api.fetchIdentity(id, now)
    const at = now()
    checkVerification(identity, id, settings.certifiedWithinSeconds, at)
    const consumption = store === undefined ? undefined : await consume(identity, id, request, settings, purpose)

    // Policy refusals below burn the imp_uid (it was judged); a hook that throws releases it.
    if (requireIdentityKey !== false && identity[requireIdentityKey] === undefined) throw new MissingIdentityKeyError()
    if (minAge !== undefined && !meetsMinAge(identity.birthday, minAge, ageBasis, at)) throw new AgeRestrictedError()
    let result: unknown = VERIFIED
    try {
      if (checkAge !== undefined && await checkAge(identity, request) !== true) throw new AgeRestrictedError()
      if (findDuplicate !== undefined && await findDuplicate(identity, request)) throw new DuplicateError()
      if (onVerified !== undefined) result = (await onVerified(identity, request, reply)) ?? VERIFIED
    } catch (err) {
      throw await hookFailure(err, consumption, store)
    }
    return result
  }
}

/**
 * Built-in checks on what upstream answered, in the SPEC's order (completion was checked while
 * fetching): the answer is for the id asked about, and fresh. An unknown time is the epoch: stale.
 */
function checkVerification (identity: Identity, id: string, withinSeconds: number, now: Date): void {
  if (identity.impUid !== id) throw new NotCertifiedError()
  const certifiedAt = identity.certifiedAt.getTime() / 1000
  const nowSeconds = now.getTime() / 1000
  if (certifiedAt <= 0 ||
      nowSeconds - certifiedAt > withinSeconds + CERTIFIED_AT_SKEW_SECONDS ||
      certifiedAt - nowSeconds > CERTIFIED_AT_SKEW_SECONDS) {
    throw new StaleCertificationError()
  }
}

/** One-time consumption, bound to the issued merchant_uid (V2: the id itself) when enabled. */
async function consume (identity: Identity, id: string, request: FastifyRequest, settings: RouteSettings, purpose: string): Promise<Consumption> {
  const consumption: Consumption = { impUid: id, ttlSeconds: settings.consumedTtlSeconds }
  if (settings.merchantUid !== undefined) {
    const merchantUid = identity.merchantUid
    const subject = await subjectOf(request, settings, purpose)
    if (merchantUid === undefined || subject === undefined) throw new MerchantMismatchError()
    consumption.merchant = { merchantUid, subject }
  }
  const result = await storeCall(settings.store!, () => settings.store!.consume(consumption))
  if (result === 'replayed') throw new ReplayedError()
  if (result === 'merchant-mismatch') throw new MerchantMismatchError()
  return consumption
}

/**
 * What a throwing hook becomes. Refusals of the package (age, duplicate) and Fastify-style errors
 * with a 4xx status keep their meaning and burn the imp_uid; anything else is a server-side failure:
 * the imp_uid is released so the person can retry, and the error becomes FST_IAMPORT_HOOK_FAILED
 * unless it already carries a 5xx status (its message is the host's own).
 */
async function hookFailure (err: unknown, consumption: Consumption | undefined, store: RouteSettings['store']): Promise<unknown> {
  const statusCode = (err as { statusCode?: unknown } | null)?.statusCode
  const isHttpError = typeof statusCode === 'number' && statusCode >= 400 && statusCode <= 599
  if (isHttpError && statusCode < 500) return err
  if (consumption !== undefined) {
    try {
      await storeCall(store!, () => store!.release(consumption))
    } catch {
      // The imp_uid stays consumed: the person verifies again; the hook's failure is what matters.
    }
  }
  return isHttpError ? err : new HookFailedError()
}

/**
 * Who an issued id belongs to, bound to this route (its purpose): an id issued by a sign-up route
 * is refused by a recovery route sharing the store. `undefined` when the host's `subject` gave no
 * non-empty string; a `subject` that throws is FST_IAMPORT_HOOK_FAILED, its message never sent.
 */
async function subjectOf (request: FastifyRequest, settings: RouteSettings, purpose: string): Promise<string | undefined> {
  let subject: unknown
  try {
    subject = await settings.merchantUid!.subject(request)
  } catch {
    throw new HookFailedError()
  }
  return typeof subject === 'string' && subject !== '' ? `${purpose}\u0000${subject}` : undefined
}

/** A store call within its deadline; any failure, or no answer in time, fails closed (503). */
async function storeCall<T> (store: VerificationStore, call: () => Promise<T>): Promise<T> {
  if (store.inProcess === true) {
    try {
      return await call()
    } catch {
      throw new StoreUnavailableError()
    }
  }
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<never>((resolve, reject) => { timer = setTimeout(reject, STORE_TIMEOUT_MS) })
  try {
    const result = await Promise.race([call(), deadline])
    clearTimeout(timer)
    return result
  } catch {
    clearTimeout(timer)
    throw new StoreUnavailableError()
  }
}
