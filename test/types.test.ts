// Compiled by `npm run typecheck`: each @ts-expect-error must meet a real type error, or tsc fails.
import t from 'tap'
import Fastify from 'fastify'
import fastifyIamport, {
  type Certification, type CertificationsOptions, type FastifyIamportOptions, type IamportClient, type PortOneV2Client
} from '../index.js'
import type { Identity } from '../lib/identity.js'

const typedHooks: CertificationsOptions = {
  minAge: 19,
  ageBasis: 'year',
  checkAge: async (identity: Identity) => (identity.age('international') ?? 0) >= 14,
  findDuplicate: (identity) => identity.ci === 'x',
  onVerified: (identity, request, reply) => {
    reply.header('x-method', request.method)
    return { name: identity.name, birthday: identity.birthday }
  }
}

const wrongReturn: CertificationsOptions = {
  // @ts-expect-error checkAge must return a boolean (or a promise of one), not a string
  checkAge: () => 'yes'
}

const wrongBasis: CertificationsOptions = {
  // @ts-expect-error ageBasis is 'international' or 'year'
  ageBasis: 'korean'
}

const wrongArgument: CertificationsOptions = {
  // @ts-expect-error identity.birthday is a string (or undefined), not a Date
  findDuplicate: (identity) => identity.birthday.getTime()
}

// The plugin options are a union discriminated on apiVersion: each generation takes only its keys.
// @ts-expect-error apiKey is an option of apiVersion 'v1' only
const v2WithApiKey: FastifyIamportOptions = { apiVersion: 'v2', apiKey: 'x' }
// @ts-expect-error storeId is an option of apiVersion 'v2' only
const v1WithStoreId: FastifyIamportOptions = { apiKey: 'k', apiSecret: 's', storeId: 'store-1' }
const misspelled: FastifyIamportOptions = {
  apiKey: 'k',
  apiSecret: 's',
  // @ts-expect-error minage is not an option (minAge is)
  certifications: { minage: 1 }
}
const v2Options: FastifyIamportOptions = { apiVersion: 'v2', apiSecret: 's', storeId: 'store-1', certifications: { idPattern: /^iv[0-9a-f]{32}$/ } }

/** `true` only when A and B are the same type. */
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false
const assertType = <T extends true>(value: T): T => value

t.test('typed hooks register, and the decorator is typed', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(fastifyIamport, { apiKey: 'k', apiSecret: 's', certifications: typedHooks })
  await app.ready()
  // Both decorators may be absent: which one a registration adds depends on its apiVersion.
  assertType<Equal<typeof app.iamport, IamportClient | undefined>>(true)
  assertType<Equal<typeof app.portone, PortOneV2Client | undefined>>(true)
  // @ts-expect-error a V1 app does not see fastify.portone as present
  t.throws(() => app.portone.getIdentityVerification('iv-1'), TypeError, 'and it is absent at run time')
  await t.rejects(async () => {
    // @ts-expect-error the register call refuses a V1 key with apiVersion 'v2'
    await Fastify().register(fastifyIamport, { apiVersion: 'v2', apiSecret: 's', apiKey: 'k' })
  }, { code: 'FST_IAMPORT_INVALID_OPTIONS' })
  t.same([v2WithApiKey.apiVersion, v1WithStoreId.apiVersion, misspelled.apiVersion, v2Options.apiVersion], ['v2', undefined, undefined, 'v2'])
  const client: IamportClient = app.iamport!
  const pending: (impUid: string) => Promise<Certification> = client.getCertification.bind(client)
  t.type(pending, 'function')
  t.type(wrongReturn.checkAge, 'function')
  t.equal(wrongBasis.ageBasis, 'korean')
  t.type(wrongArgument.findDuplicate, 'function')
})
