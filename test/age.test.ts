import t from 'tap'
import {
  ageOf, ageOn, birthdayFromBirth, meetsMinAge, parseBirthday, seoulToday,
  type AgeBasis, type CalendarDate
} from '../lib/age.js'

// Every case below runs once per zone: none of them may depend on the process time zone.
// The offsets are those of 2000-01-01 in each zone, to prove that the switch took effect.
const ZONES: Array<[zone: string, offsetMinutes: number]> = [
  ['America/Los_Angeles', 480],
  ['UTC', 0],
  ['Pacific/Kiritimati', -840]
]

interface AgeCase {
  name: string
  birthday: unknown
  /** The instant, always written in UTC. */
  now: string
  basis: AgeBasis
  /** Expected ageOf; undefined means "unknown" (missing, invalid or future birthday). */
  age: number | undefined
  minAge: number
  meets: boolean
}

const AGE_CASES: AgeCase[] = [
  // 19th birthday: 2025-06-15 starts at 2025-06-14T15:00Z in Seoul, while UTC is still on the 14th.
  { name: '19th birthday today in Seoul (00:00 KST)', birthday: '2006-06-15', now: '2025-06-14T15:00:00Z', basis: 'international', age: 19, minAge: 19, meets: true },
  { name: '19th birthday tomorrow in Seoul (23:59:59 KST)', birthday: '2006-06-15', now: '2025-06-14T14:59:59Z', basis: 'international', age: 18, minAge: 19, meets: false },
  { name: '19th birthday tomorrow, midday', birthday: '2006-06-15', now: '2025-06-14T03:00:00Z', basis: 'international', age: 18, minAge: 19, meets: false },
  { name: '19th birthday yesterday', birthday: '2006-06-15', now: '2025-06-16T03:00:00Z', basis: 'international', age: 19, minAge: 19, meets: true },
  { name: 'year basis counts the whole year of the 19th birthday', birthday: '2006-06-15', now: '2025-01-01T03:00:00Z', basis: 'year', age: 19, minAge: 19, meets: true },

  // Feb 29 birthdays: the year is gained at 00:00 on Mar 1 of a common year, on Feb 29 of a leap year.
  { name: 'Feb 29 birthday on Feb 28 of a common year', birthday: '2004-02-29', now: '2023-02-28T03:00:00Z', basis: 'international', age: 18, minAge: 19, meets: false },
  { name: 'Feb 29 birthday at 23:59 KST on Feb 28 of a common year', birthday: '2004-02-29', now: '2023-02-28T14:59:00Z', basis: 'international', age: 18, minAge: 19, meets: false },
  { name: 'Feb 29 birthday at 00:00 KST on Mar 1 of a common year', birthday: '2004-02-29', now: '2023-02-28T15:00:00Z', basis: 'international', age: 19, minAge: 19, meets: true },
  { name: 'Feb 29 birthday on Feb 28 of a leap year', birthday: '2004-02-29', now: '2024-02-28T03:00:00Z', basis: 'international', age: 19, minAge: 20, meets: false },
  { name: 'Feb 29 birthday on Feb 29 of a leap year', birthday: '2004-02-29', now: '2024-02-29T03:00:00Z', basis: 'international', age: 20, minAge: 20, meets: true },

  // 연 나이 flips at 00:00 KST on Jan 1 (15:00 UTC on Dec 31), never at UTC or local midnight.
  { name: 'year basis at 23:59 KST on Dec 31', birthday: '2007-12-31', now: '2025-12-31T14:59:00Z', basis: 'year', age: 18, minAge: 19, meets: false },
  { name: 'year basis at 00:00 KST on Jan 1', birthday: '2007-12-31', now: '2025-12-31T15:00:00Z', basis: 'year', age: 19, minAge: 19, meets: true },
  { name: 'international basis at 00:00 KST on Jan 1 (birthday not yet reached)', birthday: '2007-12-31', now: '2025-12-31T15:00:00Z', basis: 'international', age: 18, minAge: 19, meets: false },
  { name: 'year basis, born Jan 1, at 00:00 KST on Jan 1', birthday: '2007-01-01', now: '2025-12-31T15:00:00Z', basis: 'year', age: 19, minAge: 19, meets: true },

  // 2024-02-29T15:30Z is already 2024-03-01 in Seoul.
  { name: 'UTC date is Feb 29, Seoul date is Mar 1', birthday: '2005-03-01', now: '2024-02-29T15:30:00Z', basis: 'international', age: 19, minAge: 19, meets: true },
  { name: 'born on the Seoul date itself is age 0', birthday: '2024-03-01', now: '2024-02-29T15:30:00Z', basis: 'international', age: 0, minAge: 0, meets: true },
  { name: 'threshold above the age', birthday: '1990-01-01', now: '2024-02-29T15:30:00Z', basis: 'international', age: 34, minAge: 35, meets: false },

  // Future birthdays: unknown age, never of age (not even for minAge 0).
  { name: 'born tomorrow in Seoul (international)', birthday: '2024-03-02', now: '2024-02-29T15:30:00Z', basis: 'international', age: undefined, minAge: 0, meets: false },
  { name: 'born later this year (year basis would say 0)', birthday: '2024-12-31', now: '2024-02-29T15:30:00Z', basis: 'year', age: undefined, minAge: 0, meets: false },
  { name: 'born on the UTC date\'s next day is today in Seoul', birthday: '2024-03-01', now: '2024-02-29T15:30:00Z', basis: 'year', age: 0, minAge: 0, meets: true },
  { name: 'far future', birthday: '2999-01-01', now: '2024-02-29T15:30:00Z', basis: 'year', age: undefined, minAge: -5000, meets: false },
  { name: 'minAge NaN fails closed', birthday: '1990-01-01', now: '2024-02-29T15:30:00Z', basis: 'year', age: 34, minAge: Number.NaN, meets: false }
]

