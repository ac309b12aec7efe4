/**
 * One preview job, wherever it runs (in the server process, or in an engine worker process when
 * scaled out): generate the shot with the preview profile, JPEG-encode each frame as it comes,
 * send it to the room, and keep the complete preview for late joiners.
 */
import sharp from 'sharp';
import type { PreviewFrame } from '../../shared/protocol.js';
import { contextOf, type EnginePool, type GeneratedFrame } from '../../engine/index.js';
import type { PreviewJobData } from '../ports/preview-jobs.js';
import type { RoomBroadcast } from '../ports/room-broadcast.js';
import type { PreviewStore } from '../ports/preview-store.js';

export interface PreviewJobDeps {
  engine: EnginePool;
  events: RoomBroadcast;
  store: PreviewStore;
  jpegQuality: number;
  /** Called with the edit-to-first-frame latency in seconds. */
  onFirstFrame?: (seconds: number) => void;
  /** Longest wait for the preview of the shot this one continues (default 20 s; then it starts from noise). */
  afterWaitMs?: number;
}

/**
 * The last latents of the preview a continuing shot starts from: that shot's preview is often made
 * right before this one (an edit of it re-keys every shot that continues it), so it is waited for.
 * Null when it does not come in time (refused, failed, evicted): the shot then starts afresh.
 */
async function tailOf(job: PreviewJobData, store: PreviewStore, waitMs: number, signal: AbortSignal): Promise<Float32Array | null> {
  if (!job.after) return null;
  const deadline = Date.now() + waitMs;
  for (let delay = 20; ; delay = Math.min(200, delay * 2)) {
    const tail = await store.tail(job.room, job.after.shot, job.after.key).catch(() => null);
    if (tail || signal.aborted || Date.now() >= deadline) return tail;
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
}

export type PreviewOutcome = 'done' | 'cancelled' | { failed: string };

export async function runPreviewJob(job: PreviewJobData, deps: PreviewJobDeps, signal: AbortSignal): Promise<PreviewOutcome> {
  const { engine, events, store } = deps;
  events.emit(job.room, 'preview:state', { shot: job.shot, rev: job.rev, status: 'generating' });
  const frames: PreviewFrame[] = [];
  const last: GeneratedFrame[] = [];
  let bytes = 0;
  try {
    const context = await tailOf(job, store, deps.afterWaitMs ?? 20_000, signal);
    if (signal.aborted) return 'cancelled';
    for await (const frame of engine.generate(job.resolved.spec, { profile: 'preview', signal, latents: true, ...(context ? { context } : {}) })) {
      last.push(frame);
      if (last.length > engine.chunk.context) last.shift();
      const data = await sharp(frame.rgb, { raw: { width: frame.width, height: frame.height, channels: 3 } }).jpeg({ quality: deps.jpegQuality }).toBuffer();
      if (signal.aborted) return 'cancelled';
      const out: PreviewFrame = { shot: job.shot, rev: job.rev, index: frame.index, count: frame.count, fps: job.resolved.spec.fps, width: frame.width, height: frame.height, data };
      if (frames.length === 0 && job.editAt !== null) deps.onFirstFrame?.((Date.now() - job.editAt) / 1000);
      frames.push(out);
      bytes += data.length;
      events.emit(job.room, 'preview:frame', out);
    }
  } catch (error) {
    if (signal.aborted || (error as Error).name === 'AbortError') return 'cancelled';
    events.emit(job.room, 'preview:state', { shot: job.shot, rev: job.rev, status: 'failed', code: 'ENGINE_FAILED', reason: (error as Error).message });
    return { failed: (error as Error).message };
  }
  // Every preview keeps its last latents (a few KiB), so a shot that continues it starts where it ends.
  await store.set(job.room, { shot: job.shot, rev: job.rev, key: job.key, frames, bytes, tail: contextOf(last, engine.chunk.context) });
  events.emit(job.room, 'preview:state', { shot: job.shot, rev: job.rev, status: 'done' });
  return 'done';
}
