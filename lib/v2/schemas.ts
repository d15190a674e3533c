import { Type, type Static } from '@sinclair/typebox'
import { TypeCompiler } from '@sinclair/typebox/compiler'

/**
 * Schemas of what PortOne V2 answers to `GET /identity-verifications/{id}`. Tolerant on purpose:
 * unknown fields are ignored and only what the route reads is required. `status` discriminates
 * READY, VERIFIED and FAILED; any other status is an unexpected shape.
 */

const VerifiedCustomerSchema = Type.Object({
  id: Type.Optional(Type.String()),
  /** The only field the API always sends. */
  name: Type.String(),
  /** `yyyy-MM-dd`. */
  birthDate: Type.Optional(Type.String()),
  /** `MALE`, `FEMALE` or `OTHER`. */
  gender: Type.Optional(Type.String()),
  /** Digits only. */
  phoneNumber: Type.Optional(Type.String()),
  /** `SKT`, `KT`, `LGU` or one of the `_MVNO` forms. */
  operator: Type.Optional(Type.String()),
  isForeigner: Type.Optional(Type.Boolean()),
  ci: Type.Optional(Type.String()),
  di: Type.Optional(Type.String())
})

const ChannelSchema = Type.Object({ pgProvider: Type.Optional(Type.String()) })

/** Fields every status shares; all RFC 3339 date-times are strings. */
const common = {
  id: Type.String(),
  channel: Type.Optional(ChannelSchema),
  customData: Type.Optional(Type.String()),
  requestedAt: Type.Optional(Type.String()),
  updatedAt: Type.Optional(Type.String()),
  statusChangedAt: Type.Optional(Type.String()),
  /** `V1` or `V2`: which PortOne generation the verification was started from. */
  version: Type.Optional(Type.String())
}

export const VerifiedIdentityVerificationSchema = Type.Object({
  ...common,
  status: Type.Literal('VERIFIED'),
  verifiedCustomer: VerifiedCustomerSchema,
  verifiedAt: Type.String(),
  pgTxId: Type.Optional(Type.String())
})

export const ReadyIdentityVerificationSchema = Type.Object({
  ...common,
  status: Type.Literal('READY')
})

export const FailedIdentityVerificationSchema = Type.Object({
  ...common,
  status: Type.Literal('FAILED'),
  failure: Type.Optional(Type.Object({
    reason: Type.Optional(Type.String()),
    pgCode: Type.Optional(Type.String()),
    pgMessage: Type.Optional(Type.String())
  }))
})

export const IdentityVerificationSchema = Type.Union([
  VerifiedIdentityVerificationSchema, ReadyIdentityVerificationSchema, FailedIdentityVerificationSchema
])

/** A PortOne V2 identity verification with `status: 'VERIFIED'` (`GET /identity-verifications/{id}`). */
export interface V2VerifiedIdentityVerification {
  id: string
  status: 'VERIFIED'
  /** RFC 3339 date-time. */
  verifiedAt: string
  verifiedCustomer: {
    name: string
    /** `yyyy-MM-dd`. */
    birthDate?: string
    gender?: string
    phoneNumber?: string
    operator?: string
    isForeigner?: boolean
    ci?: string
    di?: string
    id?: string
  }
  channel?: { pgProvider?: string }
  customData?: string
  [k: string]: unknown
}

/** A V2 identity verification that has not completed yet. */
export type V2ReadyIdentityVerification = Static<typeof ReadyIdentityVerificationSchema> & Record<string, unknown>
/** A V2 identity verification that failed at the PG. */
export type V2FailedIdentityVerification = Static<typeof FailedIdentityVerificationSchema> & Record<string, unknown>
/**
 * One PortOne V2 identity verification as `GET /identity-verifications/{id}` returns it (upstream names).
 * The client returns what the compiled schema accepted as this type, so tsc checks that the
 * VERIFIED schema fits what the V2 provider reads.
 */
export type V2IdentityVerification = V2VerifiedIdentityVerification | V2ReadyIdentityVerification | V2FailedIdentityVerification

/** The body of every V2 error answer; a `PG_PROVIDER` one also has the PG's `pgCode` (and `pgMessage`, never read). */
export const V2ErrorSchema = Type.Object({
  type: Type.String(),
  message: Type.Optional(Type.String()),
  pgCode: Type.Optional(Type.Unknown())
})

/** What `POST /identity-verifications/{id}/confirm` answers: the verification, completed. */
export const ConfirmIdentityVerificationResponseSchema = Type.Object({
  identityVerification: VerifiedIdentityVerificationSchema
})

/** What `send` and `resend` answer: an empty object (unknown fields ignored). */
export const EmptyResponseSchema = Type.Object({})

/** Operators of `send`: V1's `LGT` is `LGU` here, and an MVNO (알뜰폰) has its own value. */
export type V2Operator = 'SKT' | 'KT' | 'LGU' | 'SKT_MVNO' | 'KT_MVNO' | 'LGU_MVNO'

/** The body of `POST /identity-verifications/{id}/send` (the client adds `storeId`). */
export interface V2SendIdentityVerificationInput {
  /** The channel key of the identity verification channel (console: 결제 연동 → 채널 관리). */
  channelKey: string
  customer: {
    /** The merchant's customer id. */
    id?: string
    name: string
    /** Digits only. */
    phoneNumber: string
    /** The first 7 digits of the resident registration number (`YYMMDD` and the gender digit); required for SMS. */
    identityNumber?: string
    /** The person's IP address: PortOne limits the rate of requests with it. */
    ipAddress: string
  }
  operator: V2Operator
  /** `SMS`: a code to type in; `APP`: approval in the carrier's app (no code). */
  method: 'SMS' | 'APP'
  customData?: string
  /** PG-specific parameters. */
  bypass?: Record<string, unknown>
}

/** Compiled once at load: the hot path never interprets a schema. */
export const identityVerificationCheck = TypeCompiler.Compile(IdentityVerificationSchema)
export const v2ErrorCheck = TypeCompiler.Compile(V2ErrorSchema)
export const confirmResponseCheck = TypeCompiler.Compile(ConfirmIdentityVerificationResponseSchema)
export const emptyResponseCheck = TypeCompiler.Compile(EmptyResponseSchema)
