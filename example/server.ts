import { buildExampleApp } from './app.js'

/** Why the app could not listen, naming the variable to change. */
function listenFailure (err: NodeJS.ErrnoException, host: string, port: number): string {
  if (err.code === 'EADDRINUSE') return `Port ${port} is in use on ${host}; set PORT to another port (for example PORT=${port === 65535 ? 3000 : port + 1} npm run example)`
  if (err.code === 'EACCES') return `Port ${port} needs privileges this process does not have; set PORT to a port above 1023`
  if (err.code === 'EADDRNOTAVAIL') return `HOST ${host} is not an address of this machine; set HOST to one (for example 127.0.0.1)`
  return `Cannot start the example: cannot listen on ${host}:${port}: ${err.message}`
}

// `npm run example`: the example host app on http://HOST:PORT (default http://127.0.0.1:3000).
// `PORTONE_API_VERSION=v2 npm run example`: the same app on PortOne V2.
const { app, config, apiVersion, mode, sandbox, sandboxV2 } = await buildExampleApp(process.env, {
  logger: { level: process.env.LOG_LEVEL ?? 'info' }
}).catch((err: Error) => {
  // A configuration mistake: say which, without a stack trace.
  console.error(`Cannot start the example: ${err.message}`)
  process.exit(1)
})

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    app.close().then(() => process.exit(0), () => process.exit(1))
  })
}

const address = await app.listen({ host: config.HOST, port: config.PORT }).catch(async (err: NodeJS.ErrnoException) => {
  // One line that says what to change, not a stack trace.
  console.error(listenFailure(err, config.HOST, config.PORT))
  await app.close().catch(() => {})
  process.exit(1)
})
const url = new URL(address)
if (config.HOST === '0.0.0.0' || config.HOST === '::') url.hostname = '127.0.0.1'
console.log(`\nfastify-iamport example (${apiVersion === 'v2' ? 'PortOne V2' : "i'mport V1"}, ${mode} mode) at ${url.origin}/`)
if (sandbox !== undefined) {
  console.log(`  fake i'mport server: ${sandbox.url} (no account needed; set IAMPORT_API_KEY, IAMPORT_API_SECRET and IAMPORT_MERCHANT_CODE for production)`)
}
if (sandboxV2 !== undefined) {
  console.log(`  fake PortOne V2 server: ${sandboxV2.url} (no account needed; set PORTONE_API_SECRET, PORTONE_STORE_ID and PORTONE_CHANNEL_KEY for production)`)
}
console.log(`  users database: ${config.DATABASE_FILE}\n  stop with Ctrl-C\n`)
