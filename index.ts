import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { IamportClient, type IamportClientOptions } from './lib/client.js'
import { readEnvironment } from './lib/environment.js'
import { InvalidOptionsError } from './lib/errors.js'
import { certificationsRoute, type CertificationsOptions } from './lib/route.js'

/** Options of the fastify-iamport plugin. */
export interface FastifyIamportOptions extends Partial<IamportClientOptions> {
  /**
   * The verification route: `false` for the client only, a URL string, or route options.
   * Default: the route at `/certifications` with the built-in checks and no policy hooks.
   */
  certifications?: false | string | CertificationsOptions
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The i'mport client of the fastify-iamport plugin. */
    iamport: IamportClient
  }
}

async function plugin (fastify: FastifyInstance, options: FastifyIamportOptions): Promise<void> {
  const { certifications, ...clientOptions } = options
  const environment = await readEnvironment(fastify)
  const client = new IamportClient({
    ...clientOptions,
    apiKey: clientOptions.apiKey ?? environment.IAMPORT_API_KEY ?? missing('apiKey (or env IAMPORT_API_KEY)'),
    apiSecret: clientOptions.apiSecret ?? environment.IAMPORT_API_SECRET ?? missing('apiSecret (or env IAMPORT_API_SECRET)'),
    baseUrl: clientOptions.baseUrl ?? environment.IAMPORT_BASE_URL
  })
  fastify.decorate('iamport', client)
  fastify.addHook('onClose', () => client.close())
  if (certifications !== false) {
    await fastify.register(certificationsRoute, { client, route: certifications })
  }
}

function missing (name: string): never {
  throw new InvalidOptionsError(`${name} is required`)
}

/** The fastify-iamport plugin: decorates `fastify.iamport` and registers the verification route. */
export const fastifyIamport = fp(plugin, { fastify: '5.x', name: 'fastify-iamport' })
export default fastifyIamport

export { IamportClient }
export type { IamportClientOptions, OtpRequestInput } from './lib/client.js'
export type { CertificationsOptions } from './lib/route.js'
export type { Certification } from './lib/schemas.js'
export * from './lib/errors.js'
