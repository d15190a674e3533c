import Fastify from 'fastify'
import { Pool } from 'undici'
import { loggerOption, serveCandidate, upstreamSettings } from './serve.js'

// Candidate "hand-written" (V2): the V1 hand-written route's twin for PortOne V2. A Fastify route,
// an undici Pool with undici's defaults, `GET /identity-verifications/{id}` with
// `Authorization: PortOne <secret>` (V2 has no token), and the same checks as the V1 one: the
// HTTP status and `status === 'VERIFIED'`. BENCH_LOGGER=info: the plugin candidate's pino logger.
const upstream = upstreamSettings()
const pool = new Pool(upstream.url)
const authorization = 'PortOne ' + upstream.apiSecret

const app = Fastify({ logger: loggerOption() })
app.post('/certifications', async (request, reply) => {
  const { statusCode, body } = await pool.request({
    path: '/identity-verifications/' + request.body.identityVerificationId,
    method: 'GET',
    headers: { authorization }
  })
  const verification = await body.json()
  if (statusCode !== 200) return reply.code(502).send({ verified: false })
  return { verified: verification.status === 'VERIFIED' }
})
await app.listen({ host: '127.0.0.1', port: 0 })
serveCandidate(app.server.address().port, async () => {
  await app.close()
  await pool.close()
})
