import { Type, type Static, type TSchema } from '@sinclair/typebox'
import { TypeCompiler } from '@sinclair/typebox/compiler'

/**
 * Schemas of what i'mport (V1) answers. Tolerant on purpose: unknown fields are ignored and every
 * field the spec does not require may be absent; fields seen as `null` in real responses allow it.
 */

const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()])

/** The `{ code, message, response }` wrapper around every V1 answer. */
export const EnvelopeSchema = Type.Object({
  code: Type.Number(),
  message: Type.Optional(Nullable(Type.String())),
  response: Type.Optional(Type.Unknown())
})

/** `response` of `POST /users/getToken`: all times are unix seconds on i'mport's clock. */
export const TokenResponseSchema = Type.Object({
  access_token: Type.String({ minLength: 1 }),
  now: Type.Number(),
  expired_at: Type.Number()
})
export type TokenResponse = Static<typeof TokenResponseSchema>

/** `response` of `GET|DELETE /certifications/{imp_uid}` and `POST /certifications/otp/confirm`. */
export const CertificationSchema = Type.Object({
  imp_uid: Type.String(),
  merchant_uid: Type.Optional(Nullable(Type.String())),
  pg_tid: Type.Optional(Nullable(Type.String())),
  pg_provider: Type.Optional(Nullable(Type.String())),
  name: Type.Optional(Nullable(Type.String())),
  gender: Type.Optional(Nullable(Type.String())),
  /** `YYYY-MM-DD`: the field to use. */
  birthday: Type.Optional(Nullable(Type.String())),
  /** Legacy: unix seconds of 00:00 KST on the birth date (negative before 1970). */
  birth: Type.Optional(Nullable(Type.Number())),
  foreigner: Type.Optional(Nullable(Type.Boolean())),
  /** `null` when foreigner detection is not contracted: unknown, not "Korean". */
  foreigner_v2: Type.Optional(Nullable(Type.Boolean())),
  phone: Type.Optional(Nullable(Type.String())),
  carrier: Type.Optional(Nullable(Type.String())),
  certified: Type.Optional(Nullable(Type.Boolean())),
  /** Unix seconds. */
  certified_at: Type.Optional(Nullable(Type.Number())),
  /** CI (연계정보). Can be `""` from KG Inicis. */
  unique_key: Type.Optional(Nullable(Type.String())),
  /** DI (중복가입확인정보). `null` from KG Inicis. */
  unique_in_site: Type.Optional(Nullable(Type.String())),
  origin: Type.Optional(Nullable(Type.String()))
})
/** One i'mport V1 certification, as the REST API returns it (snake_case, upstream names). */
export type Certification = Static<typeof CertificationSchema>

/** `response` of `POST /certifications/otp/request`. */
export const OtpRequestResponseSchema = Type.Object({ imp_uid: Type.String() })

/** Compiled once at load: the hot path never interprets a schema. */
export const envelopeCheck = TypeCompiler.Compile(EnvelopeSchema)
export const tokenResponseCheck = TypeCompiler.Compile(TokenResponseSchema)
export const certificationCheck = TypeCompiler.Compile(CertificationSchema)
export const otpRequestResponseCheck = TypeCompiler.Compile(OtpRequestResponseSchema)
