/**
 * Files the service keeps by name (encoded shot segments, finished clips, scale-out snapshots),
 * wherever they live. Today a local folder in both modes (embedded/local-blob-store.ts; in
 * scale-out a folder every process shares, BLOB_DIR); an object store (S3 and the like) is one
 * more adapter: `local` then fetches a copy to read, `put` uploads. Contract:
 * test/contracts/blob-store.test.ts.
 */
import type { Readable } from 'node:stream';

export interface BlobStore {
  /** A fresh path on local disk for a file being made (an encoder's output) that `put` will take. */
  scratch(suffix?: string): Promise<string>;
  /** Takes the finished local file `file` in as `key` (it is moved, not copied, where it can be); returns its size. */
  put(key: string, file: string): Promise<number>;
  /** A local file with the blob's bytes, for tools that read files (ffmpeg), or null when there is none. */
  local(key: string): Promise<string | null>;
  /** The blob's size in bytes, or null when there is none. */
  size(key: string): Promise<number | null>;
  /** Its bytes from `start` to `end` (inclusive), or all of them. */
  read(key: string, range?: { start: number; end: number }): Promise<Readable>;
  delete(key: string): Promise<void>;
  /** Deletes every blob under the folder `prefix` (it ends with `/`, say `r123/`). */
  deletePrefix(prefix: string): Promise<void>;
}
