import t from 'tap'
import { MemoryStore } from '../lib/stores/memory.js'
import { RedisStore } from '../lib/stores/redis.js'
import { IamportClient } from '../lib/v1/client.js'
import { PortOneV2Client } from '../lib/v2/client.js'
import { registrationError } from './helpers/registration.js'

const v1 = { apiKey: 'key', apiSecret: 's3cr3t-value' }
const v2 = { apiVersion: 'v2', apiSecret: 's3cr3t-value' }

// A typo must never open a gate: each misspelled or misplaced key fails registration, naming its
// full path and, where one is near, the key that was meant.
t.test('misspelled and misplaced options fail registration with the path and the nearest key', async (t) => {
  const cases: Array<[Record<string, unknown>, string]> = [
    [{ ...v1, minAge: 19 }, 'minAge is not an option (did you mean certifications.minAge?)'],
    [{ ...v1, certifications: { minage: 19 } }, 'certifications.minage is not an option (did you mean certifications.minAge?)'],
    [{ ...v1, certification: { minAge: 19 } }, 'certification is not an option (did you mean certifications?)'],
    [{ ...v1, certifications: { issuedIds: { required: true, ttl: 5 } } }, 'certifications.issuedIds.ttl is not an option (did you mean certifications.issuedIds.ttlSeconds?)'],
    [{ ...v1, apiVersoin: 'v2' }, 'apiVersoin is not an option (did you mean apiVersion?)'],
    [{ ...v1, impUidPatern: '^imp_[0-9]+$' }, 'impUidPatern is not an option (did you mean impUidPattern?'],
    [{ ...v1, store: new MemoryStore() }, 'store is not an option (did you mean certifications.store?)'],
    [{ ...v1, certifications: { findDuplicates: () => false } }, 'certifications.findDuplicates is not an option (did you mean certifications.findDuplicate?)'],
    [{ ...v1, certifications: { onverified: () => ({}) } }, 'certifications.onverified is not an option (did you mean certifications.onVerified?)'],
    [{ ...v1, timeoutMS: 5000 }, 'timeoutMS is not an option (did you mean timeoutMs?)'],
    [{ ...v1, certifications: { schema: { headers: {} } } }, 'certifications.schema.headers is not an option'],
    [{ ...v1, certifications: { schema: { querystring: {} } } }, 'certifications.schema.querystring is not an option'],
    [{ ...v1, certifications: { eraseAfterVerfy: true } }, 'certifications.eraseAfterVerfy is not an option (did you mean certifications.eraseAfterVerify?)'],
    [{ ...v1, certifications: { deleteAfterVerify: true } }, 'certifications.deleteAfterVerify is not an option'],
    [{ ...v1, certifications: { merchantUid: { required: true } } }, 'certifications.merchantUid is not an option (renamed to certifications.issuedIds'],
    [{ ...v1, certifications: { impUidPattern: '^imp_[0-9]+$' } }, 'certifications.impUidPattern is not an option (renamed to certifications.idPattern'],
    [{ ...v1, certifications: { minAge: 19, ageBasis: 'year', checkage: () => true } }, 'certifications.checkage is not an option (did you mean certifications.checkAge?)'],
    [{ ...v2, certifications: { issuedIds: { required: true, subjet: () => 'x' } } }, 'certifications.issuedIds.subjet is not an option (did you mean certifications.issuedIds.subject?)'],
    [{ ...v2, apiKey: 'k' }, "apiKey is not an option here (it is an option of apiVersion 'v1' only)"],
    [{ ...v1, storeId: 'store-1' }, "storeId is not an option here (it is an option of apiVersion 'v2' only)"],
    [{ ...v2, identityVerificationIdPatern: '^x$' }, 'identityVerificationIdPatern is not an option (did you mean identityVerificationIdPattern?)']
  ]
  for (const [options, message] of cases) {
    const err = await registrationError(options)
    t.equal(err.code, 'FST_IAMPORT_INVALID_OPTIONS', message)
    t.equal(err.statusCode, 500)
    t.equal(err.message.slice(0, 32 + message.length), `Invalid fastify-iamport option: ${message}`)
    t.notMatch(err.message, /s3cr3t/, 'never echoes the secret')
  }
})

