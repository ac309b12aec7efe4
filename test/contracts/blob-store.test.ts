/**
 * Contract of BlobStore (server/ports/blob-store.ts). LocalBlobStore is the one backend of both
 * modes today; it runs here twice, with its scratch folder on the same filesystem (put is a
 * rename) and on another one when the machine has it (/dev/shm: put copies under a temporary
 * name). An object-store adapter is one more entry in the table.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { LocalBlobStore } from '../../server/embedded/local-blob-store.js';
import type { BlobStore } from '../../server/ports/blob-store.js';
import { onCleanup, tempDir } from './backends.js';

async function local(): Promise<BlobStore> {
  return new LocalBlobStore(await tempDir());
}

/** A filesystem other than the temporary folder's, or null (then that entry is skipped). */
const OTHER_DISK = existsSync('/dev/shm') && statSync('/dev/shm').dev !== statSync(os.tmpdir()).dev ? '/dev/shm' : null;

async function localScratchElsewhere(): Promise<BlobStore> {
  const scratchDir = await mkdtemp(path.join(OTHER_DISK!, 'scenecast-scratch-'));
  onCleanup(() => rm(scratchDir, { recursive: true, force: true }));
  return new LocalBlobStore(await tempDir(), { scratchDir });
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks);
}

/** Writes `data` to a fresh scratch file and puts it as `key`. */
async function putBytes(store: BlobStore, key: string, data: Uint8Array): Promise<number> {
  const file = await store.scratch('.bin');
  await writeFile(file, data);
  return store.put(key, file);
}

describe.each([
  ['local folder', local, true],
  ['local folder, scratch on another filesystem', localScratchElsewhere, OTHER_DISK !== null],
] as const)('BlobStore contract: %s', (_name, backend, available) => {
  describe.runIf(available)('', () => {
    it('scratch gives a fresh local path each time, with the suffix asked for, that is not a blob', async () => {
      const store = await backend();
      const one = await store.scratch('.mp4');
      const two = await store.scratch('.mp4');
      expect(one).not.toBe(two);
      expect(one.endsWith('.mp4')).toBe(true);
      expect(existsSync(one)).toBe(false);
      await writeFile(one, 'x'); // its folder exists: a tool can write there
      expect(await stat(one)).toBeTruthy();
    });

    it('put takes the file in (it is gone from scratch) and returns its size; local, size and read give its bytes', async () => {
      const store = await backend();
      const data = randomBytes(10_000);
      const file = await store.scratch();
      await writeFile(file, data);
      expect(await store.put('r1/video.mp4', file)).toBe(data.length);
      expect(existsSync(file)).toBe(false);
      expect(await store.size('r1/video.mp4')).toBe(data.length);
      const localFile = await store.local('r1/video.mp4');
      expect(localFile).not.toBeNull();
      expect((await readFile(localFile!)).equals(data)).toBe(true);
      expect((await readAll(await store.read('r1/video.mp4'))).equals(data)).toBe(true);
    });

    it('read with a range gives the bytes from start to end, both included', async () => {
      const store = await backend();
      const data = randomBytes(1000);
      await putBytes(store, 'k.bin', data);
      expect((await readAll(await store.read('k.bin', { start: 0, end: 0 }))).equals(data.subarray(0, 1))).toBe(true);
      expect((await readAll(await store.read('k.bin', { start: 10, end: 19 }))).equals(data.subarray(10, 20))).toBe(true);
      expect((await readAll(await store.read('k.bin', { start: 990, end: 999 }))).equals(data.subarray(990))).toBe(true);
    });

    it('a missing blob has no size and no local file', async () => {
      const store = await backend();
      expect(await store.size('nope.bin')).toBeNull();
      expect(await store.local('nope.bin')).toBeNull();
      expect(await store.size('a/b/nope.bin')).toBeNull();
    });

    it('a folder is not a blob: a key that only prefixes others has no size', async () => {
      const store = await backend();
      await putBytes(store, 'r1/video.mp4', randomBytes(10));
      expect(await store.size('r1')).toBeNull();
      expect(await store.local('r1')).toBeNull();
    });

    it('put over an existing blob replaces it', async () => {
      const store = await backend();
      await putBytes(store, 'k.bin', randomBytes(100));
      const newer = randomBytes(50);
      expect(await putBytes(store, 'k.bin', newer)).toBe(50);
      expect((await readAll(await store.read('k.bin'))).equals(newer)).toBe(true);
    });

    it('delete removes one blob (and a missing one is harmless)', async () => {
      const store = await backend();
      await putBytes(store, 'a.bin', randomBytes(10));
      await putBytes(store, 'b.bin', randomBytes(10));
      await store.delete('a.bin');
      expect(await store.size('a.bin')).toBeNull();
      expect(await store.local('a.bin')).toBeNull();
      expect(await store.size('b.bin')).toBe(10);
      await expect(store.delete('a.bin')).resolves.toBeUndefined();
    });

    it('deletePrefix removes every blob under a folder, nested ones included, and nothing else', async () => {
      const store = await backend();
      for (const key of ['r1/video.mp4', 'r1/parts/0.mp4', 'r1/parts/1.mp4', 'r10/video.mp4', 'r1.snapshot', 'other/r1/video.mp4']) await putBytes(store, key, randomBytes(8));
      await store.deletePrefix('r1/');
      for (const key of ['r1/video.mp4', 'r1/parts/0.mp4', 'r1/parts/1.mp4']) expect(await store.size(key), key).toBeNull();
      for (const key of ['r10/video.mp4', 'r1.snapshot', 'other/r1/video.mp4']) expect(await store.size(key), key).toBe(8);
      await expect(store.deletePrefix('nothing-here/')).resolves.toBeUndefined();
      // The folder can be used again.
      await putBytes(store, 'r1/video.mp4', randomBytes(3));
      expect(await store.size('r1/video.mp4')).toBe(3);
    });

    it('put is atomic: while a large blob goes in, it is absent or whole, never partial', async () => {
      const store = await backend();
      const data = randomBytes(16 * 1024 * 1024);
      const file = await store.scratch();
      await writeFile(file, data);
      const seen = new Set<number | null>();
      let done = false;
      const watcher = (async () => {
        while (!done) seen.add(await store.size('big.bin'));
      })();
      await store.put('big.bin', file);
      done = true;
      await watcher;
      seen.add(await store.size('big.bin'));
      expect([...seen].filter((s) => s !== null && s !== data.length)).toEqual([]);
      expect(await store.size('big.bin')).toBe(data.length);
      expect((await readAll(await store.read('big.bin'))).equals(data)).toBe(true);
    });

    it('replacing a blob is atomic too: a reader sees the old bytes or the new ones, whole', async () => {
      const store = await backend();
      const old = randomBytes(4 * 1024 * 1024);
      const newer = randomBytes(8 * 1024 * 1024);
      await putBytes(store, 'v.bin', old);
      const file = await store.scratch();
      await writeFile(file, newer);
      const sizes = new Set<number | null>();
      let done = false;
      const watcher = (async () => {
        while (!done) sizes.add(await store.size('v.bin'));
      })();
      await store.put('v.bin', file);
      done = true;
      await watcher;
      expect([...sizes].filter((s) => s !== old.length && s !== newer.length)).toEqual([]);
      expect((await readAll(await store.read('v.bin'))).equals(newer)).toBe(true);
    });
  });
});
