import { performance } from 'node:perf_hooks'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { meetsMinAge } from './age.js'
import { CERTIFIED_AT_SKEW_SECONDS } from './constants.js'
import {
  AgeRestrictedError, DuplicateError, HookFailedError, MerchantMismatchError, MissingIdentityKeyError,
  NotCertifiedError, ReplayedError, StaleCertificationError
} from './errors.js'
import { readBinding } from './browser-binding.js'
import type { Identity } from './identity.js'
import type { Timings } from './metrics.js'
import type { RouteSettings } from './options/route.js'
import type { EraseVerification, FetchIdentity } from './provider.js'
import type { Consumption, ConsumeResult } from './stores/store.js'

/** One verification, from the posted id to the 200 body, or a thrown documented error; it fills `timings`. */
export type Verify = (id: string, request: FastifyRequest, reply: FastifyReply, timings: Timings) => Promise<unknown>

const VERIFIED = { verified: true } as const

/** What the flow does upstream, with the plugin's client. */
export interface Upstream {
  fetchIdentity: FetchIdentity
  /** Set when the route erases verifications after use. */
  erase: EraseVerification | undefined
  /** Key of the id in log lines. */
  logKey: string
}

/** The verification flow of one route, with its settings bound once: the same for V1 and V2. */
export function verifier ({ fetchIdentity, erase, logKey }: Upstream, settings: RouteSettings, purpose: string): Verify {
  const { store, minAge, ageBasis, checkAge, findDuplicate, onVerified, requireIdentityKey, now } = settings

  return async function verify (id, request, reply, timings) {
    const fetchStarted = performance.now()
    const identity = await fetchIdentity(id, now)
    timings.upstreamMs = performance.now() - fetchStarted
    const at = now()
    checkVerification(identity, id, settings.certifiedWithinSeconds, at)
    let consumption: Consumption | undefined
    if (store !== undefined) {
      // MemoryStore without issued ids: consumed synchronously, no promise (bench/).
      consumption = store.consumeNow !== undefined && settings.issuedIds === undefined
        ? consumeNow(store.consumeNow, id, settings)
        : await consume(identity, id, request, settings, purpose)
    }

    // Policy refusals below burn the verification (it was judged); a hook that throws releases it.
    if (requireIdentityKey !== false && identity[requireIdentityKey] === undefined) throw new MissingIdentityKeyError()
    if (minAge !== undefined && !meetsMinAge(identity.birthday, minAge, ageBasis, at)) throw new AgeRestrictedError()
    let result: unknown = VERIFIED
    const hooksStarted = performance.now()
    try {
      if (checkAge !== undefined && await checkAge(identity, request) !== true) throw new AgeRestrictedError()
      if (findDuplicate !== undefined && await findDuplicate(identity, request)) throw new DuplicateError()
      if (onVerified !== undefined) result = (await onVerified(identity, request, reply)) ?? VERIFIED
    } catch (err) {
      timings.hookMs = performance.now() - hooksStarted
      throw await hookFailure(err, consumption, settings)
    }
    timings.hookMs = performance.now() - hooksStarted
    if (erase !== undefined) {
      // Awaited, so the record is gone before the person moves on; a failure costs nothing but a log line.
      await erase(id).catch((err: unknown) => {
        request.log.warn({ [logKey]: id, code: (err as { code?: unknown }).code }, 'identity verification erasure failed')
      })
    }
    return result
  }
}

/**
 * Built-in checks on what upstream answered, in the SPEC's order (completion was checked while
 * fetching): the answer is for the id asked about, and fresh. An unknown time is the epoch: stale.
 */
function checkVerification (identity: Identity, id: string, withinSeconds: number, now: Date): void {
  if (identity.verificationId !== id) throw new NotCertifiedError()
  const certifiedAt = identity.certifiedAt.getTime() / 1000
  const nowSeconds = now.getTime() / 1000
  if (certifiedAt <= 0 ||
      nowSeconds - certifiedAt > withinSeconds + CERTIFIED_AT_SKEW_SECONDS ||
      certifiedAt - nowSeconds > CERTIFIED_AT_SKEW_SECONDS) {
    throw new StaleCertificationError()
  }
}

/**
 * One-time consumption, bound to the issued id (V1 merchant_uid, V2 the id itself) when enabled.
 * Not async: without issued ids it is the store's promise, continued (bench/).
 */
function consume (identity: Identity, id: string, request: FastifyRequest, settings: RouteSettings, purpose: string): Promise<Consumption> {
  const consumption: Consumption = { verificationId: id, ttlMs: settings.consumedTtlMs }
  if (settings.issuedIds === undefined) return consumeOnce(consumption, settings)
  return subjectOf(request, settings, purpose).then((subject) => {
    const requestId = identity.requestId
    if (requestId === undefined || subject === undefined) throw new MerchantMismatchError()
    consumption.issued = { requestId, subject }
    return consumeOnce(consumption, settings)
  })
}

function consumeNow (now: (consumption: Consumption) => ConsumeResult, id: string, settings: RouteSettings): Consumption {
  const consumption: Consumption = { verificationId: id, ttlMs: settings.consumedTtlMs }
  return consumed(now(consumption), consumption)
}

function consumeOnce (consumption: Consumption, settings: RouteSettings): Promise<Consumption> {
  return settings.store!.consume(consumption).then((result) => consumed(result, consumption))
}

/** The consumption, once the store said it was consumed now; its refusal otherwise. */
function consumed (result: ConsumeResult, consumption: Consumption): Consumption {
  if (result === 'replayed') throw new ReplayedError()
  if (result === 'not-issued') throw new MerchantMismatchError()
  return consumption
}

/**
 * What a throwing hook becomes. Refusals of the package (age, duplicate) and Fastify-style errors
 * with a 4xx status keep their meaning and burn the verification; anything else is a server-side
 * failure: the verification is released so the person can retry, and the error becomes
 * FST_IAMPORT_HOOK_FAILED unless it already carries a 5xx status (its message is the host's own).
 */
async function hookFailure (err: unknown, consumption: Consumption | undefined, settings: RouteSettings): Promise<unknown> {
  const statusCode = (err as { statusCode?: unknown } | null)?.statusCode
  const isHttpError = typeof statusCode === 'number' && statusCode >= 400 && statusCode <= 599
  if (isHttpError && statusCode < 500) return err
  if (consumption !== undefined) {
    try {
      await settings.store!.release(consumption)
    } catch {
      // The verification stays consumed: the person verifies again; the hook's failure is what matters.
    }
  }
  return isHttpError ? err : new HookFailedError()
}

/**
 * Who an issued id belongs to, bound to this route (its purpose): an id issued by a sign-up route
 * is refused by a recovery route sharing the store. The host's `subject`, else the browser's
 * binding cookie. `undefined` when there is none (no non-empty string, no cookie); a `subject`
 * that throws is FST_IAMPORT_HOOK_FAILED, its message never sent.
 */
export async function subjectOf (request: FastifyRequest, settings: RouteSettings, purpose: string): Promise<string | undefined> {
  const hook = settings.issuedIds!.subject
  let subject: unknown
  try {
    subject = hook === undefined ? readBinding(request) : await hook(request)
  } catch {
    throw new HookFailedError()
  }
  return boundTo(purpose, subject)
}

/** The store's subject: the route's purpose and the requester, or `undefined` without a requester. */
export function boundTo (purpose: string, subject: unknown): string | undefined {
  return typeof subject === 'string' && subject !== '' ? `${purpose}\u0000${subject}` : undefined
}
