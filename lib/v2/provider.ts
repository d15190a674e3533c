import { randomBytes } from 'node:crypto'
import { parseBirthday } from '../age.js'
import { DEFAULT_IDENTITY_VERIFICATION_ID_PATTERN } from '../constants.js'
import type { IamportEnvironment } from '../environment.js'
import { NotCertifiedError, OtpIncorrectError } from '../errors.js'
import { carrierOf, genderOf, text, validDate, VerifiedIdentity, type Identity } from '../identity.js'
import { required } from '../options/check.js'
import { Literals, Optional, Options } from '../options/kinds.js'
import { certificationsProperty, type CertificationsOptions } from '../options/route.js'
import type { Optionally, Provider } from '../provider.js'
import { transportProperties } from '../upstream.js'
import { PortOneV2Client, v2ClientProperties, type PortOneV2ClientOptions } from './client.js'
import type { V2VerifiedIdentityVerification } from './schemas.js'

/**
 * Plugin options with `apiVersion: 'v2'`: PortOne V2 identity verification. `apiSecret` is the V2
 * API secret (else env `PORTONE_API_SECRET`), `baseUrl` defaults to `https://api.portone.io` (env
 * `PORTONE_BASE_URL`), `storeId` to env `PORTONE_STORE_ID`. The route's hooks get the same
 * `Identity` as in V1. A site migrating registers the plugin twice, once per version, on
 * different route URLs.
 */
export interface PortOneV2PluginOptions extends Optionally<PortOneV2ClientOptions> {
  /** `'v2'`: PortOne V2; decorates `fastify.portone`. */
  apiVersion: 'v2'
  /**
   * The verification route: `false` for the client only, a URL string, or route options.
   * Default: the route at `/certifications`, with issued ids (`POST /certifications/prepare`) on.
   */
  certifications?: false | string | CertificationsOptions | undefined
  /** V1 only: V2 authenticates with `apiSecret` alone. */
  apiKey?: never
  /** V1 only. */
  tier?: never
  /** V1 only; V2 has `identityVerificationIdPattern`. */
  impUidPattern?: never
}

const { apiSecret, ...optionalClientProperties } = v2ClientProperties

const V2_PG_PROVIDER = 'portone-v2'

/** RFC 3339 with a mandatory offset: `Date.parse` reads an offset-less time in the process zone. */
const RFC3339 = /^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?(?:Z|[+-][0-9]{2}:[0-9]{2})$/

/** PortOne V2: `{ identityVerificationId }`, issued ids `iv` + 32 hex; only `status: 'VERIFIED'` passes. */
export const v2Provider: Provider<PortOneV2PluginOptions, PortOneV2Client> = {
  decorator: 'portone',
  optionsSchema: Options({
    apiVersion: Literals(['v2'], "must be 'v1' or 'v2'"),
    apiSecret: Optional(apiSecret),
    ...optionalClientProperties,
    ...transportProperties,
    certifications: certificationsProperty
  }),
  route: {
    version: 'v2',
    idField: 'identityVerificationId',
    defaultIdPattern: DEFAULT_IDENTITY_VERIFICATION_ID_PATTERN,
    issuedField: 'identityVerificationId',
    issuesByDefault: true,
    postsIssuedId: true,
    issue: () => 'iv' + randomBytes(16).toString('hex'),
    logKey: 'identityVerificationId',
    issuedName: 'identity verification ids (iv + 32 hex digits)',
    noErasure: 'PortOne V2 has no call that erases an identity verification (see the README, "Erasure after use")'
  },
  createClient (options: PortOneV2PluginOptions, environment: IamportEnvironment) {
    return new PortOneV2Client({
      apiSecret: options.apiSecret ?? environment.PORTONE_API_SECRET ?? required('apiSecret (or env PORTONE_API_SECRET)'),
      storeId: options.storeId ?? environment.PORTONE_STORE_ID,
      baseUrl: options.baseUrl ?? environment.PORTONE_BASE_URL,
      timeoutMs: options.timeoutMs,
      dispatcher: options.dispatcher,
      connections: options.connections,
      identityVerificationIdPattern: options.identityVerificationIdPattern
    })
  },
  clientIdPattern: (options) => options.identityVerificationIdPattern,
  fetcher: (client) => (id, clock) => fetchV2(client, id, clock),
  eraser: () => undefined,
  otp: (client) => ({
    needsChannelKey: true,
    async send (input) {
      await client.sendIdentityVerification(input.requestId, {
        channelKey: input.channelKey!,
        customer: {
          name: input.name,
          phoneNumber: input.phone,
          identityNumber: input.birth + input.genderDigit,
          ipAddress: input.ipAddress
        },
        operator: input.isMvno ? `${input.carrier}_MVNO` : input.carrier,
        method: 'SMS'
      })
      return input.requestId
    },
    async confirm (id, otp, clock) {
      try {
        return identityFromV2(await client.confirmIdentityVerification(id, otp), clock)
      } catch (err) {
        const code = (err as { code?: unknown }).code
        // PortOne relays the PG's refusal of a code as PG_PROVIDER: it cannot be told from another refusal of the PG.
        if (code === 'FST_IAMPORT_PG_REFUSED') throw new OtpIncorrectError()
        // Completed already (a retry after a lost answer, or a hook that failed): the flow decides.
        if (code === 'FST_IAMPORT_ALREADY_VERIFIED') return await fetchV2(client, id, clock)
        throw err
      }
    },
    resend: async (id) => { await client.resendIdentityVerification(id) }
  })
}

/** Not async: the client's promise, continued (one promise fewer per verification, bench/). */
function fetchV2 (client: PortOneV2Client, id: string, clock: () => Date): Promise<Identity> {
  return client.getIdentityVerification(id).then((verification) => {
    if (verification.status !== 'VERIFIED') throw new NotCertifiedError()
    return identityFromV2(verification, clock)
  })
}

/**
 * The Identity of a PortOne V2 identity verification; `requestId` is its id (V2 ids are chosen by
 * the merchant). Throws FST_IAMPORT_NOT_CERTIFIED unless `status` is `'VERIFIED'`.
 * `clock` is what `age()` reads as now (default: the real time).
 */
export function identityFromV2 (verification: V2VerifiedIdentityVerification, clock?: () => Date): Identity {
  if (verification.status !== 'VERIFIED' || typeof verification.verifiedCustomer !== 'object' ||
      verification.verifiedCustomer === null) {
    throw new NotCertifiedError()
  }
  const customer = verification.verifiedCustomer
  const birthDate = text(customer.birthDate)
  return new VerifiedIdentity({
    verificationId: verification.id,
    requestId: text(verification.id),
    name: text(customer.name) ?? '',
    gender: genderOf(customer.gender),
    birthday: parseBirthday(birthDate) === undefined ? undefined : birthDate,
    ci: text(customer.ci),
    di: text(customer.di),
    phone: text(customer.phoneNumber),
    carrier: carrierOf(customer.operator),
    foreigner: typeof customer.isForeigner === 'boolean' ? customer.isForeigner : undefined,
    pgProvider: text(verification.channel?.pgProvider) ?? V2_PG_PROVIDER,
    certifiedAt: validDate(typeof verification.verifiedAt === 'string' && RFC3339.test(verification.verifiedAt)
      ? Date.parse(verification.verifiedAt)
      : NaN)
  }, clock)
}
