/**
 * Every candidate `npm run bench` knows, by the name BENCH_CANDIDATES, BENCH_PROFILE and the
 * report use. A candidate is a server script (bench/candidates/, one process per measurement),
 * its environment, the flow the load generator runs against it (bench/flows.js) and, for a
 * ratio, the candidate it is compared with in the same round.
 *
 * Fields: `script` (relative to bench/), `env`, `flow`, `baseline` (a candidate name) with
 * `target` (checked at 0 ms of upstream latency: `minThroughput` of the baseline's and
 * `maxCpu` of its CPU per operation), `at` (the upstream latencies, in ms, it runs at; default
 * every latency of the run), `group` (up at once and measured interleaved, slice by slice, so
 * that a ratio compares runs seconds apart), `redis` (needs the harness's redis-server), `plugin` (loads the
 * package: gets a twin when BENCH_COMPARE_REV asks for an older version beside it), `unit` (what
 * one operation is), `optional` (runs only when BENCH_CANDIDATES names it: a diagnostic).
 *
 * Adding one (the SMS/OTP routes, for example), without editing the harness: a module that
 * registers its flow in FLOWS (bench/flows.js) and its candidates with `add()` below, named in
 * BENCH_SUITE_MODULES (comma-separated paths, relative to the working directory); bench/run.js and
 * the load process both import it before they start ({@link loadSuiteModules}). If the route calls
 * upstream endpoints bench/upstream.js does not serve, those go into bench/upstream.js.
 */

/** Targets of issue 15, at 0 ms of upstream latency. */
const MEMORY_TARGET = { minThroughput: 0.95, maxCpu: 1.05 }
const REDIS_TARGET = { minThroughput: 0.85 }

const LOG = { BENCH_LOGGER: 'info' }

/** @type {Map<string, object>} */
export const SUITE = new Map()

/**
 * Imports the modules BENCH_SUITE_MODULES names, which add flows and candidates: the hook for
 * candidates written elsewhere (bench/README.md, "Adding a candidate").
 */
export async function loadSuiteModules () {
  const { pathToFileURL } = await import('node:url')
  const { resolve } = await import('node:path')
  for (const path of (process.env.BENCH_SUITE_MODULES ?? '').split(',').filter(Boolean)) {
    await import(pathToFileURL(resolve(path)).href)
  }
}

/** Adds a candidate; see the fields above. */
export function add (name, candidate) {
  if (SUITE.has(name)) throw new Error(`candidate ${name} defined twice`)
  SUITE.set(name, { name, env: {}, unit: 'verification', redis: false, plugin: false, optional: false, ...candidate })
}

// The logger runs cost the same per request at any latency: by default they run at 0 ms only.
for (const [suffix, logEnv, loggerName, at] of [['', {}, 'silent', undefined], ['+log', LOG, 'pino info', [0]]]) {
  const v1Group = `V1, logger ${loggerName}`
  const v2Group = `V2, logger ${loggerName}`
  add('v1-hand' + suffix, { group: v1Group, at, script: './candidates/hand-written.js', env: logEnv, flow: 'v1-verify' })
  add('v1-plugin' + suffix, {
    group: v1Group,
    at,
    script: './candidates/plugin.js',
    env: logEnv,
    flow: 'v1-verify',
    plugin: true,
    baseline: 'v1-hand' + suffix,
    target: MEMORY_TARGET
  })
  add('v1-plugin-redis' + suffix, {
    group: v1Group,
    at,
    script: './candidates/plugin.js',
    env: { ...logEnv, BENCH_STORE: 'redis' },
    flow: 'v1-verify',
    plugin: true,
    redis: true,
    baseline: 'v1-hand' + suffix,
    target: REDIS_TARGET
  })
  add('v2-hand' + suffix, { group: v2Group, at, script: './candidates/hand-written-v2.js', env: logEnv, flow: 'v2-verify' })
  add('v2-plugin' + suffix, {
    group: v2Group,
    at,
    script: './candidates/plugin.js',
    env: { ...logEnv, BENCH_API_VERSION: 'v2', BENCH_ISSUED_IDS: 'false' },
    flow: 'v2-verify',
    plugin: true,
    baseline: 'v2-hand' + suffix,
    target: MEMORY_TARGET
  })
  add('v2-plugin-redis' + suffix, {
    group: v2Group,
    at,
    script: './candidates/plugin.js',
    env: { ...logEnv, BENCH_API_VERSION: 'v2', BENCH_ISSUED_IDS: 'false', BENCH_STORE: 'redis' },
    flow: 'v2-verify',
    plugin: true,
    redis: true,
    baseline: 'v2-hand' + suffix,
    target: REDIS_TARGET
  })
}

