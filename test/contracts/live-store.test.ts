/**
 * Contract of LiveStore (server/ports/live-store.ts), the same tests for every backend:
 * MemoryLiveStore (embedded) and RedisLiveStore (scale-out: two instances on one key prefix, as
 * two processes would have). One holder at a time per role, taken over when it stops renewing; a
 * plan published by one process read by the other, told to it, listed while wanted and gone when
 * withdrawn or expired; a checkpoint read back whole by the other process; one vote per voter per
 * suggestion.
 */
import { describe, expect, it } from 'vitest';
import '../helpers/cluster.js'; // the global set-up provides Redis to files that import it
import { MemoryLiveStore } from '../../server/embedded/memory-live-store.js';
import type { LiveStore } from '../../server/ports/live-store.js';
import { RedisLiveStore } from '../../server/scale/redis-live-store.js';
import { redisPrefix, redisProcess, roomId, subscriptionsLive } from './backends.js';

interface LiveBackend {
  /** Two processes of one service (the same store when there is one process), and another service's. */
  a: LiveStore;
  b: LiveStore;
  stranger: LiveStore;
  /** Resolves once the processes' subscriptions are in effect. */
  subscribed?: () => Promise<void>;
}

const backends: Record<string, () => Promise<LiveBackend>> = {
  embedded: async () => {
    const store = new MemoryLiveStore();
    return { a: store, b: store, stranger: new MemoryLiveStore() };
  },
  redis: async () => {
    const prefix = redisPrefix();
    const processes = await Promise.all([redisProcess(prefix), redisProcess(prefix), redisProcess(redisPrefix())]);
    const [a, b, stranger] = processes.map((p) => new RedisLiveStore(p.redis, p.channels));
    return { a: a!, b: b!, stranger: stranger!, subscribed: () => subscriptionsLive(...processes) };
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

  it('the director and the stream are leases of their own', async () => {
    const { a, b } = await make();
    const room = roomId();
    expect(await a.acquire(room, 'node1', 1000, 'director')).toBe(true);
    expect(await b.acquire(room, 'worker1', 1000)).toBe(true);
    expect(await b.acquire(room, 'node2', 1000, 'director')).toBe(false);
    await a.release(room, 'node1', 'director');
    expect(await b.acquire(room, 'node2', 1000, 'director')).toBe(true);
    expect(await a.acquire(room, 'worker2', 1000)).toBe(false);
  });

  it('a plan published by one process is read and told to the other, listed while wanted, gone when withdrawn or expired', async () => {
    const backend = await make();
    const { a, b, stranger } = backend;
    const room = roomId();
    const told: string[] = [];
    const stop = b.onPlan((r) => told.push(r));
    await backend.subscribed?.();
    expect(await b.plan(room)).toBeNull();
    const plan = { on: true, onAir: { prompt: 'a red ball moves left', author: 'Ada', suggestion: 's000000000001' }, fps: 16, seed: 7, watchers: 3 };
    await a.publishPlan(room, plan, 400);
    expect(await b.plan(room)).toEqual(plan);
    expect(await b.wanted()).toContain(room);
    expect(await stranger.plan(room)).toBeNull();
    expect(await stranger.wanted()).not.toContain(room);
    await expect.poll(() => told.includes(room), { timeout: 5000, interval: 10 }).toBe(true);
    await a.publishPlan(room, { ...plan, watchers: 0, onAir: { prompt: '一个蓝色的方块' } }, 400);
    expect(await b.plan(room)).toEqual({ ...plan, watchers: 0, onAir: { prompt: '一个蓝色的方块' } });
    await sleep(600); // not published again: expired
    expect(await b.plan(room)).toBeNull();
    expect(await b.wanted()).not.toContain(room);
    await a.publishPlan(room, plan, 60_000);
    told.length = 0;
    await a.withdrawPlan(room);
    expect(await b.plan(room)).toBeNull();
    expect(await b.wanted()).not.toContain(room);
    await expect.poll(() => told.includes(room), { timeout: 5000, interval: 10 }).toBe(true);
    stop();
  });

  it('a checkpoint saved by one process is read back whole by another, the latest one wins', async () => {
    const { a, b, stranger } = await make();
    const room = roomId();
    expect(await b.checkpoint(room)).toBeNull();
    const context = Float32Array.from({ length: 1152 }, (_, i) => Math.sin(i) * 3.5);
    await a.save(room, { seq: 10, rev: 1, prompt: 'a red ball', phase: 10, context: new Float32Array(4) });
    const state = { status: 'live' as const, rev: 3, appliedAt: 470, prompt: '一个蓝色的方块', fps: 16 };
    await a.save(room, { seq: 480, rev: 3, prompt: '一个蓝色的方块', phase: 32, context, state });
    const read = await b.checkpoint(room);
    expect(read).toMatchObject({ seq: 480, rev: 3, prompt: '一个蓝色的方块', phase: 32, state });
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
    await a.acquire(room, 'n1', 60_000, 'director');
    await a.publishPlan(room, { on: true, onAir: { prompt: 'a' }, fps: 16, seed: 0, watchers: 1 }, 60_000);
    await a.save(room, { seq: 1, rev: 1, prompt: 'a', phase: 1, context: null });
    await b.forgetRoom(room);
    expect(await a.vote(room, 's000000000001', 'v1')).toBe(true);
    expect(await a.checkpoint(room)).toBeNull();
    expect(await a.plan(room)).toBeNull();
    expect(await a.wanted()).not.toContain(room);
    expect(await b.acquire(room, 'p2', 1000)).toBe(true);
    expect(await b.acquire(room, 'n2', 1000, 'director')).toBe(true);
  });
});
