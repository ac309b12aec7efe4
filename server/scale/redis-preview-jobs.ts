/**
 * The scale-out PreviewJobBackend: jobs on BullMQ (run by engine worker processes anywhere),
 * revisions in Redis (the rules are above it, in preview/preview-queue.ts and preview-worker.ts):
 *   <prefix>preview:latest:<room>:<shot>    newest revision (a day's expiry)
 *   <prefix>preview:pending:<room>:<shot>   revision queued or running, if any
 *   <prefix>preview:load:<room>             jobs of the room waiting or running
 *   channel <prefix>preview:cancel          [room, shot, rev] on every supersede
 * A job's BullMQ id is room:shot:rev; priority 0 (the edited shot) is BullMQ's "no priority",
 * which it takes before any prioritized job.
 */
import { Queue, Worker, type Job } from 'bullmq';
import type { PreviewJobBackend, QueuedPreview } from '../ports/preview-jobs.js';
import type { RedisChannels } from './redis-buses.js';
import { guard, type RedisClients } from './redis-clients.js';

/** Records a revision; returns the pending one it replaces (or nil). */
const SUPERSEDE = `
local previous = redis.call('get', KEYS[2])
local latest = tonumber(redis.call('get', KEYS[1]) or '0')
if tonumber(ARGV[1]) > latest then redis.call('set', KEYS[1], ARGV[1], 'EX', 86400) end
if ARGV[2] == '1' then redis.call('set', KEYS[2], ARGV[1], 'EX', 86400) else redis.call('del', KEYS[2]) end
if previous and tonumber(previous) < tonumber(ARGV[1]) then return previous end
return false`;
const SETTLE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0`;
const LOAD = `local v = redis.call('incrby', KEYS[1], ARGV[1]) if v <= 0 then redis.call('del', KEYS[1]) return 0 end redis.call('expire', KEYS[1], 86400) return v`;

const jobId = (room: string, shot: string, rev: number): string => `${room}:${shot}:${rev}`;
const cancelMessage = (room: string, shot: string, rev: number) => Buffer.from(JSON.stringify([room, shot, rev]));

export class RedisPreviewJobs implements PreviewJobBackend {
  readonly #queue: Queue;

  constructor(
    private readonly redis: RedisClients,
    private readonly channels: RedisChannels,
  ) {
    this.#queue = new Queue('preview', { connection: redis.connectionOptions(), prefix: redis.key('bull') });
    this.#queue.on('error', () => {});
  }

  #latestKey(room: string, shot: string): string {
    return this.redis.key('preview', 'latest', room, shot);
  }

  #pendingKey(room: string, shot: string): string {
    return this.redis.key('preview', 'pending', room, shot);
  }

  async supersede(room: string, shot: string, rev: number, pending: boolean): Promise<number | null> {
    const previous = await guard(this.redis.commands.eval(SUPERSEDE, 2, this.#latestKey(room, shot), this.#pendingKey(room, shot), rev, pending ? '1' : '0'));
    this.channels.publish(this.redis.key('preview', 'cancel'), cancelMessage(room, shot, rev));
    return previous === null ? null : Number(previous);
  }

  async latest(room: string, shot: string): Promise<number> {
    return Number((await guard(this.redis.commands.get(this.#latestKey(room, shot)))) ?? 0);
  }

  async settle(room: string, shot: string, rev: number): Promise<void> {
    await guard(this.redis.commands.eval(SETTLE, 1, this.#pendingKey(room, shot), String(rev)));
  }

  onSupersede(listener: (room: string, shot: string, rev: number) => void): () => void {
    return this.channels.subscribe(this.redis.key('preview', 'cancel'), (message) => {
      const [room, shot, rev] = JSON.parse(message.toString()) as [string, string, number];
      listener(room, shot, rev);
    });
  }

  async enqueue(job: QueuedPreview, priority: number, replaces: number | null): Promise<void> {
    if (replaces !== null) {
      const old = await guard(this.#queue.getJob(jobId(job.room, job.shot, replaces)));
      // remove() refuses a job a worker holds: only a waiting one is taken out.
      if (old && ['waiting', 'prioritized'].includes(await old.getState())) {
        const removed = await old.remove().then(() => true, () => false);
        if (removed) await this.load(job.room, -1);
      }
    }
    await guard(
      this.#queue.add('preview', job, {
        jobId: jobId(job.room, job.shot, job.rev),
        priority: Math.min(2_000_000, priority),
        removeOnComplete: true,
        removeOnFail: true,
      }),
    );
  }

  async depth(): Promise<number> {
    return (await guard(this.#queue.getWaitingCount())) + (await guard(this.#queue.getPrioritizedCount()));
  }

  async load(room: string, delta: number): Promise<number> {
    return Number(await guard(this.redis.commands.eval(LOAD, 1, this.redis.key('preview', 'load', room), delta)));
  }

  consume(concurrency: number, handler: (job: QueuedPreview) => Promise<void>): () => Promise<void> {
    const worker = new Worker('preview', async (bull: Job<QueuedPreview>) => handler(bull.data), {
      connection: this.redis.connectionOptions(),
      prefix: this.redis.key('bull'),
      concurrency,
    });
    worker.on('error', () => {});
    return () => worker.close().catch(() => {});
  }

  async forgetRoom(room: string): Promise<void> {
    for (const job of await guard(this.#queue.getJobs(['waiting', 'prioritized', 'delayed']))) {
      if ((job.data as QueuedPreview | undefined)?.room === room) await job.remove().catch(() => {});
    }
    const keys: string[] = [this.redis.key('preview', 'load', room)];
    for (const kind of ['latest', 'pending'] as const) {
      let cursor = '0';
      do {
        const [next, found] = await guard(this.redis.commands.scan(cursor, 'MATCH', `${this.redis.key('preview', kind, room)}:*`, 'COUNT', 500));
        cursor = next;
        keys.push(...found);
        // Running jobs of the room stop too, on whichever worker: as if each shot had a revision newer than all.
        if (kind === 'latest') for (const key of found) this.channels.publish(this.redis.key('preview', 'cancel'), cancelMessage(room, key.slice(this.#latestKey(room, '').length), Number.MAX_SAFE_INTEGER));
      } while (cursor !== '0');
    }
    await guard(this.redis.commands.del(...keys));
  }

  async close(): Promise<void> {
    await this.#queue.close().catch(() => {});
  }
}
