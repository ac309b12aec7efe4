/**
 * Renders for rooms: a snapshot of the scene goes into the queue; the job renders it
 * (render-scene.ts) and reports to the room (`render:progress`, `render:done`, `render:error`);
 * finished renders are kept `ttlMs`, then removed.
 */
import { randomBytes } from 'node:crypto';
import { rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { FastifyBaseLogger } from 'fastify';
import type { EnginePool } from '../../engine/engine-pool.js';
import { ScenecastError, isErrorCode } from '../../shared/errors.js';
import type { RenderInfo } from '../../shared/protocol.js';
import type { Scene } from '../../shared/scene.js';
import type { Metrics } from '../metrics.js';
import type { RoomEvents } from '../realtime/room-events.js';
import { LocalRenderQueue, type RenderQueue } from './render-queue.js';
import { emptyRenderTimings, renderRefusal, renderScene } from './render-scene.js';
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
  /** Shots of one render generated at once (default 1). */
  parallel?: number;
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

export class RenderService {
  #sweeper: NodeJS.Timeout | null = null;

  private constructor(
    private readonly options: RenderServiceOptions,
    readonly cache: ShotStore,
    private readonly queue: RenderQueue,
  ) {}

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
    const refusal = renderRefusal(scene);
    if (refusal) throw refusal;
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
    await this.queue.add(record);
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
        parallel: this.options.parallel ?? 1,
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

  /** Removes finished renders older than the TTL. */
  async sweep(now = Date.now()): Promise<number> {
    const ttl = this.options.ttlMs ?? 86_400_000;
    let removed = 0;
    for (const record of await this.queue.list()) {
      if (!record.finishedAt || now - Date.parse(record.finishedAt) < ttl) continue;
      await this.queue.remove(record.id);
      await rm(this.folder(record.id), { recursive: true, force: true });
      removed++;
    }
    return removed;
  }

  async close(): Promise<void> {
    if (this.#sweeper) clearInterval(this.#sweeper);
    await this.queue.close();
    await this.cache.flush();
  }
}