// Missing or malformed birthdays: unknown age and never of age, on both bases.
const INVALID_BIRTHDAYS: unknown[] = [
  '', '2023-02-29', '1900-02-29', '2023-13-01', '2023-00-10', '2023-04-31', '2023-06-31', '2023-04-00',
  '2023-01-32', '١٩٩٠-01-01', '１９９０-01-01', 'x', '1990-1-1', '90-01-01', '1990/01/01', '19900101',
  ' 1990-01-01', '1990-01-01 ', '1990-01-01\n', '1990-01-01T00:00:00Z', '+001990-01-01',
  19900101, 631152000, null, undefined, true, {}, ['1990-01-01'], new Date(Date.UTC(1990, 0, 1))
]

const VALID_BIRTHDAYS: Array<[string, CalendarDate]> = [
  ['1990-01-01', { year: 1990, month: 1, day: 1 }],
  ['2000-02-29', { year: 2000, month: 2, day: 29 }],
  ['2024-02-29', { year: 2024, month: 2, day: 29 }],
  ['2023-02-28', { year: 2023, month: 2, day: 28 }],
  ['2023-04-30', { year: 2023, month: 4, day: 30 }],
  ['2023-09-30', { year: 2023, month: 9, day: 30 }],
  ['2023-11-30', { year: 2023, month: 11, day: 30 }],
  ['2023-12-31', { year: 2023, month: 12, day: 31 }],
  ['0001-01-01', { year: 1, month: 1, day: 1 }]
]

// Legacy `birth`: unix seconds of 00:00 KST on the birth date.
const seoulMidnight = (iso: string): number => Date.parse(`${iso}T00:00:00+09:00`) / 1000
const BIRTHS: Array<[name: string, seconds: unknown, birthday: string | undefined]> = [
  ['captured sample A', 779554800, '1994-09-15'],
  ['captured sample B', 216140400, '1976-11-07'],
  ['negative (pre-1970)', -152701200, '1965-03-01'],
  ['the epoch is 09:00 KST', 0, '1970-01-01'],
  ['a leap day', seoulMidnight('2004-02-29'), '2004-02-29'],
  ['Dec 31 (15:00 UTC on Dec 30)', seoulMidnight('1999-12-31'), '1999-12-31'],
  // Built from tzdata midnight instead of fixed +9: still the same date, not the day before.
  ['tzdata KDT +10 (1988-06-01)', Date.parse('1988-06-01T00:00:00+10:00') / 1000, '1988-06-01'],
  ['tzdata KDT +09:30 (1958-05-05)', Date.parse('1958-05-05T00:00:00+09:30') / 1000, '1958-05-05'],
  ['tzdata KST +08:30 (1960-01-01)', Date.parse('1960-01-01T00:00:00+08:30') / 1000, '1960-01-01'],
  ['year 1', seoulMidnight('0001-01-01'), '0001-01-01'],
  ['year 9999', seoulMidnight('9999-12-31'), '9999-12-31'],
  ['year 0 is out of range', Date.parse('0000-06-01T00:00:00Z') / 1000, undefined],
  ['year 10000 is out of range', Date.parse('+010000-01-01T00:00:00Z') / 1000, undefined],
  ['beyond the Date range', 1e15, undefined],
  ['NaN', Number.NaN, undefined],
  ['Infinity', Number.POSITIVE_INFINITY, undefined],
  ['-Infinity', Number.NEGATIVE_INFINITY, undefined],
  ['a numeric string', '779554800', undefined],
  ['null', null, undefined],
  ['undefined', undefined, undefined],
  ['a bigint', 779554800n, undefined]
]

