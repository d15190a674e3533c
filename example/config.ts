/** The example's configuration: environment variables read through @fastify/env. */

/**
 * Dev-only pepper for the CI hash. Anyone who knows it can link a CI to your users table, so a
 * real deployment sets its own secret `CI_PEPPER` (and keeps it: changing it orphans every account).
 */
export const DEV_CI_PEPPER = 'dev-only-ci-pepper--never-use-in-production'

/** Where the users database lives unless `DATABASE_FILE` says otherwise (relative to the working directory). */
export const DEFAULT_DATABASE_FILE = 'example/data/example.sqlite'

export const DEFAULT_PORT = 3000
export const DEFAULT_HOST = '127.0.0.1'

/** The configuration after defaults. An empty string counts as unset. */
export interface ExampleConfig {
  /** i'mport REST API key; with the secret it switches the example to production mode. */
  IAMPORT_API_KEY?: string
  IAMPORT_API_SECRET?: string
  /** 가맹점 식별코드 (`imp` + digits) for `IMP.init` in the browser; required in production mode. */
  IAMPORT_MERCHANT_CODE?: string
  /** i'mport REST API origin (default `https://api.iamport.kr`); production mode only. */
  IAMPORT_BASE_URL?: string
  HOST: string
  PORT: number
  DATABASE_FILE: string
  CI_PEPPER: string
}

/** The @fastify/env schema (a fresh object each time: env-schema edits the one it is given). */
export function configSchema (): Record<string, unknown> {
  return {
    type: 'object',
    properties: {
      IAMPORT_API_KEY: { type: 'string' },
      IAMPORT_API_SECRET: { type: 'string' },
      IAMPORT_MERCHANT_CODE: { type: 'string' },
      IAMPORT_BASE_URL: { type: 'string' },
      HOST: { type: 'string', default: DEFAULT_HOST },
      PORT: { type: 'integer', minimum: 0, maximum: 65535, default: DEFAULT_PORT },
      DATABASE_FILE: { type: 'string', minLength: 1, default: DEFAULT_DATABASE_FILE },
      // 32 characters at least: the pepper is what keeps a leaked users table from being linked by CI.
      CI_PEPPER: { type: 'string', minLength: 32, default: DEV_CI_PEPPER }
    }
  }
}

/** Sandbox (the fake i'mport server, no account needed) or production (real i'mport). */
export type ExampleMode = 'sandbox' | 'production'

/** Production when the API key and secret are both set; a half-configured production is refused. */
export function exampleMode (config: ExampleConfig): ExampleMode {
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

export function isSet (value: string | undefined): value is string {
  return value !== undefined && value.trim() !== ''
}
