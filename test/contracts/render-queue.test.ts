/**
 * Contract of RenderQueue (server/ports/render-queue.ts), the same tests for every backend:
 * LocalRenderQueue (embedded: records as files, jobs in this process) and RedisRenderQueue
 * (scale-out: a server node's instance adds, reads and cancels; an engine worker's instance, on
 * the same key prefix, runs the jobs). The rules are render/render-limits.ts (bounds, one running
 * render per room) and render/render-records.ts (the states).
 *
 * The processor is a stand-in for render-worker.ts (no engine): it marks the record running,
 * waits until the test releases it or its signal aborts, marks it done or cancelled, saving each
 * change through the queue, as the real worker does.
 */
import { describe, expect, it } from 'vitest';
import '../helpers/cluster.js'; // the global set-up provides Redis to files that import it
import { LocalRenderQueue } from '../../server/embedded/local-render-queue.js';
import type { RenderProcessor, RenderQueue } from '../../server/ports/render-queue.js';
import type { RenderLimits } from '../../server/render/render-limits.js';
import { markCancelled, markDone, markRunning, newRenderRecord } from '../../server/render/render-records.js';
import { RedisRenderQueue } from '../../server/scale/redis-render-queue.js';
import type { RenderInfo } from '../../shared/protocol.js';
import { validateScene, type Scene } from '../../shared/scene.js';
import { aborted, deferred, eventually, onCleanup, redisPrefix, redisProcess, roomId, subscriptionsLive, tempDir, type Deferred, type RedisProcess } from './backends.js';

interface RenderBackend {
  /** The queue of a server node and the one that runs jobs (the same one embedded); `concurrency`: jobs run at once. */
  node: RenderQueue;
  worker: RenderQueue;
  /** Another instance over the same storage (a restart, another node). */
  reopen(): Promise<RenderQueue>;
  /** Resolves once pub/sub subscriptions made so far are in effect (the worker hears cancellations over one). */
  live(): Promise<void>;
  /** Generous deadline (ms) for a job to be picked up: BullMQ workers start and poll. */
  pickupMs: number;
}

async function embedded(concurrency = 1): Promise<RenderBackend> {
  const dir = await tempDir();
  const open = async (c: number) => {
    const queue = await LocalRenderQueue.open(dir, c);
    onCleanup(() => queue.close());
    return queue;
  };
  const queue = await open(concurrency);
  return { node: queue, worker: queue, reopen: () => open(1), live: async () => {}, pickupMs: 2000 };
}

async function redis(concurrency = 1): Promise<RenderBackend> {
  const prefix = redisPrefix();
  const open = async (c: number, p?: RedisProcess) => {
    const { redis: clients, channels } = p ?? (await redisProcess(prefix));
    const queue = new RedisRenderQueue(clients, channels, { concurrency: c, lockMs: 10_000 });
    onCleanup(() => queue.close());
    return queue;
  };
  const nodeProcess = await redisProcess(prefix);
  const workerProcess = await redisProcess(prefix);
  return {
    node: await open(concurrency, nodeProcess),
    worker: await open(concurrency, workerProcess),
    reopen: () => open(1),
    live: () => subscriptionsLive(nodeProcess, workerProcess),
    pickupMs: 10_000,
  };
}

const SCENE: Scene = (() => {
  const parsed = validateScene({ title: 'contract', fps: 8, shots: [{ id: 's1', prompt: 'a red ball', duration: 1 }] });
  if (!parsed.ok) throw new Error('the test scene is not valid');
  return parsed.value;
})();

const ROOMY: RenderLimits = { roomQueue: 100, queueMax: 100, maxFrames: 2400 };

/** A new record of `room`, created `atMs` (distinct creation times make "newest first" exact). */
function record(room: string, atMs = Date.now()): RenderInfo {
  return { ...newRenderRecord(room, SCENE, 'preview'), createdAt: new Date(atMs).toISOString() };
}

interface Run {
  record: RenderInfo;
  signal: AbortSignal;
  release: Deferred;
  ended: Deferred;
}

/** The stand-in processor: which renders ran, in which order, each held until released or aborted. */
function processing(queue: () => RenderQueue) {
  const runs = new Map<string, Run>();
  const order: string[] = [];
  const processor: RenderProcessor = async (rec, signal) => {
    const run: Run = { record: rec, signal, release: deferred(), ended: deferred() };
    runs.set(rec.id, run);
    order.push(rec.id);
    try {
      await queue().save(markRunning(rec));
      await Promise.race([run.release.promise, aborted(signal)]);
      if (signal.aborted) markCancelled(rec);
      else markDone(rec, { shots: [], timings: rec.timings, bytes: 1, seconds: 1 });
      if ((signal.reason as Error | undefined)?.message !== 'shutdown') await queue().save(rec);
    } finally {
      run.ended.resolve();
    }
  };
  return {
    processor,
    runs,
    order,
    /** Waits until `id` has started; returns its run. */
    started: (id: string, ms: number) => eventually(`render ${id} started`, () => runs.get(id), ms),
  };
}

