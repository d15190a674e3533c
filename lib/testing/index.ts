/** `fastify-iamport/testing`: a fake i'mport V1 server for tests, examples and sandboxes. */
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
