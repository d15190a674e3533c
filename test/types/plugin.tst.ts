// Type tests (tstyche, `npm run test:types`), under exactOptionalPropertyTypes as in
// @tsconfig/strictest: the options union, both decorators, hooks and the error classes.
import Fastify from 'fastify'
import { describe, expect, test } from 'tstyche'
import fastifyIamport, {
  AgeRestrictedError, InvalidOptionsError, UpstreamError,
  type CertificationsOptions, type FastifyIamportOptions, type IamportClient, type Identity, type PortOneV2Client
} from '../../index.js'
import type { Certification } from '../../lib/v1/schemas.js'
import { createFakeIamport } from '../../lib/testing/index.js'

describe('FastifyIamportOptions', () => {
  test('is a union discriminated on apiVersion', () => {
    expect<FastifyIamportOptions>().type.toBeAssignableFrom({ apiKey: 'k', apiSecret: 's' })
    expect<FastifyIamportOptions>().type.toBeAssignableFrom({ apiVersion: 'v2' as const, apiSecret: 's', storeId: 'store-1' })
    expect<FastifyIamportOptions>().type.not.toBeAssignableFrom({ apiVersion: 'v2' as const, apiKey: 'x' })
    expect<FastifyIamportOptions>().type.not.toBeAssignableFrom({ apiKey: 'k', storeId: 'store-1' })
    expect<FastifyIamportOptions>().type.not.toBeAssignableFrom({ apiVersion: 'v3' as const })
  })

  test('refuses misspelled route options', () => {
    expect(Fastify().register).type.not.toBeCallableWith(fastifyIamport, { apiKey: 'k', certifications: { minage: 1 } })
    expect(Fastify().register).type.not.toBeCallableWith(fastifyIamport, { apiVersion: 'v2', apiSecret: 's', apiKey: 'k' })
    expect(Fastify().register).type.toBeCallableWith(fastifyIamport, { apiKey: 'k', certifications: { minAge: 19, ageBasis: 'year' } })
  })

  test('takes an environment variable that may be undefined', () => {
    expect(Fastify().register).type.toBeCallableWith(fastifyIamport, {
      apiKey: process.env.IAMPORT_API_KEY, apiSecret: process.env.IAMPORT_API_SECRET, baseUrl: process.env.IAMPORT_BASE_URL
    })
  })

  test('takes a plain JSON schema or a TypeBox one for the 200 body', () => {
    const schema = { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] } as const
    expect<CertificationsOptions>().type.toBeAssignableFrom({ onVerified: (identity: Identity) => ({ name: identity.name }), verifiedResponseSchema: schema })
    expect<CertificationsOptions>().type.not.toBeAssignableFrom({ verifiedResponseSchema: 'object' })
  })
})

describe('hooks', () => {
  test('get a typed Identity and may be sync or async', () => {
    expect<CertificationsOptions>().type.toBeAssignableFrom({
      checkAge: async (identity: Identity) => (identity.age('international') ?? 0) >= 14,
      findDuplicate: (identity: Identity) => identity.ci === 'x'
    })
    expect<CertificationsOptions>().type.not.toBeAssignableFrom({ checkAge: () => 'yes' })
    expect<CertificationsOptions>().type.not.toBeAssignableFrom({ ageBasis: 'korean' })
    expect<Identity['birthday']>().type.toBe<string | undefined>()
    expect<Identity['verificationId']>().type.toBe<string>()
    expect<Identity['requestId']>().type.toBe<string | undefined>()
  })
})

describe('decorators', () => {
  test('both may be absent: which one exists depends on apiVersion', () => {
    const app = Fastify()
    expect(app.iamport).type.toBe<IamportClient | undefined>()
    expect(app.portone).type.toBe<PortOneV2Client | undefined>()
    expect(app.iamport!.getCertification).type.toBe<(impUid: string) => Promise<Certification>>()
  })
})

describe('error classes', () => {
  test('carry the Fastify error shape', () => {
    expect(new InvalidOptionsError('x').code).type.toBe<string>()
    expect(new AgeRestrictedError().statusCode).type.toBe<403>()
    expect(UpstreamError).type.toBeConstructableWith('getToken: HTTP 500')
  })
})

describe('testing kit', () => {
  test('a seed field given as undefined drops it', async () => {
    const fake = await createFakeIamport()
    expect(fake.seedCertification).type.toBeCallableWith({ phone: undefined, birth: undefined })
  })
})
