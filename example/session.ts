import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'

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

/** What {@link installSessions} gives the app besides the hook. */
export interface Sessions {
  /**
   * Ends the request's session and starts a new one: a new id in a new cookie on `reply`, and the
   * old id refused from now on (a request that still carries it gets a fresh session). For a
   * privilege change such as a sign-up, so that whoever knew the old cookie (planted it, or copied
   * it before) does not share the new state. Returns the new id; {@link sessionOf} reads it too.
   */
  rotate (request: FastifyRequest, reply: FastifyReply): string
  /** How many session ids have been retired by {@link Sessions.rotate} (kept for the process's life). */
  readonly retired: number
}

/**
 * Gives every request a session: the one its valid cookie names, else a new one, sent back with
 * `Set-Cookie` (HttpOnly, SameSite=Lax so a mobile redirect back from i'mport keeps it; Secure
 * whenever `request.protocol` is https: TLS ending in Node, or `X-Forwarded-Proto` from a proxy
 * that Fastify's `trustProxy` believes).
 *
 * Sessions are stateless except for the ids retired by {@link Sessions.rotate}: one per successful
 * sign-up, each of which took a real verification, so the set cannot be grown by a flood. The key
 * is per process, so a restart ends every session and the set starts empty with it.
 */
export function installSessions (app: FastifyInstance, key: Buffer = randomBytes(32)): Sessions {
  const sign = (id: string): string => createHmac('sha256', key).update(id).digest('base64url')
  const retired = new Set<string>()

  function verified (value: string | undefined): string | undefined {
    const [id, signature, extra] = (value ?? '').split('.')
    if (id === undefined || signature === undefined || extra !== undefined || !/^[A-Za-z0-9_-]{22}$/.test(id)) return undefined
    const expected = Buffer.from(sign(id))
    const given = Buffer.from(signature)
    return given.length === expected.length && timingSafeEqual(given, expected) && !retired.has(id) ? id : undefined
  }

  function start (request: FastifyRequest, reply: FastifyReply): string {
    const id = randomBytes(16).toString('base64url')
    sessions.set(request, id)
    const secure = request.protocol === 'https' ? '; Secure' : ''
    // Fastify appends to a set-cookie that is already there (the plugin's, or an earlier one).
    reply.header('set-cookie', `${SESSION_COOKIE}=${id}.${sign(id)}; Path=/; HttpOnly; SameSite=Lax${secure}`)
    return id
  }

  app.addHook('onRequest', async (request, reply) => {
    const existing = verified(readCookie(request.headers.cookie, SESSION_COOKIE))
    if (existing !== undefined) sessions.set(request, existing)
    else start(request, reply)
  })

  return {
    rotate (request, reply) {
      retired.add(sessionOf(request))
      return start(request, reply)
    },
    get retired () { return retired.size }
  }
}
