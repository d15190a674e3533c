import { performance } from 'node:perf_hooks'
import { Type } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import { ensureBinding } from './browser-binding.js'
import { PREPARE_BODY_LIMIT_BYTES } from './constants.js'
import { HookFailedError } from './errors.js'
import { reportVerification, type Timings } from './metrics.js'
import { MAX_ID_LENGTH } from './id-path-segment.js'
import { routeSettings, type CertificationsOptions } from './options/route.js'
import { addErrorSchemas, operationSuffix, prepareResponses, verifyResponses } from './route-schemas.js'
import { otpRoutes } from './otp-route.js'
import type { EraseVerification, FetchIdentity, OtpUpstream, RouteProfile } from './provider.js'
import { boundTo, subjectOf, verifier } from './verification-flow.js'

/** Options the plugin hands to the route. */
export interface CertificationsRouteOptions {
  /** What the route needs of the API generation. */
  profile: RouteProfile
  /** "Fetch and normalize" with the plugin's client. */
  fetchIdentity: FetchIdentity
  /** Erasure upstream with the plugin's client, where the API has it. */
  erase: EraseVerification | undefined
  route: string | CertificationsOptions | undefined
  /** The client's id whitelist (plugin option), the default of the body's. */
  clientPattern: RegExp | string | undefined
  /** Server-driven (SMS) verification with the plugin's client, for the OTP routes (`otp`). */
  otp: OtpUpstream
}

/**
 * Registers `POST {url}`, with `{ imp_uid }` (V1) or `{ identityVerificationId }` (V2), with
 * issued ids `POST {url}/prepare`, and with `otp` the OTP routes (otp-route.ts). The flow itself
 * is {@link verifier}'s.
 */
export async function certificationsRoute (fastify: FastifyInstance, options: CertificationsRouteOptions): Promise<void> {
  const { profile } = options
  const settings = routeSettings(options.route, profile, options.clientPattern)
  const { idField, logKey, issuedField } = profile
  // Issued ids are bound to this route, prefix included: its purpose (sign-up, recovery, ...).
  const purpose = fastify.prefix + settings.url
  const site = { apiVersion: profile.version, route: purpose, logKey }
  const verify = verifier({ fetchIdentity: options.fetchIdentity, erase: settings.eraseAfterVerify ? options.erase : undefined, logKey }, settings, purpose)
  const { idPattern } = settings
  const bodyError = `body/${idField} must be a string matching ${idPattern}`
  const operation = operationSuffix(purpose)
  addErrorSchemas(fastify)

  fastify.post<{ Body: Record<string, string> }>(settings.url, {
    ...settings.routeOptions,
    bodyLimit: settings.bodyLimit,
    // A plain check instead of Fastify's Ajv, whose type coercion would turn ["imp_1…"] into
    // "imp_1…", and which cannot take a RegExp's flags: the body must be { [idField]: string }.
    validatorCompiler: () => (data) => isIdBody(data, idField, idPattern) ? { value: data } : { error: new Error(bodyError) },
    schema: {
      operationId: `verify${operation}`,
      ...settings.schema,
      body: Type.Object({ [idField]: Type.String({ pattern: idPattern.source, maxLength: MAX_ID_LENGTH }) }),
      response: verifyResponses(settings.onVerified !== undefined, settings.verifiedResponseSchema)
    }
  }, function verifyCertification (request, reply) {
    // Not async: the flow's promise, continued (bench/).
    const started = performance.now()
    const id = request.body[idField]!
    const timings: Timings = { upstreamMs: 0, hookMs: 0 }
    return verify(id, request, reply, timings).then((answer) => {
      reportVerification(request, site, id, 'VERIFIED', started, timings)
      return answer
    }, (err: unknown) => {
      reportVerification(request, site, id, (err as { code?: string }).code ?? 'ERROR', started, timings)
      throw err
    })
  })

  const { issuedIds, store, rawStore } = settings
  // A store that checks its server (RedisStore: eviction policy, persistence) does it once, here.
  if (rawStore?.ready !== undefined) fastify.addHook('onReady', () => rawStore.ready!(fastify.log))
  if (issuedIds !== undefined) {
    const base = settings.url.replace(/\/$/, '')
    const ttlMs = issuedIds.ttlSeconds * 1000
    fastify.post(base + '/prepare', {
      ...settings.routeOptions,
      // Prepare reads no body: anything larger than a stray `{}` is refused before it is parsed.
      bodyLimit: PREPARE_BODY_LIMIT_BYTES,
      schema: {
        ...settings.schema,
        operationId: `${settings.schema.operationId ?? `verify${operation}`}Prepare`,
        response: prepareResponses(issuedField)
      }
    }, async function prepareCertification (request, reply) {
      const subject = issuedIds.subject === undefined
        ? boundTo(purpose, ensureBinding(request, reply, fastify.prefix + base, issuedIds.ttlSeconds))
        : await subjectOf(request, settings, purpose)
      // No subject (no session yet) is the host's bug here: nothing to bind the id to.
      if (subject === undefined) throw new HookFailedError()
      const issued = profile.issue()
      await store!.issue(issued, subject, ttlMs)
      return { [issuedField]: issued }
    })
  }
  if (settings.otp !== undefined) {
    otpRoutes(fastify, {
      profile,
      settings,
      otp: settings.otp,
      upstream: options.otp,
      fetchIdentity: options.fetchIdentity,
      erase: options.erase,
      purpose,
      base: settings.url.replace(/\/$/, '')
    })
  }
}

function isIdBody (data: unknown, idField: string, pattern: RegExp): boolean {
  if (typeof data !== 'object' || data === null) return false
  const id = (data as Record<string, unknown>)[idField]
  return typeof id === 'string' && id.length <= MAX_ID_LENGTH && pattern.test(id)
}