const refusal = async (promise: Promise<unknown>) => {
  const error = await promise.then(
    () => null,
    (e: unknown) => e as { code?: string; retryAfterS?: number },
  );
  expect(error, 'the add was refused').not.toBeNull();
  return error!;
};

describe.each([
  ['embedded', embedded],
  ['redis', redis],
] as const)('RenderQueue contract: %s', (_name, backend) => {
  it('add stores the record: get returns it, here and on another instance; an unknown id is null', async () => {
    const b = await backend();
    const r = record(roomId());
    await b.node.add(r, ROOMY);
    expect(await b.node.get(r.id)).toEqual(r);
    expect(await (await b.reopen()).get(r.id)).toMatchObject({ id: r.id, room: r.room, status: 'queued', scene: SCENE });
    expect(await b.node.get('rnothing0000')).toBeNull();
  });

  it('list has every record; listRoom a room’s records, newest first', async () => {
    const b = await backend();
    const [roomA, roomB] = [roomId(), roomId()];
    const t = Date.now();
    const a1 = record(roomA, t - 3000);
    const a2 = record(roomA, t - 2000);
    const other = record(roomB, t - 1500);
    const a3 = record(roomA, t - 1000);
    for (const r of [a2, a1, other, a3]) await b.node.add(r, ROOMY);
    expect((await b.node.listRoom(roomA)).map((r) => r.id)).toEqual([a3.id, a2.id, a1.id]);
    expect((await b.node.listRoom(roomB)).map((r) => r.id)).toEqual([other.id]);
    expect(await b.node.listRoom(roomId())).toEqual([]);
    expect((await b.node.list()).map((r) => r.id).sort()).toEqual([a1.id, a2.id, a3.id, other.id].sort());
  });

  it('bounds: beyond the room’s queue, and beyond the service’s, add throws RENDER_QUEUE_FULL with retryAfterS and stores nothing', async () => {
    const b = await backend(); // never started: everything stays queued
    const limits: RenderLimits = { roomQueue: 1, queueMax: 3, maxFrames: 2400 };
    const [roomA, roomB, roomC] = [roomId(), roomId(), roomId()];
    await b.node.add(record(roomA), limits);
    await b.node.add(record(roomA), limits); // one "running" and one waiting behind it
    const tooMany = record(roomA);
    const roomFull = await refusal(b.node.add(tooMany, limits));
    expect(roomFull.code).toBe('RENDER_QUEUE_FULL');
    expect(roomFull.retryAfterS).toBeGreaterThan(0);
    expect(await b.node.get(tooMany.id)).toBeNull();

    await b.node.add(record(roomB), limits); // three on the service
    const overflow = record(roomC);
    const serviceFull = await refusal(b.node.add(overflow, limits));
    expect(serviceFull.code).toBe('RENDER_QUEUE_FULL');
    expect(serviceFull.retryAfterS).toBeGreaterThan(0);
    expect(await b.node.get(overflow.id)).toBeNull();
    expect(await b.node.list()).toHaveLength(3);
  });

  it('bounds: a render that reached a final state no longer counts; a refused add reserved nothing', async () => {
    const b = await backend();
    const limits: RenderLimits = { roomQueue: 1, queueMax: 3, maxFrames: 2400 };
    const room = roomId();
    const first = record(room);
    await b.node.add(first, limits);
    await b.node.add(record(room), limits);
    await refusal(b.node.add(record(room), limits));
    await refusal(b.node.add(record(room), limits));
    const stored = (await b.node.get(first.id))!;
    await b.node.save(markDone(stored, { shots: [], timings: stored.timings, bytes: 1, seconds: 1 }));
    await b.node.add(record(room), limits); // first's place
    await refusal(b.node.add(record(room), limits));
    await b.node.add(record(roomId()), limits); // the service's third place
    expect((await refusal(b.node.add(record(roomId()), limits))).code).toBe('RENDER_QUEUE_FULL');
  });

  it('concurrent adds never let more in than the bounds allow', async () => {
    const b = await backend();
    const limits: RenderLimits = { roomQueue: 2, queueMax: 100, maxFrames: 2400 };
    const room = roomId();
    const results = await Promise.allSettled(Array.from({ length: 8 }, () => b.node.add(record(room), limits)));
    expect(results.filter((r) => r.status === 'fulfilled').length).toBeLessThanOrEqual(3);
    expect((await b.node.listRoom(room)).length).toBeLessThanOrEqual(3);
  });

  it('one running render per room: the second of a room starts only after the first ends; another room’s runs meanwhile', async () => {
    const b = await backend(2);
    const p = processing(() => b.worker);
    const [roomA, roomB] = [roomId(), roomId()];
    const t = Date.now();
    const a1 = record(roomA, t - 3000);
    const a2 = record(roomA, t - 2000);
    const b1 = record(roomB, t - 1000);
    for (const r of [a1, a2, b1]) await b.node.add(r, ROOMY);
    b.worker.start(p.processor);
    // Which of A's two goes first is not the point here (see the report); that only one runs is.
    const first = await eventually('one of room A’s renders started', () => p.runs.get(a1.id) ?? p.runs.get(a2.id), b.pickupMs);
    const second = first.record.id === a1.id ? a2 : a1;
    const runB1 = await p.started(b1.id, b.pickupMs); // two rooms at once (concurrency 2) ...
    expect(first.ended.settled).toBe(false);
    expect(p.runs.has(second.id)).toBe(false); // ... but never two of one room
    runB1.release.resolve(); // a slot is free, and still A's second must wait
    await runB1.ended.promise;
    await eventually('b1 is done', async () => (await b.node.get(b1.id))?.status === 'done', b.pickupMs);
    expect(p.runs.has(second.id)).toBe(false);
    first.release.resolve();
    await first.ended.promise;
    const runSecond = await p.started(second.id, b.pickupMs);
    expect(first.ended.settled).toBe(true);
    runSecond.release.resolve();
    await eventually('A’s second render is done', async () => (await b.node.get(second.id))?.status === 'done', b.pickupMs);
    expect(p.order).toEqual([first.record.id, b1.id, second.id]);
  });

  it('cancel of a queued render: cancelled at once, onCancelledWhileQueued hears it, it never runs', async () => {
    const b = await backend();
    const heard: RenderInfo[] = [];
    b.node.onCancelledWhileQueued((r) => heard.push(r));
    const room = roomId();
    const doomed = record(room, Date.now() - 2000);
    await b.node.add(doomed, ROOMY);
    const ended = await b.node.cancel(doomed.id);
    expect(ended).toMatchObject({ id: doomed.id, status: 'cancelled' });
    expect((await b.node.get(doomed.id))!.status).toBe('cancelled');
    expect(heard.map((r) => [r.id, r.status])).toEqual([[doomed.id, 'cancelled']]);
    // The queue runs on: a later render of the same room runs, the cancelled one never did.
    const p = processing(() => b.worker);
    b.worker.start(p.processor);
    const next = record(room);
    await b.node.add(next, ROOMY);
    (await p.started(next.id, b.pickupMs)).release.resolve();
    await eventually('the next render is done', async () => (await b.node.get(next.id))?.status === 'done', b.pickupMs);
    expect(p.order).toEqual([next.id]);
    expect((await b.node.get(doomed.id))!.status).toBe('cancelled');
  });

  it('cancel of a running render aborts its signal (on whichever process runs it); the listener of queued cancellations stays silent', async () => {
    const b = await backend();
    const heard: RenderInfo[] = [];
    b.node.onCancelledWhileQueued((r) => heard.push(r));
    const p = processing(() => b.worker);
    b.worker.start(p.processor);
    await b.live();
    const r = record(roomId());
    await b.node.add(r, ROOMY);
    const run = await p.started(r.id, b.pickupMs);
    await eventually('it is marked running', async () => (await b.node.get(r.id))?.status === 'running', b.pickupMs);
    expect(await b.node.cancel(r.id)).toMatchObject({ id: r.id });
    await eventually('its signal aborted', () => run.signal.aborted, 5000);
    await run.ended.promise;
    await eventually('it ended cancelled', async () => (await b.node.get(r.id))?.status === 'cancelled', 5000);
    expect(heard).toEqual([]);
  });

  it('cancel of an unknown render is null', async () => {
    const b = await backend();
    expect(await b.node.cancel('rnothing0000')).toBeNull();
  });

  it('remove forgets the record everywhere; a removed record is never written again (save is a no-op)', async () => {
    const b = await backend();
    const room = roomId();
    const gone = record(room);
    const kept = record(room);
    await b.node.add(gone, ROOMY);
    await b.node.add(kept, ROOMY);
    const stored = (await b.node.get(gone.id))!;
    await b.node.remove(gone.id);
    expect(await b.node.get(gone.id)).toBeNull();
    // A job that was still working on it saves it afterwards: nothing comes back.
    await b.node.save(markDone(stored, { shots: [], timings: stored.timings, bytes: 1, seconds: 1 }));
    await b.worker.save(stored);
    expect(await b.node.get(gone.id)).toBeNull();
    expect((await b.node.list()).map((r) => r.id)).toEqual([kept.id]);
    expect((await b.node.listRoom(room)).map((r) => r.id)).toEqual([kept.id]);
    expect(await (await b.reopen()).get(gone.id)).toBeNull();
    await expect(b.node.remove('rnothing0000')).resolves.toBeUndefined();
  });

  it('get answers with the record as last saved (a saved copy, not only the object get handed out)', async () => {
    const b = await backend();
    const r = record(roomId());
    await b.node.add(r, ROOMY);
    const copy = structuredClone(r);
    await b.node.save(markCancelled(copy));
    expect((await b.node.get(r.id))!.status).toBe('cancelled');
    expect((await (await b.reopen()).get(r.id))!.status).toBe('cancelled');
  });

  it('a queued render survives a restart: a new instance that starts runs it', async () => {
    const b = await backend();
    const r = record(roomId());
    await b.node.add(r, ROOMY);
    await b.node.close();
    const restarted = await b.reopen();
    const p = processing(() => restarted);
    restarted.start(p.processor);
    (await p.started(r.id, b.pickupMs)).release.resolve();
    await eventually('it is done', async () => (await restarted.get(r.id))?.status === 'done', b.pickupMs);
  });
});
