/**
 * The engine as the server sees it: a small pool of worker threads, each with the bundle loaded.
 * `generate()` returns the frames of one shot as an async iterable, frame by frame; aborting its
 * signal stops the worker within one denoiser step. The main thread never waits on a session.
 *
 * Priority: previews first, then live chunks (a stream plays from a chunk made ahead, so a preview
 * in front of a chunk costs it nothing seen), then renders. Previews and live chunks go ahead of
 * renders in the queue, and while any preview or live chunk is
 * queued or running every render job is held before its next denoiser step or frame (its
 * encoder idles too), so typing stays live while a render runs. A preview that finds every
 * worker busy shares a worker with a job it may go in front of, held before its next step until
 * the preview ends: a render, or another room's preview that has already shown its first window
 * (its viewers are watching frames; this one's see nothing yet). Live chunks are never held, so a
 * stream keeps its rate however much people type. Renders take what is left: under a steady
 * stream of previews they wait.
 */
import { EventEmitter } from 'node:events';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { abortError, type GenerateOptions, type GeneratedFrame, type ShotSpec } from './pipeline/generate.js';
import type { EngineDevice } from './pipeline/onnx-sessions.js';
import type { BundleInfo, FromWorker, JobStats, ToWorker } from './worker/protocol.js';

export const DEFAULT_BUNDLE = path.resolve(import.meta.dirname, 'models', 'shapes-v1');

export interface EnginePoolOptions {
  /** Folder of the model bundle (default engine/models/shapes-v1). */
  bundleDir?: string;
  /** Worker threads (default: 2, or 1 on a one-core machine). Each holds the bundle in memory. */
  workers?: number;
  /** Intra-op threads per worker (default: cores / workers, at least 1). */
  threads?: number;
  /** 'cpu' (default) or 'cuda'. */
  device?: EngineDevice;
}

export interface GenerateRequest extends Omit<GenerateOptions, 'signal' | 'timings'> {
  signal?: AbortSignal;
  /** Called with the job's statistics (stage timings) when it completes. */
  onStats?: (stats: JobStats) => void;
}

export interface EngineEvents {
  /** A job finished (or failed); for metrics. */
  job: [{ profile: string; stats: JobStats | null; outcome: 'done' | 'aborted' | 'failed' }];
}

interface Job {
  id: number;
  shot: ShotSpec;
  options: Omit<GenerateOptions, 'signal' | 'timings'>;
  signal?: AbortSignal;
  onStats?: (stats: JobStats) => void;
  /** Frames and the end of the job, in order. */
  push: (item: { frame?: GeneratedFrame; error?: Error; done?: boolean }) => void;
  /** Frames made so far. */
  frames: number;
}

interface Slot {
  worker: Worker;
  /** The job the worker is running. */
  job: Job | null;
  /** A render held on this worker while a preview runs in front of it. */
  parked: Job | null;
  /** Render jobs of this slot that were told to hold (and not yet to go on). */
  held: Set<Job>;
}

const urgent = (job: Job): boolean => job.options.profile === 'preview';
/** 0: an edit's preview (someone waits on it); 1: a chunk of a live stream (it has a buffer); 2: a render. */
const priority = (job: Job): number => (!urgent(job) ? 2 : job.options.range ? 1 : 0);

let nextJob = 1;

export class EnginePool extends EventEmitter<EngineEvents> {
  readonly #options: Required<Omit<EnginePoolOptions, 'device'>> & { device: EngineDevice };
  readonly #slots: Slot[] = [];
  readonly #queue: Job[] = [];
  #info: BundleInfo | null = null;
  #closed = false;

