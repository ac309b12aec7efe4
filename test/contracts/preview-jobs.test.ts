/**
 * Contract of preview jobs: the rules written once in preview/preview-queue.ts (PreviewJobQueue,
 * the asking side) and preview/preview-worker.ts (runPreviewWorker, the engine side), over every
 * PreviewJobBackend (server/ports/preview-jobs.ts): MemoryPreviewJobs (embedded: one process) and
 * RedisPreviewJobs (scale-out: the server node's instance submits, an engine worker's instance on
 * the same key prefix consumes, as two processes would).
 *
 * No engine: `run` is a stand-in that records which jobs ran and holds each until the test
 * releases it or its AbortSignal aborts; `broadcast` records what the room is told. BullMQ's
 * Worker takes a moment to start and to poll: every wait has a generous deadline and polls.
 */
import { describe, expect, it } from 'vitest';
import '../helpers/cluster.js'; // the global set-up provides Redis to files that import it
import { resolveShot } from '../../engine/index.js';
import { MemoryPreviewJobs } from '../../server/embedded/memory-preview-jobs.js';
import type { PreviewJobBackend, QueuedPreview } from '../../server/ports/preview-jobs.js';
import type { RoomBroadcast } from '../../server/ports/room-broadcast.js';
import { PreviewJobQueue } from '../../server/preview/preview-queue.js';
import { runPreviewWorker } from '../../server/preview/preview-worker.js';
import { RedisPreviewJobs } from '../../server/scale/redis-preview-jobs.js';
import type { PreviewState } from '../../shared/protocol.js';
import { validateScene, type Scene } from '../../shared/scene.js';
import { aborted, deferred, eventually, onCleanup, redisPrefix, redisProcess, subscriptionsLive, type Deferred } from './backends.js';

interface JobsBackend {
  /** The backend the room's queue submits to, and the one the engine worker consumes (the same one embedded). */
  server: PreviewJobBackend;
  engine: PreviewJobBackend;
  /** Resolves once pub/sub subscriptions made so far are in effect (the worker hears supersedes over one). */
  live(): Promise<void>;
  /** Generous deadline (ms) for a job to start: BullMQ's worker starts and polls. */
  pickupMs: number;
}

async function embedded(): Promise<JobsBackend> {
  const jobs = new MemoryPreviewJobs();
  onCleanup(() => jobs.close());
  return { server: jobs, engine: jobs, live: async () => {}, pickupMs: 2000 };
}

async function redis(): Promise<JobsBackend> {
  const prefix = redisPrefix();
  const node = await redisProcess(prefix);
  const worker = await redisProcess(prefix);
  const server = new RedisPreviewJobs(node.redis, node.channels);
  const engine = new RedisPreviewJobs(worker.redis, worker.channels);
  onCleanup(() => server.close());
  onCleanup(() => engine.close());
  return { server, engine, live: () => subscriptionsLive(node, worker), pickupMs: 10_000 };
}

const SCENE: Scene = (() => {
  const parsed = validateScene({ title: 'contract', fps: 8, shots: [{ id: 's1', prompt: 'a red ball', duration: 1 }] });
  if (!parsed.ok) throw new Error('the test scene is not valid');
  return parsed.value;
})();
const RESOLVED = resolveShot(SCENE, SCENE.shots[0]!, 'preview');

const job = (room: string, shot: string, rev: number, urgent = false): QueuedPreview => ({ room, shot, rev, key: `${shot}-${rev}`, resolved: RESOLVED, editAt: null, urgent });
const label = (j: Pick<QueuedPreview, 'room' | 'shot' | 'rev'>) => `${j.room}/${j.shot}@${j.rev}`;

interface Run {
  job: QueuedPreview;
  signal: AbortSignal;
  release: Deferred;
  ended: Deferred;
}

/** A queue and a worker over `backend`, the stand-in `run` and the recording `broadcast`. */
async function previews(makeBackend: () => Promise<JobsBackend>, options: { concurrency?: number; maxQueued?: number } = {}) {
  const backend = await makeBackend();
  const told: { room: string; state: PreviewState }[] = [];
  const broadcast: RoomBroadcast = {
    emit: (room, event, payload) => {
      if (event === 'preview:state') told.push({ room, state: payload as PreviewState });
    },
  };
  const queue = new PreviewJobQueue({ backend: backend.server, broadcast, ...(options.maxQueued !== undefined ? { maxQueued: options.maxQueued } : {}) });
  const runs = new Map<string, Run>();
  const order: string[] = [];
  const stop = runPreviewWorker({
    backend: backend.engine,
    concurrency: options.concurrency ?? 1,
    run: async (j, signal) => {
      const run: Run = { job: j, signal, release: deferred(), ended: deferred() };
      runs.set(label(j), run);
      order.push(label(j));
      await Promise.race([run.release.promise, aborted(signal)]);
      run.ended.resolve();
      return signal.aborted ? 'cancelled' : 'done';
    },
  });
  onCleanup(stop); // before the backends close (cleanups run last first)
  await backend.live();
  const started = (name: string) => eventually(`${name} started`, () => runs.get(name), backend.pickupMs);
  return {
    queue,
    backend,
    runs,
    order,
    started,
    /** `cancelled` states the room was told, as "shot@rev". */
    cancelled: (room: string) => told.filter((t) => t.room === room && t.state.status === 'cancelled').map((t) => `${t.state.shot}@${t.state.rev}`),
    /** Waits for the next job to start (one not yet released), lets it finish, returns its label. */
    async next(): Promise<string> {
      const name = await eventually('the next job started', () => order.find((n) => !runs.get(n)!.release.settled && !runs.get(n)!.ended.settled), backend.pickupMs);
      const run = runs.get(name)!;
      run.release.resolve();
      await run.ended.promise;
      return name;
    },
    /** Waits until no job waits (the last ones taken by the worker). */
    drained: () => eventually('no job waits', async () => (await backend.server.depth()) === 0, backend.pickupMs),
  };
}

