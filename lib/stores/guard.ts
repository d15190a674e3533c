import { STORE_TIMEOUT_MS } from '../constants.js'
import { StoreUnavailableError } from '../errors.js'
import { MemoryStore } from './memory.js'
import type { VerificationStore } from './store.js'

/**
 * The store as the route uses it: every failure is FST_IAMPORT_STORE_UNAVAILABLE (503), never a
 * guess. A store that waits on I/O also gets a deadline, so a Redis that stopped answering fails
 * closed in {@link STORE_TIMEOUT_MS}; the in-process MemoryStore skips the timer (bench/).
 */
export function guardStore (store: VerificationStore): VerificationStore {
  const guarded = store instanceof MemoryStore ? failClosed : withDeadline
  return {
    issue: (requestId, subject, ttlMs) => guarded(() => store.issue(requestId, subject, ttlMs)),
    consume: (consumption) => guarded(() => store.consume(consumption)),
    release: (consumption) => guarded(() => store.release(consumption))
  }
}

async function failClosed<T> (call: () => Promise<T>): Promise<T> {
  try {
    return await call()
  } catch {
    throw new StoreUnavailableError()
  }
}

async function withDeadline<T> (call: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<never>((resolve, reject) => { timer = setTimeout(reject, STORE_TIMEOUT_MS) })
  try {
    const result = await Promise.race([call(), deadline])
    clearTimeout(timer)
    return result
  } catch {
    clearTimeout(timer)
    throw new StoreUnavailableError()
  }
}