const SEOUL_DATES: Array<[instant: string, today: CalendarDate]> = [
  ['2024-02-29T15:30:00Z', { year: 2024, month: 3, day: 1 }],
  ['2024-02-29T14:59:59.999Z', { year: 2024, month: 2, day: 29 }],
  ['2025-12-31T14:59:00Z', { year: 2025, month: 12, day: 31 }],
  ['2025-12-31T15:00:00Z', { year: 2026, month: 1, day: 1 }],
  ['2025-01-01T00:00:00Z', { year: 2025, month: 1, day: 1 }],
  ['1969-12-31T15:00:00Z', { year: 1970, month: 1, day: 1 }]
]

t.test('the whole table gives the same answers in every process time zone', async (t) => {
  const original = process.env.TZ
  t.teardown(() => {
    if (original === undefined) delete process.env.TZ
    else process.env.TZ = original
  })
  for (const [zone, offset] of ZONES) {
    await t.test(`TZ=${zone}`, async (t) => {
      process.env.TZ = zone
      t.equal(new Date(2000, 0, 1).getTimezoneOffset(), offset, 'the process zone really switched')
      for (const c of AGE_CASES) {
        const now = new Date(c.now)
        t.equal(ageOf(c.birthday, c.basis, now), c.age, `ageOf: ${c.name}`)
        t.equal(meetsMinAge(c.birthday, c.minAge, c.basis, now), c.meets, `meetsMinAge: ${c.name}`)
      }

      for (const birthday of INVALID_BIRTHDAYS) {
        t.equal(parseBirthday(birthday), undefined, `parseBirthday rejects ${String(birthday)}`)
        for (const basis of ['international', 'year'] as const) {
          const now = new Date('2025-06-14T15:00:00Z')
          t.equal(ageOf(birthday, basis, now), undefined, `ageOf(${String(birthday)}, ${basis})`)
          t.equal(meetsMinAge(birthday, 0, basis, now), false, `meetsMinAge(${String(birthday)}, 0, ${basis})`)
        }
      }

      for (const [value, date] of VALID_BIRTHDAYS) {
        t.same(parseBirthday(value), date, `parseBirthday(${value})`)
      }

      for (const [name, seconds, birthday] of BIRTHS) {
        t.equal(birthdayFromBirth(seconds), birthday, `birthdayFromBirth: ${name}`)
      }

      for (const [instant, today] of SEOUL_DATES) {
        t.same(seoulToday(new Date(instant)), today, `seoulToday(${instant})`)
      }
    })
  }
})

t.test('ageOn is the tuple rule, with no range check', async (t) => {
  const birthday = { year: 2006, month: 6, day: 15 }
  t.equal(ageOn(birthday, { year: 2025, month: 6, day: 15 }, 'international'), 19)
  t.equal(ageOn(birthday, { year: 2025, month: 6, day: 14 }, 'international'), 18)
  t.equal(ageOn(birthday, { year: 2025, month: 5, day: 31 }, 'international'), 18)
  t.equal(ageOn(birthday, { year: 2025, month: 7, day: 1 }, 'international'), 19)
  t.equal(ageOn(birthday, { year: 2025, month: 1, day: 1 }, 'year'), 19)
  t.equal(ageOn(birthday, { year: 2006, month: 6, day: 14 }, 'international'), -1, 'a future birthday is negative')
  t.equal(ageOn(birthday, { year: 2006, month: 6, day: 14 }, 'year'), 0)
  // A JavaScript host passing an unknown basis gets the stricter international age.
  t.equal(ageOn(birthday, { year: 2025, month: 6, day: 14 }, 'yeon' as AgeBasis), 18)
})

t.test('without a clock, the real time is read', async (t) => {
  const before = seoulToday(new Date())
  const today = seoulToday()
  const after = seoulToday(new Date())
  const same = (a: CalendarDate, b: CalendarDate) => a.year === b.year && a.month === b.month && a.day === b.day
  t.ok(same(today, before) || same(today, after), 'seoulToday() is today in Seoul')
  const age = ageOf('1990-01-01', 'year')
  t.equal(age, today.year - 1990)
  t.equal(meetsMinAge('1990-01-01', 19, 'international'), true)
  t.equal(meetsMinAge('2999-01-01', 0, 'year'), false)
})

t.test('an invalid clock is a programming error, not an age', async (t) => {
  t.throws(() => seoulToday(new Date(Number.NaN)), RangeError)
  t.throws(() => meetsMinAge('1990-01-01', 19, 'year', new Date('garbage')), RangeError)
})
