import Fastify from 'fastify'
import fastifyIamport from '../../dist/index.js'
import { serveCandidate, upstreamSettings } from './serve.js'

// Candidate "plugin": the package as a host would use it, with the built-in checks (fresh,
// certified, one-time consumption in the default MemoryStore), an age gate and a duplicate lookup
// that answers at once, so what is measured is the plugin and not a database.
const upstream = upstreamSettings()
// Defaults: the plugin's own pool size and store. BENCH_PLUGIN_CONNECTIONS tries another pool
// size; BENCH_STORE_MAX_ENTRIES a MemoryStore of another capacity; BENCH_PLUGIN_ONE_TIME=false
// turns one-time consumption off (to tell the ledger's memory from anything else).
const connections = process.env.BENCH_PLUGIN_CONNECTIONS
const storeMaxEntries = Number(process.env.BENCH_STORE_MAX_ENTRIES)
const store = storeMaxEntries > 0
  ? new (await import('../../dist/lib/stores/memory.js')).MemoryStore({ maxConsumed: Number(storeMaxEntries) })
  : undefined
const app = Fastify({ logger: false })
await app.register(fastifyIamport, {
  apiKey: upstream.apiKey,
  apiSecret: upstream.apiSecret,
  baseUrl: upstream.url,
  ...(connections ? { connections: Number(connections) } : {}),
  certifications: {
    minAge: 19,
    findDuplicate: async () => false,
    ...(store ? { store } : {}),
    ...(process.env.BENCH_PLUGIN_ONE_TIME === 'false' ? { oneTime: false } : {})
  }
})
await app.listen({ host: '127.0.0.1', port: 0 })
serveCandidate(app.server.address().port, () => app.close())
