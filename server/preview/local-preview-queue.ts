/**
 * Preview jobs run in this process: the fair, latest-wins scheduler in front of the engine pool.
 */
import type { EnginePool } from '../../engine/index.js';
import type { Metrics } from '../metrics.js';
import type { RoomEvents } from '../realtime/room-events.js';
import type { PreviewStore } from './frame-cache.js';
import { runPreviewJob, type PreviewJobData } from './preview-job.js';
import { PreviewScheduler } from './scheduler.js';

export type QueuedPreview = PreviewJobData & { urgent: boolean };

/** Where preview jobs wait for the engine (this process, or BullMQ when scaled out). */
export interface PreviewQueue {
  submit(job: QueuedPreview): Promise<'queued' | 'full'>;
  /** Drops a shot's queued job and aborts its running one. */
  cancel(room: string, shot: string): void;
  /** A room was deleted: every job of it goes, and whatever the queue keeps of it. */
  forgetRoom(room: string): Promise<void>;
  close(): Promise<void>;
}

export interface LocalPreviewQueueOptions {
  engine: EnginePool;
  events: RoomEvents;
  store: PreviewStore;
  metrics: Metrics;
  maxQueued: number;
  jpegQuality: number;
}

export class LocalPreviewQueue implements PreviewQueue {
  readonly #scheduler: PreviewScheduler<QueuedPreview>;

  constructor(o: LocalPreviewQueueOptions) {
    this.#scheduler = new PreviewScheduler<QueuedPreview>({
      maxRunning: o.engine.workerCount,
      maxQueued: o.maxQueued,
      run: async (job, signal) => {
        const outcome = await runPreviewJob(job, { engine: o.engine, events: o.events, store: o.store, jpegQuality: o.jpegQuality, onFirstFrame: (s) => o.metrics.previewLatency.observe(s) }, signal);
        if (outcome === 'done') o.metrics.previewJobs.inc({ outcome: 'done' });
        else if (outcome !== 'cancelled') o.metrics.previewJobs.inc({ outcome: 'failed' });
      },
      onCancelled: (job) => {
        o.metrics.previewJobs.inc({ outcome: 'cancelled' });
        o.events.emit(job.room, 'preview:state', { shot: job.shot, rev: job.rev, status: 'cancelled', reason: 'a newer edit replaced it' });
      },
      onQueueChange: (depth) => o.metrics.previewQueueDepth.set(depth),
    });
  }

  async submit(job: QueuedPreview): Promise<'queued' | 'full'> {
    return this.#scheduler.submit(job);
  }

  cancel(room: string, shot: string): void {
    this.#scheduler.cancel(room, shot);
  }

  async forgetRoom(room: string): Promise<void> {
    this.#scheduler.cancelRoom(room);
  }

  async close(): Promise<void> {
    this.#scheduler.close();
  }
}
