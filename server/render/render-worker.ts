/**
 * The engine side of renders (like BullMQ's Worker): takes jobs from the queue, renders each
 * (render-scene.ts), taking turns at the engine with the other rooms' renders shot by shot
 * (fair-turns.ts), reports to the room (`render:progress`, `render:done`, `render:error`) and
 * stores the video. Runs in the server process (embedded) or in each engine worker process.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import type { FastifyBaseLogger } from 'fastify';
import type { EnginePool } from '../../engine/index.js';
import { ScenecastError, isErrorCode } from '../../shared/errors.js';
import type { RenderInfo } from '../../shared/protocol.js';
import type { Metrics } from '../metrics.js';
import type { BlobStore } from '../ports/blob-store.js';
import type { RenderQueue } from '../ports/render-queue.js';
import type { RoomBroadcast } from '../ports/room-broadcast.js';
import type { ShotStore } from '../ports/shot-store.js';
import { FairTurns } from './fair-turns.js';
import { DEFAULT_RENDER_LIMITS, type RenderLimits } from './render-limits.js';
import { CANCELLED, captionsKey, markCancelled, markDone, markFailed, markQueued, markRunning, videoKey } from './render-records.js';
import { renderScene, type PostStage } from './render-scene.js';

export interface RenderWorkerOptions {
  engine: EnginePool;
  queue: RenderQueue;
  shots: ShotStore;
  videos: BlobStore;
  events: RoomBroadcast;
  metrics: Metrics;
  log: FastifyBaseLogger;
  /** Render shots generated at once across all renders (default 1); rooms take turns for them. */
  parallel?: number;
  limits?: RenderLimits;
  /** Called after each render that finished (the embedded app sweeps then). */
  onFinished?: () => void;
  /** Post-production of final renders (captions, narration, music, transitions, loudness); previews are joined as they are. */
  post?: PostStage;
}

export class RenderWorker {
  readonly #o: RenderWorkerOptions;
  readonly #turns: FairTurns;

  private constructor(options: RenderWorkerOptions) {
    this.#o = options;
    this.#turns = new FairTurns(Math.max(1, options.parallel ?? 1));
  }

  /** Starts taking jobs from the queue. */
  static start(options: RenderWorkerOptions): RenderWorker {
    const worker = new RenderWorker(options);
    options.queue.start((record, signal) => worker.#process(record, signal));
    return worker;
  }

  async #process(record: RenderInfo, signal: AbortSignal): Promise<void> {
    // Beside the videos (same disk: storing the finished file is a rename).
    const workDir = await this.#o.videos.scratch(`-${record.id}`);
    await mkdir(workDir, { recursive: true });
    try {
      await this.#render(record, signal, workDir);
    } catch (error) {
      this.#o.log.error({ err: error, render: record.id }, 'render job crashed');
    } finally {
      await rm(workDir, { recursive: true, force: true });
    }
    // Its room was deleted meanwhile: the record is gone, and so must be what the job stored.
    if (!(await this.#o.queue.get(record.id).catch(() => record))) await this.#o.videos.deletePrefix(`${record.id}/`);
  }

  async #render(record: RenderInfo, signal: AbortSignal, workDir: string): Promise<void> {
    const { engine, queue, events, metrics, log } = this.#o;
    await queue.save(markRunning(record));
    let lastSave = 0;
    try {
      const result = await renderScene(record.scene, {
        engine,
        cache: this.#o.shots,
        workDir,
        profile: record.profile,
        // Up to `parallel` shots at once (both engine workers); every shot takes a turn, rooms in rotation.
        parallel: Math.max(1, this.#o.parallel ?? 1),
        turn: (shotSignal) => this.#turns.acquire(record.room, shotSignal),
        room: record.room,
        maxFrames: (this.#o.limits ?? DEFAULT_RENDER_LIMITS).maxFrames,
        ...(this.#o.post && record.profile === 'final' ? { post: this.#o.post } : {}),
        signal,
        onProgress: (event, shots) => {
          record.shots = shots;
          record.stage = event.stage;
          const progress = {
            id: record.id,
            stage: event.stage,
            done: event.done,
            total: event.total,
            ...(event.shot ? { shot: event.shot } : {}),
            ...(event.cached !== undefined ? { cached: event.cached } : {}),
            ...(event.warnings ? { warnings: event.warnings } : {}),
          };
          events.emit(record.room, 'render:progress', progress);
          if (event.cached !== undefined) metrics.shotCache.inc({ result: event.cached ? 'hit' : 'miss' });
          if (performance.now() - lastSave > 500) {
            lastSave = performance.now();
            void queue.save(record);
          }
        },
      });
      if (result.captions !== null) {
        const vtt = await this.#o.videos.scratch('.vtt');
        await writeFile(vtt, result.captions);
        await this.#o.videos.put(captionsKey(record.id), vtt);
        record.captionsUrl = `/api/renders/${record.id}/captions.vtt`;
      }
      const bytes = await this.#o.videos.put(videoKey(record.id), result.file);
      record.warnings = result.warnings;
      await queue.save(markDone(record, { shots: result.shots, timings: result.timings, bytes, seconds: result.seconds }));
      metrics.renders.inc({ outcome: 'done' });
      metrics.renderSeconds.observe(result.timings.total / 1000);
      events.emit(record.room, 'render:done', { id: record.id, url: record.url!, bytes, seconds: result.seconds });
      this.#o.onFinished?.();
    } catch (error) {
      if ((signal.reason as Error | undefined)?.message === 'shutdown') {
        // Back in the queue: resumed on the next start (or by another worker when scaled out).
        await queue.save(markQueued(record)).catch(() => {});
        return;
      }
      if (signal.aborted) markCancelled(record);
      else {
        const scenecast = error instanceof ScenecastError && isErrorCode(error.code) ? error : null;
        if (!scenecast) log.error({ err: error, render: record.id }, 'render failed');
        markFailed(record, scenecast ? { code: scenecast.code, message: scenecast.message } : { code: 'ENGINE_FAILED', message: `The render failed: ${(error as Error).message}` });
      }
      await queue.save(record);
      metrics.renders.inc({ outcome: record.status });
      events.emit(record.room, 'render:error', { id: record.id, ...(record.error ?? CANCELLED) });
    }
  }

  /** Stops taking jobs; running ones go back to the queue (the queue's close aborts them with 'shutdown'). */
  async close(): Promise<void> {
    await this.#o.queue.close();
  }
}
