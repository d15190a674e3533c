import { STORE_TIMEOUT_MS } from '../constants.js'
import { StoreUnavailableError } from '../errors.js'
import { Deadlines, type Deadline, type Link } from '../upstream.js'
import { consumeNow, MemoryStore } from './memory.js'
import type { Consumption, ConsumeResult, VerificationStore } from './store.js'

/** A guarded store; `consumeNow` is there for the in-process MemoryStore: its consume, synchronous, throwing the 503. */
export interface GuardedStore extends VerificationStore {
  consumeNow?: ((consumption: Consumption) => ConsumeResult) | undefined
}

/**
 * The store as the route uses it: every failure is FST_IAMPORT_STORE_UNAVAILABLE (503), never a
 * guess. A store that waits on I/O also gets a deadline, so a Redis that stopped answering fails
 * closed in {@link STORE_TIMEOUT_MS}; the in-process MemoryStore skips the deadline (bench/).
 * A call costs one promise chained on the store's own, with no async wrapper and, for a store
 * with a deadline, no timer and no Promise.race of its own (bench/).
 */
export function guardStore (store: VerificationStore): GuardedStore {
  // A MemoryStore itself, not a subclass: its methods are async functions, which reject rather than throw.
  if (Object.getPrototypeOf(store) === MemoryStore.prototype) {
    const memory = store as MemoryStore
    return {
      issue: (requestId, subject, ttlMs) => store.issue(requestId, subject, ttlMs).then(undefined, unavailable),
      consume: (consumption) => {
        try {
          return Promise.resolve(memory[consumeNow](consumption))
        } catch {
          return unavailable()
        }
      },
      // The route's path: no promise at all (bench/).
      consumeNow: (consumption) => {
        try {
          return memory[consumeNow](consumption)
        } catch {
          throw new StoreUnavailableError()
        }
      },
      release: (consumption) => store.release(consumption).then(undefined, unavailable)
    }
  }
  return {
    issue: (requestId, subject, ttlMs) => withDeadline(() => store.issue(requestId, subject, ttlMs)),
    consume: (consumption) => withDeadline(() => store.consume(consumption)),
    release: (consumption) => withDeadline(() => store.release(consumption))
  }
}

/** A store failure as the route sees it: a rejection with 503. */
function unavailable (): Promise<never> {
  return Promise.reject(new StoreUnavailableError())
}

/** Every store call's deadline, STORE_TIMEOUT_MS each: one list and one timer for the process. */
const deadlines = new Deadlines(STORE_TIMEOUT_MS)

/** The store's answer, or 503 when it fails (a throw too) or has not answered by the deadline. */
function withDeadline<T> (call: () => Promise<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const pending = new StoreCall(resolve, reject)
    // A promise, so that a store method that throws, returns a value or a thenable is handled alike.
    new Promise<T>((resolve) => resolve(call())).then((value) => pending.answer(value), () => pending.expire())
  })
}

/** One call of a store with a deadline: a node in the deadline list until it settles. */
class StoreCall<T> implements Deadline {
  expiresAt = 0
  previous: Link = this
  next: Link = this
  queued = false
  readonly #resolve: (value: T) => void
  readonly #reject: (err: Error) => void

  constructor (resolve: (value: T) => void, reject: (err: Error) => void) {
    this.#resolve = resolve
    this.#reject = reject
    deadlines.add(this)
  }

  answer (value: T): void {
    deadlines.remove(this)
    this.#resolve(value)
  }

  /** The deadline passed or the store failed: 503, once (a later answer changes nothing). */
  expire (): void {
    deadlines.remove(this)
    this.#reject(new StoreUnavailableError())
  }
}
