/** `fastify-iamport/testing`: fake i'mport V1 and PortOne V2 servers for tests, examples and sandboxes. */
export { createFakeIamport } from './fake-iamport.js'
export type {
  CertificationSeed,
  FakeIamport,
  FakeIamportCalls,
  FakeIamportOptions,
  FakeIamportRequest,
  Fault,
  FaultTarget
} from './fake-iamport.js'

/** A fake PortOne V2 identity verification server, with the same fault kinds. */
export { createFakePortOneV2 } from './fake-portone-v2.js'
export type {
  FakePortOneV2,
  FakePortOneV2Calls,
  FakePortOneV2Options,
  FakePortOneV2OtpCalls,
  IdentityVerificationSeed
} from './fake-portone-v2.js'
