import { createHook } from 'node:async_hooks'
import { mkdir, writeFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import Fastify from 'fastify'
import pino from 'pino'
import { Pool } from 'undici'
import { markdownTable, median } from './harness.js'
import { startUpstream } from './upstream.js'

/**
 * `node bench/micro.js` (after `npm run build`): what each per-verification step the issue names
 * costs on its own, in ns per call, timed in this process in tight loops (the median of
 * BENCH_MICRO_BATCHES batches), and how many promises one verification creates (async_hooks, over
 * BENCH_MICRO_REQUESTS injected verifications against bench/upstream.js), plugin and hand-written.
 * These figures explain the load runs of bench/run.js; they are not a substitute for them: a
 * tight loop keeps caches hot that a real request does not.
 *
 * BENCH_DIST: the compiled package to load (default dist/); BENCH_RESULTS_MICRO: the file
 * in bench/results (default micro.md).
 */

const dist = new URL(process.env.BENCH_DIST || '../dist/', import.meta.url)
const load = (path) => import(new URL(path, dist).href)
const { meetsMinAge, seoulToday } = await load('lib/age.js')
const { identityFromCertification } = await load('lib/v1/provider.js')
const { identityFromV2 } = await load('lib/v2/provider.js')
const v1Schemas = await load('lib/v1/schemas.js')
const v2Schemas = await load('lib/v2/schemas.js')
const { MemoryStore } = await load('lib/stores/memory.js')
const { guardStore } = await load('lib/stores/guard.js')
const upstreamModule = await load('lib/upstream.js')
const { default: fastifyIamport } = await load('index.js')

const BATCHES = Number(process.env.BENCH_MICRO_BATCHES || 9)
const REQUESTS = Number(process.env.BENCH_MICRO_REQUESTS || 2000)
const resultsDir = fileURLToPath(new URL('./results/', import.meta.url))

let sink = 0
/** ns per call of `fn(i)`, the median of BATCHES batches of `n` calls, after one warm-up batch. */
function time (fn, n = 200_000) {
  const perCall = []
  for (let batch = 0; batch <= BATCHES; batch++) {
    const started = process.hrtime.bigint()
    for (let i = 0; i < n; i++) sink ^= fn(i) === undefined ? 0 : 1
    const ns = Number(process.hrtime.bigint() - started) / n
    if (batch > 0) perCall.push(ns)
  }
  return median(perCall)
}

/** The same for an async `fn`, awaited one call after the other (its promises and ticks included). */
async function timeAsync (fn, n = 100_000) {
  const perCall = []
  for (let batch = 0; batch <= BATCHES; batch++) {
    const started = process.hrtime.bigint()
    for (let i = 0; i < n; i++) sink ^= (await fn(i)) === undefined ? 0 : 1
    const ns = Number(process.hrtime.bigint() - started) / n
    if (batch > 0) perCall.push(ns)
  }
  return median(perCall)
}

const rows = []
const row = (group, what, ns, note = '') => {
  rows.push([group, what, ns.toFixed(0), note])
  console.error(`${group}: ${what}: ${ns.toFixed(0)} ns`)
}

// What the upstream stand-in answers, as text: the bodies the plugin parses and checks.
const upstream = await startUpstream({ latencyMs: 0 })
const pool = new Pool(upstream.url)
const tokenBody = await (await pool.request({
  path: '/users/getToken',
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ imp_key: upstream.apiKey, imp_secret: upstream.apiSecret })
})).body.json()
const v1Text = await (await pool.request({ path: '/certifications/imp_100000000001', method: 'GET', headers: { authorization: 'Bearer ' + tokenBody.response.access_token } })).body.text()
const v2Text = await (await pool.request({ path: '/identity-verifications/bench1', method: 'GET', headers: { authorization: 'PortOne ' + upstream.apiSecret } })).body.text()
await pool.close()
const v1Envelope = JSON.parse(v1Text)
const v1Certification = v1Envelope.response
const v2Verification = JSON.parse(v2Text)

// Date work: freshness reads now() once (a Date), age reads the Seoul date of it.
const now = new Date()
row('Date and age', 'new Date() (the route clock, once per verification)', time(() => new Date()))
row('Date and age', 'seoulToday(now)', time(() => seoulToday(now)))
row('Date and age', "meetsMinAge('1990-03-15', 19, 'international', now)", time(() => meetsMinAge(v1Certification.birthday, 19, 'international', now)))