// Diagnostic: the V1 plugin without one-time consumption (oneTime: false), to tell the ledger's
// cost from the rest.
add('v1-plugin-no-ledger', {
  group: 'V1, logger silent',
  at: [0],
  script: './candidates/plugin.js',
  env: { BENCH_PLUGIN_ONE_TIME: 'false' },
  flow: 'v1-verify',
  plugin: true,
  baseline: 'v1-hand',
  optional: true
})

// Diagnostic: RedisStore on an ioredis client with enableAutoPipelining, which sends the
// commands of one event-loop turn in one write.
add('v1-plugin-redis-pipelined', {
  group: 'V1, logger silent',
  at: [0],
  script: './candidates/plugin.js',
  env: { BENCH_STORE: 'redis', BENCH_REDIS_AUTO_PIPELINING: 'true' },
  flow: 'v1-verify',
  plugin: true,
  redis: true,
  baseline: 'v1-hand',
  optional: true
})

// The vendor's documented pattern, for the 30 ms comparison of issue 6. A group of its own: it
// keeps both cores busy, and its runs stood between the plugin's and the hand-written route's.
add('v1-docs', { group: 'V1 docs pattern', script: './candidates/docs-pattern.js', flow: 'v1-verify' })

// V2 as it ships: issued ids on. Prepare alone, and the pairs a browser makes (prepare, then
// verify with the issued id and the idv_binding cookie). Prepare calls no upstream: 0 ms only.
const V2_ISSUING = { BENCH_API_VERSION: 'v2' }
// The SMS routes (V1): one browser per pair, the code sent upstream then confirmed. Upstream
// answers at once here, so what is measured is the routes' own cost: 0 ms only.
add('v1-otp', { group: 'V1 SMS', at: [0], script: './candidates/plugin.js', env: { BENCH_OTP: 'true' }, flow: 'v1-otp', plugin: true, unit: 'send + confirm' })
add('v1-otp-redis', { group: 'V1 SMS', at: [0], script: './candidates/plugin.js', env: { BENCH_OTP: 'true', BENCH_STORE: 'redis' }, flow: 'v1-otp', plugin: true, redis: true, unit: 'send + confirm' })

add('v2-prepare', { group: 'V2 prepare', at: [0], script: './candidates/plugin.js', env: V2_ISSUING, flow: 'v2-prepare', plugin: true, unit: 'prepare' })
add('v2-prepare-redis', { group: 'V2 prepare', at: [0], script: './candidates/plugin.js', env: { ...V2_ISSUING, BENCH_STORE: 'redis' }, flow: 'v2-prepare', plugin: true, redis: true, unit: 'prepare' })
add('v2-prepare+log', { group: 'V2 prepare', at: [0], script: './candidates/plugin.js', env: { ...V2_ISSUING, ...LOG }, flow: 'v2-prepare', plugin: true, unit: 'prepare' })
add('v2-pair', { group: 'V2 prepare', script: './candidates/plugin.js', env: V2_ISSUING, flow: 'v2-prepare-verify', plugin: true, unit: 'prepare + verification' })
add('v2-pair-redis', { group: 'V2 prepare', script: './candidates/plugin.js', env: { ...V2_ISSUING, BENCH_STORE: 'redis' }, flow: 'v2-prepare-verify', plugin: true, redis: true, unit: 'prepare + verification' })
