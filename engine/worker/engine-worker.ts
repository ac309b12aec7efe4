/**
 * An engine worker thread: loads the bundle once, then generates the shots it is sent, posting
 * each frame as soon as it is made (its pixel buffer transferred, not copied).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { emptyTimings, generateShot } from '../pipeline/generate.js';
import { EngineModel } from '../pipeline/model.js';
import type { FromWorker, ToWorker, WorkerInit } from './protocol.js';

const port = parentPort;
if (!port) throw new Error('engine-worker must run in a worker thread');
const post = (message: FromWorker, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);

const init = workerData as WorkerInit;
const started = performance.now();
let model: EngineModel;
try {
  model = await EngineModel.load(init.bundleDir, init);
} catch (error) {
  post({ type: 'init-error', message: (error as Error).message });
  process.exit(1);
}
const { manifest, hash } = model.bundle;
post({
  type: 'ready',
  info: {
    name: manifest.name,
    hash,
    profiles: Object.fromEntries(Object.entries(manifest.profiles).map(([k, p]) => [k, { steps: p.steps, guidance: p.guidance, shift: p.shift, size: p.size }])),
    frame: manifest.frame,
    chunk: manifest.chunk,
    loadMs: performance.now() - started,
  },
});

const running = new Map<number, AbortController>();
/** Jobs held by the pool, with what wakes them. */
const held = new Map<number, { wait: Promise<void>; wake: () => void }>();

const hold = (id: number): void => {
  // An aborted job is never held again (a hold that crossed its abort would keep it waiting, and held, for good).
  if (held.has(id) || !running.has(id) || running.get(id)!.signal.aborted) return;
  let wake = () => {};
  const wait = new Promise<void>((resolve) => (wake = resolve));
  held.set(id, { wait, wake });
};
const release = (id: number): void => {
  held.get(id)?.wake();
  held.delete(id);
};

port.on('message', (message: ToWorker) => {
  if (message.type === 'abort') {
    running.get(message.id)?.abort();
    release(message.id);
  } else if (message.type === 'hold') hold(message.id);
  else if (message.type === 'release') release(message.id);
  else if (message.type === 'close') {
    for (const controller of running.values()) controller.abort();
    for (const id of [...held.keys()]) release(id);
    void model.dispose().then(() => process.exit(0));
  } else void run(message);
});

async function run(job: Extract<ToWorker, { type: 'generate' }>): Promise<void> {
  const controller = new AbortController();
  running.set(job.id, controller);
  const t0 = performance.now();
  const hits0 = model.textCache.hits;
  const misses0 = model.textCache.misses;
  let first = -1;
  let frames = 0;
  const timings = emptyTimings();
  try {
    const options = { ...job.options, signal: controller.signal, timings, hold: () => held.get(job.id)?.wait };
    for await (const frame of generateShot(model, job.shot, options)) {
      if (first < 0) first = performance.now() - t0;
      frames++;
      const transfer = [frame.rgb.buffer as ArrayBuffer];
      if (frame.base) transfer.push(frame.base.buffer as ArrayBuffer);
      if (frame.latent) transfer.push(frame.latent.buffer as ArrayBuffer);
      post({ type: 'frame', id: job.id, frame }, transfer);
    }
    post({ type: 'done', id: job.id, stats: { firstFrameMs: first, totalMs: performance.now() - t0, frames, textCacheHits: model.textCache.hits - hits0, textCacheMisses: model.textCache.misses - misses0, timings } });
  } catch (error) {
    post({ type: 'error', id: job.id, message: (error as Error).message, aborted: controller.signal.aborted });
  } finally {
    running.delete(job.id);
    release(job.id);
  }
}
