/**
 * Renders for rooms: a snapshot of the scene goes into the queue (bounded: render-limits.ts); the
 * job renders it (render-scene.ts), taking turns at the engine with the other rooms' renders shot
 * by shot (fair-turns.ts), and reports to the room (`render:progress`, `render:done`,
 * `render:error`); finished renders are kept `ttlMs` and at most `maxBytes` in all (oldest first).
 */
import { randomBytes } from 'node:crypto';
import { rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { FastifyBaseLogger } from 'fastify';
import type { EnginePool } from '../../engine/index.js';
import { ScenecastError, isErrorCode } from '../../shared/errors.js';
import type { RenderInfo } from '../../shared/protocol.js';
import type { Scene } from '../../shared/scene.js';
import type { Config } from '../config.js';
import type { Metrics } from '../metrics.js';
import type { RoomEvents } from '../realtime/room-events.js';
import { FairTurns } from './fair-turns.js';
import { DEFAULT_RENDER_LIMITS, type RenderLimits } from './render-limits.js';
import { LocalRenderQueue, type RenderQueue } from './render-queue.js';
import { contentPolicy, type ContentPolicy } from '../policy/content-policy.js';
import { emptyRenderTimings, moderateScene, renderRefusal, renderScene } from './render-scene.js';
import { ShotCache, type ShotStore } from './shot-cache.js';

export interface RenderServiceOptions {
  dataDir: string;
  /** Null on scale-out nodes: engine worker processes run the jobs. */
  engine: EnginePool | null;
  events: RoomEvents;
  metrics: Metrics;
  log: FastifyBaseLogger;
  /** Renders run at once (default 1: the other engine worker stays free for previews). */
  concurrency?: number;
  /** Render shots generated at once across all renders (default 1); rooms take turns for them. */
  parallel?: number;
  /** Queue bounds and the frame cap (default DEFAULT_RENDER_LIMITS). */
  limits?: RenderLimits;
  /** Bytes of finished renders kept in all (default 5 GiB); the oldest go first beyond it. */
  maxBytes?: number;
  /** The service's content policy (default: the blocklist). */
  policy?: ContentPolicy;
  /** Bytes of encoded shots kept for re-renders (default 2 GiB). */
  cacheBytes?: number;
  /** How long a finished render is kept (ms, default 24 h). */
  ttlMs?: number;
  /** Scale-out: the BullMQ queue and the Redis-indexed shot store instead of the embedded ones. */
  queue?: RenderQueue;
  cache?: ShotStore;
  /** Run jobs in this process (default: when there is an engine). Scale-out nodes only queue them. */
  process?: boolean;
}

/** The limits of RENDER_ROOM_QUEUE, RENDER_QUEUE_MAX, MAX_RENDER_FRAMES, RENDER_TTL_HOURS and RENDERS_MAX_BYTES. */
export const renderBounds = (config: Config): Pick<RenderServiceOptions, 'limits' | 'ttlMs' | 'maxBytes'> => ({
  limits: { roomQueue: config.render.roomQueue, queueMax: config.render.queueMax, maxFrames: config.render.maxFrames },
  ttlMs: config.render.ttlMs,
  maxBytes: config.render.maxBytes,
});

export class RenderService {
  #sweeper: NodeJS.Timeout | null = null;
  readonly #limits: RenderLimits;
  /** Turns at the engine for render shots, rooms in rotation. */
  readonly #turns: FairTurns;

  private constructor(
    private readonly options: RenderServiceOptions,
    readonly cache: ShotStore,
    private readonly queue: RenderQueue,
  ) {
    this.#limits = options.limits ?? DEFAULT_RENDER_LIMITS;
    this.#turns = new FairTurns(Math.max(1, options.parallel ?? 1));
    this.#policy = options.policy ?? contentPolicy();
  }

  readonly #policy: ContentPolicy;

  static async start(options: RenderServiceOptions): Promise<RenderService> {
    const cache = options.cache ?? (await ShotCache.open(path.join(options.dataDir, 'cache', 'shots'), options.cacheBytes ?? 2 * 1024 ** 3));
    const queue = options.queue ?? (await LocalRenderQueue.open(path.join(options.dataDir, 'renders'), options.concurrency ?? 1));
    const service = new RenderService(options, cache, queue);
    queue.onCancelledWhileQueued((record) => {
      options.metrics.renders.inc({ outcome: 'cancelled' });
      options.events.emit(record.room, 'render:error', { id: record.id, code: 'RENDER_CANCELLED', message: 'The render was cancelled' });
    });
    if ((options.process ?? options.engine !== null) && options.engine) queue.start((record, signal) => service.#process(record, signal));
    service.#sweeper = setInterval(() => void service.sweep(), Math.min(options.ttlMs ?? 86_400_000, 600_000));
    service.#sweeper.unref();
    return service;
  }

  folder(id: string): string {
    return path.join(this.options.dataDir, 'renders', id);
  }

  videoFile(id: string): string {
    return path.join(this.folder(id), 'video.mp4');
  }

  /** Queues a render of `scene` for `room`; throws SCENE_EMPTY and other refusals first. */
  async create(room: string, scene: Scene, profile: 'final' | 'preview' = 'final'): Promise<RenderInfo> {
    const refusal = renderRefusal(scene, { maxFrames: this.#limits.maxFrames });
    if (refusal) throw refusal;
    await moderateScene(scene, this.#policy);
    const record: RenderInfo = {
      id: `r${randomBytes(9).toString('base64url').replace(/[-_]/g, 'x').toLowerCase()}`,
      room,
      status: 'queued',
      stage: 'queued',
      profile,
      createdAt: new Date().toISOString(),
      startedAt: null,
      finishedAt: null,
      scene,
      shots: [],
      timings: emptyRenderTimings(),
      url: null,
      bytes: null,
      seconds: null,
      error: null,
    };
    const snapshot = structuredClone(record);
    await this.queue.add(record, this.#limits);
    this.options.metrics.renders.inc({ outcome: 'queued' });
    return snapshot;
  }

  get(id: string): Promise<RenderInfo | null> {
    return this.queue.get(id);
  }

  /** The room's most recent render (a page opened after it finished shows it). */
  async latest(room: string, status?: RenderInfo['status']): Promise<RenderInfo | null> {
    return (await this.queue.listRoom(room)).find((r) => !status || r.status === status) ?? null;
  }

  async cancel(id: string): Promise<RenderInfo | null> {
    return this.queue.cancel(id);
  }

  async #process(record: RenderInfo, signal: AbortSignal): Promise<void> {
    try {
      await this.#render(record, signal);
    } catch (error) {
      this.options.log.error({ err: error, render: record.id }, 'render job crashed');
    }
    // Its room was deleted meanwhile: the record is gone, and so must be what the job wrote.
    if (!(await this.queue.get(record.id).catch(() => record))) await rm(this.folder(record.id), { recursive: true, force: true });
  }

  async #render(record: RenderInfo, signal: AbortSignal): Promise<void> {
    const { events, metrics, log } = this.options;
    const engine = this.options.engine!;
    record.status = 'running';
    record.stage = 'generate';
    record.startedAt = new Date().toISOString();
    await this.queue.save(record);
    let lastSave = 0;
    try {
      const result = await renderScene(record.scene, {
        engine,
        cache: this.cache,
        workDir: this.folder(record.id),
        profile: record.profile,
        // Shots of one render one after another; several renders share the engine by turns.
        parallel: 1,
        turn: (shotSignal) => this.#turns.acquire(record.room, shotSignal),
        room: record.room,
        maxFrames: this.#limits.maxFrames,
        signal,
        onProgress: (event, shots) => {
          record.shots = shots;
          record.stage = event.stage;
          const progress = { id: record.id, stage: event.stage, done: event.done, total: event.total, ...(event.shot ? { shot: event.shot } : {}), ...(event.cached !== undefined ? { cached: event.cached } : {}) };
          events.emit(record.room, 'render:progress', progress);
          if (event.cached !== undefined) metrics.shotCache.inc({ result: event.cached ? 'hit' : 'miss' });
          if (performance.now() - lastSave > 500) {
            lastSave = performance.now();
            void this.queue.save(record);
          }
        },
      });
      const { size } = await stat(result.file);
      Object.assign(record, {
        status: 'done',
        stage: 'done',
        finishedAt: new Date().toISOString(),
        shots: result.shots,
        timings: result.timings,
        url: `/api/renders/${record.id}/video.mp4`,
        bytes: size,
        seconds: result.seconds,
      } satisfies Partial<RenderInfo>);
      await this.queue.save(record);
      metrics.renders.inc({ outcome: 'done' });
      metrics.renderSeconds.observe(result.timings.total / 1000);
      events.emit(record.room, 'render:done', { id: record.id, url: record.url!, bytes: size, seconds: result.seconds });
      void this.sweep().catch((error: unknown) => log.warn({ err: error }, 'render sweep failed'));
    } catch (error) {
      if ((signal.reason as Error | undefined)?.message === 'shutdown') {
        // Back in the queue: resumed on the next start (or by another worker when scaled out).
        Object.assign(record, { status: 'queued', stage: 'queued' } satisfies Partial<RenderInfo>);
        await this.queue.save(record).catch(() => {});
        return;
      }
      const cancelled = signal.aborted;
      const scenecast = error instanceof ScenecastError ? error : null;
      const code = cancelled ? 'RENDER_CANCELLED' : scenecast && isErrorCode(scenecast.code) ? scenecast.code : 'ENGINE_FAILED';
      const message = cancelled ? 'The render was cancelled' : scenecast?.message ?? `The render failed: ${(error as Error).message}`;
      if (!cancelled && !scenecast) log.error({ err: error, render: record.id }, 'render failed');
      Object.assign(record, { status: cancelled ? 'cancelled' : 'failed', finishedAt: new Date().toISOString(), error: { code, message } } satisfies Partial<RenderInfo>);
      await rm(this.videoFile(record.id), { force: true });
      await this.queue.save(record);
      metrics.renders.inc({ outcome: cancelled ? 'cancelled' : 'failed' });
      events.emit(record.room, 'render:error', { id: record.id, code, message });
    }
  }

  /** Removes finished renders older than the TTL, then the oldest finished ones beyond `maxBytes` in all. */
  async sweep(now = Date.now()): Promise<number> {
    const ttl = this.options.ttlMs ?? 86_400_000;
    const maxBytes = this.options.maxBytes ?? 5 * 1024 ** 3;
    for (const record of (await this.queue.lost?.(now)) ?? []) {
      const error = { code: 'ENGINE_FAILED' as const, message: 'The render was lost: the engine worker running it stopped' };
      Object.assign(record, { status: 'failed', finishedAt: new Date(now).toISOString(), error } satisfies Partial<RenderInfo>);
      await this.queue.save(record);
      this.options.events.emit(record.room, 'render:error', { id: record.id, ...error });
    }
    let removed = 0;
    const kept: RenderInfo[] = [];
    for (const record of await this.queue.list()) {
      if (!record.finishedAt) continue;
      if (now - Date.parse(record.finishedAt) < ttl) {
        kept.push(record);
        continue;
      }
      await this.#discard(record.id);
      removed++;
    }
    let bytes = kept.reduce((sum, r) => sum + (r.bytes ?? 0), 0);
    for (const record of kept.sort((a, b) => a.finishedAt!.localeCompare(b.finishedAt!))) {
      if (bytes <= maxBytes) break;
      bytes -= record.bytes ?? 0;
      await this.#discard(record.id);
      removed++;
    }
    return removed;
  }

  /** A room was deleted: its renders are cancelled and removed with their files, its shots forgotten. */
  async forgetRoom(room: string): Promise<void> {
    for (const record of (await this.queue.list()).filter((r) => r.room === room)) {
      if (record.status === 'queued' || record.status === 'running') await this.queue.cancel(record.id).catch(() => null);
      await this.#discard(record.id);
    }
    await this.cache.forgetRoom(room);
  }

  async #discard(id: string): Promise<void> {
    await this.queue.remove(id);
    await rm(this.folder(id), { recursive: true, force: true });
  }

  async close(): Promise<void> {
    if (this.#sweeper) clearInterval(this.#sweeper);
    await this.queue.close();
    await this.cache.flush();
  }
}
