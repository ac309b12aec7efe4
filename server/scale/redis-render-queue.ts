/**
 * Render jobs on BullMQ (scale-out). Server nodes add and cancel jobs; engine worker processes
 * run them (`start`). Records live in Redis (`<prefix>render:<id>`, indexed by creation time per
 * room and overall), so every node answers GET /api/renders/:id. A worker that dies mid-render
 * loses its job lock; BullMQ's stalled-job check hands the job to another worker (or the
 * restarted one), and the shot cache keeps the shots already made. Cancellation reaches whichever
 * worker runs the job over a pub/sub channel.
 */
import { Queue, Worker, type Job } from 'bullmq';
import type { RenderInfo } from '../../shared/protocol.js';
import type { RenderProcessor, RenderQueue } from '../render/render-queue.js';
import type { RedisChannels } from './redis-buses.js';
import { guard, type RedisClients } from './redis-clients.js';

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

  async add(record: RenderInfo): Promise<void> {
    await this.save(record);
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
  }

  async get(id: string): Promise<RenderInfo | null> {
    const raw = await guard(this.redis.commands.get(this.#key(id)));
    return raw ? (JSON.parse(raw) as RenderInfo) : null;
  }

  async save(record: RenderInfo): Promise<void> {
    await guard(this.redis.commands.set(this.#key(record.id), JSON.stringify(record)));
  }

  async list(): Promise<RenderInfo[]> {
    return this.#records(await guard(this.redis.commands.zrange(this.redis.key('renders'), 0, -1)));
  }

  async listRoom(room: string): Promise<RenderInfo[]> {
    return this.#records(await guard(this.redis.commands.zrevrange(this.redis.key('renders', room), 0, 49)));
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
      Object.assign(record, { status: 'cancelled', finishedAt: new Date().toISOString(), error: { code: 'RENDER_CANCELLED', message: 'The render was cancelled' } } satisfies Partial<RenderInfo>);
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
        .exec(),
    );
  }

  /** Runs jobs in this process (engine workers only). */
  start(processor: RenderProcessor): void {
    const lockDuration = this.options.lockMs ?? 10_000;
    this.#worker = new Worker(
      'render',
      async (job: Job<{ id: string }>) => {
        const record = await this.get(job.data.id);
        if (!record || record.status === 'cancelled') return;
        const controller = new AbortController();
        this.#running.set(record.id, controller);
        try {
          await processor(record, controller.signal);
        } finally {
          this.#running.delete(record.id);
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
