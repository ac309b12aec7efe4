/**
 * BlobStore on a local folder (both modes; in scale-out a folder every process shares). A key is
 * a relative path; scratch files are made in `scratchDir` (default the folder's `.scratch/`),
 * which should be on the same disk so that `put` is a rename (atomic: a blob is there whole or
 * not at all; another disk is copied under a temporary name first).
 */
import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, mkdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type { BlobStore } from '../ports/blob-store.js';

const KEY = /^(?!.*\.\.)[A-Za-z0-9._-]+(?:\/[A-Za-z0-9._-]+)*$/;

export class LocalBlobStore implements BlobStore {
  readonly #scratchDir: string;

  constructor(
    readonly dir: string,
    options: { scratchDir?: string } = {},
  ) {
    this.#scratchDir = options.scratchDir ?? path.join(dir, '.scratch');
  }

  #path(key: string): string {
    if (!KEY.test(key)) throw new Error(`not a blob key: ${key}`);
    return path.join(this.dir, key);
  }

  async scratch(suffix = ''): Promise<string> {
    await mkdir(this.#scratchDir, { recursive: true });
    return path.join(this.#scratchDir, `${randomUUID()}${suffix}`);
  }

  async put(key: string, file: string): Promise<number> {
    const target = this.#path(key);
    await mkdir(path.dirname(target), { recursive: true });
    try {
      await rename(file, target);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw error;
      // Another disk: copy under a temporary name (so the blob appears whole), then move it in.
      const tmp = `${target}.${randomUUID()}.tmp`;
      await copyFile(file, tmp);
      await rename(tmp, target);
      await rm(file, { force: true });
    }
    return (await stat(target)).size;
  }

  async local(key: string): Promise<string | null> {
    const file = this.#path(key);
    return (await this.size(key)) === null ? null : file;
  }

  async size(key: string): Promise<number | null> {
    return stat(this.#path(key)).then(
      (s) => (s.isFile() ? s.size : null),
      () => null,
    );
  }

  async read(key: string, range?: { start: number; end: number }): Promise<Readable> {
    return createReadStream(this.#path(key), range ?? {});
  }

  async delete(key: string): Promise<void> {
    await rm(this.#path(key), { force: true });
  }

  async deletePrefix(prefix: string): Promise<void> {
    if (!prefix.endsWith('/')) throw new Error(`a blob folder ends with "/": ${prefix}`);
    const clean = prefix.slice(0, -1);
    await rm(this.#path(clean), { recursive: true, force: true });
  }
}
