import { performance } from 'node:perf_hooks'
import { Type } from '@sinclair/typebox'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { HookFailedError } from './errors.js'
import { MAX_ID_LENGTH } from './id-path-segment.js'
import { routeSettings, type CertificationsOptions } from './options/route.js'
import type { FetchIdentity, RouteProfile } from './provider.js'
import { subjectOf, verifier } from './verification-flow.js'

/** Options the plugin hands to the route. */
export interface CertificationsRouteOptions {
  /** What the route needs of the API generation. */
  profile: RouteProfile
  /** "Fetch and normalize" with the plugin's client. */
  fetchIdentity: FetchIdentity
  route: string | CertificationsOptions | undefined
  /** The client's id whitelist (plugin option), the default of the body's. */
  clientPattern: RegExp | string | undefined
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

/**
 * Registers `POST {url}`, with `{ imp_uid }` (V1) or `{ identityVerificationId }` (V2), and with
 * issued ids `POST {url}/prepare`. The flow itself is {@link verifier}'s.
 */
export async function certificationsRoute (fastify: FastifyInstance, options: CertificationsRouteOptions): Promise<void> {
  const { profile } = options
  const settings = routeSettings(options.route, profile, options.clientPattern)
  const { idField, logKey, issuedField } = profile
  // Issued ids are bound to this route, prefix included: its purpose (sign-up, recovery, ...).
  const purpose = fastify.prefix + settings.url
  const verify = verifier(options.fetchIdentity, settings, purpose)
  const { idPattern } = settings
  const bodyError = `body/${idField} must be a string matching ${idPattern}`

  fastify.post<{ Body: Record<string, string> }>(settings.url, {
    bodyLimit: settings.bodyLimit,
    // A plain check instead of Fastify's Ajv, whose type coercion would turn ["imp_1…"] into
    // "imp_1…", and which cannot take a RegExp's flags: the body must be { [idField]: string }.
    validatorCompiler: () => (data) => isIdBody(data, idField, idPattern) ? { value: data } : { error: new Error(bodyError) },
    schema: {
      ...settings.schema,
      body: Type.Object({ [idField]: Type.String({ pattern: idPattern.source, maxLength: MAX_ID_LENGTH }) }),
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

  const { issuedIds, store } = settings
  if (issuedIds !== undefined) {
    fastify.post(settings.url.replace(/\/$/, '') + '/prepare', {
      schema: { ...settings.schema, response: { 200: Type.Object({ [issuedField]: Type.String() }), ...errorResponses } }
    }, async function prepareCertification (request) {
      const subject = await subjectOf(request, settings, purpose)
      // No subject (no session yet) is the host's bug here: nothing to bind the id to.
      if (subject === undefined) throw new HookFailedError()
      const issued = profile.issue()
      await store!.issue(issued, subject, issuedIds.ttlMs)
      return { [issuedField]: issued }
    })
  }
}

function isIdBody (data: unknown, idField: string, pattern: RegExp): boolean {
  if (typeof data !== 'object' || data === null) return false
  const id = (data as Record<string, unknown>)[idField]
  return typeof id === 'string' && id.length <= MAX_ID_LENGTH && pattern.test(id)
}

/** The one line a verification writes: the id and the outcome, never anything from the verification itself. */
function logOutcome (request: FastifyRequest, logKey: string, id: string, outcome: string, started: number): void {
  request.log.info({ [logKey]: id, outcome, ms: Math.round(performance.now() - started) }, 'identity verification')
}
