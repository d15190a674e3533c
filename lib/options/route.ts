import { Type, type TSchema } from '@sinclair/typebox'
import type { FastifyReply, FastifyRequest, RouteShorthandOptions } from 'fastify'
import type { AgeBasis } from '../age.js'
import {
  CERTIFIED_AT_SKEW_SECONDS, CONSUMED_TTL_SECONDS, DEFAULT_BODY_LIMIT_BYTES, DEFAULT_CERTIFIED_WITHIN_SECONDS,
  DEFAULT_ISSUED_ID_TTL_SECONDS, DEFAULT_ROUTE_URL
} from '../constants.js'
import { InvalidOptionsError } from '../errors.js'
import { compilePattern } from '../id-path-segment.js'
import type { Identity } from '../identity.js'
import type { RouteProfile } from '../provider.js'
import { guardStore, type GuardedStore } from '../stores/guard.js'
import { MemoryStore } from '../stores/memory.js'
import type { VerificationStore } from '../stores/store.js'
import { AnyObject, Hook, Literals, NonEmptyString, Optional, Options, Pattern, PositiveInteger, WithMethods } from './kinds.js'

/** A hook result that may be returned directly or as a promise. */
export type MaybePromise<T> = T | Promise<T>

/**
 * Issued ids: the route accepts only verifications this server started, from `POST {url}/prepare`.
 * V1 issues merchant_uids; V2 issues the identity verification id itself, and is on by default.
 */
export interface IssuedIdsOptions {
  /** Must be `true`: verifications whose id was not issued here are refused. */
  required: true
  /** How long an issued id can be used, in seconds (default 1800). */
  ttlSeconds?: number | undefined
  /**
   * Who asked for the id, e.g. the session id; the same subject must finish the flow. Default:
   * the browser, through a random HttpOnly, SameSite=Lax `idv_binding` cookie that prepare sets.
   */
  subject?: ((request: FastifyRequest) => MaybePromise<string>) | undefined
}

/** The route schema keys that only document it (OpenAPI); the body and responses are the plugin's. */
export interface RouteDocumentation {
  tags?: string[] | undefined
  summary?: string | undefined
  description?: string | undefined
  security?: Array<Record<string, string[]>> | undefined
  operationId?: string | undefined
  deprecated?: boolean | undefined
  hide?: boolean | undefined
}

/**
 * Fastify route options the plugin's routes (verification, prepare and the OTP routes) pass through: for
 * @fastify/rate-limit (`config.rateLimit`), CSRF protection or auth (`onRequest`, `preHandler`),
 * `logLevel` and `constraints`. The body, schema and handler stay the plugin's.
 */
export type PluginRouteOptions = Pick<RouteShorthandOptions, 'config' | 'onRequest' | 'preValidation' | 'preHandler' | 'logLevel' | 'constraints'>

// Defaults of the OTP routes (`certifications.otp`).
/** Wrong codes one verification id may be confirmed with. */
export const DEFAULT_OTP_ATTEMPTS = 5
/** Seconds between two codes sent to the same requester. */
export const DEFAULT_OTP_RESEND_COOLDOWN_SECONDS = 60
/** Seconds a code can be confirmed after it was sent: the 3 minutes Korean SMS verification uses. */
export const DEFAULT_OTP_CODE_TTL_SECONDS = 180
/**
 * Verifications with a code pending that one route keeps in memory, and as many requesters'
 * cooldowns; the oldest gives way. Measured (Node 20, heapUsed after 100 000 sends, `iv` + 32 hex
 * ids, a binding cookie each): 338 bytes a sent code, both maps included, so 34 MB when full.
 */
export const DEFAULT_OTP_MAX_PENDING = 100_000

/**
 * Server-driven (SMS) verification (`certifications.otp`): `POST {url}/otp` sends a code to the
 * person's phone, `POST {url}/otp/confirm` checks it and runs the verification flow of the route.
 */
export interface OtpOptions {
  /** Wrong codes accepted per verification id, the last one included (default 5); then FST_IAMPORT_OTP_ATTEMPTS_EXCEEDED. */
  attempts?: number | undefined
  /** Seconds before the same requester can be sent another code (default 60; `0` turns it off); FST_IAMPORT_OTP_TOO_SOON. */
  resendCooldownSeconds?: number | undefined
  /** Seconds a code can be confirmed after it was sent (default 180); then FST_IAMPORT_OTP_EXPIRED. */
  codeTtlSeconds?: number | undefined
  /** Channel key of the identity verification channel: required by PortOne V2; V1 sends it as `channel_key` (KCP needs it). */
  channelKey?: string | undefined
  /** Verifications with a pending code kept in memory (default 100 000); the oldest gives way. */
  maxPending?: number | undefined
}

