import fastifyEnv from '@fastify/env'
import type { FastifyInstance } from 'fastify'

/** The environment variables the plugin reads when an option is not given. */
export interface IamportEnvironment {
  IAMPORT_API_KEY?: string
  IAMPORT_API_SECRET?: string
  IAMPORT_BASE_URL?: string
  /** `apiVersion: 'v2'`: the PortOne V2 API secret. */
  PORTONE_API_SECRET?: string
  /** `apiVersion: 'v2'`: the store id (optional). */
  PORTONE_STORE_ID?: string
  /** `apiVersion: 'v2'`: the API origin (default `https://api.portone.io`). */
  PORTONE_BASE_URL?: string
}

const environmentSchema = {
  type: 'object',
  properties: {
    IAMPORT_API_KEY: { type: 'string' },
    IAMPORT_API_SECRET: { type: 'string' },
    IAMPORT_BASE_URL: { type: 'string' },
    PORTONE_API_SECRET: { type: 'string' },
    PORTONE_STORE_ID: { type: 'string' },
    PORTONE_BASE_URL: { type: 'string' }
  }
}

const CONF_KEY = 'iamportEnvironment'

/**
 * Reads the environment through @fastify/env inside an encapsulated child context, so its
 * decorator never meets the host's own `config` (or anything else on the host instance).
 */
export async function readEnvironment (fastify: FastifyInstance): Promise<IamportEnvironment> {
  let environment: IamportEnvironment = {}
  await fastify.register(async function iamportEnvironment (child) {
    await child.register(fastifyEnv, { confKey: CONF_KEY, schema: environmentSchema, dotenv: false })
    environment = (child as unknown as Record<string, IamportEnvironment>)[CONF_KEY]!
  })
  return environment
}
