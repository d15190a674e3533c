import { DEFAULT_IMP_UID_PATTERN } from './constants.js'
import { InvalidImpUidError } from './errors.js'

const defaultPattern = new RegExp(DEFAULT_IMP_UID_PATTERN)

/**
 * Returns the imp_uid as a URL path segment, or throws FST_IAMPORT_INVALID_IMP_UID.
 * The whitelist stops `..`, `/`, `?`, `#` and unicode digits (`[0-9]`, not `\d`); the encoding
 * is defence in depth for a host that widens the pattern.
 */
export function impUidPathSegment (impUid: unknown, pattern: RegExp = defaultPattern): string {
  if (typeof impUid !== 'string' || impUid.length > 64 || !pattern.test(impUid) ||
      impUid === '.' || impUid === '..') {
    throw new InvalidImpUidError()
  }
  return encodeURIComponent(impUid)
}
