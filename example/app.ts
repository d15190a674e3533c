import fastifyEnv from '@fastify/env'
import { Type } from '@sinclair/typebox'
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import fastifyIamport, { type CertificationsOptions, type FastifyIamportOptions } from '../index.js'
import { koreanMessage } from '../lib/messages-ko.js'
import { createFakeIamport, createFakePortOneV2, type FakeIamport, type FakePortOneV2 } from '../lib/testing/index.js'
import {
  configSchema, DEV_CI_PEPPER, exampleApiVersion, exampleMode, PRODUCTION_PEPPER_REQUIRED, trustProxyOption, withoutBlanks,
  type ExampleApiVersion, type ExampleConfig, type ExampleMode
} from './config.js'
import { contentSecurityPolicy, examplePage, type PageSettings } from './page.js'
import { installSessions, sessionOf, type Sessions } from './session.js'
import { openUserStore, type UserStore } from './users.js'

/** The example host app, ready to listen. */
export interface ExampleApp {
  app: FastifyInstance
  config: ExampleConfig
  /** `PORTONE_API_VERSION`: i'mport V1 (default) or PortOne V2. */
  apiVersion: ExampleApiVersion
  mode: ExampleMode
  /** V1 sandbox mode: the in-process fake i'mport server (closed with the app). */
  sandbox: FakeIamport | undefined
  /** V2 sandbox mode: the in-process fake PortOne V2 server (closed with the app). */
  sandboxV2: FakePortOneV2 | undefined
  users: UserStore
  /** The session layer (`example/session.ts`): rotated after every successful sign-up. */
  sessions: Sessions
}

/** Sign-up needs this age, counted the 청소년보호법 way (연 나이: this year minus birth year). */
export const MIN_AGE = 19

/**
 * The sign-up policy: one set of hooks for both API generations, since the plugin hands them the
 * same `Identity` either way. Only the connection to upstream differs (see {@link connection}).
 * A successful sign-up rotates the session (a new id in a new cookie, the old id retired).
 */
export function signUpPolicy (users: UserStore, sessions: Sessions): CertificationsOptions {
  return {
    minAge: MIN_AGE,
    ageBasis: 'year',
    // Only ids this server issued (V1 merchant_uids, V2 identity verification ids), to this browser session, are accepted.
    issuedIds: { required: true, subject: sessionOf },
    findDuplicate: (identity) => users.existsForCi(identity.ci),
    onVerified: (identity, request, reply) => {
      const { displayName } = users.register(identity)
      // Only once the account exists: a refusal or a failed insert keeps the session as it was.
      sessions.rotate(request, reply)
      return { welcome: displayName }
    },
    // The browser gets the welcome name and nothing else (no CI, phone or birthday).
    verifiedResponseSchema: Type.Object({ welcome: Type.String() })
  }
}

/** The plugin's upstream options: a fake server in sandbox mode, the configured service in production. */
function connection (config: ExampleConfig, sandbox: FakeIamport | undefined, sandboxV2: FakePortOneV2 | undefined): FastifyIamportOptions {
  if (exampleApiVersion(config) === 'v2') {
    return sandboxV2 === undefined
      ? { apiVersion: 'v2', apiSecret: config.PORTONE_API_SECRET, storeId: config.PORTONE_STORE_ID, baseUrl: config.PORTONE_BASE_URL || undefined }
      : { apiVersion: 'v2', apiSecret: sandboxV2.apiSecret, storeId: sandboxV2.storeId, baseUrl: sandboxV2.url }
  }
  return sandbox === undefined
    ? { apiKey: config.IAMPORT_API_KEY, apiSecret: config.IAMPORT_API_SECRET, baseUrl: config.IAMPORT_BASE_URL || undefined }
    : { apiKey: sandbox.apiKey, apiSecret: sandbox.apiSecret, baseUrl: sandbox.url }
}

/**
 * Builds the example: config from `environment` (validated by @fastify/env, defaults applied),
 * the users database, a session cookie, the fastify-iamport plugin with real policy hooks and the
 * sign-up page. Sandbox mode (no credentials) starts a fake server of the chosen API generation
 * in-process. `environment` is the only source read (tests pass their own; server.ts passes process.env).
 */
export async function buildExampleApp (environment: Record<string, unknown> = process.env, options: FastifyServerOptions = {}): Promise<ExampleApp> {
  // Fastify takes trustProxy when it is built, before @fastify/env has read anything.
  const serverOptions: FastifyServerOptions = { trustProxy: trustProxyOption(environment.TRUST_PROXY), ...options }
  const app = Fastify(serverOptions)
  let sandbox: FakeIamport | undefined
  let sandboxV2: FakePortOneV2 | undefined
  let users: UserStore | undefined
  app.addHook('onClose', async () => {
    users?.close()
    await sandbox?.close()
    await sandboxV2?.close()
  })
  try {
    await app.register(fastifyEnv, { schema: configSchema(), data: withoutBlanks(environment), env: false, dotenv: false })
    const config = (app as unknown as { config: ExampleConfig }).config
    const apiVersion = exampleApiVersion(config)
    const mode = exampleMode(config)
    if (config.CI_PEPPER === DEV_CI_PEPPER) {
      if (mode === 'production') throw new Error(PRODUCTION_PEPPER_REQUIRED)
      app.log.warn('CI_PEPPER is the dev-only default: set a long random secret (`openssl rand -hex 32`) before real users sign up, and keep it')
    }
    users = openUserStore(config.DATABASE_FILE, config.CI_PEPPER)
    if (mode === 'sandbox') {
      if (apiVersion === 'v2') sandboxV2 = await createFakePortOneV2()
      else sandbox = await createFakeIamport()
    }

    // Every answer: no sniffing, no framing (X-Frame-Options for browsers without frame-ancestors),
    // and for anything that is not the page (JSON, errors) a CSP that allows nothing at all.
    app.addHook('onRequest', async (_request, reply) => {
      reply.headers({
        'x-content-type-options': 'nosniff',
        'x-frame-options': 'DENY',
        'content-security-policy': "default-src 'none'; frame-ancestors 'none'"
      })
    })
    // Every refusal in the package's Korean (koMessages), with its status and code: the page
    // picks its words by the code, any other client can show the message as it is. A custom
    // handler replaces Fastify's error log, so server errors are logged here.
    app.setErrorHandler((error, request, reply) => {
      const body = koreanMessage(error)
      if (body.statusCode >= 500) request.log.error({ err: error }, 'request failed')
      return reply.code(body.statusCode).send(body)
    })
    const sessions = installSessions(app)
    await app.register(fastifyIamport, { ...connection(config, sandbox, sandboxV2), certifications: signUpPolicy(users, sessions) })

    const settings: PageSettings = {
      apiVersion,
      mode,
      merchantCode: config.IAMPORT_MERCHANT_CODE,
      storeId: config.PORTONE_STORE_ID,
      channelKey: config.PORTONE_CHANNEL_KEY,
      sandboxUrl: (sandbox ?? sandboxV2)?.url
    }
    const page = examplePage(settings)
    const pagePolicy = contentSecurityPolicy(settings)
    app.get('/', async (_request, reply) => {
      reply.header('cache-control', 'no-store').header('content-security-policy', pagePolicy).type('text/html; charset=utf-8')
      return page
    })

    app.get('/favicon.ico', async (_request, reply) => reply.code(204).send())

    await app.ready()
    return { app, config, apiVersion, mode, sandbox, sandboxV2, users, sessions }
  } catch (err) {
    await app.close()
    throw err
  }
}
