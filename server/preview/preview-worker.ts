/**
 * The engine side of preview jobs, written once for every backend: takes jobs in queue order,
 * skips one whose revision is no longer the newest (it was superseded while it waited), and
 * aborts a running one as soon as a newer revision of its shot is recorded (the AbortSignal
 * stops the engine within one denoiser step). Runs in the server process (embedded) or in each
 * engine worker process (scale-out).
 */
import type { PreviewJobBackend, QueuedPreview } from '../ports/preview-jobs.js';
import type { EnginePool } from '../../engine/index.js';
import type { Metrics } from '../metrics.js';
import type { PreviewStore } from '../ports/preview-store.js';
import type { RoomBroadcast } from '../ports/room-broadcast.js';
import { runPreviewJob, type PreviewOutcome } from './preview-job.js';

export interface PreviewWorkerOptions {
  backend: PreviewJobBackend;
  /** Jobs run at once (the engine's workers). */
  concurrency: number;
  /** Makes one preview (preview-job.ts, or a stand-in in the contract tests). */
  run: (job: QueuedPreview, signal: AbortSignal) => Promise<PreviewOutcome>;
  /** Each job's end (metrics); 'skipped': superseded before it started. */
  onOutcome?: (outcome: 'done' | 'cancelled' | 'failed' | 'skipped') => void;
}

/** Starts taking jobs; returns the stop (aborts what runs). */
export function runPreviewWorker(o: PreviewWorkerOptions): () => Promise<void> {
  const running = new Map<string, { rev: number; controller: AbortController }>();
  const keyOf = (room: string, shot: string) => `${room}\u0000${shot}`;
  const report = o.onOutcome ?? (() => {});
  const stopListening = o.backend.onSupersede((room, shot, rev) => {
    const current = running.get(keyOf(room, shot));
    if (current && current.rev < rev) current.controller.abort();
  });
  const stopConsuming = o.backend.consume(o.concurrency, async (job) => {
    const key = keyOf(job.room, job.shot);
    try {
      if ((await o.backend.latest(job.room, job.shot)) > job.rev) {
        report('skipped');
        return;
      }
      const controller = new AbortController();
      running.get(key)?.controller.abort();
      running.set(key, { rev: job.rev, controller });
      // A supersede heard between the check and now found nothing to abort: look once more.
      if ((await o.backend.latest(job.room, job.shot)) > job.rev) controller.abort();
      try {
        const outcome = await o.run(job, controller.signal);
        report(outcome === 'done' || outcome === 'cancelled' ? outcome : 'failed');
      } finally {
        if (running.get(key)?.controller === controller) running.delete(key);
      }
    } finally {
      await o.backend.settle(job.room, job.shot, job.rev).catch(() => {});
      await o.backend.load(job.room, -1).catch(() => {});
    }
  });
  return async () => {
    stopListening();
    for (const { controller } of running.values()) controller.abort();
    await stopConsuming();
  };
}

export interface EnginePreviewOptions {
  engine: EnginePool;
  backend: PreviewJobBackend;
  store: PreviewStore;
  events: RoomBroadcast;
  metrics: Metrics;
  jpegQuality: number;
}

/** The engine's side of previews in this process (embedded server or engine worker): jobs from the backend, frames to the room. */
export function startPreviewWorker(o: EnginePreviewOptions): () => Promise<void> {
  return runPreviewWorker({
    backend: o.backend,
    // Two per engine worker: one running, and one that may go in front of it once it has shown its first window
    // (engine-pool.ts), so a preview is never stuck behind another room's whole shot.
    concurrency: 2 * o.engine.workerCount,
    run: (job, signal) => runPreviewJob(job, { engine: o.engine, events: o.events, store: o.store, jpegQuality: o.jpegQuality, onFirstFrame: (s) => o.metrics.previewLatency.observe(s) }, signal),
    onOutcome: (outcome) => {
      if (outcome === 'done' || outcome === 'failed') o.metrics.previewJobs.inc({ outcome });
    },
  });
}
