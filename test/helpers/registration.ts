import Fastify from 'fastify'
import fastifyIamport from '../../index.js'

/** The error a plugin registration with `options` fails with; throws when it succeeds. */
export async function registrationError (options: Record<string, unknown>): Promise<Error & { code?: string, statusCode?: number }> {
  const app = Fastify()
  try {
    await app.register(fastifyIamport, options)
    await app.ready()
  } catch (err) {
    return err as Error
  } finally {
    await app.close()
  }
  throw new Error('registration succeeded')
}
