/**
 * Writes that survive a crash or a power cut: a file's bytes synced before it counts, and the
 * folder synced after a name in it was created, renamed or removed.
 */
import { link, open, rename, rm, type FileHandle } from 'node:fs/promises';
import path from 'node:path';

/** Makes a folder's entries (a created, renamed or removed name) durable. */
export async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Opens `file`, runs `write` on it, then fdatasyncs and closes it (closed also when `write` throws). */
export async function withSyncedFile(file: string, flags: string, write: (handle: FileHandle) => Promise<void>): Promise<void> {
  const handle = await open(file, flags);
  try {
    await write(handle);
    await handle.datasync();
  } finally {
    await handle.close();
  }
}

let temporaries = 0;

/**
 * Writes `file` so that it is either absent (or its old self) or complete: a synced temporary
 * file renamed over it, then the folder synced. `exclusive`: fail with EEXIST when `file` exists
 * (a hard link instead of the rename, which would replace it).
 */
export async function writeFileDurably(file: string, data: Uint8Array | string, options: { exclusive?: boolean } = {}): Promise<void> {
  const tmp = `${file}.${process.pid}.${++temporaries}.tmp`;
  await withSyncedFile(tmp, 'w', (handle) => handle.writeFile(data));
  try {
    if (options.exclusive) await link(tmp, file);
    else await rename(tmp, file);
  } finally {
    if (options.exclusive) await rm(tmp, { force: true });
  }
  await syncDir(path.dirname(file));
}