/** Options of the verification route (`certifications` plugin option). */
export interface CertificationsOptions {
  /** Route URL (default `/certifications`); the prepare route is `${url}/prepare`. */
  url?: string | undefined
  /** Minimum age; needs `ageBasis` unless the default (`international`, 만 나이) is meant. */
  minAge?: number | undefined
  /** `international` (만 나이, the legal default) or `year` (연 나이, 청소년보호법). */
  ageBasis?: AgeBasis | undefined
  /** Host age policy; `false` refuses with FST_IAMPORT_AGE_RESTRICTED. Runs after `minAge`. */
  checkAge?: ((identity: Identity, request: FastifyRequest) => MaybePromise<boolean>) | undefined
  /** A truthy result means "this person already has an account" (FST_IAMPORT_DUPLICATE). */
  findDuplicate?: ((identity: Identity, request: FastifyRequest) => MaybePromise<unknown>) | undefined
  /** Called last; its result is the 200 body (default `{ verified: true }`). */
  onVerified?: ((identity: Identity, request: FastifyRequest, reply: FastifyReply) => MaybePromise<unknown>) | undefined
  /**
   * Which identity key the hooks need: `'ci'` (default when `findDuplicate` is set), `'di'`, or
   * `false`. A verification without it is refused with FST_IAMPORT_MISSING_IDENTITY_KEY.
   */
  requireIdentityKey?: 'ci' | 'di' | false | undefined
  /** How old the verification may be, in seconds (default 600; 60 s of clock skew is allowed). */
  certifiedWithinSeconds?: number | undefined
  /** Consume each verification once (default `true`); a second use is FST_IAMPORT_REPLAYED. */
  oneTime?: boolean | undefined
  /**
   * Issue ids from `POST {url}/prepare` and accept only those. V1: off unless given. V2: on by
   * default (`{ required: true }`); `false` turns it off and accepts any well-formed id.
   */
  issuedIds?: IssuedIdsOptions | false | undefined
  /**
   * V1: erase the certification at i'mport (`DELETE /certifications/{imp_uid}`) once `onVerified`
   * has succeeded, so nothing personal stays upstream (default `false`). A failed erasure is
   * logged, without personal data, and the verification still succeeds. V2 has no such call.
   */
  eraseAfterVerify?: boolean | undefined
  /**
   * Where consumed verifications and issued ids live. Default: one MemoryStore shared by every
   * registration in the process, so a verification is used once whatever the route.
   */
  store?: VerificationStore | undefined
  /**
   * Whitelist of the body's id, a RegExp or a string (default: the client's pattern, else V1
   * `^imp_[0-9]{6,20}$`, V2 `^[A-Za-z0-9_-]{1,64}$`). Flags are kept, except `g` and `y`.
   */
  idPattern?: RegExp | string | undefined
  /** Largest accepted body in bytes, for the verification and the OTP routes (default 1024). */
  bodyLimit?: number | undefined
  /** Documentation keys of the route schema, for OpenAPI. */
  schema?: RouteDocumentation | undefined
  /** Route options for every route of the plugin, the OTP ones included (rate limits, auth, CSRF, `logLevel`). */
  routeOptions?: PluginRouteOptions | undefined
  /**
   * JSON schema of the 200 body that `onVerified` returns, for serialization and OpenAPI: from
   * @sinclair/typebox 0.34, typebox 1.x, or a plain object (`as const` works).
   */
  verifiedResponseSchema?: object | undefined
  /**
   * Server-driven (SMS) verification for apps and kiosks: `POST {url}/otp`, `POST {url}/otp/confirm`
   * and (V2) `POST {url}/otp/resend`, with the same checks, store and hooks as the popup route.
   * `true` for the defaults; off unless given. Needs `oneTime` (the default).
   */
  otp?: boolean | OtpOptions | undefined
  /** Clock for freshness, age and the OTP timers (tests); default `() => new Date()`. */
  now?: (() => Date) | undefined
}

const Text = (): TSchema => Type.String({ errorMessage: 'must be a string' })
const Flag = (): TSchema => Type.Boolean({ errorMessage: 'must be a boolean' })

const IssuedIdsSchema = Options({
  required: Type.Literal(true, { errorMessage: 'must be true (issuedIds: false turns issuing off)' }),
  ttlSeconds: Optional(PositiveInteger('whole number of seconds')),
  subject: Optional(Hook())
})

const DocumentationSchema = Options({
  tags: Optional(Type.Array(Type.String(), { errorMessage: 'must be an array of strings' })),
  summary: Optional(Text()),
  description: Optional(Text()),
  security: Optional(Type.Array(AnyObject('must be an object'), { errorMessage: 'must be an array of security requirements' })),
  operationId: Optional(Text()),
  deprecated: Optional(Flag()),
  hide: Optional(Flag())
})

