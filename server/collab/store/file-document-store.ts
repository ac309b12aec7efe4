/**
 * Embedded document store: one folder per room under DATA_DIR/rooms/<room>/:
 *
 *   snapshot.<g>.bin   the whole document as one frame; covers every log with generation < g
 *   log.<g>.bin        updates appended since, one frame each
 *
 * Both are frame files (frames.ts): v2 (file magic, a checksum over each frame's length) is the
 * only format written; v1 files, from before v2, are still read but never written to again.
 *
 * Promise: an update is written with write(2) before `append` returns (so it survives the
 * process being killed), and `append`'s promise resolves after fdatasync (group commit: one
 * fdatasync covers every append that came in while the previous one ran). With fsync 'never'
 * it resolves after write(2) only. Compaction switches appends to log.<g+1> and writes
 * snapshot.<g+1> next to the old files; the old ones go only after the new snapshot is durable,
 * so a crash at any point leaves a readable, complete set (a replayed update is a no-op). A new
 * log gets its magic, fdatasync'ed, and its name, the folder fsync'ed, before the first append.
 *
 * Loading: every file is read and checked before anything on disk changes. Only an interrupted
 * write at the end of the NEWEST log (never acknowledged: acknowledgement follows fdatasync) is
 * repaired: its bytes are copied to log.<g>.bin.torn-<ms>, then the log is truncated, both
 * durably. Any other damage throws ROOM_STORAGE_ERROR and leaves every file as it was.
 *
 * Migration from v1: a v1 snapshot or log is read as it is; when the newest log is v1, appends
 * go to a new v2 log.<g+1>.bin instead (load order is by generation, so the set stays complete
 * whenever a crash comes: before the new log has its magic it is empty or zero-filled, which
 * reads as an empty or torn newest log). The bytes of v1 files count as log bytes, so the room's
 * next compaction (at the latest when it is unloaded) replaces them with a v2 snapshot.
 */
import fs from 'node:fs';
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { ScenecastError } from '../../../shared/errors.js';
import type { DocumentStore, StoredDocument } from '../../ports/document-store.js';
import { syncDir, withSyncedFile, writeFileDurably } from '../../fs/durable.js';
import { decodeFrames, encodeFile, encodeFrame, FILE_HEADER, FILE_MAGIC, type FrameFormat } from './frames.js';

export interface FileDocumentStoreOptions {
  /** The folder holding one sub-folder per room. */
  dir: string;
  /** 'always' (default): append resolves after fdatasync; 'never': after write(2). */
  fsync?: 'always' | 'never';
  /** Called with a message when a load repaired an interrupted last write. */
  onRepair?: (room: string, message: string) => void;
}

interface Waiter {
  resolve: () => void;
  reject: (error: Error) => void;
}

/** The open log of one room, with its group-commit state. */
class RoomLog {
  bytes = 0;
  failed: Error | null = null;
  #waiting: Waiter[] = [];
  #syncing = false;
  #idle: (() => void)[] = [];

  constructor(
    public fd: number,
    public generation: number,
  ) {}

