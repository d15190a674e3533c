import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { readEnvironment } from './lib/environment.js'
import { InvalidOptionsError } from './lib/errors.js'
import { checkOptions, pathsOf } from './lib/options/check.js'
import type { ApiVersion, Provider, ProviderClient } from './lib/provider.js'
import { certificationsRoute } from './lib/route.js'
import type { IamportClient } from './lib/v1/client.js'
import { v1Provider, type IamportPluginOptions } from './lib/v1/provider.js'
import type { PortOneV2Client } from './lib/v2/client.js'
import { v2Provider, type PortOneV2PluginOptions } from './lib/v2/provider.js'

/**
 * Options of the fastify-iamport plugin, discriminated on `apiVersion`: `'v1'` (the default) for
 * i'mport (PortOne V1), `'v2'` for PortOne V2. Each generation accepts only its own keys.
 */
export type FastifyIamportOptions = IamportPluginOptions | PortOneV2PluginOptions

declare module 'fastify' {
  interface FastifyInstance {
    /** The i'mport (V1) client, once the plugin is registered with `apiVersion: 'v1'` (the default); else absent. */
    iamport?: IamportClient
    /** The PortOne V2 client, once the plugin is registered with `apiVersion: 'v2'`; else absent. */
    portone?: PortOneV2Client
  }
}

const providers: Record<ApiVersion, Provider<any, ProviderClient>> = { v1: v1Provider, v2: v2Provider }

/** Every valid option path of either generation, each with the one generation it belongs to (if only one). */
const knownPaths = (() => {
  const v1 = pathsOf(v1Provider.optionsSchema)
  const v2 = pathsOf(v2Provider.optionsSchema)
  const all = new Map<string, string | undefined>()
  for (const [path] of v1) all.set(path, v2.has(path) ? undefined : 'v1')
  for (const [path] of v2) if (!all.has(path)) all.set(path, 'v2')
  return all
})()

/** Option paths of 0.1.0 that were renamed (CHANGELOG.md), so an upgrade fails with the new name. */
const renamed = new Map([
  ['certifications.merchantUid', 'certifications.issuedIds'],
  ['certifications.impUidPattern', 'certifications.idPattern'],
  ['certifications.identityVerificationIdPattern', 'certifications.idPattern']
])

async function plugin (fastify: FastifyInstance, options: FastifyIamportOptions): Promise<void> {
  const version: unknown = options.apiVersion ?? 'v1'
  if (typeof version !== 'string' || !Object.hasOwn(providers, version)) throw new InvalidOptionsError("apiVersion must be 'v1' or 'v2'")
  const provider = providers[version as ApiVersion]
  checkOptions(provider.optionsSchema, options, { knownPaths, renamed })
  // Checked before a client (and its pool) exists: a second client here would never be closed.
  // Own property, as Fastify checks it: an encapsulated child may shadow its parent's decorator.
  if (Object.hasOwn(fastify, provider.decorator)) {
    throw new InvalidOptionsError(`fastify.${provider.decorator} exists already: register each API version once per context (use an encapsulated register for a second one)`)
  }
  const client = provider.createClient(options, await readEnvironment(fastify))
  fastify.decorate(provider.decorator, client)
  fastify.addHook('onClose', () => client.close())
  if (options.certifications !== false) {
    await fastify.register(certificationsRoute, {
      profile: provider.route,
      fetchIdentity: provider.fetcher(client),
      erase: provider.eraser(client),
      route: options.certifications,
      clientPattern: provider.clientIdPattern(options),
      otp: provider.otp(client)
    })
  }
}

/**
 * The fastify-iamport plugin: decorates `fastify.iamport` (V1) or `fastify.portone` (V2) and
 * registers the verification route (and with `certifications.otp` the SMS verification routes).
 */
export const fastifyIamport = fp(plugin, { fastify: '5.x', name: 'fastify-iamport' })
export default fastifyIamport

export { IamportClient } from './lib/v1/client.js'
export { PortOneV2Client } from './lib/v2/client.js'
export type { IamportClientOptions, OtpRequestInput } from './lib/v1/client.js'
export type { PortOneV2ClientOptions } from './lib/v2/client.js'
export type { IamportPluginOptions, PortOneV2PluginOptions }
export type { ApiVersion } from './lib/provider.js'
export type { CertificationsOptions, IssuedIdsOptions, MaybePromise, OtpOptions, PluginRouteOptions, RouteDocumentation } from './lib/options/route.js'
export {
  DEFAULT_OTP_ATTEMPTS, DEFAULT_OTP_CODE_TTL_SECONDS, DEFAULT_OTP_MAX_PENDING, DEFAULT_OTP_RESEND_COOLDOWN_SECONDS
} from './lib/options/route.js'
export type { Certification } from './lib/v1/schemas.js'
export type {
  V2IdentityVerification, V2ReadyIdentityVerification, V2FailedIdentityVerification, V2VerifiedIdentityVerification,
  V2Operator, V2SendIdentityVerificationInput
} from './lib/v2/schemas.js'
export type { Identity, Gender, Carrier } from './lib/identity.js'
export { ageOf, ageOn, meetsMinAge, parseBirthday, seoulToday, type AgeBasis, type CalendarDate } from './lib/age.js'
export {
  MemoryStore, RedisStore, DEFAULT_MAX_ISSUED, DEFAULT_MAX_ISSUED_PER_SUBJECT, DEFAULT_MEMORY_STORE_MAX_CONSUMED, DEFAULT_REDIS_STORE_PREFIX,
  type MemoryStoreOptions, type RedisStoreOptions, type RedisLikeClient, type IoRedisLikeClient, type NodeRedisLikeClient,
  type Consumption, type ConsumeResult, type StoreLogger, type VerificationStore
} from './lib/stores/index.js'
export { VERIFICATION_CHANNEL, type VerificationEvent } from './lib/metrics.js'
export { koMessages, koreanMessage, type FastifyBodyErrorCode, type IamportErrorCode, type KoMessageKey, type KoreanErrorBody } from './lib/messages-ko.js'
export * from './lib/errors.js'
