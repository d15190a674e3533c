import { randomBytes } from 'node:crypto'
import type { IamportClient } from './client.js'
import { NotCertifiedError } from './errors.js'
import { identityFromCertification, identityFromV2, type Identity } from './identity.js'
import type { PortOneV2Client } from './portone-v2-client.js'
import type { ApiVersion } from './route-options.js'

/**
 * What differs between API generations in the verification route: the body field, the form of an
 * issued id, and "fetch + normalize". Everything after (checks, store, hooks) is shared.
 */
export interface VerificationApi {
  version: ApiVersion
  /** Body field carrying the id: `imp_uid` (V1) or `identityVerificationId` (V2). */
  idField: 'imp_uid' | 'identityVerificationId'
  /** Key of the id in the route's log line. */
  logKey: 'impUid' | 'identityVerificationId'
  /** Field of the `POST {url}/prepare` answer. */
  issuedField: 'merchantUid' | 'identityVerificationId'
  /** A new unguessable id for `POST {url}/prepare`: 128 random bits, alphanumeric. */
  issue: () => string
  /**
   * Fetches what upstream holds for the id and returns its Identity; FST_IAMPORT_NOT_CERTIFIED
   * when the verification did not complete. The route checks the id, freshness and binding.
   */
  fetchIdentity: (id: string, clock: () => Date) => Promise<Identity>
}

/** i'mport (PortOne V1): `{ imp_uid }`, issued merchant_uids `mid` + 32 hex (within KCP's 40 characters). */
export function v1Api (client: IamportClient): VerificationApi {
  return {
    version: 'v1',
    idField: 'imp_uid',
    logKey: 'impUid',
    issuedField: 'merchantUid',
    issue: () => 'mid' + randomBytes(16).toString('hex'),
    async fetchIdentity (impUid, clock) {
      const certification = await client.getCertification(impUid)
      if (certification.certified !== true) throw new NotCertifiedError()
      return identityFromCertification(certification, clock)
    }
  }
}

/** PortOne V2: `{ identityVerificationId }`, issued ids `iv` + 32 hex; only `status: 'VERIFIED'` passes. */
export function v2Api (client: PortOneV2Client): VerificationApi {
  return {
    version: 'v2',
    idField: 'identityVerificationId',
    logKey: 'identityVerificationId',
    issuedField: 'identityVerificationId',
    issue: () => 'iv' + randomBytes(16).toString('hex'),
    async fetchIdentity (id, clock) {
      const verification = await client.getIdentityVerification(id)
      if (verification.status !== 'VERIFIED') throw new NotCertifiedError()
      return identityFromV2(verification, clock)
    }
  }
}
