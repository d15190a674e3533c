// The fastify-iamport:verification diagnostics channel (issue 14, item 4): one message per
// verification, refusals included, with no personal data; and the Prometheus recipe.
import t from 'tap'
import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { Registry } from 'prom-client'
import { VERIFICATION_CHANNEL, type VerificationEvent } from '../index.js'
import { exportVerificationMetrics } from '../example/recipes/prometheus.js'
import { createFakePortOneV2 } from '../lib/testing/index.js'
import { listen, seed, startApp } from './helpers/app.js'
import fastifyIamport from '../index.js'

t.test('a subscriber gets one event per verification, refusals included, and nothing personal', async (t) => {
  const events: VerificationEvent[] = []
  const onEvent = (message: unknown): void => { events.push(message as VerificationEvent) }
  subscribe(VERIFICATION_CHANNEL, onEvent)
  t.teardown(() => unsubscribe(VERIFICATION_CHANNEL, onEvent))
  const { fake, verify } = await startApp(t, { onVerified: async () => { await new Promise((resolve) => setTimeout(resolve, 20)) } })
  const record = seed(fake, { name: '채널사람', phone: '01055554444' })
  t.equal((await verify(record.imp_uid)).status, 200)
  t.equal((await verify(record.imp_uid)).status, 409)
  t.equal((await verify('imp_000000000001')).status, 404)
  t.same(events.map((event) => event.outcome), ['VERIFIED', 'FST_IAMPORT_REPLAYED', 'FST_IAMPORT_CERTIFICATION_NOT_FOUND'])
  t.match(events[0], { apiVersion: 'v1', route: '/certifications', upstreamMs: Number, hookMs: Number, totalMs: Number })
  t.ok(events[0]!.hookMs >= 15, `the hook's 20 ms are in hookMs (${events[0]!.hookMs.toFixed(1)})`)
  t.ok(events[0]!.totalMs >= events[0]!.upstreamMs + events[0]!.hookMs, 'total covers both')
  t.same(Object.keys(events[0]!).sort(), ['apiVersion', 'hookMs', 'outcome', 'route', 'totalMs', 'upstreamMs'])
  const text = JSON.stringify(events)
  for (const value of [record.imp_uid, record.name, record.phone, record.unique_key, record.unique_in_site, record.birthday]) {
    t.notOk(text.includes(String(value)), 'no id and no personal value in any event')
  }
})

t.test('the Prometheus recipe exports outcomes per API generation', async (t) => {
  const registry = new Registry()
  exportVerificationMetrics(registry)
  const fake = await createFakePortOneV2()
  t.teardown(() => fake.close())
  const { post } = await listen(t, async (app) => {
    await app.register(fastifyIamport, { apiVersion: 'v2', apiSecret: fake.apiSecret, baseUrl: fake.url, certifications: { issuedIds: false } })
  })
  const verification = fake.seedIdentityVerification()
  t.equal((await post('/certifications', { identityVerificationId: verification.id })).status, 200)
  t.equal((await post('/certifications', { identityVerificationId: verification.id })).status, 409)
  const metrics = await registry.metrics()
  t.match(metrics, /identity_verification_seconds_count\{outcome="VERIFIED",api_version="v2",route="\/certifications",phase="total"\} 1/)
  t.match(metrics, /identity_verification_seconds_count\{outcome="FST_IAMPORT_REPLAYED",api_version="v2",route="\/certifications",phase="upstream"\} 1/)
  t.notOk(metrics.includes(verification.id), 'no id in the metrics')
})
