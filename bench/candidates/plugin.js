import Fastify from 'fastify'
import { loggerOption, serveCandidate, upstreamSettings } from './serve.js'

// Candidate "plugin": the package as a host would use it, with the built-in checks (fresh,
// completed, the answer is for the id asked about, one-time consumption), an age gate, a duplicate
// lookup and an onVerified hook that answer at once, so what is measured is the plugin and not
// a database. Configured by the harness (bench/suite.js) through the environment:
// - BENCH_API_VERSION: v1 (default; POST { imp_uid }) or v2 (POST { identityVerificationId });
// - BENCH_STORE: memory (default: the plugin's own process-wide MemoryStore) or redis (a
//   RedisStore on an ioredis client to BENCH_REDIS_URL, the host's own client: ioredis defaults,
//   or with BENCH_REDIS_AUTO_PIPELINING=true its enableAutoPipelining);
// - BENCH_ISSUED_IDS=false: V2 without issued ids (no prepare; V2 issues by default);
// - BENCH_OTP=true: the SMS routes too (V1: `otp: true`);
// - BENCH_LOGGER=info: a real pino logger (serve.js), else silent;
// - BENCH_DIST: the compiled package to load (default ../../dist/, what `npm run build` made);
//   the harness points it at another build to compare two versions in one run;
// - BENCH_PLUGIN_CONNECTIONS: another pool size; BENCH_MEMORY_MAX_CONSUMED: a MemoryStore of
//   that maxConsumed instead of the default store; BENCH_PLUGIN_ONE_TIME=false: no one-time
//   consumption (V1, to tell the ledger's memory from anything else).
const upstream = upstreamSettings()
const env = process.env
const dist = new URL(env.BENCH_DIST || '../../dist/', import.meta.url)
const { default: fastifyIamport, MemoryStore, RedisStore } = await import(new URL('index.js', dist).href)

const apiVersion = env.BENCH_API_VERSION || 'v1'
let redis
let redisCommands = 0
let store
if (env.BENCH_STORE === 'redis') {
  const { Redis } = await import('ioredis')
  redis = new Redis(env.BENCH_REDIS_URL, env.BENCH_REDIS_AUTO_PIPELINING === 'true' ? { enableAutoPipelining: true } : {})
  // Counts the commands this client sends (Redis round trips), for the report.
  const sendCommand = redis.sendCommand.bind(redis)
  redis.sendCommand = (command, stream) => {
    redisCommands++
    return sendCommand(command, stream)
  }
  store = new RedisStore({ client: redis })
} else if (Number(env.BENCH_MEMORY_MAX_CONSUMED) > 0) {
  store = new MemoryStore({ maxConsumed: Number(env.BENCH_MEMORY_MAX_CONSUMED) })
}

const credentials = apiVersion === 'v2'
  ? { apiVersion: 'v2', apiSecret: upstream.apiSecret }
  : { apiKey: upstream.apiKey, apiSecret: upstream.apiSecret }
const app = Fastify({ logger: loggerOption() })
await app.register(fastifyIamport, {
  ...credentials,
  baseUrl: upstream.url,
  ...(env.BENCH_PLUGIN_CONNECTIONS ? { connections: Number(env.BENCH_PLUGIN_CONNECTIONS) } : {}),
  certifications: {
    minAge: 19,
    findDuplicate: async () => false,
    onVerified: async () => ({ verified: true }),
    ...(store ? { store } : {}),
    ...(env.BENCH_ISSUED_IDS === 'false' ? { issuedIds: false } : {}),
    ...(env.BENCH_OTP === 'true' ? { otp: true } : {}),
    ...(env.BENCH_PLUGIN_ONE_TIME === 'false' ? { oneTime: false } : {})
  }
})
await app.listen({ host: '127.0.0.1', port: 0 })
serveCandidate(app.server.address().port, async () => {
  await app.close()
  await redis?.quit()
}, () => ({ redisCommands }))
