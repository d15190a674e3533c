import { randomBytes } from 'node:crypto'
import type { FastifyReply, FastifyRequest } from 'fastify'

/**
 * Without a host `subject`, an issued id is bound to the browser that asked for it: prepare sets
 * a random HttpOnly, SameSite=Lax cookie scoped to the route, and only a request carrying the same
 * cookie can consume the id. Binding to a constant instead would let anyone consume an id that
 * someone else prepared. Secure whenever the request came over https, also behind a proxy that
 * Fastify's `trustProxy` believes.
 */
export const BINDING_COOKIE = 'idv_binding'

const VALUE = /^[0-9a-f]{32}$/

/** The binding this request carries for this route, or `undefined`. */
export function readBinding (request: FastifyRequest): string | undefined {
  const header = request.headers.cookie
  if (typeof header !== 'string') return undefined
  for (const part of header.split(';')) {
    const at = part.indexOf('=')
    if (at !== -1 && part.slice(0, at).trim() === BINDING_COOKIE) {
      const value = part.slice(at + 1).trim()
      if (VALUE.test(value)) return value
    }
  }
  return undefined
}

/** The request's binding, or a new one set as a cookie on the reply; valid for `maxAgeSeconds` on `path`. */
export function ensureBinding (request: FastifyRequest, reply: FastifyReply, path: string, maxAgeSeconds: number): string {
  const value = readBinding(request) ?? randomBytes(16).toString('hex')
  const secure = request.protocol === 'https' ? '; Secure' : ''
  // Fastify appends to a set-cookie the host (or @fastify/cookie) already set.
  reply.header('set-cookie', `${BINDING_COOKIE}=${value}; Path=${path}; Max-Age=${maxAgeSeconds}; HttpOnly; SameSite=Lax${secure}`)
  return value
}
