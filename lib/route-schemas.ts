import type { FastifyInstance } from 'fastify'

/**
 * The routes' response schemas, written for OpenAPI (@fastify/swagger) as much as for
 * serialization: one shared error schema per route with `code` an enum of what that route can
 * answer, a description of its own for every status, and a 200 that is always there.
 */

type StatusCodes = Record<number, { description: string, codes: readonly string[] }>

/** What `POST {url}` can refuse with, by status. A hook's own HTTP error keeps its status and code. */
const VERIFY_STATUSES: StatusCodes = {
  400: { description: 'The body is not `{ <id field>: string }` of the expected form, or not JSON.', codes: ['FST_ERR_VALIDATION', 'FST_ERR_CTP_INVALID_JSON_BODY', 'FST_ERR_CTP_EMPTY_JSON_BODY', 'FST_IAMPORT_INVALID_IMP_UID'] },
  403: { description: 'The verified person does not meet the age requirement (`minAge` or `checkAge`).', codes: ['FST_IAMPORT_AGE_RESTRICTED'] },
  404: { description: 'Upstream has no identity verification with this id.', codes: ['FST_IAMPORT_CERTIFICATION_NOT_FOUND'] },
  409: { description: 'The verification was used before, or `findDuplicate` found an account for this person.', codes: ['FST_IAMPORT_REPLAYED', 'FST_IAMPORT_DUPLICATE'] },
  413: { description: 'The body is larger than `bodyLimit`.', codes: ['FST_ERR_CTP_BODY_TOO_LARGE'] },
  415: { description: 'The body is not `application/json`.', codes: ['FST_ERR_CTP_INVALID_MEDIA_TYPE'] },
  422: { description: 'The verification did not complete, is too old, was not started here for this requester, or lacks the identity key the hooks need.', codes: ['FST_IAMPORT_NOT_CERTIFIED', 'FST_IAMPORT_STALE_CERTIFICATION', 'FST_IAMPORT_MERCHANT_MISMATCH', 'FST_IAMPORT_MISSING_IDENTITY_KEY'] },
  500: { description: 'A verification hook failed; the verification can be retried.', codes: ['FST_IAMPORT_HOOK_FAILED'] },
  502: { description: 'Upstream refused the request or answered something unexpected.', codes: ['FST_IAMPORT_UPSTREAM'] },
  503: { description: 'The verification store failed or did not answer in time; nothing got through unchecked.', codes: ['FST_IAMPORT_STORE_UNAVAILABLE'] },
  504: { description: 'Upstream did not answer within `timeoutMs`.', codes: ['FST_IAMPORT_UPSTREAM_TIMEOUT'] }
}

/** What `POST {url}/prepare` can refuse with: it reads no body and calls no upstream. */
const PREPARE_STATUSES: StatusCodes = {
  400: { description: 'A body was sent that is not JSON.', codes: ['FST_ERR_CTP_INVALID_JSON_BODY', 'FST_ERR_CTP_EMPTY_JSON_BODY'] },
  413: { description: 'A body was sent: prepare takes none.', codes: ['FST_ERR_CTP_BODY_TOO_LARGE'] },
  415: { description: 'A body of another type than `application/json` was sent.', codes: ['FST_ERR_CTP_INVALID_MEDIA_TYPE'] },
  500: { description: 'The `subject` hook failed or gave no subject to bind the id to.', codes: ['FST_IAMPORT_HOOK_FAILED'] },
  503: { description: 'The verification store failed or did not answer in time.', codes: ['FST_IAMPORT_STORE_UNAVAILABLE'] }
}

/** Fastify's standard error body, the only thing a refusal sends, with the route's codes. */
function errorSchema ($id: string, statuses: StatusCodes): Record<string, unknown> {
  return {
    $id,
    type: 'object',
    description: 'A refusal, in Fastify\'s standard error body.',
    required: ['statusCode', 'error', 'message'],
    properties: {
      statusCode: { type: 'integer' },
      code: { type: 'string', enum: [...new Set(Object.values(statuses).flatMap((status) => status.codes))] },
      error: { type: 'string' },
      message: { type: 'string' }
    }
  }
}

function refusals ($id: string, statuses: StatusCodes): Record<number, unknown> {
  return Object.fromEntries(Object.entries(statuses).map(([status, { description, codes }]) =>
    [status, { description: `${description} Codes: ${codes.join(', ')}.`, $ref: `${$id}#` }]))
}

const VERIFY_ERROR_ID = 'fastify-iamport-verification-error'
const PREPARE_ERROR_ID = 'fastify-iamport-prepare-error'

/** Adds the two error schemas to the route's own (encapsulated) context. */
export function addErrorSchemas (fastify: FastifyInstance): void {
  fastify.addSchema(errorSchema(VERIFY_ERROR_ID, VERIFY_STATUSES))
  fastify.addSchema(errorSchema(PREPARE_ERROR_ID, PREPARE_STATUSES))
}

const VERIFIED_DESCRIPTION = 'Verified: every check and hook passed.'

/**
 * Responses of `POST {url}`. The 200 is `{ verified: true }` by default; with `onVerified`, the
 * host's `verifiedResponseSchema`, else any JSON (an empty schema: serialized as it is).
 */
export function verifyResponses (hasOnVerified: boolean, verifiedResponseSchema: object | undefined): Record<number, unknown> {
  const verified = verifiedResponseSchema !== undefined
    ? { description: VERIFIED_DESCRIPTION, ...verifiedResponseSchema }
    : hasOnVerified
      ? { description: `${VERIFIED_DESCRIPTION} The body is what \`onVerified\` returned.` }
      : { description: VERIFIED_DESCRIPTION, type: 'object', required: ['verified'], properties: { verified: { type: 'boolean', const: true } } }
  return { 200: verified, ...refusals(VERIFY_ERROR_ID, VERIFY_STATUSES) }
}

/** Responses of `POST {url}/prepare`. */
export function prepareResponses (issuedField: string): Record<number, unknown> {
  return {
    200: {
      description: 'A new id, bound to the requester, to start the verification with.',
      type: 'object',
      required: [issuedField],
      properties: { [issuedField]: { type: 'string' } }
    },
    ...refusals(PREPARE_ERROR_ID, PREPARE_STATUSES)
  }
}

/** `/certifications` -> `Certifications`: the default operationIds differ per route URL. */
export function operationSuffix (path: string): string {
  return path.split(/[^A-Za-z0-9]+/).filter(Boolean).map((word) => word[0]!.toUpperCase() + word.slice(1)).join('')
}
