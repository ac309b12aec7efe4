/**
 * Messages between the engine pool (main thread) and an engine worker (worker thread).
 */
import type { GenerateOptions, GeneratedFrame, ShotSpec, StageTimings } from '../pipeline/generate.js';
import type { SessionOptions } from '../pipeline/onnx-sessions.js';

export interface WorkerInit extends SessionOptions {
  bundleDir: string;
}

export type ToWorker =
  | { type: 'generate'; id: number; shot: ShotSpec; options: Omit<GenerateOptions, 'signal' | 'timings' | 'hold'> }
  | { type: 'abort'; id: number }
  /** Hold a job before its next step or frame (a preview needs the cores), and let it go on. */
  | { type: 'hold'; id: number }
  | { type: 'release'; id: number }
  | { type: 'close' };

export interface BundleInfo {
  name: string;
  hash: string;
  profiles: Record<string, { steps: number; guidance: number; shift: number; size: [number, number] }>;
  frame: { width: number; height: number };
  /** The denoiser's window and the frames before it that condition it (BUNDLE.md, chunk). */
  chunk: { frames: number; context: number };
  loadMs: number;
}

export type FromWorker =
  | { type: 'ready'; info: BundleInfo }
  | { type: 'init-error'; message: string }
  | { type: 'frame'; id: number; frame: GeneratedFrame }
  | { type: 'done'; id: number; stats: JobStats }
  | { type: 'error'; id: number; message: string; aborted: boolean };

export interface JobStats {
  /** From the job reaching the worker to its first frame (ms). */
  firstFrameMs: number;
  totalMs: number;
  frames: number;
  textCacheHits: number;
  textCacheMisses: number;
  /** Milliseconds per stage. */
  timings: StageTimings;
}
