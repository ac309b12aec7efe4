/**
 * One preview job, wherever it runs (in the server process, or in an engine worker process when
 * scaled out): generate the shot with the preview profile, JPEG-encode each frame as it comes,
 * send it to the room, and keep the complete preview for late joiners.
 */
import sharp from 'sharp';
import type { PreviewFrame } from '../../shared/protocol.js';
import type { EnginePool } from '../../engine/index.js';
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
}

export type PreviewOutcome = 'done' | 'cancelled' | { failed: string };

export async function runPreviewJob(job: PreviewJobData, deps: PreviewJobDeps, signal: AbortSignal): Promise<PreviewOutcome> {
  const { engine, events, store } = deps;
  events.emit(job.room, 'preview:state', { shot: job.shot, rev: job.rev, status: 'generating' });
  const frames: PreviewFrame[] = [];
  let bytes = 0;
  try {
    for await (const frame of engine.generate(job.resolved.spec, { profile: 'preview', signal })) {
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
  await store.set(job.room, { shot: job.shot, rev: job.rev, key: job.key, frames, bytes });
  events.emit(job.room, 'preview:state', { shot: job.shot, rev: job.rev, status: 'done' });
  return 'done';
}
