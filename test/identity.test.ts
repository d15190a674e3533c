import { readFileSync } from 'node:fs'
import t from 'tap'
import { ageOf } from '../lib/age.js'
import type { Identity } from '../lib/identity.js'
import { identityFromCertification } from '../lib/v1/provider.js'
import { identityFromV2 } from '../lib/v2/provider.js'
import type { V2VerifiedIdentityVerification } from '../lib/v2/schemas.js'
import { certificationCheck, type Certification } from '../lib/v1/schemas.js'

// The test vectors are synthetic upstream responses in the real shapes, kept in the repository.
const fixtures = JSON.parse(readFileSync(new URL('./fixtures/certifications-v1.json', import.meta.url), 'utf8')) as
  Record<string, { body?: { response?: unknown } }>

function certification (name: string): Certification {
  const response = fixtures[name]?.body?.response
  if (!certificationCheck.Check(response)) throw new Error(`fixture ${name} is not a certification`)
  return response
}

const ALLOWED_KEYS = new Set(['verificationId', 'requestId', 'name', 'gender', 'birthday', 'ci', 'di', 'phone',
  'carrier', 'foreigner', 'pgProvider', 'certifiedAt'])

/** Only the listed fields, as own keys; `age` lives on the prototype. */
function checkShape (t: { ok: (v: unknown, m: string) => boolean }, identity: Identity, label: string): void {
  for (const key of Reflect.ownKeys(identity)) {
    t.ok(typeof key === 'string' && ALLOWED_KEYS.has(key), `${label}: own key ${String(key)} is a listed field`)
  }
  t.ok(!Object.hasOwn(identity, 'age') && typeof identity.age === 'function', `${label}: age() is a prototype method`)
}

t.test('every certification fixture gives an Identity of listed fields only', async (t) => {
  const names = Object.keys(fixtures).filter((name) => certificationCheck.Check(fixtures[name]?.body?.response))
  t.same(names.sort(), ['danal_full', 'danal_with_phone_carrier', 'inicis_unified_kakao_no_ci_no_di',
    'legacy_birth_only_pre_1970', 'not_certified'])
  for (const name of names) {
    const raw = certification(name)
    const identity = identityFromCertification(raw)
    checkShape(t, identity, name)
    t.equal(identity.verificationId, raw.imp_uid, `${name}: verificationId`)
    t.ok(identity.certifiedAt instanceof Date && Number.isFinite(identity.certifiedAt.getTime()), `${name}: certifiedAt`)
    const json = JSON.stringify(identity)
    for (const leak of [raw.origin, raw.pg_tid]) {
      if (typeof leak === 'string' && leak !== '') t.notOk(json.includes(leak), `${name}: no raw upstream field`)
    }
  }
})

t.test('danal_full: CI and DI, no phone key, foreigner unknown', async (t) => {
  const raw = certification('danal_full')
  const identity = identityFromCertification(raw)
  t.same({ ...identity }, {
    verificationId: 'imp_448280090638',
    requestId: 'mid_1764123456789',
    name: '홍길동',
    gender: 'male',
    birthday: '1994-09-15',
    ci: raw.unique_key,
    di: raw.unique_in_site,
    pgProvider: 'danal',
    certifiedAt: new Date(1764138645 * 1000)
  })
  t.equal(identity.ci?.length, 88)
  t.notOk('phone' in identity, 'no phone key')
  t.notOk('carrier' in identity, 'no carrier key')
  t.notOk('foreigner' in identity, 'foreigner_v2 null: unknown, not false')
})

t.test('danal_with_phone_carrier: phone, KT_MVNO, foreigner false', async (t) => {
  const identity = identityFromCertification(certification('danal_with_phone_carrier'))
  t.equal(identity.phone, '01012345678')
  t.equal(identity.carrier, 'KT_MVNO')
  t.ok('foreigner' in identity)
  t.equal(identity.foreigner, false)
  t.equal(identity.gender, 'female')
  t.equal(identity.birthday, '2007-02-28')
  t.equal(identity.certifiedAt.getTime(), 1764138705 * 1000)
})

