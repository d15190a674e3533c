import { buildExampleApp } from './app.js'

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

const address = await app.listen({ host: config.HOST, port: config.PORT })
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
