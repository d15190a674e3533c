import type { TSchema } from '@sinclair/typebox'
import type { IamportEnvironment } from './environment.js'
import type { Identity } from './identity.js'

/** Which API the plugin talks to: i'mport (PortOne V1) or PortOne V2 identity verification. */
export type ApiVersion = 'v1' | 'v2'

/**
 * What the verification route needs to know of an API generation. Everything else (checks,
 * store, hooks, answers) is shared, so the route never asks which generation it serves.
 */
export interface RouteProfile {
  /** Which generation this is, as data for metrics (never branched on). */
  version: ApiVersion
  /** Body field carrying the id: `imp_uid` (V1) or `identityVerificationId` (V2). */
  idField: string
  /** Whitelist of the body's id unless the host sets one. */
  defaultIdPattern: string
  /** Field of the `POST {url}/prepare` answer. */
  issuedField: string
  /** Whether `POST {url}/prepare` and binding are on unless the host turns them off. */
  issuesByDefault: boolean
  /** The issued id is the verification id the browser posts back (V2), so the id pattern must accept it. */
  postsIssuedId: boolean
  /** A new unguessable id for `POST {url}/prepare`: 128 random bits, alphanumeric. */
  issue: () => string
  /** Key of the id in the route's log line. */
  logKey: string
  /** What the issued ids are called in messages. */
  issuedName: string
  /** Why `eraseAfterVerify` is refused, where the API has no erasure call. */
  noErasure?: string
}

/**
 * Every key optional and `undefined`-able: plugin options fall back to the environment, and
 * `apiKey: process.env.IAMPORT_API_KEY` must compile under `exactOptionalPropertyTypes`.
 */
export type Optionally<T> = { [K in keyof T]?: T[K] | undefined }

/** Fetches what upstream holds for the id and returns its Identity (FST_IAMPORT_NOT_CERTIFIED unless it completed). */
export type FetchIdentity = (id: string, clock: () => Date) => Promise<Identity>

/** The client a provider builds: closed with the app. */
export interface ProviderClient {
  close: () => Promise<void>
}

/**
 * One API generation, everything that differs between V1 and V2 in one module: its plugin options,
 * building its client from them and the environment, its decorator, and the route profile.
 */
export interface Provider<Options, Client extends ProviderClient> {
  /** Name of the decorator holding the client: `iamport` (V1) or `portone` (V2). */
  decorator: string
  /** Schema of the plugin options of this generation. */
  optionsSchema: TSchema
  route: RouteProfile
  /** The client, from the options and, where an option is absent, the environment. */
  createClient (options: Options, environment: IamportEnvironment): Client
  /** The client's id whitelist option, the default of the route's. */
  clientIdPattern (options: Options): RegExp | string | undefined
  /** "Fetch and normalize" with this client. */
  fetcher (client: Client): FetchIdentity
  /** Erases a verification upstream (`eraseAfterVerify`); `undefined` where the API has no such call. */
  eraser (client: Client): EraseVerification | undefined
  /** Server-driven (SMS) verification with this client, for the `POST {url}/otp*` routes. */
  otp (client: Client): OtpUpstream
}

/** Carriers as the OTP route takes them: V2's names (V1 sends `LGU` as `LGT`). */
export type OtpCarrier = 'SKT' | 'KT' | 'LGU'

/** What the OTP route sends upstream, checked by its body schema, in neutral names. */
export interface OtpSendInput {
  /**
   * The id the route issued and bound to the requester (`mid`/`iv` + 32 hex). V1 sends it as
   * `merchant_uid`; V2 uses it as the verification id.
   */
  requestId: string
  name: string
  /** Digits only, 10 or 11, starting `01`. */
  phone: string
  /** `YYMMDD`. */
  birth: string
  /** 7th digit of the resident registration number, 1-8. */
  genderDigit: string
  carrier: OtpCarrier
  /** An MVNO (알뜰폰) subscriber on `carrier`'s network. */
  isMvno: boolean
  /** The requester's IP address (V2 rate-limits with it; V1 does not take it). */
  ipAddress: string
  /** `certifications.otp.channelKey`. */
  channelKey: string | undefined
}

/**
 * What differs between V1 and V2 in server-driven (SMS) verification; the OTP routes (attempts,
 * cooldown, binding, the verification flow) are the same for both.
 */
export interface OtpUpstream {
  /** Whether the route needs `otp.channelKey`: V2's send names its channel; V1 takes one (KCP) but needs none. */
  needsChannelKey: boolean
  /**
   * Sends the code for a new verification and returns the verification's id: V1 gets a new
   * `imp_uid` from upstream; V2 starts the verification under `requestId` (the server picks the id).
   */
  send (input: OtpSendInput): Promise<string>
  /**
   * Confirms the code and returns the Identity. A code upstream refused is
   * FST_IAMPORT_OTP_INCORRECT; a verification that completed already gives its Identity (so a
   * retry runs the flow, whose store answers a replay).
   */
  confirm (id: string, otp: string, clock: () => Date): Promise<Identity>
  /** Sends a new code for the same id; `undefined` where the API has no such call (V1: `POST {url}/otp` again). */
  resend: ((id: string) => Promise<void>) | undefined
}

/** Erases what upstream holds for a verification id. */
export type EraseVerification = (id: string) => Promise<void>
