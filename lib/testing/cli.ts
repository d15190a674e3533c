#!/usr/bin/env node
// The `fastify-iamport-fake` bin (dist/lib/testing/cli.js): everything is in fake-cli.ts's main().
import { main } from './fake-cli.js'

process.exitCode = await main(process.argv.slice(2))