// Building the Identity.
row('Identity', 'identityFromCertification (V1)', time(() => identityFromCertification(v1Certification)))
row('Identity', 'identityFromV2 (V2)', time(() => identityFromV2(v2Verification)))

// Parsing and the schema checks, with JSON.parse of the same body for scale.
row('Schema checks', `JSON.parse of the V1 body (${v1Text.length} chars; the hand-written route does it too)`, time(() => JSON.parse(v1Text)))
row('Schema checks', 'V1 envelopeCheck + certificationCheck', time(() => v1Schemas.envelopeCheck.Check(v1Envelope) && v1Schemas.certificationCheck.Check(v1Certification)))
row('Schema checks', `JSON.parse of the V2 body (${v2Text.length} chars)`, time(() => JSON.parse(v2Text)))
row('Schema checks', 'V2 identityVerificationCheck', time(() => v2Schemas.identityVerificationCheck.Check(v2Verification)))

// The route's log line, on a pino logger at info as Fastify builds it (a request child), to /dev/null.
const destination = pino.destination({ dest: '/dev/null', sync: false })
const requestLog = pino({ level: 'info' }, destination).child({ reqId: 'req-1' })
let lineIndex = 0
row('Log line', "request.log.info({ impUid, outcome, ms }, 'identity verification'), pino at info to /dev/null",
  time(() => requestLog.info({ impUid: 'imp_' + (lineIndex++), outcome: 'VERIFIED', ms: 3 }, 'identity verification'), 100_000))
const silentLog = pino({ level: 'silent' }).child({ reqId: 'req-1' })
row('Log line', 'the same at level silent', time(() => silentLog.info({ impUid: 'imp_1', outcome: 'VERIFIED', ms: 3 }, 'identity verification')))

// The store, at the size a run reaches (200 000 consumed verifications), as the route calls it.
async function storeRows (label, store) {
  let id = 0
  for (; id < 200_000; id++) await store.consume({ verificationId: 'imp_' + id, ttlMs: 21_600_000 })
  row('Store', `${label}: consume (a new id, 200 000 held)`, await timeAsync(() => store.consume({ verificationId: 'imp_' + (id++), ttlMs: 21_600_000 })))
}
await storeRows('MemoryStore', new MemoryStore({ maxConsumed: 10_000_000 }))
await storeRows('guardStore(MemoryStore)', guardStore(new MemoryStore({ maxConsumed: 10_000_000 })))
const remoteLike = { issue: async () => {}, consume: async () => 'consumed', release: async () => {} }
row('Store', 'guardStore(an async store that is not a MemoryStore, as RedisStore): consume, the deadline included', await timeAsync(() => guardStore(remoteLike).consume({ verificationId: 'x', ttlMs: 1 })))
row('Store', 'an async function that returns at once, awaited (for scale)', await timeAsync(async () => 1))

// Timers: the transport's one deadline per upstream call.
// With 100 calls in flight, as in the load runs: a timer list that never empties.
const inFlight = Array.from({ length: 100 }, () => setTimeout(noop, 10_000))
let slot = 0
row('Transport', 'setTimeout + clearTimeout, 100 in flight (a timer per upstream call, as lib/upstream.ts had before Deadlines)', time(() => {
  clearTimeout(inFlight[slot])
  inFlight[slot] = setTimeout(noop, 10_000)
  slot = (slot + 1) % 100
}))
for (const timer of inFlight) clearTimeout(timer)
if (upstreamModule.Deadlines !== undefined) {
  const list = new upstreamModule.Deadlines(10_000)
  const nodes = Array.from({ length: 100 }, () => {
    const node = { expiresAt: 0, queued: false, expire: noop }
    node.previous = node
    node.next = node
    list.add(node)
    return node
  })
  row('Transport', 'Deadlines add + remove, 100 in flight (lib/upstream.ts)', time(() => {
    list.remove(nodes[slot])
    list.add(nodes[slot])
    slot = (slot + 1) % 100
  }))
  for (const node of nodes) list.remove(node)
}

