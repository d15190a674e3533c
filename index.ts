import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { IamportClient, type IamportClientOptions } from './lib/client.js'
import { readEnvironment } from './lib/environment.js'
import { InvalidOptionsError } from './lib/errors.js'
import { PortOneV2Client } from './lib/portone-v2-client.js'
import { certificationsRoute, type ApiVersion, type CertificationsOptions } from './lib/route.js'
import { v1Api, v2Api, type VerificationApi } from './lib/verification-apis.js'

/**
 * Options of the fastify-iamport plugin. `apiKey`, `tier` and `impUidPattern` are V1 only;
 * `storeId` and `identityVerificationIdPattern` are V2 only; the rest apply to both.
 */
export interface FastifyIamportOptions extends Partial<IamportClientOptions> {
  /**
   * `'v1'` (default): i'mport (PortOne V1) certifications, decorates `fastify.iamport`.
   * `'v2'`: PortOne V2 identity verification, decorates `fastify.portone`; `apiSecret` is then the
   * V2 API secret (else env `PORTONE_API_SECRET`), `baseUrl` defaults to `https://api.portone.io`
   * (env `PORTONE_BASE_URL`), and `apiKey` is not needed. The route's hooks get the same `Identity`.
   * A site migrating can register the plugin twice, once per version, on different route URLs.
   */
  apiVersion?: ApiVersion
  /** V2: store id sent as `?storeId=` (else env `PORTONE_STORE_ID`; optional). */
  storeId?: string
  /** V2: the client's id whitelist (default `^[A-Za-z0-9_-]{1,64}$`). */
  identityVerificationIdPattern?: RegExp | string
  /**
   * The verification route: `false` for the client only, a URL string, or route options.
   * Default: the route at `/certifications` with the built-in checks and no policy hooks.
   */
  certifications?: false | string | CertificationsOptions
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The i'mport (V1) client: present once the plugin is registered with `apiVersion: 'v1'` (the default). */
    iamport: IamportClient
    /** The PortOne V2 client: present once the plugin is registered with `apiVersion: 'v2'`. */
    portone: PortOneV2Client
  }
}

async function plugin (fastify: FastifyInstance, options: FastifyIamportOptions): Promise<void> {
  const { certifications, apiVersion = 'v1', storeId, identityVerificationIdPattern, ...clientOptions } = options
  if (apiVersion !== 'v1' && apiVersion !== 'v2') throw new InvalidOptionsError("apiVersion must be 'v1' or 'v2'")
  const [decorator, foreign] = apiVersion === 'v2'
    ? ['portone', { apiKey: clientOptions.apiKey, tier: clientOptions.tier, impUidPattern: clientOptions.impUidPattern }]
    : ['iamport', { storeId, identityVerificationIdPattern }]
  for (const [name, value] of Object.entries(foreign)) {
    if (value !== undefined) throw new InvalidOptionsError(`${name} is not an option of apiVersion '${apiVersion}'`)
  }
  // Checked before a client (and its pool) exists: a second client here would never be closed.
  // Own property, as Fastify checks it: an encapsulated child may shadow its parent's decorator.
  if (Object.hasOwn(fastify, decorator)) {
    throw new InvalidOptionsError(`fastify.${decorator} exists already: register each API version once per context (use an encapsulated register for a second one)`)
  }
  const environment = await readEnvironment(fastify)
  let api: VerificationApi
  if (apiVersion === 'v2') {
    const client = new PortOneV2Client({
      apiSecret: clientOptions.apiSecret ?? environment.PORTONE_API_SECRET ?? missing('apiSecret (or env PORTONE_API_SECRET)'),
      storeId: storeId ?? environment.PORTONE_STORE_ID,
      baseUrl: clientOptions.baseUrl ?? environment.PORTONE_BASE_URL,
      timeoutMs: clientOptions.timeoutMs,
      dispatcher: clientOptions.dispatcher,
      connections: clientOptions.connections,
      identityVerificationIdPattern
    })
    fastify.decorate('portone', client)
    fastify.addHook('onClose', () => client.close())
    api = v2Api(client)
  } else {
    const client = new IamportClient({
      ...clientOptions,
      apiKey: clientOptions.apiKey ?? environment.IAMPORT_API_KEY ?? missing('apiKey (or env IAMPORT_API_KEY)'),
      apiSecret: clientOptions.apiSecret ?? environment.IAMPORT_API_SECRET ?? missing('apiSecret (or env IAMPORT_API_SECRET)'),
      baseUrl: clientOptions.baseUrl ?? environment.IAMPORT_BASE_URL
    })
    fastify.decorate('iamport', client)
    fastify.addHook('onClose', () => client.close())
    api = v1Api(client)
  }
  if (certifications !== false) {
    const clientPattern = apiVersion === 'v2' ? identityVerificationIdPattern : clientOptions.impUidPattern
    await fastify.register(certificationsRoute, {
      api,
      route: certifications,
      clientPattern: clientPattern instanceof RegExp ? clientPattern.source : clientPattern
    })
  }
}

function missing (name: string): never {
  throw new InvalidOptionsError(`${name} is required`)
}

/**
 * The fastify-iamport plugin: decorates `fastify.iamport` (V1) or `fastify.portone` (V2) and
 * registers the verification route.
 */
export const fastifyIamport = fp(plugin, { fastify: '5.x', name: 'fastify-iamport' })
export default fastifyIamport

export { IamportClient, PortOneV2Client }
export type { IamportClientOptions, OtpRequestInput } from './lib/client.js'
export type { PortOneV2ClientOptions } from './lib/portone-v2-client.js'
export type { ApiVersion, CertificationsOptions, MerchantUidOptions } from './lib/route.js'
export type { Certification } from './lib/schemas.js'
export type { V2IdentityVerification, V2ReadyIdentityVerification, V2FailedIdentityVerification } from './lib/portone-v2-schemas.js'
export type { V2VerifiedIdentityVerification } from './lib/identity.js'
export type { Identity, Gender, Carrier } from './lib/identity.js'
export { ageOf, ageOn, meetsMinAge, parseBirthday, seoulToday, type AgeBasis, type CalendarDate } from './lib/age.js'
export { MemoryStore, RedisStore, type MemoryStoreOptions, type RedisStoreOptions, type RedisLikeClient } from './lib/stores/index.js'
export type { Consumption, ConsumeResult, VerificationStore } from './lib/stores/store.js'
export * from './lib/errors.js'
