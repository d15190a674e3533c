import { performance } from 'node:perf_hooks'
import { TOKEN_MIN_CACHE_MS, TOKEN_REFRESH_MARGIN_MS } from '../constants.js'
import type { TokenResponse } from './schemas.js'

/**
 * The i'mport access token, fetched once and shared by every caller until shortly before it
 * expires. Lifetimes come from the server's own `expired_at - now`, measured on the monotonic
 * clock, so neither a wrong wall clock here nor a skewed one there shortens or stretches them.
 */
export class TokenCache {
  readonly #issue: () => Promise<TokenResponse>
  #token: string | undefined
  /** Monotonic ms after which the cached token is not handed out any more. */
  #refreshAt = 0
  #inflight: Promise<string> | undefined

  /** @param issue calls `POST /users/getToken` and returns its `response` */
  constructor (issue: () => Promise<TokenResponse>) {
    this.#issue = issue
  }

  /** The cached token while it is valid, else `undefined`: the hot path's way around a promise. */
  current (): string | undefined {
    return performance.now() < this.#refreshAt ? this.#token : undefined
  }

  /** A valid token: the cached one, or the result of the single getToken in flight. */
  get (): Promise<string> {
    if (this.#token !== undefined && performance.now() < this.#refreshAt) return Promise.resolve(this.#token)
    this.#inflight ??= this.#refresh()
    return this.#inflight
  }

  /** Forgets `token` after i'mport refused it (401); a newer token is kept. */
  invalidate (token: string): void {
    if (this.#token === token) this.#token = undefined
  }

  async #refresh (): Promise<string> {
    const askedAt = performance.now()
    try {
      const issued = await this.#issue()
      const lifetimeMs = (issued.expired_at - issued.now) * 1000
      // A lifetime too short to be worth caching (or already over) serves only the callers that
      // are waiting now: the next call asks again, so a broken expired_at cannot start a loop.
      if (lifetimeMs - TOKEN_REFRESH_MARGIN_MS >= TOKEN_MIN_CACHE_MS) {
        this.#token = issued.access_token
        this.#refreshAt = askedAt + lifetimeMs - TOKEN_REFRESH_MARGIN_MS
      } else {
        this.#token = undefined
      }
      return issued.access_token
    } finally {
      this.#inflight = undefined
    }
  }
}
