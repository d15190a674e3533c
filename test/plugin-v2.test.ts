import t from 'tap'
import Fastify from 'fastify'
import fastifyIamport, { IamportClient, PortOneV2Client } from '../index.js'
import { createFakeIamport, createFakePortOneV2 } from '../lib/testing/index.js'
import { registrationError } from './helpers/registration.js'

function clearEnvironment (test: { teardown: (fn: () => void) => void }): void {
  const saved = { ...process.env }
  test.teardown(() => { process.env = saved })
  for (const name of ['IAMPORT_API_KEY', 'IAMPORT_API_SECRET', 'IAMPORT_BASE_URL', 'PORTONE_API_SECRET', 'PORTONE_STORE_ID', 'PORTONE_BASE_URL']) {
    delete process.env[name]
  }
}

t.test('apiVersion v2 decorates portone (not iamport), needs no apiKey, and closes its pool on close', async (t) => {
  clearEnvironment(t)
  const app = Fastify()
  await app.register(fastifyIamport, { apiVersion: 'v2', apiSecret: 'v2-s3cr3t' })
  await app.ready()
  t.type(app.portone, PortOneV2Client)
  t.notOk(app.hasDecorator('iamport'), 'no V1 client in V2 mode')
  t.ok(app.hasRoute({ method: 'POST', url: '/certifications' }))
  t.ok(app.hasRoute({ method: 'POST', url: '/certifications/prepare' }), 'issued ids are on by default in V2')
  await app.close()
  await t.rejects(app.portone!.getIdentityVerification('iv1'), { code: 'FST_IAMPORT_UPSTREAM' }, 'a closed pool refuses further calls')

  const v1 = Fastify()
  t.teardown(() => v1.close())
  await v1.register(fastifyIamport, { apiKey: 'k', apiSecret: 's', apiVersion: 'v1' })
  await v1.ready()
  t.type(v1.iamport, IamportClient)
  t.notOk(v1.hasDecorator('portone'), 'no V2 client in V1 mode')

  const clientOnly = Fastify()
  t.teardown(() => clientOnly.close())
  await clientOnly.register(fastifyIamport, { apiVersion: 'v2', apiSecret: 's', certifications: false })
  await clientOnly.ready()
  t.notOk(clientOnly.hasRoute({ method: 'POST', url: '/certifications' }))
})

t.test('V2 reads PORTONE_API_SECRET, PORTONE_STORE_ID and PORTONE_BASE_URL, never the IAMPORT_* ones', async (t) => {
  clearEnvironment(t)
  const fake = await createFakePortOneV2()
  t.teardown(() => fake.close())
  process.env.PORTONE_API_SECRET = fake.apiSecret
  process.env.PORTONE_STORE_ID = fake.storeId
  process.env.PORTONE_BASE_URL = fake.url
  process.env.IAMPORT_API_SECRET = 'v1-secret'
  process.env.IAMPORT_BASE_URL = 'http://127.0.0.1:9'
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(fastifyIamport, { apiVersion: 'v2', certifications: false })
  await app.ready()
  const seeded = fake.seedIdentityVerification()
  t.equal((await app.portone!.getIdentityVerification(seeded.id)).id, seeded.id)
  t.same(fake.requests, [{ method: 'GET', path: `/identity-verifications/${seeded.id}?storeId=${fake.storeId}` }])

  delete process.env.PORTONE_API_SECRET
  const err = await registrationError({ apiVersion: 'v2' })
  t.match(err, { code: 'FST_IAMPORT_INVALID_OPTIONS', message: /apiSecret \(or env PORTONE_API_SECRET\) is required/ })
})

