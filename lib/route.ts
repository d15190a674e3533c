import { randomBytes } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import { Type } from '@sinclair/typebox'
import { TypeCompiler } from '@sinclair/typebox/compiler'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { meetsMinAge } from './age.js'
import type { IamportClient } from './client.js'
import { CERTIFIED_AT_SKEW_SECONDS } from './constants.js'
import {
  AgeRestrictedError, DuplicateError, HookFailedError, MerchantMismatchError, MissingIdentityKeyError,
  NotCertifiedError, ReplayedError, StaleCertificationError, StoreUnavailableError
} from './errors.js'
import { identityFromCertification, type Identity } from './identity.js'
import { routeSettings, type CertificationsOptions, type RouteSettings } from './route-options.js'
import type { Certification } from './schemas.js'
import type { Consumption } from './stores/store.js'

export type { CertificationsOptions, MerchantUidOptions } from './route-options.js'

/** Options the plugin hands to the route. */
export interface CertificationsRouteOptions {
  client: IamportClient
  route: string | CertificationsOptions | undefined
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
 * `POST {url}` with `{ imp_uid }`: fetches the certification from i'mport, runs the built-in
 * checks, then the host's hooks, and answers 200 or a documented error. With issued merchant_uids,
 * also `POST {url}/prepare`.
 */
export async function certificationsRoute (fastify: FastifyInstance, options: CertificationsRouteOptions): Promise<void> {
  const settings = routeSettings(options.route)
  const { client } = options
  const verify = verifier(client, settings)
  const body = Type.Object({ imp_uid: Type.String({ pattern: settings.impUidPattern, maxLength: 64 }) })
  const bodyCheck = TypeCompiler.Compile(body)
  const bodyError = `body/imp_uid must be a string matching ${settings.impUidPattern}`

  fastify.post<{ Body: { imp_uid: string } }>(settings.url, {
    bodyLimit: settings.bodyLimit,
    // TypeBox's compiled check instead of Fastify's Ajv, whose type coercion would turn
    // ["imp_1…"] into "imp_1…": the body must already be { imp_uid: string }.
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
    const impUid = request.body.imp_uid
    try {
      const result = await verify(impUid, request, reply)
      logOutcome(request, impUid, 'VERIFIED', started)
      return result
    } catch (err) {
      logOutcome(request, impUid, (err as { code?: string }).code ?? 'ERROR', started)
      throw err
    }
  })

  const merchantUid = settings.merchantUid
  if (merchantUid !== undefined) {
    const store = settings.store!
    fastify.post(settings.url.replace(/\/$/, '') + '/prepare', {
      schema: { ...settings.schema, response: { 200: Type.Object({ merchantUid: Type.String() }), ...errorResponses } }
    }, async function prepareCertification (request) {
      const subject = await merchantUid.subject(request)
      // 'mid' + 128 random bits: unguessable, and alphanumeric within KCP's 40 characters.
      const issued = 'mid' + randomBytes(16).toString('hex')
      await storeCall(() => store.issueMerchantUid(issued, subject, merchantUid.ttlSeconds))
      return { merchantUid: issued }
    })
  }
}

/** The one line a verification writes: never anything from the certification itself. */
function logOutcome (request: FastifyRequest, impUid: string, outcome: string, started: number): void {
  request.log.info({ impUid, outcome, ms: Math.round(performance.now() - started) }, 'iamport verification')
}

type Verify = (impUid: string, request: FastifyRequest, reply: FastifyReply) => Promise<unknown>

/** The verification flow of one route, with its settings bound once. */
function verifier (client: IamportClient, settings: RouteSettings): Verify {
  const { store, minAge, ageBasis, checkAge, findDuplicate, onVerified, requireIdentityKey, now } = settings

  return async function verify (impUid, request, reply) {
    const certification = await client.getCertification(impUid)
    checkCertification(certification, impUid, settings.certifiedWithinSeconds, now())
    const consumption = store === undefined ? undefined : await consume(certification, impUid, request, settings)
    const identity = identityFromCertification(certification, now)

    // Policy refusals below burn the imp_uid (it was judged); a hook that throws releases it.
    if (requireIdentityKey !== false && identity[requireIdentityKey] === undefined) throw new MissingIdentityKeyError()
    if (minAge !== undefined && !meetsMinAge(identity.birthday, minAge, ageBasis, now())) throw new AgeRestrictedError()
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

/** Built-in checks on what i'mport answered, in the SPEC's order. */
function checkCertification (certification: Certification, impUid: string, withinSeconds: number, now: Date): void {
  if (certification.imp_uid !== impUid || certification.certified !== true) throw new NotCertifiedError()
  const certifiedAt = certification.certified_at
  const nowSeconds = now.getTime() / 1000
  if (typeof certifiedAt !== 'number' || certifiedAt <= 0 ||
      nowSeconds - certifiedAt > withinSeconds + CERTIFIED_AT_SKEW_SECONDS ||
      certifiedAt - nowSeconds > CERTIFIED_AT_SKEW_SECONDS) {
    throw new StaleCertificationError()
  }
}

async function consume (certification: Certification, impUid: string, request: FastifyRequest, settings: RouteSettings): Promise<Consumption> {
  const consumption: Consumption = { impUid, ttlSeconds: settings.consumedTtlSeconds }
  if (settings.merchantUid !== undefined) {
    const merchantUid = certification.merchant_uid
    if (typeof merchantUid !== 'string' || merchantUid === '') throw new MerchantMismatchError()
    consumption.merchant = { merchantUid, subject: await settings.merchantUid.subject(request) }
  }
  const result = await storeCall(() => settings.store!.consume(consumption))
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
      await store!.release(consumption)
    } catch {
      // The imp_uid stays consumed: the person verifies again; the hook's failure is what matters.
    }
  }
  return isHttpError ? err : new HookFailedError()
}

async function storeCall<T> (call: () => Promise<T>): Promise<T> {
  try {
    return await call()
  } catch {
    throw new StoreUnavailableError()
  }
}

export type { Identity }
