/**
 * Preview jobs on BullMQ (scale-out). Nodes queue; engine worker processes run them
 * (`runPreviewWorker`). The same rules as in one process:
 *  - latest revision wins: the newest rev of each shot is kept in Redis; a worker skips a job that
 *    is no longer the newest, and a cancel message aborts a running older one within one step;
 *  - fair across rooms: a job's priority is how many jobs its room already has waiting, so a busy
 *    room's tenth job waits behind another room's first; the shot being edited goes first;
 *  - bounded: beyond `maxQueued` waiting jobs, submit answers 'full'.
 */
import { Queue, Worker, type Job } from 'bullmq';
import type { EnginePool } from '../../engine/index.js';
import type { Metrics } from '../metrics.js';
import type { PreviewQueue, QueuedPreview } from '../preview/local-preview-queue.js';
import { runPreviewJob } from '../preview/preview-job.js';
import type { RoomEvents } from '../realtime/room-events.js';
import type { RedisPreviewStore } from './redis-caches.js';
import type { RedisChannels } from './redis-buses.js';
import { guard, type RedisClients } from './redis-clients.js';

const cancelMessage = (room: string, shot: string, rev: number) => Buffer.from(JSON.stringify([room, shot, rev]));

export class RedisPreviewQueue implements PreviewQueue {
  readonly #queue: Queue;

  constructor(
    private readonly redis: RedisClients,
    private readonly channels: RedisChannels,
    private readonly maxQueued = 64,
  ) {
    this.#queue = new Queue('preview', { connection: redis.connectionOptions(), prefix: redis.key('bull') });
    this.#queue.on('error', () => {});
  }

  async submit(job: QueuedPreview): Promise<'queued' | 'full'> {
    const latest = this.redis.key('preview', 'latest', job.room, job.shot);
    await guard(this.redis.commands.set(latest, String(job.rev), 'EX', 86_400));
    this.channels.publish(this.redis.key('preview', 'cancel'), cancelMessage(job.room, job.shot, job.rev));
    if ((await guard(this.#queue.getWaitingCount())) + (await guard(this.#queue.getPrioritizedCount())) >= this.maxQueued) return 'full';
    const load = await guard(this.redis.commands.incr(this.redis.key('preview', 'load', job.room)));
    await guard(
      this.#queue.add('preview', job, {
        jobId: `${job.room}:${job.shot}:${job.rev}`,
        // The shot being edited goes first (like the front of its room's queue in one process);
        // the others by how busy their room is, so a busy room cannot starve a quiet one.
        priority: job.urgent ? 1 : Math.min(2_000_000, 1 + load),
        removeOnComplete: true,
        removeOnFail: true,
      }),
    );
    return 'queued';
  }

  cancel(room: string, shot: string): void {
    const rev = Date.now();
    void this.redis.commands.set(this.redis.key('preview', 'latest', room, shot), String(rev), 'EX', 86_400).catch(() => {});
    this.channels.publish(this.redis.key('preview', 'cancel'), cancelMessage(room, shot, rev));
  }

  async forgetRoom(room: string): Promise<void> {
    // Waiting jobs first (a worker skips nothing once `latest` is gone), then the room's keys.
    for (const job of await guard(this.#queue.getJobs(['waiting', 'prioritized', 'delayed']))) {
      if ((job.data as QueuedPreview | undefined)?.room === room) await job.remove().catch(() => {});
    }
    const keys: string[] = [this.redis.key('preview', 'load', room)];
    let cursor = '0';
    do {
      const [next, found] = await guard(this.redis.commands.scan(cursor, 'MATCH', `${this.redis.key('preview', 'latest', room)}:*`, 'COUNT', 500));
      cursor = next;
      keys.push(...found);
    } while (cursor !== '0');
    await guard(this.redis.commands.del(...keys));
  }

  async depth(): Promise<number> {
    return (await this.#queue.getWaitingCount()) + (await this.#queue.getPrioritizedCount());
  }

  async close(): Promise<void> {
    await this.#queue.close().catch(() => {});
  }
}

export interface PreviewWorkerOptions {
  redis: RedisClients;
  channels: RedisChannels;
  engine: EnginePool;
  events: RoomEvents;
  store: RedisPreviewStore;
  metrics: Metrics;
  jpegQuality: number;
}

/** The preview side of an engine worker process. Returns its close(). */
export function runPreviewWorker(o: PreviewWorkerOptions): () => Promise<void> {
  const running = new Map<string, { rev: number; controller: AbortController }>();
  const unsubscribe = o.channels.subscribe(o.redis.key('preview', 'cancel'), (message) => {
    const [room, shot, rev] = JSON.parse(message.toString()) as [string, string, number];
    const current = running.get(`${room}\u0000${shot}`);
    if (current && current.rev < rev) current.controller.abort();
  });
  const cancelled = (job: QueuedPreview) => {
    o.metrics.previewJobs.inc({ outcome: 'cancelled' });
    o.events.emit(job.room, 'preview:state', { shot: job.shot, rev: job.rev, status: 'cancelled', reason: 'a newer edit replaced it' });
  };
  const worker = new Worker(
    'preview',
    async (bull: Job<QueuedPreview>) => {
      const job = bull.data;
      try {
        const latest = Number((await o.redis.commands.get(o.redis.key('preview', 'latest', job.room, job.shot))) ?? 0);
        if (latest > job.rev) return cancelled(job);
        const key = `${job.room}\u0000${job.shot}`;
        const controller = new AbortController();
        running.get(key)?.controller.abort();
        running.set(key, { rev: job.rev, controller });
        try {
          const outcome = await runPreviewJob(job, { engine: o.engine, events: o.events, store: o.store, jpegQuality: o.jpegQuality, onFirstFrame: (s) => o.metrics.previewLatency.observe(s) }, controller.signal);
          if (outcome === 'cancelled') cancelled(job);
          else o.metrics.previewJobs.inc({ outcome: outcome === 'done' ? 'done' : 'failed' });
        } finally {
          if (running.get(key)?.controller === controller) running.delete(key);
        }
      } finally {
        await o.redis.commands.decr(o.redis.key('preview', 'load', job.room)).catch(() => {});
      }
    },
    { connection: o.redis.connectionOptions(), prefix: o.redis.key('bull'), concurrency: o.engine.workerCount },
  );
  worker.on('error', () => {});
  return async () => {
    unsubscribe();
    for (const { controller } of running.values()) controller.abort();
    await worker.close().catch(() => {});
  };
}