t.test('missing or malformed V2 options fail registration naming the option', async (t) => {
  clearEnvironment(t)
  const v2 = { apiVersion: 'v2', apiSecret: 's3cr3t-value' }
  const cases: Array<[Record<string, unknown>, RegExp]> = [
    [{ apiVersion: 'v3', apiKey: 'k', apiSecret: 's3cr3t-value' }, /apiVersion must be 'v1' or 'v2'/],
    [{ apiVersion: null, apiKey: 'k', apiSecret: 's3cr3t-value' }, /apiVersion must be 'v1' or 'v2'/],
    [{ apiVersion: 'v2' }, /apiSecret \(or env PORTONE_API_SECRET\) is required/],
    [{ ...v2, apiKey: 'k' }, /apiKey is not an option here \(it is an option of apiVersion 'v1' only\)/],
    [{ ...v2, tier: 'AB1' }, /tier is not an option here \(it is an option of apiVersion 'v1' only\)/],
    [{ ...v2, impUidPattern: '^imp_[0-9]+$' }, /impUidPattern is not an option here \(it is an option of apiVersion 'v1' only\)/],
    [{ apiKey: 'k', apiSecret: 's3cr3t-value', storeId: 'store-1' }, /storeId is not an option here \(it is an option of apiVersion 'v2' only\)/],
    [{ ...v2, certifications: { oneTime: false } }, /certifications.oneTime: false needs issuedIds: false/],
    [{ ...v2, apiSecret: 's3cr3t value' }, /apiSecret must be visible ASCII/],
    [{ ...v2, storeId: '' }, /storeId must be a non-blank string/],
    [{ ...v2, baseUrl: 'nope' }, /baseUrl must be an absolute http\(s\) URL/],
    [{ ...v2, timeoutMs: 1.5 }, /timeoutMs must be a positive whole number of milliseconds/],
    [{ ...v2, identityVerificationIdPattern: '[' }, /identityVerificationIdPattern must be a RegExp or a valid regular expression/],
    [{ ...v2, certifications: { issuedIds: { required: false } } }, /certifications.issuedIds.required must be true \(issuedIds: false turns issuing off\)/],
    [{ ...v2, certifications: { idPattern: '^[0-9]+$' } }, /certifications.idPattern must accept the issued identity verification ids/]
  ]
  for (const [options, message] of cases) {
    const err = await registrationError(options)
    t.equal(err.code, 'FST_IAMPORT_INVALID_OPTIONS', String(message))
    t.match(err.message, message)
    t.notMatch(err.message, /s3cr3t/, 'never echoes the secret')
  }
})

t.test('a migrating site registers both versions: two decorators, two routes, one hook set', async (t) => {
  clearEnvironment(t)
  const v1Fake = await createFakeIamport()
  const v2Fake = await createFakePortOneV2()
  t.teardown(() => v1Fake.close())
  t.teardown(() => v2Fake.close())
  const seen: string[] = []
  const certifications = {
    onVerified: (identity: { name: string, verificationId: string }) => {
      seen.push(identity.verificationId)
      return { welcome: identity.name }
    }
  }
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(fastifyIamport, { apiKey: v1Fake.apiKey, apiSecret: v1Fake.apiSecret, baseUrl: v1Fake.url, certifications })
  await app.register(fastifyIamport, {
    apiVersion: 'v2', apiSecret: v2Fake.apiSecret, baseUrl: v2Fake.url, certifications: { ...certifications, url: '/identity-verifications' }
  })
  await app.ready()
  t.type(app.iamport, IamportClient)
  t.type(app.portone, PortOneV2Client)

  const certification = v1Fake.seedCertification({ name: '옛 방식' })
  const v1 = await app.inject({ method: 'POST', url: '/certifications', payload: { imp_uid: certification.imp_uid } })
  t.equal(v1.statusCode, 200)
  t.same(v1.json(), { welcome: '옛 방식' })

  const prepared = await app.inject({ method: 'POST', url: '/identity-verifications/prepare' })
  const { identityVerificationId } = prepared.json()
  v2Fake.seedIdentityVerification({ id: identityVerificationId, verifiedCustomer: { name: '새 방식' } })
  // The id is bound to the browser that prepared it: its binding cookie goes back with the verification.
  const binding = String(prepared.headers['set-cookie']).split(';')[0]!
  const v2 = await app.inject({ method: 'POST', url: '/identity-verifications', headers: { cookie: binding }, payload: { identityVerificationId } })
  t.equal(v2.statusCode, 200)
  t.same(v2.json(), { welcome: '새 방식' })
  t.same(seen, [certification.imp_uid, identityVerificationId])

  // Two V2 registrations on one instance would both decorate `portone`: the second goes in an
  // encapsulated context, where its decorator stays.
  const twice = Fastify()
  t.teardown(() => twice.close())
  await twice.register(fastifyIamport, { apiVersion: 'v2', apiSecret: 'a' })
  await t.rejects(async () => {
    await twice.register(fastifyIamport, { apiVersion: 'v2', apiSecret: 'b', certifications: { url: '/other' } })
    await twice.ready()
  }, { code: 'FST_IAMPORT_INVALID_OPTIONS', message: /fastify.portone exists already/ })

  const scoped = Fastify()
  t.teardown(() => scoped.close())
  await scoped.register(fastifyIamport, { apiVersion: 'v2', apiSecret: 'a' })
  await scoped.register(async (child) => {
    await child.register(fastifyIamport, { apiVersion: 'v2', apiSecret: 'b', certifications: { url: '/other-store' } })
  })
  await scoped.ready()
  t.ok(scoped.hasRoute({ method: 'POST', url: '/other-store' }))
})
