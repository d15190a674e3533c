// Recipe: the plugin's diagnostics channel as Prometheus metrics (prom-client). Tested by
// test/metrics.test.ts; the README shows the same code.
import { subscribe } from 'node:diagnostics_channel'
import { Histogram, type Registry } from 'prom-client'
import { VERIFICATION_CHANNEL, type VerificationEvent } from '../../index.js'

/** Registers `identity_verification_seconds{outcome,api_version,route,phase}` on `registry`. */
export function exportVerificationMetrics (registry: Registry): void {
  const seconds = new Histogram({
    name: 'identity_verification_seconds',
    help: 'Identity verifications by outcome: total time, time upstream and time in the host hooks',
    labelNames: ['outcome', 'api_version', 'route', 'phase'] as const,
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
    registers: [registry]
  })
  subscribe(VERIFICATION_CHANNEL, (message) => {
    const event = message as VerificationEvent
    const labels = { outcome: event.outcome, api_version: event.apiVersion, route: event.route }
    seconds.observe({ ...labels, phase: 'total' }, event.totalMs / 1000)
    seconds.observe({ ...labels, phase: 'upstream' }, event.upstreamMs / 1000)
    seconds.observe({ ...labels, phase: 'hooks' }, event.hookMs / 1000)
  })
}
