/** The example's configuration: environment variables read through @fastify/env. */
import { isIP } from 'node:net'

/**
 * Dev-only pepper for the CI hash. Anyone who knows it can link a CI to your users table, so a
 * real deployment sets its own secret `CI_PEPPER` (and keeps it: changing it orphans every account).
 */
export const DEV_CI_PEPPER = 'dev-only-ci-pepper--never-use-in-production'

/** Why production mode refuses to start on the dev pepper (unset `CI_PEPPER`, or set to the public value). */
export const PRODUCTION_PEPPER_REQUIRED = 'Production mode needs your own CI_PEPPER (the dev-only default is public): ' +
  'generate one with `openssl rand -hex 32`, set CI_PEPPER to it, and keep it (every account\'s key depends on it)'

/** Where the users database lives unless `DATABASE_FILE` says otherwise (relative to the working directory). */
export const DEFAULT_DATABASE_FILE = 'example/data/example.sqlite'

export const DEFAULT_PORT = 3000
export const DEFAULT_HOST = '127.0.0.1'

/** Which PortOne generation the example speaks: i'mport V1 (`IMP.certification`) or PortOne V2. */
export type ExampleApiVersion = 'v1' | 'v2'

/** The configuration after defaults. An empty string counts as unset. */
export interface ExampleConfig {
  /** `v1` (default) or `v2`: PortOne V2 identity verification with the same hooks. */
  PORTONE_API_VERSION: ExampleApiVersion | ''
  /** i'mport REST API key; with the secret it switches the example to production mode. */
  IAMPORT_API_KEY?: string
  IAMPORT_API_SECRET?: string
  /** 가맹점 식별코드 (`imp` + digits) for `IMP.init` in the browser; required in production mode. */
  IAMPORT_MERCHANT_CODE?: string
  /** i'mport REST API origin (default `https://api.iamport.kr`); production mode only. */
  IAMPORT_BASE_URL?: string
  /** V2: the API secret; with the store id and channel key it switches the example to production mode. */
  PORTONE_API_SECRET?: string
  /** V2: the store id (`store-...`), for the server's calls and the browser SDK. */
  PORTONE_STORE_ID?: string
  /** V2: the identity-verification channel's key (`channel-key-...`) for the browser SDK. */
  PORTONE_CHANNEL_KEY?: string
  /** V2: PortOne REST API origin (default `https://api.portone.io`); production mode only. */
  PORTONE_BASE_URL?: string
  HOST: string
  PORT: number
  DATABASE_FILE: string
  CI_PEPPER: string
  /**
   * Fastify's `trustProxy`, for a TLS-terminating proxy in front of the app: unset (trust nothing),
   * `true`, or a comma-separated list of the proxy's addresses and CIDRs. Read before the
   * Fastify instance is built (see {@link trustProxyOption}); kept here as given.
   */
  TRUST_PROXY?: string
}

/** The @fastify/env schema (a fresh object each time: env-schema edits the one it is given). */
export function configSchema (): Record<string, unknown> {
  return {
    type: 'object',
    properties: {
      PORTONE_API_VERSION: { type: 'string', enum: ['v1', 'v2', ''], default: 'v1' },
      IAMPORT_API_KEY: { type: 'string' },
      IAMPORT_API_SECRET: { type: 'string' },
      IAMPORT_MERCHANT_CODE: { type: 'string' },
      IAMPORT_BASE_URL: { type: 'string' },
      PORTONE_API_SECRET: { type: 'string' },
      PORTONE_STORE_ID: { type: 'string' },
      PORTONE_CHANNEL_KEY: { type: 'string' },
      PORTONE_BASE_URL: { type: 'string' },
      HOST: { type: 'string', default: DEFAULT_HOST },
      PORT: { type: 'integer', minimum: 0, maximum: 65535, default: DEFAULT_PORT },
      DATABASE_FILE: { type: 'string', minLength: 1, default: DEFAULT_DATABASE_FILE },
      // 32 characters at least: the pepper is what keeps a leaked users table from being linked by CI.
      CI_PEPPER: { type: 'string', minLength: 32, default: DEV_CI_PEPPER },
      TRUST_PROXY: { type: 'string' }
    }
  }
}

/** Sandbox (a fake server of the chosen generation, no account needed) or production (the real service). */
export type ExampleMode = 'sandbox' | 'production'

const V1_VARIABLES = ['IAMPORT_API_KEY', 'IAMPORT_API_SECRET', 'IAMPORT_MERCHANT_CODE'] as const
const V2_VARIABLES = ['PORTONE_API_SECRET', 'PORTONE_STORE_ID', 'PORTONE_CHANNEL_KEY'] as const

