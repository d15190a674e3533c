import type { TSchema } from '@sinclair/typebox'
import type { FastifyReply, FastifyRequest, FastifySchema } from 'fastify'
import type { AgeBasis } from './age.js'
import {
  CERTIFIED_AT_SKEW_SECONDS, DEFAULT_BODY_LIMIT_BYTES, DEFAULT_CERTIFIED_WITHIN_SECONDS,
  DEFAULT_IDENTITY_VERIFICATION_ID_PATTERN, DEFAULT_IMP_UID_PATTERN, DEFAULT_MERCHANT_UID_TTL_SECONDS, DEFAULT_ROUTE_URL
} from './constants.js'
import { InvalidOptionsError } from './errors.js'
import type { Identity } from './identity.js'
import { MemoryStore } from './stores/memory.js'
import type { VerificationStore } from './stores/store.js'

/** A hook result that may be returned directly or as a promise. */
export type MaybePromise<T> = T | Promise<T>

/** Which API the plugin talks to: i'mport (PortOne V1) or PortOne V2 identity verification. */
export type ApiVersion = 'v1' | 'v2'

/**
 * Issued merchant_uids: the route accepts only certifications this server started. With
 * `apiVersion: 'v2'` the issued value is the identity verification id itself, and issuing is on
 * by default.
 */
export interface MerchantUidOptions {
  /** Must be `true`: verifications whose merchant_uid was not issued here are refused. */
  required: true
  /** How long an issued merchant_uid can be used, in seconds (default 1800). */
  ttlSeconds?: number
  /** Who asked for the merchant_uid, e.g. the session id; the same subject must finish the flow. */
  subject?: (request: FastifyRequest) => MaybePromise<string>
}

/** Options of the verification route (`certifications` plugin option). */
export interface CertificationsOptions {
  /** Route URL (default `/certifications`); the prepare route is `${url}/prepare`. */
  url?: string
  /** Minimum age; needs `ageBasis` unless the default (`international`, 만 나이) is meant. */
  minAge?: number
  /** `international` (만 나이, the legal default) or `year` (연 나이, 청소년보호법). */
  ageBasis?: AgeBasis
  /** Host age policy; `false` refuses with FST_IAMPORT_AGE_RESTRICTED. Runs after `minAge`. */
  checkAge?: (identity: Identity, request: FastifyRequest) => MaybePromise<boolean>
  /** A truthy result means "this person already has an account" (FST_IAMPORT_DUPLICATE). */
  findDuplicate?: (identity: Identity, request: FastifyRequest) => MaybePromise<unknown>
  /** Called last; its result is the 200 body (default `{ verified: true }`). */
  onVerified?: (identity: Identity, request: FastifyRequest, reply: FastifyReply) => MaybePromise<unknown>
  /**
   * Which identity key the hooks need: `'ci'` (default when `findDuplicate` is set), `'di'`, or
   * `false`. A certification without it is refused with FST_IAMPORT_MISSING_IDENTITY_KEY.
   */
  requireIdentityKey?: 'ci' | 'di' | false
  /** How old `certified_at` may be, in seconds (default 600; 60 s of clock skew is allowed). */
  certifiedWithinSeconds?: number
  /** Consume each imp_uid once (default `true`); a second use is FST_IAMPORT_REPLAYED. */
  oneTime?: boolean
  /**
   * Issue merchant_uids from `POST {url}/prepare` and accept only those. V1: off unless given.
   * V2: on by default (`{ required: true }`), the prepare route answers `{ identityVerificationId }`;
   * `false` turns it off and accepts any well-formed id the browser chose.
   */
  merchantUid?: MerchantUidOptions | false
  /** Where consumed imp_uids and issued merchant_uids live (default: a MemoryStore). */
  store?: VerificationStore
  /** V1: imp_uid whitelist for the body (default `^imp_[0-9]{6,20}$`). */
  impUidPattern?: string
  /**
   * V2: identity verification id whitelist for the body (default `^[A-Za-z0-9_-]{1,64}$`). With
   * issued ids on, it must accept them (`iv` + 32 hex digits).
   */
  identityVerificationIdPattern?: string
  /** Largest accepted body in bytes (default 1024). */
  bodyLimit?: number
  /** Extra route schema keys (tags, summary, description, security) for OpenAPI. */
  schema?: Omit<FastifySchema, 'body' | 'response'>
  /** Schema of the 200 body that `onVerified` returns, for serialization and OpenAPI. */
  verifiedResponseSchema?: TSchema
  /** Clock for freshness and age (tests); default `() => new Date()`. */
  now?: () => Date
}

/** Route options with defaults applied and checked once, at registration. */
export interface RouteSettings {
  url: string
  minAge: number | undefined
  ageBasis: AgeBasis
  checkAge: CertificationsOptions['checkAge']
  findDuplicate: CertificationsOptions['findDuplicate']
  onVerified: CertificationsOptions['onVerified']
  requireIdentityKey: 'ci' | 'di' | false
  certifiedWithinSeconds: number
  /** How long a consumed imp_uid is remembered: past it, the freshness check refuses it anyway. */
  consumedTtlSeconds: number
  store: VerificationStore | undefined
  merchantUid: { ttlSeconds: number, subject: (request: FastifyRequest) => MaybePromise<string> } | undefined
  /** Whitelist of the body's id (imp_uid in V1, identityVerificationId in V2). */
  idPattern: string
  bodyLimit: number
  schema: Omit<FastifySchema, 'body' | 'response'>
  verifiedResponseSchema: TSchema | undefined
  now: () => Date
}

