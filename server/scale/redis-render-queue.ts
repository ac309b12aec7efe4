/**
 * Render jobs on BullMQ (scale-out). Server nodes add and cancel jobs; engine worker processes
 * run them (`start`). Records live in Redis (`<prefix>render:<id>`, indexed by creation time per
 * room and overall), so every node answers GET /api/renders/:id. A worker that dies mid-render
 * loses its job lock; BullMQ's stalled-job check hands the job to another worker (or the
 * restarted one), and the shot cache keeps the shots already made. Cancellation reaches whichever
 * worker runs the job over a pub/sub channel.
 *
 * Bounds, the same rule as embedded (render-limits.ts), counted in Redis so they hold across
 * nodes: the ids of renders queued or running are kept in a set per room and one for all; a new
 * render adds itself to both and reads both sizes in one MULTI, then the rule decides and a
 * refused one takes itself out again (two adds at once can only refuse too much, never let too
 * much in). A render leaves the sets when its record reaches a final state. One running render
 * per room: a worker takes the room's lock before it starts a job, and a job whose room is busy
 * is moved back to the delayed set for a second.
 */
import { DelayedError, Queue, Worker, type Job } from 'bullmq';
import type { RenderInfo } from '../../shared/protocol.js';
import { admitRender, type RenderLimits } from '../render/render-limits.js';
import type { RenderProcessor, RenderQueue } from '../ports/render-queue.js';
import { countActive } from '../render/render-limits.js';
import { isActive, markCancelled } from '../render/render-records.js';
import type { RedisChannels } from './redis-buses.js';
import { guard, type RedisClients } from './redis-clients.js';

/** Extends the room lock while this job holds it. */
const RENEW = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0`;
/** Drops the room lock if this job still holds it. */
const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0`;

export interface RedisRenderQueueOptions {
  /** Renders one worker process runs at once. */
  concurrency?: number;
  /** How long a worker's job lock lasts without renewal (ms); a dead worker's job is retried after it. */
  lockMs?: number;
  /** Attempts per render (a crash of the worker counts as one). */
  attempts?: number;
}

export class RedisRenderQueue implements RenderQueue {
  readonly #queue: Queue;
  #worker: Worker | null = null;
  readonly #running = new Map<string, AbortController>();
  #onCancelled: ((record: RenderInfo) => void) | null = null;
  #unsubscribe: () => void = () => {};

  constructor(
    private readonly redis: RedisClients,
    private readonly channels: RedisChannels,
    private readonly options: RedisRenderQueueOptions = {},
  ) {
    this.#queue = new Queue('render', { connection: redis.connectionOptions(), prefix: redis.key('bull') });
    this.#queue.on('error', () => {});
    this.#unsubscribe = channels.subscribe(redis.key('render', 'cancel'), (message) => this.#running.get(message.toString())?.abort());
  }

