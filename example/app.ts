import fastifyEnv from '@fastify/env'
import { Type } from '@sinclair/typebox'
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import fastifyIamport from '../index.js'
import { createFakeIamport, type FakeIamport } from '../lib/testing/index.js'
import { configSchema, DEV_CI_PEPPER, exampleMode, type ExampleConfig, type ExampleMode } from './config.js'
import { examplePage } from './page.js'
import { installSessions, sessionOf } from './session.js'
import { openUserStore, type UserStore } from './users.js'

/** The example host app, ready to listen. */
export interface ExampleApp {
  app: FastifyInstance
  config: ExampleConfig
  mode: ExampleMode
  /** Sandbox mode: the in-process fake i'mport server (closed with the app). */
  sandbox: FakeIamport | undefined
  users: UserStore
}

/** Sign-up needs this age, counted the 청소년보호법 way (연 나이: this year minus birth year). */
export const MIN_AGE = 19

/**
 * Builds the example: config from `environment` (validated by @fastify/env, defaults applied),
 * the users database, a session cookie, the fastify-iamport plugin with real policy hooks and the
 * sign-up page. Sandbox mode (no credentials) starts a fake i'mport server in-process.
 * `environment` is the only source read (tests pass their own; server.ts passes process.env).
 */
export async function buildExampleApp (environment: Record<string, unknown> = process.env, options: FastifyServerOptions = {}): Promise<ExampleApp> {
  const app = Fastify(options)
  let sandbox: FakeIamport | undefined
  let users: UserStore | undefined
  app.addHook('onClose', async () => {
    users?.close()
    await sandbox?.close()
  })
  try {
    await app.register(fastifyEnv, { schema: configSchema(), data: environment, env: false, dotenv: false })
    const config = (app as unknown as { config: ExampleConfig }).config
    const mode = exampleMode(config)
    if (config.CI_PEPPER === DEV_CI_PEPPER) {
      app.log.warn('CI_PEPPER is the dev-only default: set a long random secret before real users sign up (and keep it)')
    }
    users = openUserStore(config.DATABASE_FILE, config.CI_PEPPER)
    sandbox = mode === 'sandbox' ? await createFakeIamport() : undefined
    const registeredUsers = users

    installSessions(app)
    await app.register(fastifyIamport, {
      ...(sandbox === undefined
        ? { apiKey: config.IAMPORT_API_KEY, apiSecret: config.IAMPORT_API_SECRET, baseUrl: config.IAMPORT_BASE_URL || undefined }
        : { apiKey: sandbox.apiKey, apiSecret: sandbox.apiSecret, baseUrl: sandbox.url }),
      certifications: {
        minAge: MIN_AGE,
        ageBasis: 'year',
        // Only merchant_uids this server issued, to this browser session, are accepted.
        merchantUid: { required: true, subject: sessionOf },
        findDuplicate: (identity) => registeredUsers.existsForCi(identity.ci),
        onVerified: (identity) => ({ welcome: registeredUsers.register(identity).displayName }),
        // The browser gets the welcome name and nothing else (no CI, phone or birthday).
        verifiedResponseSchema: Type.Object({ welcome: Type.String() })
      }
    })

    const page = examplePage({ mode, merchantCode: config.IAMPORT_MERCHANT_CODE, sandboxUrl: sandbox?.url })
    app.get('/', async (_request, reply) => {
      reply.header('cache-control', 'no-store').header('x-content-type-options', 'nosniff').type('text/html; charset=utf-8')
      return page
    })

    app.get('/favicon.ico', async (_request, reply) => reply.code(204).send())

    await app.ready()
    return { app, config, mode, sandbox, users }
  } catch (err) {
    await app.close()
    throw err
  }
}