  append(frame: Buffer, fsync: boolean): Promise<void> {
    if (this.failed) return Promise.reject(this.failed);
    try {
      // A short write would leave a partial frame with later ones after it: stop appending instead.
      const written = fs.writeSync(this.fd, frame);
      if (written !== frame.length) throw new Error(`short write to the log: ${written} of ${frame.length} bytes`);
    } catch (error) {
      this.failed = error as Error;
      return Promise.reject(this.failed);
    }
    this.bytes += frame.length;
    if (!fsync) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.#waiting.push({ resolve, reject });
      if (!this.#syncing) this.#sync();
    });
  }

  #sync(): void {
    const batch = this.#waiting;
    this.#waiting = [];
    this.#syncing = true;
    fs.fdatasync(this.fd, (error) => {
      this.#syncing = false;
      if (error) this.failed = error;
      for (const waiter of batch) {
        if (error) waiter.reject(error);
        else waiter.resolve();
      }
      if (this.#waiting.length > 0) this.#sync();
      else for (const done of this.#idle.splice(0)) done();
    });
  }

  /** Resolves when no fdatasync is running or queued. */
  settled(): Promise<void> {
    if (!this.#syncing && this.#waiting.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }
}

const openFd = promisify(fs.open);
const fstat = promisify(fs.fstat);
const fdatasync = promisify(fs.fdatasync);

const SNAPSHOT = /^snapshot\.(\d+)\.bin$/;
const LOG = /^log\.(\d+)\.bin$/;

export class FileDocumentStore implements DocumentStore {
  readonly #dir: string;
  readonly #fsync: boolean;
  readonly #onRepair: (room: string, message: string) => void;
  readonly #logs = new Map<string, RoomLog>();
  readonly #compacting = new Map<string, Promise<void>>();

  constructor(options: FileDocumentStoreOptions) {
    this.#dir = options.dir;
    this.#fsync = (options.fsync ?? 'always') === 'always';
    this.#onRepair = options.onRepair ?? (() => {});
  }

  #roomDir(room: string): string {
    return path.join(this.#dir, room);
  }

  async create(room: string, state: Uint8Array): Promise<void> {
    const dir = this.#roomDir(room);
    await mkdir(dir, { recursive: true });
    await writeFileDurably(path.join(dir, 'snapshot.1.bin'), encodeFile([state]));
  }

  async load(room: string): Promise<StoredDocument> {
    const dir = this.#roomDir(room);
    const fail = (reason: string, cause?: unknown): never => {
      throw new ScenecastError('ROOM_STORAGE_ERROR', `room ${room}: ${reason}`, { cause: String(cause ?? reason) });
    };
    let names: string[];
    try {
      names = await readdir(dir);
    } catch (error) {
      return fail('cannot list the room folder', error);
    }
    const generationOf = (re: RegExp) => (name: string) => Number(re.exec(name)?.[1] ?? -1);
    const snapshots = names.filter((n) => SNAPSHOT.test(n)).map(generationOf(SNAPSHOT)).sort((a, b) => b - a);
    const newestSnapshot = snapshots[0] ?? 0;
    const logs = names
      .filter((n) => LOG.test(n))
      .map(generationOf(LOG))
      .filter((g) => g >= newestSnapshot)
      .sort((a, b) => a - b);

    // 1. Read and check the whole set; nothing on disk changes before it is known to be good.
    const updates: Uint8Array[] = [];
    let bytes = 0;
    let v1Bytes = 0;
    let torn: { name: string; file: Buffer; goodBytes: number } | null = null;
    let newestFormat: FrameFormat = 'v2';
    if (snapshots.length > 0) {
      const file = await readFile(path.join(dir, `snapshot.${newestSnapshot}.bin`)).catch((error) => fail('cannot read the snapshot', error));
      const reading = decodeFrames(file);
      if (reading.status !== 'ok' || reading.payloads.length !== 1) fail('the snapshot is damaged');
      updates.push(...reading.payloads);
      bytes += file.length;
      if (reading.format === 'v1') v1Bytes += file.length;
    }
    for (const [i, generation] of logs.entries()) {
      const name = path.join(dir, `log.${generation}.bin`);
      const file = await readFile(name).catch((error) => fail(`cannot read log ${generation}`, error));
      const reading = decodeFrames(file);
      if (reading.status === 'corrupt') fail(`log ${generation} is damaged (${reading.reason})`);
      let kept = file.length;
      if (reading.status === 'torn') {
        // Only the newest log can end in an interrupted write; in an older one it is damage.
        if (i !== logs.length - 1) fail(`log ${generation} ends early`);
        torn = { name, file, goodBytes: reading.goodBytes };
        kept = reading.goodBytes;
      }
      updates.push(...reading.payloads);
      bytes += kept;
      if (reading.format === 'v1') v1Bytes += kept;
      newestFormat = reading.format;
    }
    if (updates.length === 0) fail('no snapshot and no log');

    // 2. The set is good: drop what an interrupted snapshot left, set an interrupted write aside, open the log.
    const newestLog = logs.at(-1);
    // v1 files are read-only: when the newest log is one, appends go to a new v2 log after it.
    const generation = newestLog === undefined ? Math.max(newestSnapshot, 1) : newestFormat === 'v2' ? newestLog : newestLog + 1;
    let log: RoomLog;
    try {
      await Promise.all(names.filter((n) => n.endsWith('.tmp')).map((n) => rm(path.join(dir, n), { force: true })));
      if (torn) await this.#setAside(torn.name, torn.file, torn.goodBytes);
      log = await this.#openLog(room, generation);
    } catch (error) {
      return fail('cannot repair or open the log', error);
    }
    const repairedBytes = torn ? torn.file.length - torn.goodBytes : 0;
    if (torn) this.#onRepair(room, `${path.basename(torn.name)}: set aside ${repairedBytes} bytes of an interrupted write`);
    log.bytes += v1Bytes; // so that the next compaction rewrites them in v2 (see the header)
    this.#logs.set(room, log);
    return { updates, bytes, repairedBytes };
  }

  /** Copies the torn tail to `<log>.torn-<ms>`, then truncates the log: each step durable before the next. */
  async #setAside(name: string, file: Buffer, goodBytes: number): Promise<void> {
    await withSyncedFile(`${name}.torn-${Date.now()}`, 'w', (aside) => aside.writeFile(file.subarray(goodBytes)));
    await withSyncedFile(name, 'r+', (handle) => handle.truncate(goodBytes));
    await syncDir(path.dirname(name));
  }

  async #openLog(room: string, generation: number): Promise<RoomLog> {
    const file = path.join(this.#roomDir(room), `log.${generation}.bin`);
    // A raw fd, not a FileHandle: appends are synchronous writes (see the header), and a
    // FileHandle would close its fd when garbage-collected.
    const fd = await openFd(file, 'a');
    try {
      let size = (await fstat(fd)).size;
      if (size === 0) {
        // New (or emptied by a repair): the magic, then the name in the folder, are durable before the first append.
        if (fs.writeSync(fd, FILE_MAGIC) !== FILE_HEADER) throw new Error(`short write of the magic of ${file}`);
        await fdatasync(fd);
        await syncDir(path.dirname(file));
        size = FILE_HEADER;
      }
      const log = new RoomLog(fd, generation);
      log.bytes = size - FILE_HEADER;
      return log;
    } catch (error) {
      fs.closeSync(fd);
      throw error;
    }
  }

  #log(room: string): RoomLog {
    const log = this.#logs.get(room);
    if (!log) throw new ScenecastError('ROOM_STORAGE_ERROR', `room ${room} is not open`);
    return log;
  }

  append(room: string, update: Uint8Array): Promise<void> {
    let log: RoomLog;
    try {
      log = this.#log(room);
    } catch (error) {
      return Promise.reject(error);
    }
    return log.append(encodeFrame(update), this.#fsync);
  }

  logBytes(room: string): number {
    return this.#logs.get(room)?.bytes ?? 0;
  }

  compact(room: string, state: () => Uint8Array): Promise<boolean> {
    const running = this.#compacting.get(room);
    if (running) return running.then(() => true);
    const job = this.#compact(room, state).finally(() => this.#compacting.delete(room));
    this.#compacting.set(room, job);
    return job.then(() => true);
  }

  async #compact(room: string, state: () => Uint8Array): Promise<void> {
    const dir = this.#roomDir(room);
    const old = this.#log(room);
    const next = old.generation + 1;
    const fresh = await this.#openLog(room, next);
    // From here on appends go to the new log; the snapshot is taken in the same tick.
    this.#logs.set(room, fresh);
    const snapshot = encodeFile([state()]);
    await old.settled();
    fs.closeSync(old.fd);
    await writeFileDurably(path.join(dir, `snapshot.${next}.bin`), snapshot);
    const names = await readdir(dir);
    await Promise.all(
      names
        .filter((n) => {
          const s = SNAPSHOT.exec(n);
          const l = LOG.exec(n);
          return (s && Number(s[1]) < next) || (l && Number(l[1]) < next);
        })
        .map((n) => rm(path.join(dir, n), { force: true })),
    );
  }

  async release(room: string): Promise<void> {
    await this.#compacting.get(room);
    const log = this.#logs.get(room);
    if (!log) return;
    this.#logs.delete(room);
    await log.settled();
    fs.closeSync(log.fd);
  }

  async destroy(room: string): Promise<void> {
    await this.release(room);
    await rm(this.#roomDir(room), { recursive: true, force: true });
  }

  async close(): Promise<void> {
    await Promise.all([...this.#logs.keys()].map((room) => this.release(room)));
  }
}
