/** The verification stores: in memory for one instance, Redis for several. */
export { MemoryStore, type MemoryStoreOptions } from './memory.js'
export {
  RedisStore, DEFAULT_REDIS_STORE_PREFIX, type RedisLikeClient, type IoRedisLikeClient, type NodeRedisLikeClient,
  type RedisStoreOptions
} from './redis.js'
export { DEFAULT_MAX_ISSUED, DEFAULT_MAX_ISSUED_PER_SUBJECT, DEFAULT_MEMORY_STORE_MAX_CONSUMED } from '../constants.js'
export type { Consumption, ConsumeResult, StoreLogger, VerificationStore } from './store.js'
