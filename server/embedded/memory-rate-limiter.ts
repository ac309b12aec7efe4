/**
 * Token buckets per key, in this process (the embedded RateLimiter).
 */
import type { RateLimiter } from '../ports/rate-limiter.js';

export class MemoryRateLimiter implements RateLimiter {
  readonly #buckets = new Map<string, { tokens: number; at: number }>();

  /** `burst` requests at once, refilled at `perMinute` a minute. */
  constructor(
    private readonly burst: number,
    private readonly perMinute: number,
  ) {}

  async take(key: string): Promise<number> {
    const now = Date.now();
    const rate = this.perMinute / 60_000;
    const bucket = this.#buckets.get(key) ?? { tokens: this.burst, at: now };
    bucket.tokens = Math.min(this.burst, bucket.tokens + (now - bucket.at) * rate);
    bucket.at = now;
    this.#buckets.set(key, bucket);
    if (this.#buckets.size > 100_000) this.#prune(now);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.ceil((1 - bucket.tokens) / rate);
  }

  /** Full buckets carry no information: drop them. */
  #prune(now: number): void {
    const rate = this.perMinute / 60_000;
    for (const [key, b] of this.#buckets) if (b.tokens + (now - b.at) * rate >= this.burst) this.#buckets.delete(key);
  }
}
