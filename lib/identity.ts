import { ageOf, birthdayFromBirth, parseBirthday, type AgeBasis } from './age.js'
import { NotCertifiedError } from './errors.js'
import type { Certification } from './schemas.js'

/** Gender, lowercased from V1 (`male`/`female`) and V2 (`MALE`/`FEMALE`/`OTHER`). */
export type Gender = 'male' | 'female' | 'other'

/** Mobile carrier, with V1's `LGT` spelled `LGU` as V2 does. */
export type Carrier = 'SKT' | 'KT' | 'LGU' | 'SKT_MVNO' | 'KT_MVNO' | 'LGU_MVNO'

/** The normalized, typed view of one verified person that the host's hooks get, whatever the API generation. */
export interface Identity {
  /** i'mport imp_uid, or the V2 identity verification id. */
  impUid: string
  /** The merchant's request id (V1 `merchant_uid`, V2 the verification id); `undefined` when absent. */
  merchantUid: string | undefined
  /** The verified real name; `''` only when upstream gave none. */
  name: string
  /** `undefined` when upstream gave none (KG Inicis often) or an unknown value. */
  gender: Gender | undefined
  /** `YYYY-MM-DD`, a real calendar date: from `birthday`, or when that is absent from the legacy `birth` read in Asia/Seoul. */
  birthday: string | undefined
  /** CI (연계정보, V1 `unique_key`); never `''`. */
  ci: string | undefined
  /** DI (중복가입확인정보, V1 `unique_in_site`); never `''`. */
  di: string | undefined
  /** Phone number, digits only; the key is absent when upstream gave none. */
  phone?: string
  /** The key is absent when upstream gave none or an unknown carrier. */
  carrier?: Carrier
  /** From V1 `foreigner_v2` or V2 `isForeigner`; the key is absent when unknown (never V1 `foreigner`). */
  foreigner?: boolean
  /** V1 `pg_provider`; V2 the channel's `pgProvider`, else `'portone-v2'`. */
  pgProvider: string
  /** When the verification completed; the epoch (1970) when upstream gave no usable time, so freshness checks fail. */
  certifiedAt: Date
  /** Age on today's date in Asia/Seoul (or the clock given at creation); undefined when birthday is unknown. */
  age (basis: AgeBasis): number | undefined
}

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

const GENDERS = new Map<unknown, Gender>([
  ['male', 'male'], ['female', 'female'], ['other', 'other'],
  ['MALE', 'male'], ['FEMALE', 'female'], ['OTHER', 'other']
])

const CARRIERS = new Map<unknown, Carrier>([
  ['SKT', 'SKT'], ['KT', 'KT'], ['LGU', 'LGU'], ['LGT', 'LGU'],
  ['SKT_MVNO', 'SKT_MVNO'], ['KT_MVNO', 'KT_MVNO'], ['LGU_MVNO', 'LGU_MVNO'], ['LGT_MVNO', 'LGU_MVNO']
])

const V2_PG_PROVIDER = 'portone-v2'

/** RFC 3339 with a mandatory offset: `Date.parse` reads an offset-less time in the process zone. */
const RFC3339 = /^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?(?:Z|[+-][0-9]{2}:[0-9]{2})$/

/** A non-empty string, else `undefined`. */
function text (value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined
}

/** A valid date, else the epoch: an unknown time must look stale, never fresh. */
function validDate (ms: number): Date {
  return new Date(Number.isFinite(ms) ? ms : 0)
}

/** Identity's data, with the optional keys given explicitly (`undefined` when unknown). */
type IdentityFields = Omit<Identity, 'age' | 'phone' | 'carrier' | 'foreigner'> & {
  phone: string | undefined
  carrier: Carrier | undefined
  foreigner: boolean | undefined
}

class VerifiedIdentity implements Identity {
  impUid: string
  merchantUid: string | undefined
  name: string
  gender: Gender | undefined
  birthday: string | undefined
  ci: string | undefined
  di: string | undefined
  // `declare`: no own key unless set below, so an unknown value is an absent key.
  declare phone?: string
  declare carrier?: Carrier
  declare foreigner?: boolean
  pgProvider: string
  certifiedAt: Date
  // A private field: not enumerable, not in JSON.stringify, not reachable by hooks.
  readonly #clock: (() => Date) | undefined

  constructor (fields: IdentityFields, clock: (() => Date) | undefined) {
    this.impUid = fields.impUid
    this.merchantUid = fields.merchantUid
    this.name = fields.name
    this.gender = fields.gender
    this.birthday = fields.birthday
    this.ci = fields.ci
    this.di = fields.di
    if (fields.phone !== undefined) this.phone = fields.phone
    if (fields.carrier !== undefined) this.carrier = fields.carrier
    if (fields.foreigner !== undefined) this.foreigner = fields.foreigner
    this.pgProvider = fields.pgProvider
    this.certifiedAt = fields.certifiedAt
    this.#clock = clock
  }

  age (basis: AgeBasis): number | undefined {
    return ageOf(this.birthday, basis, this.#clock === undefined ? new Date() : this.#clock())
  }
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
    impUid: certification.imp_uid,
    merchantUid: text(certification.merchant_uid),
    name: text(certification.name) ?? '',
    gender: GENDERS.get(certification.gender),
    birthday: v1Birthday(certification),
    ci: text(certification.unique_key),
    di: text(certification.unique_in_site),
    phone: text(certification.phone),
    carrier: CARRIERS.get(certification.carrier),
    foreigner: typeof certification.foreigner_v2 === 'boolean' ? certification.foreigner_v2 : undefined,
    pgProvider: text(certification.pg_provider) ?? '',
    certifiedAt: validDate(typeof certifiedAt === 'number' ? certifiedAt * 1000 : NaN)
  }, clock)
}

/**
 * The Identity of a PortOne V2 identity verification; `merchantUid` is its id (V2 ids are issued by
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
    impUid: verification.id,
    merchantUid: text(verification.id),
    name: text(customer.name) ?? '',
    gender: GENDERS.get(customer.gender),
    birthday: parseBirthday(birthDate) === undefined ? undefined : birthDate,
    ci: text(customer.ci),
    di: text(customer.di),
    phone: text(customer.phoneNumber),
    carrier: CARRIERS.get(customer.operator),
    foreigner: typeof customer.isForeigner === 'boolean' ? customer.isForeigner : undefined,
    pgProvider: text(verification.channel?.pgProvider) ?? V2_PG_PROVIDER,
    certifiedAt: validDate(typeof verification.verifiedAt === 'string' && RFC3339.test(verification.verifiedAt)
      ? Date.parse(verification.verifiedAt)
      : NaN)
  }, clock)
}