t.test('inicis unified (Kakao): empty CI, null DI and null gender are unknown', async (t) => {
  const identity = identityFromCertification(certification('inicis_unified_kakao_no_ci_no_di'))
  t.ok(Object.hasOwn(identity, 'ci') && identity.ci === undefined, "ci '' -> undefined")
  t.equal(identity.di, undefined, 'di null -> undefined')
  t.equal(identity.gender, undefined, 'gender null -> undefined')
  t.equal(identity.phone, '01098765432')
  t.notOk('carrier' in identity)
  t.notOk('foreigner' in identity)
  t.equal(identity.pgProvider, 'inicis_unified')
  t.equal(identity.birthday, '1988-06-01')
})

t.test('legacy birth only, before 1970: the date in Seoul', async (t) => {
  const raw = certification('legacy_birth_only_pre_1970')
  t.equal(raw.birthday, undefined)
  t.equal(raw.birth, -152701200)
  const identity = identityFromCertification(raw)
  // -152701200 is 1965-02-28T15:00:00Z, i.e. 1965-03-01 00:00 KST (the UTC date is the day before).
  t.equal(new Date(-152701200 * 1000).toISOString(), '1965-02-28T15:00:00.000Z')
  t.equal(identity.birthday, '1965-03-01')
  t.equal(identity.requestId, undefined, 'merchant_uid null -> undefined')
  t.equal(identity.pgProvider, 'kcp_v2')
  t.notOk('foreigner' in identity, 'V1 `foreigner: false` is never used')
  t.equal(identity.age('international'), ageOf('1965-03-01', 'international'))
})

t.test('not_certified: empty values are unknown, and the time is the epoch', async (t) => {
  const identity = identityFromCertification(certification('not_certified'))
  t.equal(identity.name, '')
  t.equal(identity.birthday, undefined)
  t.equal(identity.ci, undefined)
  t.equal(identity.certifiedAt.getTime(), 0)
  t.equal(identity.age('year'), undefined)
})

t.test('V1 normalization', async (t) => {
  const base = certification('danal_with_phone_carrier')
  const of = (patch: Partial<Record<keyof Certification, unknown>>) =>
    identityFromCertification({ ...base, ...patch } as Certification)

  const carriers: Array<[unknown, string | undefined]> = [
    ['LGT', 'LGU'], ['LGT_MVNO', 'LGU_MVNO'], ['LGU', 'LGU'], ['LGU_MVNO', 'LGU_MVNO'], ['SKT', 'SKT'],
    ['KT', 'KT'], ['SKT_MVNO', 'SKT_MVNO'], ['KT_MVNO', 'KT_MVNO'], ['skt', undefined], ['XYZ', undefined],
    ['', undefined], [null, undefined], ['constructor', undefined], ['__proto__', undefined]
  ]
  for (const [carrier, expected] of carriers) {
    const identity = of({ carrier })
    t.equal(identity.carrier, expected, `carrier ${String(carrier)}`)
    t.equal('carrier' in identity, expected !== undefined, `carrier ${String(carrier)}: key present only when known`)
  }
  t.notOk('carrier' in of({ carrier: undefined }))

  const genders: Array<[unknown, string | undefined]> = [
    ['male', 'male'], ['female', 'female'], ['MALE', 'male'], ['other', 'other'], ['M', undefined],
    ['', undefined], [null, undefined], ['toString', undefined]
  ]
  for (const [gender, expected] of genders) t.equal(of({ gender }).gender, expected, `gender ${String(gender)}`)

  t.notOk('phone' in of({ phone: '' }), "phone '' -> key absent")
  t.notOk('phone' in of({ phone: null }), 'phone null -> key absent')
  t.equal(of({ foreigner_v2: true }).foreigner, true)
  t.notOk('foreigner' in of({ foreigner: true, foreigner_v2: null }), 'V1 foreigner is ignored')
  t.equal(of({ unique_in_site: '' }).di, undefined, "di '' -> undefined")
  t.equal(of({ unique_key: null }).ci, undefined)
  t.equal(of({ merchant_uid: '' }).requestId, undefined)
  t.equal(of({ name: null }).name, '')
  t.equal(of({ pg_provider: null }).pgProvider, '')

  // birthday wins; an invalid birthday is not replaced by birth (fail closed); birth only when absent.
  t.equal(of({ birthday: '2007-02-28', birth: 0 }).birthday, '2007-02-28')
  t.equal(of({ birthday: '2007-02-30' }).birthday, undefined, 'an invalid birthday is unknown')
  t.equal(of({ birthday: '2007-2-28', birth: 1172588400 }).birthday, undefined, 'even with a birth')
  t.equal(of({ birthday: null }).birthday, '2007-02-28', 'null birthday: read birth')
  t.equal(of({ birthday: '' }).birthday, '2007-02-28', "'' birthday: read birth")
  t.equal(of({ birthday: undefined, birth: null }).birthday, undefined)
  t.equal(of({ birthday: undefined, birth: Number.NaN }).birthday, undefined)

  t.equal(of({ certified_at: null }).certifiedAt.getTime(), 0, 'no time: the epoch (stale)')
  t.equal(of({ certified_at: Number.POSITIVE_INFINITY }).certifiedAt.getTime(), 0)
  t.equal(of({ certified_at: 1.5 }).certifiedAt.getTime(), 1500)
})

