import { randomBytes } from 'node:crypto'
import { birthdayFromBirth, parseBirthday } from '../age.js'
import { DEFAULT_IMP_UID_PATTERN } from '../constants.js'
import type { IamportEnvironment } from '../environment.js'
import { NotCertifiedError, OtpIncorrectError } from '../errors.js'
import { carrierOf, genderOf, text, validDate, VerifiedIdentity, type Identity } from '../identity.js'
import { required } from '../options/check.js'
import { Literals, Optional, Options } from '../options/kinds.js'
import { certificationsProperty, type CertificationsOptions } from '../options/route.js'
import type { Optionally, Provider } from '../provider.js'
import { transportProperties } from '../upstream.js'
import { IamportClient, v1ClientProperties, type IamportClientOptions } from './client.js'
import type { Certification } from './schemas.js'

/** Plugin options with `apiVersion: 'v1'` (the default): i'mport (PortOne V1) certifications. */
export interface IamportPluginOptions extends Optionally<IamportClientOptions> {
  /** `'v1'` (default): i'mport (PortOne V1) certifications; decorates `fastify.iamport`. */
  apiVersion?: 'v1' | undefined
  /**
   * The verification route: `false` for the client only, a URL string, or route options.
   * Default: the route at `/certifications` with the built-in checks and no policy hooks.
   */
  certifications?: false | string | CertificationsOptions | undefined
  /** V2 only. */
  storeId?: never
  /** V2 only; V1 has `impUidPattern`. */
  identityVerificationIdPattern?: never
}

const { apiKey, apiSecret, ...optionalClientProperties } = v1ClientProperties

/** i'mport (PortOne V1): `{ imp_uid }`; issued merchant_uids are `mid` + 32 hex (within KCP's 40 characters). */
export const v1Provider: Provider<IamportPluginOptions, IamportClient> = {
  decorator: 'iamport',
  optionsSchema: Options({
    apiVersion: Optional(Literals(['v1'], "must be 'v1' or 'v2'")),
    apiKey: Optional(apiKey),
    apiSecret: Optional(apiSecret),
    ...optionalClientProperties,
    ...transportProperties,
    certifications: certificationsProperty
  }),
  route: {
    version: 'v1',
    idField: 'imp_uid',
    defaultIdPattern: DEFAULT_IMP_UID_PATTERN,
    issuedField: 'merchantUid',
    issuesByDefault: false,
    postsIssuedId: false,
    issue: () => 'mid' + randomBytes(16).toString('hex'),
    logKey: 'impUid',
    issuedName: 'merchant_uids'
  },
  createClient (options: IamportPluginOptions, environment: IamportEnvironment) {
    return new IamportClient({
      apiKey: options.apiKey ?? environment.IAMPORT_API_KEY ?? required('apiKey (or env IAMPORT_API_KEY)'),
      apiSecret: options.apiSecret ?? environment.IAMPORT_API_SECRET ?? required('apiSecret (or env IAMPORT_API_SECRET)'),
      baseUrl: options.baseUrl ?? environment.IAMPORT_BASE_URL,
      tier: options.tier,
      timeoutMs: options.timeoutMs,
      dispatcher: options.dispatcher,
      connections: options.connections,
      impUidPattern: options.impUidPattern
    })
  },
  clientIdPattern: (options) => options.impUidPattern,
  // Not async: the client's promise, continued (one promise fewer per verification, bench/).
  fetcher: (client) => (impUid, clock) => client.getCertification(impUid).then((certification) => {
    // `null` and an absent `certified` are not a completed verification: only `true` is.
    if (certification.certified !== true) throw new NotCertifiedError()
    return identityFromCertification(certification, clock)
  }),
  eraser: (client) => async (impUid) => { await client.deleteCertification(impUid) },
  otp: (client) => ({
    needsChannelKey: false,
    async send (input) {
      const { impUid } = await client.requestOtp({
        name: input.name,
        phone: input.phone,
        birth: input.birth,
        genderDigit: input.genderDigit,
        carrier: input.carrier === 'LGU' ? 'LGT' : input.carrier,
        isMvno: input.isMvno,
        merchantUid: input.requestId,
        ...(input.channelKey === undefined ? {} : { channelKey: input.channelKey })
      })
      return impUid
    },
    async confirm (impUid, otp, clock) {
      let certification: Certification
      try {
        certification = await client.confirmOtp(impUid, otp)
      } catch (err) {
        if ((err as { upstreamStatus?: unknown }).upstreamStatus !== 400) throw err
        // i'mport answers a wrong code and a certification completed already alike (400): the
        // lookup tells them apart, so a retry after a lost answer is not counted as a wrong code.
        certification = await client.getCertification(impUid)
        if (certification.certified !== true) throw new OtpIncorrectError()
      }
      // i'mport answers a confirmation with the certified record; anything else is not trusted.
      if (certification.certified !== true) throw new NotCertifiedError()
      return identityFromCertification(certification, clock)
    },
    // V1 has no resend call: the person asks for a new code with `POST {url}/otp` (a new imp_uid).
    resend: undefined
  })
}

/** V1: `birthday` when it is a real `YYYY-MM-DD`; only when it is absent, the legacy `birth`. */
function v1Birthday (certification: Certification): string | undefined {
  const birthday = text(certification.birthday)
  if (birthday !== undefined) return parseBirthday(birthday) === undefined ? undefined : birthday
  return birthdayFromBirth(certification.birth)
}

/**
 * The Identity of an i'mport V1 certification. It does not check `certified`, `certified_at` or
 * `merchant_uid`: the caller does. `clock` is what `age()` reads as now (default: the real time).
 */
export function identityFromCertification (certification: Certification, clock?: () => Date): Identity {
  const certifiedAt = certification.certified_at
  return new VerifiedIdentity({
    verificationId: certification.imp_uid,
    requestId: text(certification.merchant_uid),
    name: text(certification.name) ?? '',
    gender: genderOf(certification.gender),
    birthday: v1Birthday(certification),
    ci: text(certification.unique_key),
    di: text(certification.unique_in_site),
    phone: text(certification.phone),
    carrier: carrierOf(certification.carrier),
    foreigner: typeof certification.foreigner_v2 === 'boolean' ? certification.foreigner_v2 : undefined,
    pgProvider: text(certification.pg_provider) ?? '',
    certifiedAt: validDate(typeof certifiedAt === 'number' ? certifiedAt * 1000 : NaN)
  }, clock)
}