  #key(id: string): string {
    return this.redis.key('render', id);
  }

  #active(room?: string): string {
    return room === undefined ? this.redis.key('renders', 'active') : this.redis.key('renders', 'active', room);
  }

  async add(record: RenderInfo, limits: RenderLimits): Promise<void> {
    const reserved = await guard(this.redis.commands.multi().sadd(this.#active(), record.id).sadd(this.#active(record.room), record.id).scard(this.#active()).scard(this.#active(record.room)).exec());
    const total = Number(reserved?.[2]?.[1] ?? 0) - 1;
    const room = Number(reserved?.[3]?.[1] ?? 0) - 1;
    const counts = { room, total, roomFrames: 0 };
    if (admitRender(counts, limits)) {
      // Only the refusal needs the frames left (for its Retry-After).
      const others = (await this.#records(await guard(this.redis.commands.smembers(this.#active(record.room))))).filter((r) => r.id !== record.id && isActive(r));
      counts.roomFrames = countActive(others, record.room).roomFrames;
      await guard(this.redis.commands.multi().srem(this.#active(), record.id).srem(this.#active(record.room), record.id).exec());
      throw admitRender(counts, limits)!;
    }
    try {
      await guard(this.redis.commands.set(this.#key(record.id), JSON.stringify(record), 'NX'));
      await guard(
        this.redis.commands
          .multi()
          .zadd(this.redis.key('renders'), Date.parse(record.createdAt), record.id)
          .zadd(this.redis.key('renders', record.room), Date.parse(record.createdAt), record.id)
          .exec(),
      );
      await guard(
        this.#queue.add('render', { id: record.id }, { jobId: record.id, attempts: this.options.attempts ?? 3, backoff: { type: 'exponential', delay: 1000 }, removeOnComplete: true, removeOnFail: true }),
      );
    } catch (error) {
      await this.redis.commands.multi().srem(this.#active(), record.id).srem(this.#active(record.room), record.id).exec().catch(() => {});
      throw error;
    }
  }

  async get(id: string): Promise<RenderInfo | null> {
    const raw = await guard(this.redis.commands.get(this.#key(id)));
    return raw ? (JSON.parse(raw) as RenderInfo) : null;
  }

  async save(record: RenderInfo): Promise<void> {
    // XX: a record that was removed (its room deleted) is never written again.
    const write = this.redis.commands.multi().set(this.#key(record.id), JSON.stringify(record), 'XX');
    // A render in a final state no longer counts against the bounds.
    if (!isActive(record)) write.srem(this.#active(), record.id).srem(this.#active(record.room), record.id);
    await guard(write.exec());
  }

  async list(): Promise<RenderInfo[]> {
    return this.#records(await guard(this.redis.commands.zrange(this.redis.key('renders'), '0', '-1')));
  }

  async listRoom(room: string): Promise<RenderInfo[]> {
    return this.#records(await guard(this.redis.commands.zrevrange(this.redis.key('renders', room), '0', '49')));
  }

  async #records(ids: string[]): Promise<RenderInfo[]> {
    if (ids.length === 0) return [];
    const raws = await guard(this.redis.commands.mget(...ids.map((id) => this.#key(id))));
    return raws.flatMap((raw) => (raw ? [JSON.parse(raw) as RenderInfo] : []));
  }

  async cancel(id: string): Promise<RenderInfo | null> {
    const record = await this.get(id);
    if (!record) return null;
    const job = await guard(this.#queue.getJob(id));
    const state = job ? await job.getState() : 'unknown';
    if (job && (state === 'waiting' || state === 'delayed' || state === 'prioritized')) {
      await job.remove().catch(() => {});
      markCancelled(record);
      await this.save(record);
      this.#onCancelled?.(record);
      return record;
    }
    this.channels.publish(this.redis.key('render', 'cancel'), Buffer.from(id));
    return record;
  }

  onCancelledWhileQueued(listener: (record: RenderInfo) => void): void {
    this.#onCancelled = listener;
  }

  async remove(id: string): Promise<void> {
    const record = await this.get(id);
    await guard(
      this.redis.commands
        .multi()
        .del(this.#key(id))
        .zrem(this.redis.key('renders'), id)
        .zrem(this.redis.key('renders', record?.room ?? ''), id)
        .srem(this.#active(), id)
        .srem(this.#active(record?.room ?? ''), id)
        .exec(),
    );
  }

  async lost(now: number): Promise<RenderInfo[]> {
    const lost: RenderInfo[] = [];
    for (const id of await guard(this.redis.commands.smembers(this.#active()))) {
      const record = await this.get(id);
      if (!record || !isActive(record)) {
        await guard(this.redis.commands.multi().srem(this.#active(), id).srem(this.#active(record?.room ?? ''), id).exec());
        continue;
      }
      // A minute of grace: add() stores the record a moment before it queues the job.
      if (now - Date.parse(record.createdAt) > 60_000 && !(await guard(this.#queue.getJob(id)))) lost.push(record);
    }
    return lost;
  }

  /** Runs jobs in this process (engine workers only). */
  start(processor: RenderProcessor): void {
    const lockDuration = this.options.lockMs ?? 10_000;
    this.#worker = new Worker(
      'render',
      async (job: Job<{ id: string }>, token?: string) => {
        const record = await this.get(job.data.id);
        if (!record || record.status === 'cancelled') return;
        // One running render per room: a busy room's job waits a second in the delayed set.
        const lock = this.redis.key('renders', 'running', record.room);
        const taken = await guard(this.redis.commands.set(lock, record.id, 'PX', lockDuration, 'NX'));
        if (taken !== 'OK' && (await guard(this.redis.commands.get(lock))) !== record.id) {
          await job.moveToDelayed(Date.now() + 1000, token);
          throw new DelayedError();
        }
        const renew = setInterval(() => void this.redis.commands.eval(RENEW, 1, lock, record.id, lockDuration).catch(() => {}), lockDuration / 3);
        const controller = new AbortController();
        this.#running.set(record.id, controller);
        try {
          await processor(record, controller.signal);
        } finally {
          clearInterval(renew);
          this.#running.delete(record.id);
          await this.redis.commands.eval(RELEASE, 1, lock, record.id).catch(() => {});
        }
        // Stopped by a shutdown: fail the attempt so BullMQ hands the job to another worker.
        if ((controller.signal.reason as Error | undefined)?.message === 'shutdown') throw new Error('the worker is shutting down; the render goes back to the queue');
      },
      {
        connection: this.redis.connectionOptions(),
        prefix: this.redis.key('bull'),
        concurrency: this.options.concurrency ?? 1,
        lockDuration,
        stalledInterval: Math.max(1000, Math.floor(lockDuration / 2)),
        maxStalledCount: 2,
      },
    );
    this.#worker.on('error', () => {});
  }

  /** Jobs waiting and running, and the workers BullMQ knows (metrics). */
  async counts(): Promise<{ waiting: number; active: number; workers: number }> {
    const counts = await this.#queue.getJobCounts('waiting', 'active', 'prioritized', 'delayed');
    const workers = await this.#queue.getWorkersCount().catch(() => 0);
    return { waiting: (counts.waiting ?? 0) + (counts.prioritized ?? 0) + (counts.delayed ?? 0), active: counts.active ?? 0, workers };
  }

  async close(): Promise<void> {
    this.#unsubscribe();
    for (const controller of this.#running.values()) controller.abort(new Error('shutdown'));
    await this.#worker?.close().catch(() => {});
    await this.#queue.close().catch(() => {});
  }
}