t.test('function-valued options must be functions, and RegExp patterns work at both levels', async (t) => {
  for (const hook of ['checkAge', 'findDuplicate', 'onVerified', 'now']) {
    const err = await registrationError({ ...v1, certifications: { [hook]: 'yes' } })
    t.equal(err.message, `Invalid fastify-iamport option: certifications.${hook} must be a function`)
  }
  t.match(await registrationError({ ...v1, certifications: { issuedIds: { required: true, subject: 'me' } } }),
    { message: /certifications.issuedIds.subject must be a function/ })
  t.match(await registrationError({ ...v1, certifications: { idPattern: 42 } }),
    { message: /certifications.idPattern must be a RegExp or a valid regular expression/ })
  t.match(await registrationError({ ...v1, certifications: { verifiedResponseSchema: 'object' } }),
    { message: /certifications.verifiedResponseSchema must be a JSON schema object/ })
  t.match(await registrationError({ ...v1, certifications: { schema: { tags: 'identity' } } }),
    { message: /certifications.schema.tags must be an array of strings/ })
})

t.test('wrong values are named by path, in unions and in arrays too', async (t) => {
  const cases: Array<[Record<string, unknown>, string]> = [
    [{ ...v1, certifications: { requireIdentityKey: { ci: true } } }, "certifications.requireIdentityKey must be 'ci', 'di' or false"],
    [{ ...v1, certifications: { issuedIds: true } }, 'certifications.issuedIds must be false or { required: true }'],
    [{ ...v1, certifications: { issuedIds: { required: true, ttlSeconds: 0.5 } } }, 'certifications.issuedIds.ttlSeconds must be a positive whole number of seconds'],
    [{ ...v1, certifications: { schema: { tags: ['identity', 7] } } }, 'certifications.schema.tags.1 is not valid'],
    [{ ...v1, baseUrl: 42 }, 'baseUrl must be an absolute http(s) URL'],
    [{ ...v1, storeid: 'store-1' }, "storeid is not an option (did you mean storeId? It is an option of apiVersion 'v2'.)"],
    [{ ...v1, apiVersion: 'V2' }, "apiVersion must be 'v1' or 'v2'"]
  ]
  for (const [options, message] of cases) {
    t.equal((await registrationError(options)).message, `Invalid fastify-iamport option: ${message}`)
  }
})

t.test('the stores and the clients check their options the same way', async (t) => {
  const cases: Array<[() => unknown, string]> = [
    [() => new MemoryStore({ maxIssue: 5 } as never), 'MemoryStore maxIssue is not an option (did you mean maxIssued?)'],
    [() => new MemoryStore({ maxConsumed: 0 }), 'MemoryStore maxConsumed must be a positive whole number'],
    [() => new MemoryStore({ now: Date.now() } as never), 'MemoryStore now must be a function'],
    [() => new RedisStore({ client: {} } as never), 'RedisStore client must be an ioredis client (with call) or a node-redis client (with sendCommand)'],
    [() => new IamportClient({ ...v1, timeout: 5 } as never), 'IamportClient timeout is not an option (did you mean timeoutMs?)'],
    [() => new IamportClient({ apiKey: 'k' } as never), 'IamportClient apiSecret is required'],
    [() => new PortOneV2Client({ apiSecret: 's', storeID: 'x' } as never), 'PortOneV2Client storeID is not an option (did you mean storeId?)']
  ]
  for (const [make, message] of cases) {
    t.throws(make, { code: 'FST_IAMPORT_INVALID_OPTIONS', message: `Invalid fastify-iamport option: ${message}` }, message)
  }
})
