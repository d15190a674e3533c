import { InvalidImpUidError } from './errors.js'

/** Longest verification id the route or a client accepts, in characters. */
export const MAX_ID_LENGTH = 64

/**
 * Returns a verification id (V1 imp_uid, V2 identity verification id) as a URL path segment, or
 * throws FST_IAMPORT_INVALID_IMP_UID. The whitelist stops `..`, `/`, `?`, `#` and unicode digits
 * (`[0-9]`, not `\d`); the encoding is defence in depth for a host that widens the pattern.
 */
export function idPathSegment (id: unknown, pattern: RegExp): string {
  if (typeof id !== 'string' || id.length > MAX_ID_LENGTH || !pattern.test(id) || id === '.' || id === '..') {
    throw new InvalidImpUidError()
  }
  return encodeURIComponent(id)
}

/**
 * A whitelist option as a RegExp, flags handled one way for clients and routes: kept, except g and
 * y, which would make `.test()` stateful so that every other call failed. A string is compiled
 * as is; the options check has already refused one that does not compile.
 */
export function compilePattern (pattern: RegExp | string): RegExp {
  return pattern instanceof RegExp ? new RegExp(pattern.source, pattern.flags.replace(/[gy]/g, '')) : new RegExp(pattern)
}
