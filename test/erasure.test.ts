// eraseAfterVerify (issue 14, item 2): V1 erases the certification at i'mport once onVerified has
// succeeded, so a replay after a restart finds nothing upstream, whatever the store remembers.
import t from 'tap'
import Fastify from 'fastify'
import fastifyIamport, { MemoryStore } from '../index.js'
import { createFakeIamport, type FakeIamport } from '../lib/testing/index.js'
import { seed, startApp } from './helpers/app.js'

const sessionOf = (): string => 'tester'

t.test('one DELETE per successful verification; a replay on a fresh store is 404', async (t) => {
  const fake = await createFakeIamport()
  t.teardown(() => fake.close())
  const names: string[] = []
  const first = await startApp(t, { eraseAfterVerify: true, store: new MemoryStore(), onVerified: (identity) => { names.push(identity.name) } }, {}, fake)
  const { imp_uid: impUid } = seed(fake, { name: '지워질사람' })
  t.equal((await first.verify(impUid)).status, 200)
  t.equal(fake.calls.deleteCertification, 1, 'one DELETE upstream')
  t.same(names, ['지워질사람'], 'onVerified saw the person before the erasure')

  // A restart: a new process with an empty store. The verification is gone upstream.
  const restarted = await startApp(t, { eraseAfterVerify: true, store: new MemoryStore() }, {}, fake)
  const replay = await restarted.verify(impUid)
  t.equal(replay.status, 404)
  t.equal(replay.body.code, 'FST_IAMPORT_CERTIFICATION_NOT_FOUND')
  t.equal(fake.calls.deleteCertification, 1, 'no DELETE for a refusal')
})

t.test('refusals and failing hooks erase nothing; without the option nothing is erased', async (t) => {
  const fake = await createFakeIamport()
  t.teardown(() => fake.close())
  const { verify } = await startApp(t, { eraseAfterVerify: true, minAge: 19, store: new MemoryStore() }, {}, fake)
  t.equal((await verify(seed(fake, { birthday: '2015-01-01', birth: undefined }).imp_uid)).status, 403)
  const hooked = await startApp(t, { eraseAfterVerify: true, store: new MemoryStore(), onVerified: () => { throw new Error('db down') } }, {}, fake)
  t.equal((await hooked.verify(seed(fake).imp_uid)).status, 500)
  const plain = await startApp(t, { store: new MemoryStore() }, {}, fake)
  t.equal((await plain.verify(seed(fake).imp_uid)).status, 200)
  t.equal(fake.calls.deleteCertification, 0)
})

t.test('a failed erasure is logged without personal data and the verification still succeeds', async (t) => {
  const fake: FakeIamport = await createFakeIamport()
  t.teardown(() => fake.close())
  const record = seed(fake, { name: '남는사람', phone: '01098765432' })
  // onVerified runs between the GET and the DELETE: the fault it queues hits the DELETE, echoing the phone.
  const { verify, logs } = await startApp(t, {
    eraseAfterVerify: true,
    store: new MemoryStore(),
    onVerified: () => { fake.inject({ target: 'certification', kind: 'status', status: 500, message: `삭제 실패 ${record.phone!}` }) }
  }, {}, fake)
  const res = await verify(record.imp_uid)
  t.equal(res.status, 200, 'the verification stands')
  t.equal(fake.calls.deleteCertification, 1)
  const warnings = logs.map((line) => JSON.parse(line)).filter((line) => line.msg === 'identity verification erasure failed')
  t.equal(warnings.length, 1)
  t.match(warnings[0], { level: 40, impUid: record.imp_uid, code: 'FST_IAMPORT_UPSTREAM' })
  const joined = logs.join('\n')
  t.notOk(joined.includes(record.phone!) || joined.includes('남는사람'), 'no personal data in any log line')
})

t.test('V2 refuses eraseAfterVerify at registration: it has no erasure call', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await t.rejects(async () => {
    await app.register(fastifyIamport, { apiVersion: 'v2', apiSecret: 's', certifications: { eraseAfterVerify: true, issuedIds: { required: true, subject: sessionOf } } })
    await app.ready()
  }, { code: 'FST_IAMPORT_INVALID_OPTIONS', message: /certifications.eraseAfterVerify: PortOne V2 has no call that erases/ })
})
