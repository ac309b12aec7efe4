/**
 * Contract of LiveStore (server/ports/live-store.ts), the same tests for every backend:
 * MemoryLiveStore (embedded) and RedisLiveStore (scale-out: two instances on one key prefix, as
 * two processes would have). One holder at a time, taken over when it stops renewing; a
 * checkpoint read back whole by the other process; one vote per voter per suggestion.
 */
import { describe, expect, it } from 'vitest';
import '../helpers/cluster.js'; // the global set-up provides Redis to files that import it
import { MemoryLiveStore } from '../../server/embedded/memory-live-store.js';
import type { LiveStore } from '../../server/ports/live-store.js';
import { RedisLiveStore } from '../../server/scale/redis-live-store.js';
import { redisPrefix, redisProcess, roomId } from './backends.js';

interface LiveBackend {
  /** Two processes of one service (the same store when there is one process), and another service's. */
  a: LiveStore;
  b: LiveStore;
  stranger: LiveStore;
}

const backends: Record<string, () => Promise<LiveBackend>> = {
  embedded: async () => {
    const store = new MemoryLiveStore();
    return { a: store, b: store, stranger: new MemoryLiveStore() };
  },
  redis: async () => {
    const prefix = redisPrefix();
    const [a, b, stranger] = await Promise.all([redisProcess(prefix), redisProcess(prefix), redisProcess(redisPrefix())]);
    return { a: new RedisLiveStore(a.redis), b: new RedisLiveStore(b.redis), stranger: new RedisLiveStore(stranger.redis) };
  },
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.each(Object.keys(backends))('LiveStore (%s)', (name) => {
  const make = backends[name]!;

  it('one holder at a time: it renews, others are refused, and another takes over once it stops renewing or releases', async () => {
    const { a, b, stranger } = await make();
    const room = roomId();
    expect(await a.acquire(room, 'p1', 300)).toBe(true);
    expect(await b.acquire(room, 'p2', 300)).toBe(false);
    expect(await stranger.acquire(room, 'p2', 300)).toBe(true); // another service's room of the same name
    await sleep(150);
    expect(await a.acquire(room, 'p1', 300)).toBe(true); // renewed
    await sleep(200);
    expect(await b.acquire(room, 'p2', 300)).toBe(false); // still p1's: 350 ms after it was taken, 200 after the renewal
    await sleep(200);
    expect(await b.acquire(room, 'p2', 300)).toBe(true); // p1 stopped renewing
    expect(await a.acquire(room, 'p1', 300)).toBe(false);
    await a.release(room, 'p1'); // not its lease: nothing happens
    expect(await a.acquire(room, 'p1', 300)).toBe(false);
    await b.release(room, 'p2');
    expect(await a.acquire(room, 'p1', 300)).toBe(true);
  });

  it('a checkpoint saved by one process is read back whole by another, the latest one wins', async () => {
    const { a, b, stranger } = await make();
    const room = roomId();
    expect(await b.checkpoint(room)).toBeNull();
    const context = Float32Array.from({ length: 1152 }, (_, i) => Math.sin(i) * 3.5);
    await a.save(room, { seq: 10, rev: 1, prompt: 'a red ball', phase: 10, context: new Float32Array(4) });
    await a.save(room, { seq: 480, rev: 3, prompt: '一个蓝色的方块', phase: 32, context });
    const read = await b.checkpoint(room);
    expect(read).toMatchObject({ seq: 480, rev: 3, prompt: '一个蓝色的方块', phase: 32 });
    expect(Array.from(read!.context!)).toEqual(Array.from(context));
    await a.save(room, { seq: 488, rev: 3, prompt: 'x', phase: 40, context: null });
    expect((await b.checkpoint(room))!.context).toBeNull();
    expect(await stranger.checkpoint(room)).toBeNull();
  });

  it('counts one vote per voter per suggestion, across processes; forgetting the room forgets its votes and stream', async () => {
    const { a, b } = await make();
    const room = roomId();
    expect(await a.vote(room, 's000000000001', 'v1')).toBe(true);
    expect(await b.vote(room, 's000000000001', 'v1')).toBe(false);
    expect(await b.vote(room, 's000000000001', 'v2')).toBe(true);
    expect(await a.vote(room, 's000000000002', 'v1')).toBe(true);
    expect(await a.vote(roomId(), 's000000000001', 'v1')).toBe(true);
    await a.acquire(room, 'p1', 60_000);
    await a.save(room, { seq: 1, rev: 1, prompt: 'a', phase: 1, context: null });
    await b.forgetRoom(room);
    expect(await a.vote(room, 's000000000001', 'v1')).toBe(true);
    expect(await a.checkpoint(room)).toBeNull();
    expect(await b.acquire(room, 'p2', 1000)).toBe(true);
  });
});
