/** The verification stores: in memory for one instance, Redis for several. */
export { MemoryStore, DEFAULT_MEMORY_STORE_MAX_ENTRIES, type MemoryStoreOptions } from './memory.js'
export { RedisStore, DEFAULT_REDIS_STORE_PREFIX, type RedisLikeClient, type RedisStoreOptions } from './redis.js'
export type { Consumption, ConsumeResult, VerificationStore } from './store.js'
