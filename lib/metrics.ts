import { channel } from 'node:diagnostics_channel'
import { performance } from 'node:perf_hooks'
import type { FastifyRequest } from 'fastify'
import type { ApiVersion } from './provider.js'

/**
 * `node:diagnostics_channel` channel `fastify-iamport:verification`: one message per verification,
 * refusals included, for metrics (Prometheus, OpenTelemetry). It carries no personal data and no
 * id: only what happened and how long it took. Publishing costs nothing without a subscriber.
 */
export const VERIFICATION_CHANNEL = 'fastify-iamport:verification'

/** One verification, as published on {@link VERIFICATION_CHANNEL}. */
export interface VerificationEvent {
  /** `VERIFIED`, or the refusal's code (`FST_IAMPORT_REPLAYED`, …; `ERROR` for an error without one). */
  outcome: string
  apiVersion: ApiVersion
  /** The route's URL, prefix included (`/certifications`): its purpose. */
  route: string
  /** Milliseconds spent fetching the verification upstream (0 when refused before). */
  upstreamMs: number
  /** Milliseconds spent in the host's hooks (`checkAge`, `findDuplicate`, `onVerified`). */
  hookMs: number
  /** Milliseconds for the whole verification. */
  totalMs: number
}

/** Where a verification's flow writes its durations, for the event. */
export interface Timings {
  upstreamMs: number
  hookMs: number
}

export const verificationChannel = channel(VERIFICATION_CHANNEL)

/** Where a verification ran: its route and generation, and the key of its id in log lines. */
export interface VerificationSite {
  apiVersion: ApiVersion
  route: string
  logKey: string
}

/**
 * The two traces one verification leaves, whichever route ran it: one log line (the id, the
 * outcome, the time; never anything from the verification itself) and one channel message. A
 * refusal's line is info; a success's is debug, since Fastify's own `request completed` line says
 * 200 already, and at info this line cost a tenth of a verification's CPU (bench/).
 */
export function reportVerification (request: FastifyRequest, site: VerificationSite, id: string, outcome: string, started: number, timings: Timings): void {
  const totalMs = performance.now() - started
  const line = { [site.logKey]: id, outcome, ms: Math.round(totalMs) }
  if (outcome === 'VERIFIED') request.log.debug(line, 'identity verification')
  else request.log.info(line, 'identity verification')
  if (verificationChannel.hasSubscribers) {
    verificationChannel.publish({
      outcome, apiVersion: site.apiVersion, route: site.route, upstreamMs: timings.upstreamMs, hookMs: timings.hookMs, totalMs
    } satisfies VerificationEvent)
  }
}
