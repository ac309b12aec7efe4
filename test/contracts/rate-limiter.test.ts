/**
 * Contract of RateLimiter (server/ports/rate-limiter.ts), the same tests for every backend:
 * MemoryRateLimiter (embedded) and RedisRateLimiter (scale-out). Token buckets: `burst` tokens,
 * refilled at `perMinute`; `take` answers 0 or the milliseconds until a token is free.
 *
 * Time is real (both adapters read Date.now(); Redis' is passed in from the client). Refills use
 * a token every 250 ms and wait what the limiter answered plus a margin; refusals are asserted
 * right after the takes that emptied the bucket (a stall of a whole token's time between two
 * awaits would be needed to upset them).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import '../helpers/cluster.js'; // the global set-up provides Redis to files that import it
import { MemoryRateLimiter } from '../../server/embedded/memory-rate-limiter.js';
import type { RateLimiter } from '../../server/ports/rate-limiter.js';
import { RedisRateLimiter } from '../../server/scale/redis-rate-limiter.js';
import { redisPrefix, redisProcess } from './backends.js';

interface LimiterBackend {
  /** A limiter named `name`. Scale-out: every call is another node's limiter on the same Redis (they share buckets). */
  limiter(name: string, burst: number, perMinute: number): Promise<RateLimiter>;
}

async function embedded(): Promise<LimiterBackend> {
  return { limiter: async (_name, burst, perMinute) => new MemoryRateLimiter(burst, perMinute) };
}

async function redis(): Promise<LimiterBackend> {
  const prefix = redisPrefix();
  return { limiter: async (name, burst, perMinute) => new RedisRateLimiter((await redisProcess(prefix)).redis, name, burst, perMinute) };
}

/** 240 a minute: one token every 250 ms. */
const PER_MINUTE = 240;
const TOKEN_MS = 60_000 / PER_MINUTE;
/** Timers and Date.now() round to the millisecond: a little more than the promised wait. */
const MARGIN_MS = 5;

const takeAll = (limiter: RateLimiter, key: string, n: number) => Promise.all(Array.from({ length: n }, () => limiter.take(key)));

describe.each([
  ['embedded', embedded, false],
  ['redis', redis, true],
] as const)('RateLimiter contract: %s', (_name, backend, scaleOut) => {
  it('allows `burst` takes at once, then answers a wait > 0 of at most one token', async () => {
    const limiter = await (await backend()).limiter('burst', 3, PER_MINUTE);
    expect(await takeAll(limiter, 'k', 3)).toEqual([0, 0, 0]);
    const wait = await limiter.take('k');
    expect(wait).toBeGreaterThan(0);
    expect(wait).toBeLessThanOrEqual(TOKEN_MS);
  });

  it('a refused take costs nothing: refusals do not push the next token further away', async () => {
    const limiter = await (await backend()).limiter('refusals', 1, 60); // one token a second
    expect(await limiter.take('k')).toBe(0);
    const first = await limiter.take('k');
    const again = await limiter.take('k');
    expect(first).toBeGreaterThan(0);
    expect(again).toBeLessThanOrEqual(first);
  });

  it('keys are independent', async () => {
    const limiter = await (await backend()).limiter('keys', 2, PER_MINUTE);
    expect(await takeAll(limiter, 'a', 2)).toEqual([0, 0]);
    expect(await limiter.take('a')).toBeGreaterThan(0);
    expect(await takeAll(limiter, 'b', 2)).toEqual([0, 0]);
    expect(await limiter.take('b')).toBeGreaterThan(0);
  });

  it('refills over time: after the wait it answered, a take is allowed', async () => {
    const limiter = await (await backend()).limiter('refill', 1, PER_MINUTE);
    expect(await limiter.take('k')).toBe(0);
    const wait = await limiter.take('k');
    expect(wait).toBeGreaterThan(0);
    await sleep(wait + MARGIN_MS);
    expect(await limiter.take('k')).toBe(0);
    expect(await limiter.take('k')).toBeGreaterThan(0);
  });

  it('a bucket never holds more than `burst` tokens, however long it rests', async () => {
    const limiter = await (await backend()).limiter('cap', 2, PER_MINUTE);
    expect(await takeAll(limiter, 'k', 2)).toEqual([0, 0]);
    await sleep(3 * TOKEN_MS); // three tokens' worth of time
    expect(await takeAll(limiter, 'k', 2)).toEqual([0, 0]);
    expect(await limiter.take('k')).toBeGreaterThan(0);
  });

  it('limiters of different names do not share buckets', async () => {
    const b = await backend();
    const one = await b.limiter('one', 1, 60);
    const two = await b.limiter('two', 1, 60);
    expect(await one.take('k')).toBe(0);
    expect(await two.take('k')).toBe(0);
  });

  // Scale-out only: the point of counting in Redis is that a limit holds across nodes. The
  // embedded limiter lives in its one process; there is no second one to share with.
  it.runIf(scaleOut)('(scale-out) two nodes share one limit', async () => {
    const b = await backend();
    const nodeA = await b.limiter('shared', 2, 60);
    const nodeB = await b.limiter('shared', 2, 60);
    expect(await nodeA.take('client')).toBe(0);
    expect(await nodeB.take('client')).toBe(0);
    expect(await nodeA.take('client')).toBeGreaterThan(0);
    expect(await nodeB.take('client')).toBeGreaterThan(0);
  });
});
