/**
 * The worker thread that synthesises one music bed into a WAV file (a second or two of arithmetic
 * the server's event loop should not wait for). In: workerData `{ entry, id, file }`; out: one
 * message, `{ ok: true }` or `{ ok: false, error }`, once `file` is written (whole: a temporary name, then a rename).
 */
import { randomUUID } from 'node:crypto';
import { rename, rm, writeFile } from 'node:fs/promises';
import { parentPort, workerData } from 'node:worker_threads';
import type { MusicBedId } from '../../../shared/post.js';
import { encodeWav, synthBed } from './bed-synth.js';

const { id, file } = workerData as { id: MusicBedId; file: string };
const tmp = `${file}.${randomUUID()}.tmp`;
try {
  await writeFile(tmp, encodeWav(synthBed(id)));
  await rename(tmp, file);
  parentPort!.postMessage({ ok: true });
} catch (error) {
  await rm(tmp, { force: true });
  parentPort!.postMessage({ ok: false, error: (error as Error).message });
}