// Promises per verification, counted with async_hooks over REQUESTS injected requests.
function noop () {}
async function promisesPerRequest (app, payload) {
  await app.ready()
  for (let i = 0; i < 200; i++) await app.inject({ method: 'POST', url: '/certifications', payload: payload(i) })
  let promises = 0
  const hook = createHook({ init (id, type) { if (type === 'PROMISE') promises++ } })
  hook.enable()
  for (let i = 0; i < REQUESTS; i++) {
    const response = await app.inject({ method: 'POST', url: '/certifications', payload: payload(1000 + i) })
    if (response.statusCode !== 200) throw new Error(`HTTP ${response.statusCode}: ${response.body}`)
  }
  hook.disable()
  await app.close()
  return promises / REQUESTS
}
const hooks = { minAge: 19, findDuplicate: async () => false, onVerified: async () => ({ verified: true }) }
const v1Plugin = Fastify()
await v1Plugin.register(fastifyIamport, { apiKey: upstream.apiKey, apiSecret: upstream.apiSecret, baseUrl: upstream.url, certifications: hooks })
const v1Payload = (i) => ({ imp_uid: 'imp_' + (200_000_000_000 + i) })
const v1PluginPromises = await promisesPerRequest(v1Plugin, v1Payload)
const v2Plugin = Fastify()
await v2Plugin.register(fastifyIamport, { apiVersion: 'v2', apiSecret: upstream.apiSecret, baseUrl: upstream.url, certifications: { ...hooks, issuedIds: false } })
const v2Payload = (i) => ({ identityVerificationId: 'micro' + i })
const v2PluginPromises = await promisesPerRequest(v2Plugin, v2Payload)

/** The hand-written routes of bench/candidates, in this process. */
function handWritten (generation) {
  const handPool = new Pool(upstream.url)
  let token
  const app = Fastify()
  app.addHook('onClose', () => handPool.close())
  app.post('/certifications', async (request, reply) => {
    if (generation === 'v1') {
      token ??= (await (await handPool.request({
        path: '/users/getToken',
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ imp_key: upstream.apiKey, imp_secret: upstream.apiSecret })
      })).body.json()).response.access_token
    }
    const { statusCode, body } = await handPool.request(generation === 'v1'
      ? { path: '/certifications/' + request.body.imp_uid, method: 'GET', headers: { authorization: 'Bearer ' + token } }
      : { path: '/identity-verifications/' + request.body.identityVerificationId, method: 'GET', headers: { authorization: 'PortOne ' + upstream.apiSecret } })
    const answer = await body.json()
    if (statusCode !== 200) return reply.code(502).send({ verified: false })
    return { verified: generation === 'v1' ? answer.response.certified === true : answer.status === 'VERIFIED' }
  })
  return app
}
const v1HandPromises = await promisesPerRequest(handWritten('v1'), v1Payload)
const v2HandPromises = await promisesPerRequest(handWritten('v2'), v2Payload)
await upstream.close()
const promiseRows = [
  ['V1', v1PluginPromises.toFixed(1), v1HandPromises.toFixed(1)],
  ['V2 (issuedIds: false)', v2PluginPromises.toFixed(1), v2HandPromises.toFixed(1)]
]

const report = [
  '# fastify-iamport micro-benchmarks',
  '',
  `${new Date().toISOString()}, Node ${process.version}. Each figure is the median of ${BATCHES} batches in a tight loop, ` +
    'in ns per call; the load runs (bench/run.js) are what counts, these say where their differences come from.',
  '',
  markdownTable(['step', 'what', 'ns / call', 'note'], rows),
  '',
  `Promises created per verification (async_hooks PROMISE inits over ${REQUESTS} app.inject() verifications against ` +
    'bench/upstream.js; inject\'s own promises are in both columns):',
  '',
  markdownTable(['generation', 'plugin (minAge, findDuplicate, onVerified, MemoryStore)', 'hand-written'], promiseRows),
  ''
].join('\n')
await mkdir(resultsDir, { recursive: true })
await writeFile(resultsDir + (process.env.BENCH_RESULTS_MICRO || 'micro.md'), report)
console.log(report)
if (sink === 0.5) console.log('unreachable')
