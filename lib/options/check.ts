import { Kind, TypeRegistry, type TSchema } from '@sinclair/typebox'
import { Value, ValueErrorType, type ValueError } from '@sinclair/typebox/value'
import { InvalidOptionsError } from '../errors.js'

/**
 * The one check behind every options object of the package (plugin, route, stores, clients): a
 * TypeBox schema with `additionalProperties: false` at every level, so a misspelled or misplaced
 * key fails closed instead of silently turning a gate off. Each schema node may carry an
 * `errorMessage` ("must be a positive whole number"); the thrown FST_IAMPORT_INVALID_OPTIONS names
 * the full path and, for an unknown key, the nearest valid one.
 */

/** What the check knows about where valid keys live, for "did you mean" suggestions. */
export interface OptionsContext {
  /** Prefix of every path in messages, e.g. `MemoryStore options` (default: none, the plugin's own). */
  root?: string
  /**
   * Every valid path of the whole options tree, `a.b.c`, including those of other API
   * generations (with the generation they belong to), so a misplaced key is pointed home.
   */
  knownPaths?: ReadonlyMap<string, string | undefined>
  /** Paths of 0.1.0 that were renamed, to their new path. */
  renamed?: ReadonlyMap<string, string>
}

/** Throws FST_IAMPORT_INVALID_OPTIONS for the first problem of `value` against `schema`. */
export function checkOptions (schema: TSchema, value: unknown, context: OptionsContext = {}): void {
  const problem = firstProblem(schema, value, '')
  if (problem === undefined) return
  const prefix = context.root === undefined ? '' : context.root + ' '
  const at = problem.path === '' ? 'options' : problem.path
  if (problem.unknownKey) {
    throw new InvalidOptionsError(`${prefix}${at} is not an option${suggestion(problem.path, schema, context)}`)
  }
  throw new InvalidOptionsError(`${prefix}${at} ${problem.message}`)
}

interface Problem {
  /** Dotted path: `certifications.minAge`. */
  path: string
  unknownKey: boolean
  message: string
}

function firstProblem (schema: TSchema, value: unknown, base: string): Problem | undefined {
  // An unknown key is reported before a wrong value: it is the likelier mistake, and its fix.
  let first: ValueError | undefined
  for (const error of Value.Errors(schema, value)) {
    if (error.type === ValueErrorType.ObjectAdditionalProperties) {
      return { path: join(base, dotted(error.path)), unknownKey: true, message: '' }
    }
    first ??= error
  }
  if (first === undefined) return undefined
  // A union (`false | string | object`) reports only "no member matched": an object value is
  // meant for the object member, whose own errors say what is wrong.
  if (first.type === ValueErrorType.Union && isObject(first.value)) {
    const member = (first.schema.anyOf as TSchema[]).find((candidate) => candidate.type === 'object')
    if (member !== undefined) return firstProblem(member, first.value, join(base, dotted(first.path)))
  }
  const message = first.type === ValueErrorType.ObjectRequiredProperty
    ? 'is required'
    : typeof first.schema.errorMessage === 'string' ? first.schema.errorMessage : 'is not valid'
  return { path: join(base, dotted(first.path)), unknownKey: false, message }
}

/**
 * What to say after "x is not an option": where a key of another API generation belongs, its new
 * name if it was renamed, else the likeliest meant key: the same letters in another case beside
 * it, the same key elsewhere in the tree (misplaced), or a near spelling beside it.
 */
function suggestion (path: string, schema: TSchema, context: OptionsContext): string {
  const knownPaths = context.knownPaths ?? pathsOf(schema)
  const only = knownPaths.get(path)
  if (only !== undefined) return ` here (it is an option of apiVersion '${only}' only)`
  const renamed = context.renamed?.get(path)
  if (renamed !== undefined) return ` (renamed to ${renamed} in 0.2.0; see CHANGELOG.md)`
  const key = leaf(path)
  const siblings = [...knownPaths.keys()].filter((candidate) => parentOf(candidate) === parentOf(path))
  const sameLetters = siblings.find((candidate) => leaf(candidate).toLowerCase() === key.toLowerCase())
  const elsewhere = [...knownPaths.keys()].find((candidate) => leaf(candidate) === key)
  const near = siblings
    .map((candidate) => ({ candidate, distance: distance(key, leaf(candidate)) }))
    .filter(({ candidate, distance }) => distance <= Math.max(2, Math.floor(key.length / 4)) || isPrefix(key, leaf(candidate)))
    .sort((a, b) => a.distance - b.distance)[0]?.candidate
  const pick = sameLetters ?? elsewhere ?? near
  if (pick === undefined) return ''
  // Say which generation a key belongs to only when it is not one of this generation's own.
  const pickOnly = pathsOf(schema).has(pick) ? undefined : knownPaths.get(pick)
  return ` (did you mean ${pick}?${pickOnly === undefined ? '' : ` It is an option of apiVersion '${pickOnly}'.`})`
}

/** Every property path of an options schema, descending into object members of unions. */
export function pathsOf (schema: TSchema, base = '', into = new Map<string, string | undefined>(), only?: string): Map<string, string | undefined> {
  if (Array.isArray(schema.anyOf)) {
    for (const member of schema.anyOf as TSchema[]) pathsOf(member, base, into, only)
    return into
  }
  if (schema.type !== 'object' || typeof schema.properties !== 'object') return into
  for (const [key, child] of Object.entries(schema.properties as Record<string, TSchema>)) {
    const path = join(base, key)
    if (!into.has(path)) into.set(path, only)
    pathsOf(child, path, into, only)
  }
  return into
}

/** One a prefix of the other, case-insensitive (`ttl` of `ttlSeconds`). */
function isPrefix (a: string, b: string): boolean {
  const x = a.toLowerCase()
  const y = b.toLowerCase()
  return Math.min(x.length, y.length) >= 3 && (x.startsWith(y) || y.startsWith(x))
}

/** Levenshtein distance, case-insensitive. */
function distance (a: string, b: string): number {
  const x = a.toLowerCase()
  const y = b.toLowerCase()
  let previous = Array.from({ length: y.length + 1 }, (_, i) => i)
  for (let i = 1; i <= x.length; i++) {
    const current = [i]
    for (let j = 1; j <= y.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (x[i - 1] === y[j - 1] ? 0 : 1))
    }
    previous = current
  }
  return previous[y.length]!
}

function dotted (pointer: string): string {
  return pointer.split('/').slice(1).join('.')
}

/** `base.path`; only the root of the whole options object has an empty path, and nothing is below it. */
function join (base: string, path: string): string {
  return base === '' ? path : `${base}.${path}`
}

function parentOf (path: string): string {
  const at = path.lastIndexOf('.')
  return at === -1 ? '' : path.slice(0, at)
}

function leaf (path: string): string {
  return path.slice(path.lastIndexOf('.') + 1)
}

function isObject (value: unknown): value is object {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** Registers a schema kind checked by `test`, for what JSON schema cannot say (a RegExp, a store). */
export function customKind<T> (kind: string, test: (value: unknown) => boolean): (options?: Record<string, unknown>) => TSchema & { static: T } {
  if (!TypeRegistry.Has(kind)) TypeRegistry.Set(kind, (_schema, value) => test(value))
  return (options = {}) => ({ ...options, [Kind]: kind }) as unknown as TSchema & { static: T }
}

/** Throws FST_IAMPORT_INVALID_OPTIONS for a required option that neither the options nor the environment gave. */
export function required (name: string): never {
  throw new InvalidOptionsError(`${name} is required`)
}