  private constructor(options: EnginePoolOptions) {
    super();
    const cores = Math.max(1, os.availableParallelism());
    const workers = Math.max(1, options.workers ?? Math.min(2, cores));
    this.#options = {
      bundleDir: options.bundleDir ?? DEFAULT_BUNDLE,
      workers,
      threads: options.threads ?? Math.max(1, Math.floor(cores / workers)),
      device: options.device ?? 'cpu',
    };
  }

  static async start(options: EnginePoolOptions = {}): Promise<EnginePool> {
    const pool = new EnginePool(options);
    await Promise.all(Array.from({ length: pool.#options.workers }, () => pool.#spawn()));
    return pool;
  }

  /** The loaded bundle: name, hash (for cache keys), profiles. */
  get info(): BundleInfo {
    if (!this.#info) throw new Error('engine not started');
    return this.#info;
  }

  /** The bundle's window of frames and its context (a live stream is made a window at a time). */
  get chunk(): { frames: number; context: number } {
    return this.info.chunk;
  }

  get workerCount(): number {
    return this.#options.workers;
  }

  #spawn(): Promise<void> {
    // The bootstrap registers tsx inside the thread (loader hooks of the parent do not carry over).
    const worker = new Worker(path.join(import.meta.dirname, 'worker', 'bootstrap.mjs'), {
      workerData: { bundleDir: this.#options.bundleDir, threads: this.#options.threads, device: this.#options.device },
    });
    const slot: Slot = { worker, job: null, parked: null, held: new Set() };
    return new Promise((resolve, reject) => {
      let ready = false;
      worker.on('message', (message: FromWorker) => {
        if (message.type === 'ready') {
          ready = true;
          this.#info ??= message.info;
          this.#slots.push(slot);
          resolve();
          this.#dispatch();
        } else if (message.type === 'init-error') {
          reject(new Error(`engine worker could not load the bundle: ${message.message}`));
        } else this.#onJobMessage(slot, message);
      });
      worker.on('error', (error) => {
        if (!ready) reject(error);
        else this.#onCrash(slot, error);
      });
      worker.on('exit', (code) => {
        if (!ready) reject(new Error(`engine worker exited with ${code} while loading`));
        else if (!this.#closed) this.#onCrash(slot, new Error(`engine worker exited with ${code}`));
      });
    });
  }

  #onCrash(slot: Slot, error: Error): void {
    const index = this.#slots.indexOf(slot);
    if (index < 0) return;
    this.#slots.splice(index, 1);
    for (const job of [slot.job, slot.parked]) job?.push({ error: new Error(`engine worker failed: ${error.message}`) });
    slot.job = null;
    slot.parked = null;
    if (!this.#closed) void this.#spawn().catch(() => {});
    this.#rebalance();
  }

  #onJobMessage(slot: Slot, message: FromWorker): void {
    if (!('id' in message)) return;
    const job = slot.job?.id === message.id ? slot.job : slot.parked?.id === message.id ? slot.parked : null;
    if (!job) return;
    if (message.type === 'frame') {
      job.frames++;
      job.push({ frame: message.frame });
      // Its first window is out: a new preview waiting for a worker may go in front of it now.
      if (job.frames === this.info.chunk.frames && this.#queue.some((j) => priority(j) === 0)) this.#dispatch();
      return;
    }
    // The job ended: a render parked behind it (or the parked render itself) takes its place.
    if (slot.job === job) {
      slot.job = slot.parked;
      slot.parked = null;
    } else slot.parked = null;
    slot.held.delete(job);
    if (message.type === 'done') {
      this.emit('job', { profile: job.options.profile, stats: message.stats, outcome: 'done' });
      job.onStats?.(message.stats);
      job.push({ done: true });
    } else if (message.type === 'error') {
      this.emit('job', { profile: job.options.profile, stats: null, outcome: message.aborted ? 'aborted' : 'failed' });
      job.push({ error: message.aborted ? abortError() : new Error(message.message) });
    }
    this.#dispatch();
  }

  #dispatch(): void {
    for (;;) {
      const job = this.#queue[0];
      if (!job) break;
      let slot = this.#slots.find((s) => !s.job && !s.parked);
      if (!slot && urgent(job)) {
        // Every worker is busy: a preview goes in front of a render, or of a preview past its first window,
        // which waits on the same worker.
        slot = this.#slots.find((s) => s.job && !s.parked && !urgent(s.job)) ?? (priority(job) === 0 ? this.#slots.find((s) => s.job && !s.parked && this.#pastFirstWindow(s.job)) : undefined);
        if (slot) {
          slot.parked = slot.job;
          slot.job = null;
        }
      }
      if (!slot) break;
      this.#queue.shift();
      this.#start(slot, job);
    }
    this.#rebalance();
  }

  #start(slot: Slot, job: Job): void {
    slot.job = job;
    const message: ToWorker = { type: 'generate', id: job.id, shot: job.shot, options: job.options };
    slot.worker.postMessage(message);
    if (job.signal) {
      const onAbort = () => (slot.job === job || slot.parked === job) && slot.worker.postMessage({ type: 'abort', id: job.id } satisfies ToWorker);
      job.signal.addEventListener('abort', onAbort, { once: true });
    }
  }

  /** An edit's preview whose viewers already have its first window. */
  #pastFirstWindow(job: Job): boolean {
    return priority(job) === 0 && job.frames >= this.info.chunk.frames;
  }

  /** Holds every render while any preview is queued or running, and every job parked behind another; lets them go on otherwise. */
  #rebalance(): void {
    const previews = this.#queue.some(urgent) || this.#slots.some((s) => s.job !== null && urgent(s.job));
    for (const slot of this.#slots) {
      for (const job of [slot.job, slot.parked]) {
        if (!job) continue;
        const hold = job === slot.parked || (previews && !urgent(job));
        if (hold === slot.held.has(job)) continue;
        if (hold) slot.held.add(job);
        else slot.held.delete(job);
        slot.worker.postMessage({ type: hold ? 'hold' : 'release', id: job.id } satisfies ToWorker);
      }
    }
  }

  /** Renders held right now (for tests and metrics). */
  get heldJobs(): number {
    return this.#slots.reduce((n, s) => n + s.held.size, 0);
  }

  /** The frames of one shot, as they are made. Throws an AbortError when `signal` aborts. */
  generate(shot: ShotSpec, request: GenerateRequest): AsyncIterable<GeneratedFrame> {
    const { signal, onStats, ...options } = request;
    const pool = this;
    return {
      [Symbol.asyncIterator]() {
        const items: { frame?: GeneratedFrame; error?: Error; done?: boolean }[] = [];
        let wake: (() => void) | null = null;
        const job: Job = {
          id: nextJob++,
          shot,
          options,
          signal,
          onStats,
          frames: 0,
          push: (item) => {
            items.push(item);
            wake?.();
          },
        };
        if (pool.#closed) items.push({ error: new Error('engine is closed') });
        else if (signal?.aborted) items.push({ error: abortError() });
        else {
          // An edit's preview goes ahead of live chunks and renders, a live chunk ahead of renders;
          // otherwise first come, first served.
          const rank = priority(job);
          const at = rank < 2 ? pool.#queue.findIndex((j) => priority(j) > rank) : -1;
          if (at < 0) pool.#queue.push(job);
          else pool.#queue.splice(at, 0, job);
          signal?.addEventListener(
            'abort',
            () => {
              const queued = pool.#queue.indexOf(job);
              if (queued >= 0) {
                pool.#queue.splice(queued, 1);
                job.push({ error: abortError() });
                pool.#rebalance();
              }
            },
            { once: true },
          );
          pool.#dispatch();
        }
        return {
          async next(): Promise<IteratorResult<GeneratedFrame>> {
            while (items.length === 0) await new Promise<void>((resolve) => (wake = resolve));
            wake = null;
            const item = items.shift()!;
            if (item.error) throw item.error;
            // Frames the worker made before it heard of the abort are dropped: nothing comes after an abort.
            if (signal?.aborted) throw abortError();
            if (item.done) return { done: true, value: undefined };
            return { done: false, value: item.frame! };
          },
          async return(): Promise<IteratorResult<GeneratedFrame>> {
            // The consumer stopped early: stop the worker too.
            const queued = pool.#queue.indexOf(job);
            if (queued >= 0) {
              pool.#queue.splice(queued, 1);
              pool.#rebalance();
            }
            const slot = pool.#slots.find((s) => s.job === job || s.parked === job);
            slot?.worker.postMessage({ type: 'abort', id: job.id } satisfies ToWorker);
            return { done: true, value: undefined };
          },
        };
      },
    };
  }

  /** Stops every worker; queued and running jobs end with an error. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const job of this.#queue.splice(0)) job.push({ error: new Error('engine is closed') });
    await Promise.all(
      this.#slots.splice(0).map(async (slot) => {
        for (const job of [slot.job, slot.parked]) job?.push({ error: new Error('engine is closed') });
        slot.worker.postMessage({ type: 'close' } satisfies ToWorker);
        const exited = new Promise((resolve) => slot.worker.once('exit', resolve));
        const timeout = setTimeout(() => void slot.worker.terminate(), 2000);
        await exited;
        clearTimeout(timeout);
      }),
    );
  }
}
