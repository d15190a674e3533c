/**
 * Korean age rules on calendar dates. "Today" is always read in Asia/Seoul, whatever the process
 * time zone, and a birthday string is never turned into a `Date` (`new Date('2005-01-01')` is UTC
 * midnight, which is still 2004 west of UTC).
 */

/** `'international'` is 만 나이 (the legal default); `'year'` is 연 나이 as 청소년보호법 counts it (thisYear - birthYear). */
export type AgeBasis = 'international' | 'year'

/** A calendar date with no time and no zone: month 1-12, day 1-31. */
export interface CalendarDate {
  year: number
  month: number
  day: number
}

/** Korea has been on a fixed UTC+9, without daylight saving time, since 1988. */
const SEOUL_OFFSET_MS = 9 * 60 * 60 * 1000
const DAY_SECONDS = 24 * 60 * 60
const DAY_MS = DAY_SECONDS * 1000
const HYPHEN = 0x2d
const DIGIT_ZERO = 0x30

function isLeapYear (year: number): boolean {
  return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0)
}

function daysInMonth (year: number, month: number): number {
  if (month === 2) return isLeapYear(year) ? 29 : 28
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31
}

function pad (value: number, width: number): string {
  return String(value).padStart(width, '0')
}

/** The number written by the `length` characters at `start`, or -1 unless all are ASCII digits. */
function digitsAt (value: string, start: number, length: number): number {
  let number = 0
  for (let i = start; i < start + length; i++) {
    const digit = value.charCodeAt(i) - DIGIT_ZERO
    if (!(digit >= 0 && digit <= 9)) return -1
    number = number * 10 + digit
  }
  return number
}

/**
 * Parses a `YYYY-MM-DD` birthday (ASCII digits only) that is a real calendar date; anything else
 * gives `undefined`. Read character by character: a RegExp match and its strings cost several
 * times as much, twice per verification (bench/).
 */
export function parseBirthday (value: unknown): CalendarDate | undefined {
  if (typeof value !== 'string' || value.length !== 10 || value.charCodeAt(4) !== HYPHEN || value.charCodeAt(7) !== HYPHEN) return undefined
  const year = digitsAt(value, 0, 4)
  const month = digitsAt(value, 5, 2)
  const day = digitsAt(value, 8, 2)
  if (year < 0 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined
  return { year, month, day }
}

/**
 * Turns the legacy `birth` field (unix seconds of 00:00 KST on the birth date, negative before
 * 1970) into `YYYY-MM-DD`, or `undefined` when it is not a usable number. The instant is read at
 * UTC+9 and rounded to the nearest midnight: a value built at fixed +9 is exact, and one built
 * from tzdata's historical Seoul offsets (+08:30 in 1954-61, +10 in the 1987-88 summers) lands
 * on the same date instead of the day before.
 */
export function birthdayFromBirth (seconds: unknown): string | undefined {
  if (typeof seconds !== 'number' || !Number.isFinite(seconds)) return undefined
  const days = Math.round((seconds + SEOUL_OFFSET_MS / 1000) / DAY_SECONDS)
  const date = new Date(days * DAY_SECONDS * 1000)
  const year = date.getUTCFullYear()
  // Also rejects an instant past the Date range (NaN year).
  if (!(year >= 1 && year <= 9999)) return undefined
  return `${pad(year, 4)}-${pad(date.getUTCMonth() + 1, 2)}-${pad(date.getUTCDate(), 2)}`
}

/** Today's date in Asia/Seoul at the instant `now`; throws a RangeError for an invalid Date. */
export function seoulToday (now: Date = new Date()): CalendarDate {
  const seoul = new Date(now.getTime() + SEOUL_OFFSET_MS)
  const year = seoul.getUTCFullYear()
  if (Number.isNaN(year)) throw new RangeError('seoulToday needs a valid Date')
  return { year, month: seoul.getUTCMonth() + 1, day: seoul.getUTCDate() }
}

/** The Seoul day last asked for (days since the epoch) and its date, for {@link todayAt}. */
let cachedDay = Number.NaN
let cachedToday: Readonly<CalendarDate> = { year: 1970, month: 1, day: 1 }

/**
 * Today's date in Asia/Seoul at `ms`, computed once per Seoul day: every verification of a day
 * asks for the same date. Shared, so only read inside this module; throws a RangeError for NaN.
 */
function todayAt (ms: number): Readonly<CalendarDate> {
  const day = Math.floor((ms + SEOUL_OFFSET_MS) / DAY_MS)
  if (day !== cachedDay) {
    cachedToday = seoulToday(new Date(ms))
    cachedDay = day
  }
  return cachedToday
}

/** Compares two calendar dates: negative, zero or positive like a sort comparator. */
function compareDates (a: Readonly<CalendarDate>, b: Readonly<CalendarDate>): number {
  return a.year - b.year || a.month - b.month || a.day - b.day
}

/**
 * The age on `today`. International (만 나이): a year is gained on the birthday, and a Feb 29
 * birthday is gained on Mar 1 in common years. Year (연 나이): `today.year - birthday.year`.
 * No range check: a birthday after `today` gives a negative or zero age.
 */
export function ageOn (birthday: CalendarDate, today: CalendarDate, basis: AgeBasis): number {
  const years = today.year - birthday.year
  if (basis === 'year') return years
  const beforeBirthday = today.month < birthday.month ||
    (today.month === birthday.month && today.day < birthday.day)
  return beforeBirthday ? years - 1 : years
}

/**
 * The age today in Asia/Seoul (or at `now`) of someone born on `birthday` (`YYYY-MM-DD`);
 * `undefined` when the birthday is missing, invalid or after today.
 */
export function ageOf (birthday: unknown, basis: AgeBasis, now?: Date): number | undefined {
  const born = parseBirthday(birthday)
  if (born === undefined) return undefined
  const today = todayAt(now === undefined ? Date.now() : now.getTime())
  if (compareDates(born, today) > 0) return undefined
  return ageOn(born, today, basis)
}

/**
 * Whether someone born on `birthday` is at least `minAge` today in Asia/Seoul (or at `now`).
 * Fails closed: `false` for a missing, invalid or future birthday, or a `minAge` that is not a number.
 */
export function meetsMinAge (birthday: unknown, minAge: number, basis: AgeBasis, now?: Date): boolean {
  const age = ageOf(birthday, basis, now)
  return age !== undefined && age >= minAge
}
