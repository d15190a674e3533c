import { Type, type TProperties, type TSchema } from '@sinclair/typebox'
import { customKind } from './check.js'

/** Schema building blocks of the options schemas, each with the message its failure gives. */

/** An object schema that refuses unknown keys. */
export function Options<T extends TProperties> (properties: T) {
  return Type.Object(properties, { additionalProperties: false, errorMessage: 'must be an object' })
}

export const Optional = Type.Optional

export function PositiveInteger (unit = 'whole number') {
  return Type.Integer({ minimum: 1, errorMessage: `must be a positive ${unit}` })
}

export function NonEmptyString () {
  return Type.String({ pattern: '\\S', errorMessage: 'must be a non-blank string' })
}

export function Hook () {
  return Type.Function([], Type.Unknown(), { errorMessage: 'must be a function' })
}

export function Literals (values: readonly string[], errorMessage: string) {
  return Type.Union(values.map((value) => Type.Literal(value)), { errorMessage })
}

/** A RegExp, or a string that compiles to one. */
export const Pattern = customKind<RegExp | string>('fastify-iamport/Pattern', (value) => {
  if (value instanceof RegExp) return true
  if (typeof value !== 'string') return false
  try {
    RegExp(value)
    return true
  } catch {
    return false
  }
})

/** An absolute http(s) URL. */
export const HttpUrl = customKind<string>('fastify-iamport/HttpUrl', (value) => {
  if (typeof value !== 'string') return false
  try {
    const { protocol } = new URL(value)
    return protocol === 'https:' || protocol === 'http:'
  } catch {
    return false
  }
})

/** An object with these methods (a store, a dispatcher, a Redis client). */
export function WithMethods (kind: string, methods: readonly string[], errorMessage: string): TSchema {
  return customKind<object>(`fastify-iamport/${kind}`, (value) =>
    typeof value === 'object' && value !== null &&
    methods.every((method) => typeof (value as Record<string, unknown>)[method] === 'function'))({ errorMessage })
}

/** An undici Dispatcher (Pool, Agent, MockAgent, ProxyAgent). */
export const Dispatcher = (): TSchema => WithMethods('Dispatcher', ['dispatch'], 'must be an undici Dispatcher')

/** A plain object, e.g. a JSON schema. */
export function AnyObject (errorMessage: string) {
  return Type.Object({}, { additionalProperties: true, errorMessage })
}
