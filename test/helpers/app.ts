import type { Test } from 'tap'
import Fastify, { type FastifyInstance } from 'fastify'
import { Writable } from 'node:stream'
import fastifyIamport, { type IamportPluginOptions } from '../../index.js'
import type { CertificationsOptions } from '../../lib/options/route.js'
import type { Certification } from '../../lib/v1/schemas.js'
import { createFakeIamport, type FakeIamport } from '../../lib/testing/index.js'

/** Every log line any test app wrote, for the log-hygiene test. */
export const allLogLines: string[] = []

/**
 * Values that must never reach a log line: secrets, tokens and every seeded personal value. Every
 * suite records into it (through {@link recordSensitive}) and ends with suite-checks.ts's
 * `assertNoSensitiveLogLines`.
 */
export const sensitiveValues = new Set<string>()

/** Records every non-empty string among `values` as sensitive; anything else is skipped. */
export function recordSensitive (...values: unknown[]): void {
  for (const value of values) if (typeof value === 'string' && value.length > 0) sensitiveValues.add(value)
}

/** Seeds a certification and remembers its personal values as sensitive. */
export function seed (fake: FakeIamport, partial: Parameters<FakeIamport['seedCertification']>[0] = {}): Certification {
  const record = fake.seedCertification(partial)
  recordSensitive(record.name, record.birthday, record.phone, record.unique_key, record.unique_in_site)
  return record
}

export interface TestApp {
  app: FastifyInstance
  fake: FakeIamport
  /** Log lines this app wrote. */
  logs: string[]
  /** POSTs a JSON body (or a raw string with a content type) to the app over real HTTP. */
  post: (path: string, body: unknown, contentType?: string, headers?: Record<string, string>) => Promise<{ status: number, body: any }>
  verify: (impUid: unknown, headers?: Record<string, string>) => Promise<{ status: number, body: any }>
}

/** What {@link listen} gives: the app, its log lines, and a POST over real HTTP. */
export interface ListeningApp {
  app: FastifyInstance
  /** Log lines this app wrote (also appended to {@link allLogLines}). */
  logs: string[]
  /** POSTs a JSON body (or a raw string with a content type) to the app over real HTTP. */
  post: (path: string, body: unknown, contentType?: string, headers?: Record<string, string>) => Promise<{ status: number, body: any }>
}

/** A Fastify app whose every log line is captured, set up by `register`, listening on 127.0.0.1, closed at teardown. */
export async function listen (t: Test, register: (app: FastifyInstance) => Promise<void>, level = 'trace'): Promise<ListeningApp> {
  const logs: string[] = []
  const stream = new Writable({
    write (chunk, _encoding, done) {
      logs.push(String(chunk))
      allLogLines.push(String(chunk))
      done()
    }
  })
  const app = Fastify({ logger: { level, stream } })
  await register(app)
  const address = await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  // One browser per app: the binding cookie prepare sets goes back with every later request.
  const cookies = new Map<string, string>()
  async function post (path: string, body: unknown, contentType = 'application/json', headers: Record<string, string> = {}): Promise<{ status: number, body: any }> {
    const cookie = [...cookies].map(([name, value]) => `${name}=${value}`).join('; ')
    const res = await fetch(address + path, {
      method: 'POST',
      headers: { 'content-type': contentType, ...(cookie === '' ? {} : { cookie }), ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body)
    })
    for (const setCookie of res.headers.getSetCookie()) {
      const [name, value] = setCookie.split(';')[0]!.split('=')
      cookies.set(name!, value!)
    }
    const text = await res.text()
    return { status: res.status, body: text === '' ? undefined : JSON.parse(text) }
  }
  return { app, logs, post }
}

/** A fake i'mport server and an app with the plugin, listening on 127.0.0.1, closed at teardown. */
export async function startApp (t: Test, certifications?: false | string | CertificationsOptions, options: Partial<IamportPluginOptions> = {}, fake?: FakeIamport): Promise<TestApp> {
  const upstream = fake ?? await createFakeIamport()
  const { app, logs, post } = await listen(t, async (app) => {
    await app.register(fastifyIamport, { apiKey: upstream.apiKey, apiSecret: upstream.apiSecret, baseUrl: upstream.url, certifications, ...options })
  })
  recordSensitive(upstream.apiSecret)
  t.teardown(async () => {
    recordSensitive(...upstream.issuedTokens())
    if (fake === undefined) await upstream.close()
  })
  return { app, fake: upstream, logs, post, verify: (impUid, headers) => post('/certifications', { imp_uid: impUid }, 'application/json', headers) }
}