t.test('age() reads the injected clock on every call', async (t) => {
  // Born 2007-02-28: 만 19 from 2026-02-28 00:00 KST, which is 2026-02-27T15:00Z.
  let now = new Date('2026-02-27T14:59:59Z')
  const identity = identityFromCertification(certification('danal_with_phone_carrier'), () => now)
  t.equal(identity.age('international'), 18)
  t.equal(identity.age('year'), 19)
  now = new Date('2026-02-27T15:00:00Z')
  t.equal(identity.age('international'), 19)
  now = new Date('2007-02-27T15:00:00Z')
  t.equal(identity.age('international'), 0, 'born today')
  now = new Date('2007-02-27T14:59:59Z')
  t.equal(identity.age('year'), undefined, 'not yet born')

  const real = identityFromCertification(certification('danal_full'))
  t.equal(real.age('international'), ageOf('1994-09-15', 'international'), 'no clock: the real time')
  t.notOk(JSON.stringify(identityFromCertification(certification('danal_full'), () => now)).includes('clock'))
})

const v2: V2VerifiedIdentityVerification = {
  id: 'identity-verification-0193a1b2',
  status: 'VERIFIED',
  verifiedAt: '2026-11-26T06:30:45.123Z',
  verifiedCustomer: {
    id: 'customer-42',
    name: '최수민',
    birthDate: '2006-03-01',
    gender: 'MALE',
    phoneNumber: '01055556666',
    operator: 'LGU_MVNO',
    isForeigner: true,
    ci: 'Q2lDaUNpQ2lDaUNpQ2lDaUNpQ2lDaUNpQ2lDaUNpQ2lDaUNpQ2lDaUNpQ2lDaUNpQ2lDaUNpQ2lDaUNpQ2k=',
    di: 'RGlEaURpRGlEaURpRGlEaURpRGlEaURpRGlEaURpRGlEaURpRGlEaURpRGk='
  },
  channel: { pgProvider: 'DANAL' },
  customData: '{"plan":"adult"}',
  pgTxId: '202611261530451234567899',
  pgRawResponse: '{"raw":true}',
  version: 'V2',
  requestedAt: '2026-11-26T06:29:00Z',
  updatedAt: '2026-11-26T06:30:45.123Z',
  statusChangedAt: '2026-11-26T06:30:45.123Z'
}

t.test('V2 verified identity maps to the same Identity', async (t) => {
  const identity = identityFromV2(v2)
  checkShape(t, identity, 'v2')
  t.same({ ...identity }, {
    verificationId: v2.id,
    requestId: v2.id,
    name: '최수민',
    gender: 'male',
    birthday: '2006-03-01',
    ci: v2.verifiedCustomer.ci,
    di: v2.verifiedCustomer.di,
    phone: '01055556666',
    carrier: 'LGU_MVNO',
    foreigner: true,
    pgProvider: 'DANAL',
    certifiedAt: new Date(Date.UTC(2026, 10, 26, 6, 30, 45, 123))
  })
  const json = JSON.stringify(identity)
  for (const leak of ['customer-42', 'plan', 'raw', '202611261530451234567899']) t.notOk(json.includes(leak), leak)
})

