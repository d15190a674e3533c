import type { Test } from 'tap'
import Fastify from 'fastify'
import fastifyRateLimit from '@fastify/rate-limit'
import fastifyIamport, { type CertificationsOptions } from '../../index.js'
import { createFakeIamport, type FakeIamport } from '../../lib/testing/index.js'

/**
 * The README's rate-limit recipe: @fastify/rate-limit with `global: false`, the plugin on a V1 fake
 * with these route options, listening on 127.0.0.1. `post` answers the status only.
 */
export async function rateLimitedApp (t: Test, certifications: CertificationsOptions): Promise<{ fake: FakeIamport, post: (path: string, body: unknown) => Promise<number> }> {
  const fake = await createFakeIamport()
  t.teardown(() => fake.close())
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(fastifyRateLimit, { global: false })
  await app.register(fastifyIamport, { apiKey: fake.apiKey, apiSecret: fake.apiSecret, baseUrl: fake.url, certifications })
  const address = await app.listen({ port: 0, host: '127.0.0.1' })
  const post = async (path: string, body: unknown): Promise<number> =>
    (await fetch(address + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })).status
  return { fake, post }
}
