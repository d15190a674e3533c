import Fastify from 'fastify'
import { Pool } from 'undici'
import { loggerOption, serveCandidate, upstreamSettings } from './serve.js'

// Candidate "hand-written" (V1): the least a careful developer would write with the same tools: a
// Fastify route, an undici Pool with undici's defaults, a token fetched once and cached, and no
// checks but the HTTP status and `certified === true`. The reference for the plugin's overhead.
// BENCH_LOGGER=info gives it the same pino logger as the plugin candidate (serve.js).
const upstream = upstreamSettings()
const pool = new Pool(upstream.url)
let tokenRequest

function getToken () {
  tokenRequest ??= pool.request({
    path: '/users/getToken',
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ imp_key: upstream.apiKey, imp_secret: upstream.apiSecret })
  }).then(async ({ body }) => (await body.json()).response.access_token)
  return tokenRequest
}

const app = Fastify({ logger: loggerOption() })
app.post('/certifications', async (request, reply) => {
  const { statusCode, body } = await pool.request({
    path: '/certifications/' + request.body.imp_uid,
    method: 'GET',
    headers: { authorization: 'Bearer ' + await getToken() }
  })
  const envelope = await body.json()
  if (statusCode !== 200) return reply.code(502).send({ verified: false })
  return { verified: envelope.response.certified === true }
})
await app.listen({ host: '127.0.0.1', port: 0 })
serveCandidate(app.server.address().port, async () => {
  await app.close()
  await pool.close()
})
