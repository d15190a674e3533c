import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import type { FastifyInstance, FastifyRequest } from 'fastify'

/**
 * A tiny signed session cookie, just enough to bind an issued merchant_uid to the browser that
 * asked for it. The id is 128 random bits; the signature (HMAC with a per-process key) means the
 * server only accepts ids it issued itself, so nobody can choose another person's session id.
 * A real app uses its own session layer (@fastify/secure-session, @fastify/session, ...).
 */

export const SESSION_COOKIE = 'example_sid'

const sessions = new WeakMap<FastifyRequest, string>()

/** The session id of a request (set by {@link installSessions}'s hook). */
export function sessionOf (request: FastifyRequest): string {
  const id = sessions.get(request)
  if (id === undefined) throw new Error('installSessions() must be called before the routes that read the session')
  return id
}

/** One cookie's value from a `Cookie` header, or `undefined`. */
export function readCookie (header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined
  for (const part of header.split(';')) {
    const eq = part.indexOf('=')
    if (eq !== -1 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim()
  }
  return undefined
}

/**
 * Gives every request a session: the one its valid cookie names, else a new one, sent back with
 * `Set-Cookie` (HttpOnly, SameSite=Lax so a mobile redirect back from i'mport keeps it; Secure on https).
 */
export function installSessions (app: FastifyInstance, key: Buffer = randomBytes(32)): void {
  const sign = (id: string): string => createHmac('sha256', key).update(id).digest('base64url')

  function verified (value: string | undefined): string | undefined {
    const [id, signature, extra] = (value ?? '').split('.')
    if (id === undefined || signature === undefined || extra !== undefined || !/^[A-Za-z0-9_-]{22}$/.test(id)) return undefined
    const expected = Buffer.from(sign(id))
    const given = Buffer.from(signature)
    return given.length === expected.length && timingSafeEqual(given, expected) ? id : undefined
  }

  app.addHook('onRequest', async (request, reply) => {
    const existing = verified(readCookie(request.headers.cookie, SESSION_COOKIE))
    if (existing !== undefined) {
      sessions.set(request, existing)
      return
    }
    const id = randomBytes(16).toString('base64url')
    sessions.set(request, id)
    const secure = request.protocol === 'https' ? '; Secure' : ''
    reply.header('set-cookie', `${SESSION_COOKIE}=${id}.${sign(id)}; Path=/; HttpOnly; SameSite=Lax${secure}`)
  })
}
