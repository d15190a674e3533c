// `node --import ./example/register.mjs example/server.ts`: installs the TypeScript hooks.
import { register } from 'node:module'

register('./typescript-hooks.mjs', import.meta.url)