t.test('V2 normalization', async (t) => {
  const of = (customer: Record<string, unknown>, rest: Record<string, unknown> = {}) =>
    identityFromV2({ ...v2, ...rest, verifiedCustomer: { name: '최수민', ...customer } } as V2VerifiedIdentityVerification)

  const minimal = identityFromV2({ id: 'idv-1', status: 'VERIFIED', verifiedAt: '2026-11-26T15:30:45+09:00', verifiedCustomer: { name: '최수민' } })
  t.same({ ...minimal }, {
    verificationId: 'idv-1',
    requestId: 'idv-1',
    name: '최수민',
    gender: undefined,
    birthday: undefined,
    ci: undefined,
    di: undefined,
    pgProvider: 'portone-v2',
    certifiedAt: new Date(Date.UTC(2026, 10, 26, 6, 30, 45))
  }, 'optional fields absent: keys absent or undefined; no channel: portone-v2')
  t.equal(minimal.age('international'), undefined)

  t.equal(of({ gender: 'FEMALE' }).gender, 'female')
  t.equal(of({ gender: 'OTHER' }).gender, 'other')
  t.equal(of({ gender: 'X' }).gender, undefined)
  t.equal(of({ operator: 'LGU' }).carrier, 'LGU')
  t.equal(of({ operator: 'SKT' }).carrier, 'SKT')
  t.notOk('carrier' in of({ operator: 'UNKNOWN' }))
  t.equal(of({ isForeigner: false }).foreigner, false)
  t.equal(of({ birthDate: '2006-02-29' }).birthday, undefined, 'not a real date')
  t.equal(of({ birthDate: '' }).birthday, undefined)
  t.equal(of({ ci: '', di: '' }).ci, undefined)
  t.notOk('phone' in of({ phoneNumber: '' }))
  t.equal(of({}, { channel: {} }).pgProvider, 'portone-v2')
  t.equal(of({}, { channel: { pgProvider: '' } }).pgProvider, 'portone-v2')
  t.equal(of({}, { id: '' }).requestId, undefined)
  t.equal(of({ name: undefined }).name, '')

  // verifiedAt: RFC 3339 with an offset, else the epoch (an offset-less time would be read in the process zone).
  t.equal(of({}, { verifiedAt: '2026-11-26T15:30:45+09:00' }).certifiedAt.getTime(), Date.UTC(2026, 10, 26, 6, 30, 45))
  for (const verifiedAt of ['2026-11-26T15:30:45', '2026-11-26', 'garbage', '', 1764138645, null, '2026-13-45T99:99:99Z']) {
    t.equal(of({}, { verifiedAt }).certifiedAt.getTime(), 0, `verifiedAt ${String(verifiedAt)}`)
  }

  let now = new Date('2025-02-28T15:00:00Z') // 2025-03-01 00:00 KST
  const clocked = identityFromV2(v2, () => now)
  t.equal(clocked.age('international'), 19)
  now = new Date('2025-02-28T14:59:59Z')
  t.equal(clocked.age('international'), 18)
  t.equal(clocked.age('year'), 19)
})

t.test('a V2 verification that is not VERIFIED is refused, with no personal data', async (t) => {
  const refused = [
    { ...v2, status: 'FAILED' },
    { ...v2, status: 'READY' },
    { ...v2, verifiedCustomer: null },
    { ...v2, verifiedCustomer: undefined },
    { ...v2, verifiedCustomer: '최수민' }
  ] as unknown as V2VerifiedIdentityVerification[]
  for (const verification of refused) {
    try {
      identityFromV2(verification)
      t.fail('should throw')
    } catch (err) {
      t.match(err, { code: 'FST_IAMPORT_NOT_CERTIFIED', statusCode: 422 })
      const text = JSON.stringify(err) + String((err as Error).message) + String((err as Error).stack)
      for (const secret of ['최수민', '2006-03-01', '01055556666', v2.id]) t.notOk(text.includes(secret))
    }
  }
})
