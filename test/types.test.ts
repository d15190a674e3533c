// Compiled by `npm run typecheck`: each @ts-expect-error must meet a real type error, or tsc fails.
import t from 'tap'
import Fastify from 'fastify'
import fastifyIamport, { type Certification, type CertificationsOptions, type IamportClient } from '../index.js'
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

t.test('typed hooks register, and the decorator is typed', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(fastifyIamport, { apiKey: 'k', apiSecret: 's', certifications: typedHooks })
  await app.ready()
  const client: IamportClient = app.iamport
  const pending: (impUid: string) => Promise<Certification> = client.getCertification.bind(client)
  t.type(pending, 'function')
  t.type(wrongReturn.checkAge, 'function')
  t.equal(wrongBasis.ageBasis, 'korean')
  t.type(wrongArgument.findDuplicate, 'function')
})