describe.each([
  ['embedded', embedded],
  ['redis', redis],
] as const)('preview jobs contract: %s', (_name, backend) => {
  it('latest revision wins while the first waits: it never runs, and the room is told `cancelled` once for its rev', async () => {
    const p = await previews(backend);
    expect(await p.queue.submit(job('Z', 'blocker', 1))).toBe('queued');
    await p.started('Z/blocker@1');
    expect(await p.queue.submit(job('A', 's', 1))).toBe('queued');
    expect(await p.queue.submit(job('A', 's', 2))).toBe('queued');
    expect(p.cancelled('A')).toEqual(['s@1']);
    expect(await p.next()).toBe('Z/blocker@1');
    expect(await p.next()).toBe('A/s@2');
    await p.drained();
    expect(p.order).toEqual(['Z/blocker@1', 'A/s@2']);
    expect(p.cancelled('A')).toEqual(['s@1']);
    expect(p.cancelled('Z')).toEqual([]);
  });

  it('latest revision wins while the first runs: its signal aborts, the newer one runs after, `cancelled` told once', async () => {
    const p = await previews(backend);
    await p.queue.submit(job('A', 's', 1));
    const first = await p.started('A/s@1');
    await p.queue.submit(job('A', 's', 2));
    await eventually('the running job’s signal aborted', () => first.signal.aborted, 5000);
    await first.ended.promise;
    expect(await p.next()).toBe('A/s@2');
    expect(p.order).toEqual(['A/s@1', 'A/s@2']);
    expect(p.runs.get('A/s@2')!.signal.aborted).toBe(false);
    expect(p.cancelled('A')).toEqual(['s@1']);
  });

  it('another shot’s revision supersedes nothing', async () => {
    const p = await previews(backend);
    await p.queue.submit(job('A', 's1', 1));
    const first = await p.started('A/s1@1');
    await p.queue.submit(job('A', 's2', 5));
    await p.queue.submit(job('B', 's1', 9)); // the same shot id in another room
    expect(await p.next()).toBe('A/s1@1');
    expect(first.signal.aborted).toBe(false);
    expect(await p.next()).toBe('A/s2@5');
    expect(await p.next()).toBe('B/s1@9');
    expect(p.cancelled('A')).toEqual([]);
    expect(p.cancelled('B')).toEqual([]);
  });

  it('the edited shot (urgent) goes first', async () => {
    const p = await previews(backend);
    await p.queue.submit(job('Z', 'blocker', 1));
    await p.started('Z/blocker@1');
    await p.queue.submit(job('A', 's1', 1));
    await p.queue.submit(job('A', 's2', 1));
    await p.queue.submit(job('A', 's3', 1, true));
    const ran = [await p.next(), await p.next(), await p.next(), await p.next()];
    expect(ran).toEqual(['Z/blocker@1', 'A/s3@1', 'A/s1@1', 'A/s2@1']);
  });

  it('fair across rooms: a busy room’s later jobs wait behind another room’s first', async () => {
    const p = await previews(backend);
    await p.queue.submit(job('Z', 'blocker', 1)); // holds the one slot while both rooms submit
    await p.started('Z/blocker@1');
    for (let i = 1; i <= 5; i++) await p.queue.submit(job('A', `a${i}`, 1));
    await p.queue.submit(job('B', 'b1', 1));
    const ran: string[] = [];
    for (let i = 0; i < 7; i++) ran.push(await p.next());
    const at = (name: string) => ran.indexOf(name);
    // B's one job does not wait for A's five: it runs before A's third (A's load was 2 by then).
    expect(at('B/b1@1')).toBeGreaterThan(0);
    expect(at('B/b1@1')).toBeLessThan(at('A/a3@1'));
    // Among one room's jobs, first come first served.
    expect(ran.filter((n) => n.startsWith('A/'))).toEqual(['A/a1@1', 'A/a2@1', 'A/a3@1', 'A/a4@1', 'A/a5@1']);
  });

  it('fair across rooms: superseded jobs do not count toward their room’s load', async () => {
    const p = await previews(backend);
    await p.queue.submit(job('Z', 'blocker', 1));
    await p.started('Z/blocker@1');
    for (let rev = 1; rev <= 5; rev++) await p.queue.submit(job('A', 's', rev)); // one shot edited five times: one job waits
    await p.queue.submit(job('A', 't', 1));
    await p.queue.submit(job('B', 'b1', 1));
    await p.queue.submit(job('B', 'b2', 1));
    const ran: string[] = [];
    for (let i = 0; i < 5; i++) ran.push(await p.next());
    expect([...ran].sort()).toEqual(['A/s@5', 'A/t@1', 'B/b1@1', 'B/b2@1', 'Z/blocker@1']);
    // A and B each had two jobs waiting: A's second, asked for first, does not wait behind B's second.
    expect(ran.indexOf('A/t@1')).toBeLessThan(ran.indexOf('B/b2@1'));
    expect(p.cancelled('A')).toEqual(['s@1', 's@2', 's@3', 's@4']);
  });

  it('bounded: beyond maxQueued waiting jobs a submit answers `full` and that job never runs', async () => {
    const p = await previews(backend, { maxQueued: 2 });
    await p.queue.submit(job('Z', 'blocker', 1));
    await p.started('Z/blocker@1');
    await eventually('the running job no longer waits', async () => (await p.queue.depth()) === 0, p.backend.pickupMs);
    expect(await p.queue.submit(job('A', 's1', 1))).toBe('queued');
    expect(await p.queue.submit(job('B', 's1', 1))).toBe('queued');
    expect(await p.queue.depth()).toBe(2);
    expect(await p.queue.submit(job('C', 's1', 1))).toBe('full');
    expect(await p.queue.depth()).toBe(2);
    const ran = [await p.next(), await p.next(), await p.next()];
    expect(ran).toEqual(['Z/blocker@1', 'A/s1@1', 'B/s1@1']);
    await p.drained();
    // Room again: the refused job can be asked for anew.
    expect(await p.queue.submit(job('C', 's1', 2))).toBe('queued');
    expect(await p.next()).toBe('C/s1@2');
    expect(p.order).not.toContain('C/s1@1');
  });

  it('cancel(room, shot, rev) of a waiting job: it never runs, and the room is told `cancelled`', async () => {
    const p = await previews(backend);
    await p.queue.submit(job('Z', 'blocker', 1));
    await p.started('Z/blocker@1');
    await p.queue.submit(job('A', 'gone', 1));
    await p.queue.cancel('A', 'gone', 2);
    expect(p.cancelled('A')).toEqual(['gone@1']);
    await p.queue.submit(job('A', 'stays', 1)); // queued after it: had it run, it would have run first
    expect(await p.next()).toBe('Z/blocker@1');
    expect(await p.next()).toBe('A/stays@1');
    expect(p.order).toEqual(['Z/blocker@1', 'A/stays@1']);
    expect(p.cancelled('A')).toEqual(['gone@1']);
  });

  it('cancel(room, shot, rev) of a running job aborts its signal and tells the room `cancelled` once', async () => {
    const p = await previews(backend);
    await p.queue.submit(job('A', 's', 3));
    const run = await p.started('A/s@3');
    await p.queue.cancel('A', 's', 4);
    await eventually('its signal aborted', () => run.signal.aborted, 5000);
    await run.ended.promise;
    expect(p.cancelled('A')).toEqual(['s@3']);
    await p.queue.cancel('A', 's', 5); // nothing pending any more: nobody is told anything
    expect(p.cancelled('A')).toEqual(['s@3']);
  });

  it('forgetRoom drops the room’s waiting jobs and aborts its running one; other rooms are untouched', async () => {
    const p = await previews(backend, { concurrency: 2 });
    await p.queue.submit(job('A', 'a1', 1));
    await p.queue.submit(job('B', 'b1', 1));
    const a1 = await p.started('A/a1@1');
    const b1 = await p.started('B/b1@1');
    await p.queue.submit(job('A', 'a2', 1)); // waits, and ahead of b2
    await p.queue.submit(job('B', 'b2', 1));
    await p.queue.forgetRoom('A');
    await eventually('A’s running job was aborted', () => a1.signal.aborted, 5000);
    await a1.ended.promise;
    // A's slot is free: the next job in line is B's (A's waiting one is gone).
    const b2 = await p.started('B/b2@1');
    expect(b1.signal.aborted).toBe(false);
    b1.release.resolve();
    b2.release.resolve();
    await Promise.all([b1.ended.promise, b2.ended.promise]);
    await p.drained();
    expect(b2.signal.aborted).toBe(false);
    expect([...p.order].sort()).toEqual(['A/a1@1', 'B/b1@1', 'B/b2@1']);
  });
});
