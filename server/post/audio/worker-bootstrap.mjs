// Entry of the audio worker threads (tts-worker.ts, bed-worker.ts): registers tsx in this thread, then loads the
// TypeScript worker named in workerData.entry (a file of this folder), as engine/worker/bootstrap.mjs does.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

const entry = String(workerData?.entry ?? '');
if (!/^\.\/[a-z-]+-worker\.ts$/.test(entry)) throw new Error(`not an audio worker: ${entry}`);
register();
await import(new URL(entry, import.meta.url).href);
