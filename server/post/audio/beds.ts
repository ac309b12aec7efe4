/**
 * The bundled music beds (shared/post.ts MUSIC_BEDS): synthesised by bed-synth.ts in a worker
 * thread the first time one is asked for, then kept as `bed-<id>-v<version>.wav` (48 kHz stereo
 * 16-bit PCM, a whole number of bars that loops seamlessly) in the caller's cache folder.
 */
import { mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { MUSIC_BEDS, type MusicBedId } from '../../../shared/post.js';
import { BED_RATE, BED_SPECS, bedSeconds } from './bed-synth.js';

export { BED_SPECS, bedSeconds };

/** Bump when a bed's music changes: the old files are then never used. */
const BED_VERSION = 1;

export const isMusicBed = (id: string): id is MusicBedId => MUSIC_BEDS.some((bed) => bed.id === id);

/** The bed's name and version (what decides its sound): `bed-<id>-v<version>`. */
export const bedName = (id: MusicBedId): string => `bed-${id}-v${BED_VERSION}`;

const making = new Map<string, Promise<string>>();

/** Bytes of a bed's WAV: the header and 4 bytes a frame. */
const bedBytes = (id: MusicBedId) => 44 + Math.round(bedSeconds(id) * BED_RATE) * 4;

/** The bed's WAV in `cacheDir`, made first when it is not there (or not whole). */
export async function bedFile(id: MusicBedId, cacheDir: string): Promise<string> {
  if (!isMusicBed(id)) throw new Error(`not a music bed: ${String(id)}`);
  const file = path.join(cacheDir, `${bedName(id)}.wav`);
  const size = await stat(file).then((s) => s.size, () => null);
  if (size === bedBytes(id)) return file;
  let made = making.get(file);
  if (!made) {
    made = (async () => {
      await mkdir(cacheDir, { recursive: true });
      await synthesise(id, file);
      return file;
    })().finally(() => making.delete(file));
    making.set(file, made);
  }
  return made;
}

/** Every bed made (one after another, each in its own worker thread), for a music change that never waits on synthesis. */
export async function prepareBeds(cacheDir: string): Promise<void> {
  for (const bed of MUSIC_BEDS) await bedFile(bed.id, cacheDir);
}

function synthesise(id: MusicBedId, file: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./worker-bootstrap.mjs', import.meta.url), { workerData: { entry: './bed-worker.ts', id, file } });
    let answered = false;
    worker.once('message', (reply: { ok: true } | { ok: false; error: string }) => {
      answered = true;
      void worker.terminate();
      if (reply.ok) resolve();
      else reject(new Error(`the ${id} bed could not be made: ${reply.error}`));
    });
    worker.once('error', (error) => {
      answered = true;
      reject(error);
    });
    worker.once('exit', (code) => {
      if (!answered) reject(new Error(`the bed worker stopped (exit ${code}) before the ${id} bed was made`));
    });
  });
}
