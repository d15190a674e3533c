import { InvalidOptionsError } from './errors.js'

/** Option checks shared by the V1 and the V2 clients: each failure names the option. */

/** A non-blank string option, else FST_IAMPORT_INVALID_OPTIONS naming it. */
export function requireString (value: unknown, name: string): string {
  if (typeof value !== 'string' || value.trim() === '') throw new InvalidOptionsError(`${name} is required`)
  return value
}

/** A whitelist option as a RegExp; FST_IAMPORT_INVALID_OPTIONS naming `name` when it does not compile. */
export function compilePattern (pattern: unknown, name: string): RegExp {
  // A g or y flag would make .test() stateful: every other call would fail.
  if (pattern instanceof RegExp) return new RegExp(pattern.source, pattern.flags.replace(/[gy]/g, ''))
  try {
    return new RegExp(String(pattern))
  } catch {
    throw new InvalidOptionsError(`${name} must be a valid regular expression`)
  }
}
