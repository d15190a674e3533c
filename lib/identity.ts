import { ageOf, type AgeBasis } from './age.js'

/** Gender, lowercased from V1 (`male`/`female`) and V2 (`MALE`/`FEMALE`/`OTHER`). */
export type Gender = 'male' | 'female' | 'other'

/** Mobile carrier, with V1's `LGT` spelled `LGU` as V2 does. */
export type Carrier = 'SKT' | 'KT' | 'LGU' | 'SKT_MVNO' | 'KT_MVNO' | 'LGU_MVNO'

/** The normalized, typed view of one verified person that the host's hooks get, whatever the API generation. */
export interface Identity {
  /** The verification's id: V1 `imp_uid`, V2 the identity verification id. */
  verificationId: string
  /**
   * The id the server issued for this verification (`POST {url}/prepare`): V1 `merchant_uid`; in
   * V2 the merchant chooses the verification id itself, so it is the same as `verificationId`.
   * `undefined` when upstream gave none.
   */
  requestId: string | undefined
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

const GENDERS = new Map<unknown, Gender>([
  ['male', 'male'], ['female', 'female'], ['other', 'other'],
  ['MALE', 'male'], ['FEMALE', 'female'], ['OTHER', 'other']
])

const CARRIERS = new Map<unknown, Carrier>([
  ['SKT', 'SKT'], ['KT', 'KT'], ['LGU', 'LGU'], ['LGT', 'LGU'],
  ['SKT_MVNO', 'SKT_MVNO'], ['KT_MVNO', 'KT_MVNO'], ['LGU_MVNO', 'LGU_MVNO'], ['LGT_MVNO', 'LGU_MVNO']
])

/** A gender as either generation spells it, else `undefined`. */
export function genderOf (value: unknown): Gender | undefined {
  return GENDERS.get(value)
}

/** A carrier as either generation spells it, else `undefined`. */
export function carrierOf (value: unknown): Carrier | undefined {
  return CARRIERS.get(value)
}

/** A non-empty string, else `undefined`. */
export function text (value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined
}

/** A valid date, else the epoch: an unknown time must look stale, never fresh. */
export function validDate (ms: number): Date {
  return new Date(Number.isFinite(ms) ? ms : 0)
}

/** Identity's data, with the optional keys given explicitly (`undefined` when unknown). */
export type IdentityFields = Omit<Identity, 'age' | 'phone' | 'carrier' | 'foreigner'> & {
  phone: string | undefined
  carrier: Carrier | undefined
  foreigner: boolean | undefined
}

/** The one Identity implementation; the providers build it from what upstream answered. */
export class VerifiedIdentity implements Identity {
  verificationId: string
  requestId: string | undefined
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
    this.verificationId = fields.verificationId
    this.requestId = fields.requestId
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