/** `PORTONE_API_VERSION`, `v1` when unset. */
export function exampleApiVersion (config: ExampleConfig): ExampleApiVersion {
  return config.PORTONE_API_VERSION === 'v2' ? 'v2' : 'v1'
}

/**
 * Production when the chosen generation's credentials are set; a half-configured production, or
 * credentials of the other generation (which would silently leave the app in sandbox mode), is refused.
 */
export function exampleMode (config: ExampleConfig): ExampleMode {
  const version = exampleApiVersion(config)
  const foreign = (version === 'v2' ? V1_VARIABLES : V2_VARIABLES).filter((name) => isSet(config[name]))
  if (foreign.length > 0) {
    throw new Error(version === 'v2'
      ? `${foreign.join(', ')}: i'mport V1 settings, but PORTONE_API_VERSION is v2; unset them`
      : `${foreign.join(', ')}: PortOne V2 settings; set PORTONE_API_VERSION=v2 to use them, or unset them`)
  }
  return version === 'v2' ? v2Mode(config) : v1Mode(config)
}

function v1Mode (config: ExampleConfig): ExampleMode {
  const hasKey = isSet(config.IAMPORT_API_KEY)
  const hasSecret = isSet(config.IAMPORT_API_SECRET)
  if (hasKey !== hasSecret) {
    throw new Error('Set both IAMPORT_API_KEY and IAMPORT_API_SECRET for production mode, or neither for the sandbox')
  }
  if (!hasKey) return 'sandbox'
  if (!isSet(config.IAMPORT_MERCHANT_CODE)) {
    throw new Error('Production mode needs IAMPORT_MERCHANT_CODE (가맹점 식별코드, "imp" + digits) for the browser SDK')
  }
  return 'production'
}

function v2Mode (config: ExampleConfig): ExampleMode {
  const missing = V2_VARIABLES.filter((name) => !isSet(config[name]))
  if (missing.length === V2_VARIABLES.length) return 'sandbox'
  if (missing.length > 0) {
    throw new Error(`PortOne V2 production mode needs PORTONE_API_SECRET, PORTONE_STORE_ID and PORTONE_CHANNEL_KEY (missing: ${missing.join(', ')}); set none of them for the sandbox`)
  }
  return 'production'
}

/**
 * The environment without its empty (or blank) variables, so that `CI_PEPPER=` or `PORT=` means
 * unset, with the default, as the README says, instead of failing validation or meaning port 0.
 */
export function withoutBlanks (environment: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(environment).filter(([, value]) => typeof value !== 'string' || value.trim() !== ''))
}

export function isSet (value: string | undefined): value is string {
  return value !== undefined && value.trim() !== ''
}

const PROXY_RANGE_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal'])

/**
 * `TRUST_PROXY` as Fastify's `trustProxy` option. Unset, empty or `false`: `false`, and
 * `request.protocol` is `https` only when TLS ends in Node. Otherwise a comma-separated list of the
 * proxy's addresses or CIDRs (`loopback`, `linklocal` and `uniquelocal` name the usual ranges):
 * `X-Forwarded-Proto` is then believed only from those peers. `true` believes every peer, so only
 * when nothing but the proxy can reach the app. A hop count is refused: Fastify 5 cannot tell from
 * it which peer to believe and trusts nothing, so it would silently leave the cookie without Secure.
 */
export function trustProxyOption (value: unknown): boolean | string {
  if (value === undefined || value === null) return false
  if (typeof value !== 'string') throw new Error('TRUST_PROXY must be a string')
  const text = value.trim()
  if (text === '' || text === 'false') return false
  if (text === 'true') return true
  if (/^[0-9]+$/.test(text)) {
    throw new Error(`TRUST_PROXY=${text}: a hop count is not supported (Fastify then trusts no peer); ${TRUST_PROXY_FORMS}`)
  }
  const entries = text.split(',').map((entry) => entry.trim())
  const invalid = entries.filter((entry) => !PROXY_RANGE_NAMES.has(entry) && !isAddressOrCidr(entry))
  if (invalid.length > 0) {
    throw new Error(`TRUST_PROXY: not an address, CIDR or range name: ${invalid.map((entry) => JSON.stringify(entry)).join(', ')}; ${TRUST_PROXY_FORMS}`)
  }
  return entries.join(',')
}

const TRUST_PROXY_FORMS = "give the proxy's addresses or CIDRs (for example 127.0.0.1 or 10.0.0.0/8,loopback), or true"

function isAddressOrCidr (entry: string): boolean {
  const slash = entry.indexOf('/')
  const address = slash === -1 ? entry : entry.slice(0, slash)
  const family = isIP(address)
  if (family === 0) return false
  if (slash === -1) return true
  const bits = entry.slice(slash + 1)
  return /^[0-9]{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128)
}
