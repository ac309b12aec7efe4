/**
 * Token buckets per key: room creation and audience suggestions per client. Embedded: in memory
 * (embedded/memory-rate-limiter.ts); scale-out: counted in Redis so a limit holds across nodes
 * (scale/redis-rate-limiter.ts). Contract: test/contracts/rate-limiter.test.ts.
 */
export interface RateLimiter {
  /** Takes one token for `key`: 0 when allowed, else the milliseconds until one is free. */
  take(key: string): Promise<number>;
}