/** One hook or an array of hooks, as Fastify takes them. */
const Hooks = (): TSchema => Type.Union([Hook(), Type.Array(Hook())], { errorMessage: 'must be a function or an array of functions' })

const RouteOptionsSchema = Options({
  config: Optional(AnyObject('must be an object')),
  onRequest: Optional(Hooks()),
  preValidation: Optional(Hooks()),
  preHandler: Optional(Hooks()),
  logLevel: Optional(Literals(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'], 'must be a pino level')),
  constraints: Optional(AnyObject('must be an object'))
})

const OtpSchema = Options({
  attempts: Optional(PositiveInteger('whole number')),
  resendCooldownSeconds: Optional(Type.Integer({ minimum: 0, errorMessage: 'must be a whole number of seconds (0 or more)' })),
  codeTtlSeconds: Optional(PositiveInteger('whole number of seconds')),
  channelKey: Optional(NonEmptyString()),
  maxPending: Optional(PositiveInteger('whole number'))
})

const CertificationsSchema = Options({
  url: Optional(Type.String({ pattern: '^/', errorMessage: 'must start with /' })),
  minAge: Optional(Type.Integer({ minimum: 0, maximum: 150, errorMessage: 'must be a whole number of years' })),
  ageBasis: Optional(Literals(['international', 'year'], "must be 'international' or 'year'")),
  checkAge: Optional(Hook()),
  findDuplicate: Optional(Hook()),
  onVerified: Optional(Hook()),
  requireIdentityKey: Optional(Type.Union([Type.Literal('ci'), Type.Literal('di'), Type.Literal(false)], { errorMessage: "must be 'ci', 'di' or false" })),
  certifiedWithinSeconds: Optional(PositiveInteger('whole number of seconds')),
  oneTime: Optional(Flag()),
  eraseAfterVerify: Optional(Flag()),
  issuedIds: Optional(Type.Union([Type.Literal(false), IssuedIdsSchema], { errorMessage: 'must be false or { required: true }' })),
  store: Optional(WithMethods('Store', ['issue', 'consume', 'release'], 'must implement issue, consume and release')),
  idPattern: Optional(Pattern({ errorMessage: 'must be a RegExp or a valid regular expression' })),
  bodyLimit: Optional(PositiveInteger('whole number of bytes')),
  schema: Optional(DocumentationSchema),
  routeOptions: Optional(RouteOptionsSchema),
  verifiedResponseSchema: Optional(AnyObject('must be a JSON schema object')),
  otp: Optional(Type.Union([Type.Boolean(), OtpSchema], { errorMessage: 'must be a boolean or an object' })),
  now: Optional(Hook())
})

/** The `certifications` plugin option, for both generations' plugin schemas. */
export const certificationsProperty = Optional(Type.Union([
  Type.Literal(false), Type.String({ pattern: '^/' }), CertificationsSchema
], { errorMessage: 'must be false, a URL starting with / or an object' }))

/** Route options with defaults applied, once, at registration. */
export interface RouteSettings {
  url: string
  minAge: number | undefined
  ageBasis: AgeBasis
  checkAge: CertificationsOptions['checkAge']
  findDuplicate: CertificationsOptions['findDuplicate']
  onVerified: CertificationsOptions['onVerified']
  requireIdentityKey: 'ci' | 'di' | false
  eraseAfterVerify: boolean
  certifiedWithinSeconds: number
  /** How long a consumed verification is remembered: hours, far past the freshness window. */
  consumedTtlMs: number
  /** The store behind one-time use and issued ids, failing closed; `undefined` when neither is on. */
  store: GuardedStore | undefined
  /** With issued ids: their lifetime, and the host's subject (`undefined`: the binding cookie). */
  issuedIds: { ttlSeconds: number, subject: ((request: FastifyRequest) => MaybePromise<string>) | undefined } | undefined
  /** The store as given or defaulted, for its `ready` check (`store` is its guarded view). */
  rawStore: VerificationStore | undefined
  /** Whitelist of the body's id. */
  idPattern: RegExp
  bodyLimit: number
  schema: RouteDocumentation
  routeOptions: PluginRouteOptions
  verifiedResponseSchema: object | undefined
  /** The OTP routes, when on. */
  otp: OtpSettings | undefined
  now: () => Date
}

/** `certifications.otp` with defaults applied. */
export interface OtpSettings {
  attempts: number
  resendCooldownMs: number
  codeTtlMs: number
  channelKey: string | undefined
  maxPending: number
  /**
   * The binding of OTP ids: the route's `issuedIds`, else (issued ids off for the popup) the
   * binding cookie with the default ttl. OTP ids are always bound to their requester.
   */
  issuedIds: { ttlSeconds: number, subject: ((request: FastifyRequest) => MaybePromise<string>) | undefined }
}

const systemClock = (): Date => new Date()

/** The process-wide default store: one ledger, whatever the route or registration. */
let processStore: MemoryStore | undefined

/**
 * Applies the defaults of that API generation to the `certifications` option, already checked
 * against its schema by the plugin; refuses combinations a schema cannot express.
 */
export function routeSettings (input: string | CertificationsOptions | undefined, profile: RouteProfile, clientPattern: RegExp | string | undefined): RouteSettings {
  const options: CertificationsOptions = typeof input === 'string' ? { url: input } : (input ?? {})
  const issuedOption = options.issuedIds ?? (profile.issuesByDefault ? { required: true } : false)
  const issuedIds = issuedOption === false
    ? undefined
    : { ttlSeconds: issuedOption.ttlSeconds ?? DEFAULT_ISSUED_ID_TTL_SECONDS, subject: issuedOption.subject }
  const oneTime = options.oneTime ?? true
  // An issued id is consumed with the verification, so it cannot be re-usable while the verification is.
  if (!oneTime && issuedIds !== undefined) invalid('certifications.oneTime: false needs issuedIds: false (issued ids are single-use)')
  const idPattern = compilePattern(options.idPattern ?? clientPattern ?? profile.defaultIdPattern)
  // Where the issued id is what the browser posts back, a pattern that refuses it would refuse everyone.
  if (profile.postsIssuedId && issuedIds !== undefined && !idPattern.test(profile.issue())) {
    invalid(`certifications.idPattern must accept the issued ${profile.issuedName}`)
  }
  const eraseAfterVerify = options.eraseAfterVerify ?? false
  if (eraseAfterVerify && profile.noErasure !== undefined) invalid(`certifications.eraseAfterVerify: ${profile.noErasure}`)
  const certifiedWithinSeconds = options.certifiedWithinSeconds ?? DEFAULT_CERTIFIED_WITHIN_SECONDS
  const store = oneTime || issuedIds !== undefined ? (options.store ?? (processStore ??= new MemoryStore())) : undefined
  const otp = options.otp === undefined || options.otp === false ? undefined : otpSettings(options.otp, issuedIds)
  // The OTP confirmation consumes its verification like the popup's: a code proves one sign-up, once.
  if (otp !== undefined && !oneTime) invalid('certifications.otp needs oneTime (OTP verifications are single-use)')
  return {
    url: options.url ?? DEFAULT_ROUTE_URL,
    minAge: options.minAge,
    ageBasis: options.ageBasis ?? 'international',
    checkAge: options.checkAge,
    findDuplicate: options.findDuplicate,
    onVerified: options.onVerified,
    requireIdentityKey: options.requireIdentityKey ?? (options.findDuplicate === undefined ? false : 'ci'),
    eraseAfterVerify,
    certifiedWithinSeconds,
    consumedTtlMs: Math.max(CONSUMED_TTL_SECONDS, certifiedWithinSeconds + 2 * CERTIFIED_AT_SKEW_SECONDS) * 1000,
    store: store === undefined ? undefined : guardStore(store),
    rawStore: store,
    issuedIds,
    idPattern,
    bodyLimit: options.bodyLimit ?? DEFAULT_BODY_LIMIT_BYTES,
    schema: options.schema ?? {},
    routeOptions: options.routeOptions ?? {},
    verifiedResponseSchema: options.verifiedResponseSchema,
    otp,
    now: options.now ?? systemClock
  }
}

function otpSettings (input: true | OtpOptions, issuedIds: RouteSettings['issuedIds']): OtpSettings {
  const options: OtpOptions = input === true ? {} : input
  return {
    attempts: options.attempts ?? DEFAULT_OTP_ATTEMPTS,
    resendCooldownMs: (options.resendCooldownSeconds ?? DEFAULT_OTP_RESEND_COOLDOWN_SECONDS) * 1000,
    codeTtlMs: (options.codeTtlSeconds ?? DEFAULT_OTP_CODE_TTL_SECONDS) * 1000,
    channelKey: options.channelKey,
    maxPending: options.maxPending ?? DEFAULT_OTP_MAX_PENDING,
    issuedIds: issuedIds ?? { ttlSeconds: DEFAULT_ISSUED_ID_TTL_SECONDS, subject: undefined }
  }
}

function invalid (message: string): never {
  throw new InvalidOptionsError(message)
}