const anonymous = (): string => 'anonymous'
const systemClock = (): Date => new Date()

/** Applies defaults to the `certifications` option for that API version and refuses bad values by name. */
export function routeSettings (input: string | CertificationsOptions | undefined, apiVersion: ApiVersion = 'v1', clientPattern?: string): RouteSettings {
  const options: CertificationsOptions = typeof input === 'string' ? { url: input } : (input ?? {})
  if (typeof options !== 'object') invalid('certifications must be false, a URL string or an object')
  const url = options.url ?? DEFAULT_ROUTE_URL
  if (typeof url !== 'string' || !url.startsWith('/')) invalid('certifications.url must start with /')
  if (options.minAge !== undefined && !(Number.isInteger(options.minAge) && options.minAge >= 0 && options.minAge <= 150)) {
    invalid('certifications.minAge must be a whole number of years')
  }
  const ageBasis = options.ageBasis ?? 'international'
  if (ageBasis !== 'international' && ageBasis !== 'year') invalid("certifications.ageBasis must be 'international' or 'year'")
  for (const hook of ['checkAge', 'findDuplicate', 'onVerified'] as const) {
    if (options[hook] !== undefined && typeof options[hook] !== 'function') invalid(`certifications.${hook} must be a function`)
  }
  const requireIdentityKey = options.requireIdentityKey ?? (options.findDuplicate === undefined ? false : 'ci')
  if (requireIdentityKey !== false && requireIdentityKey !== 'ci' && requireIdentityKey !== 'di') {
    invalid("certifications.requireIdentityKey must be 'ci', 'di' or false")
  }
  const certifiedWithinSeconds = options.certifiedWithinSeconds ?? DEFAULT_CERTIFIED_WITHIN_SECONDS
  if (!(Number.isInteger(certifiedWithinSeconds) && certifiedWithinSeconds > 0)) {
    invalid('certifications.certifiedWithinSeconds must be a positive whole number')
  }
  const merchantUid = merchantUidSettings(options.merchantUid ?? (apiVersion === 'v2' ? { required: true } : false))
  const oneTime = options.oneTime ?? true
  if (typeof oneTime !== 'boolean') invalid('certifications.oneTime must be a boolean')
  // An issued id is consumed with the imp_uid, so it cannot be re-usable while the imp_uid is.
  if (!oneTime && merchantUid !== undefined) invalid('certifications.oneTime: false needs merchantUid off (issued ids are single-use)')
  if (options.store !== undefined && !isStore(options.store)) invalid('certifications.store must implement issueMerchantUid, consume and release')
  const bodyLimit = options.bodyLimit ?? DEFAULT_BODY_LIMIT_BYTES
  if (!(Number.isInteger(bodyLimit) && bodyLimit > 0)) invalid('certifications.bodyLimit must be a positive whole number')
  const [patternName, idPattern] = apiVersion === 'v2'
    ? ['identityVerificationIdPattern', options.identityVerificationIdPattern ?? clientPattern ?? DEFAULT_IDENTITY_VERIFICATION_ID_PATTERN]
    : ['impUidPattern', options.impUidPattern ?? clientPattern ?? DEFAULT_IMP_UID_PATTERN]
  try {
    RegExp(idPattern)
  } catch {
    invalid(`certifications.${patternName} must be a valid regular expression`)
  }
  return {
    url,
    minAge: options.minAge,
    ageBasis,
    checkAge: options.checkAge,
    findDuplicate: options.findDuplicate,
    onVerified: options.onVerified,
    requireIdentityKey,
    certifiedWithinSeconds,
    consumedTtlSeconds: certifiedWithinSeconds + 2 * CERTIFIED_AT_SKEW_SECONDS,
    store: oneTime || merchantUid !== undefined ? (options.store ?? new MemoryStore()) : undefined,
    merchantUid,
    idPattern,
    bodyLimit,
    schema: options.schema ?? {},
    verifiedResponseSchema: options.verifiedResponseSchema,
    now: options.now ?? systemClock
  }
}

function merchantUidSettings (options: MerchantUidOptions | false): RouteSettings['merchantUid'] {
  if (options === false) return undefined
  if (options.required !== true) invalid('certifications.merchantUid.required must be true (false turns issuing off)')
  const ttlSeconds = options.ttlSeconds ?? DEFAULT_MERCHANT_UID_TTL_SECONDS
  if (!(Number.isInteger(ttlSeconds) && ttlSeconds > 0)) invalid('certifications.merchantUid.ttlSeconds must be a positive whole number')
  if (options.subject !== undefined && typeof options.subject !== 'function') invalid('certifications.merchantUid.subject must be a function')
  return { ttlSeconds, subject: options.subject ?? anonymous }
}

function isStore (store: unknown): store is VerificationStore {
  const s = store as Partial<VerificationStore> | null
  return typeof s?.issueMerchantUid === 'function' && typeof s.consume === 'function' && typeof s.release === 'function'
}

function invalid (message: string): never {
  throw new InvalidOptionsError(message)
}
