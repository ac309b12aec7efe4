/**
 * Encoded shot segments by content key (engine/shot-spec.ts: everything that decides a shot's
 * pixels), so a re-render after a small edit reuses every unchanged shot byte for byte.
 * Bounded by bytes (least recently used go first) and kept across restarts: the index is a JSON
 * file next to the segments, rewritten (atomically) after changes.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';

export interface CachedShot {
  key: string;
  bytes: number;
  frames: number;
  lastUsed: number;
  /** Rooms that made or reused it: deleting a room forgets it there, and an entry no room holds goes. */
  rooms?: string[];
}

/** Rooms remembered per entry (the oldest are forgotten first; a forgotten room cannot delete it). */
const MAX_OWNERS = 64;

/** `rooms` with `room` added (last), at most MAX_OWNERS. */
export function withOwner(rooms: string[] | undefined, room: string | undefined): string[] | undefined {
  if (room === undefined) return rooms;
  const list = (rooms ?? []).filter((r) => r !== room);
  list.push(room);
  return list.slice(-MAX_OWNERS);
}

export interface ShotCacheStats {
  hits: number;
  misses: number;
  bytes: number;
  entries: number;
}

/** Encoded shots by content key: a folder with an index file (embedded) or with its index in Redis (scale-out). */
export interface ShotStore {
  /** Where the segment of `key` lives (valid once `get` found it or `put` stored it). */
  file(key: string): string;
  /** A scratch path beside the segments, for one being encoded. */
  tempFile(): string;
  /** The cached shot, or null; counts a hit or a miss. A hit for `room` makes the room one of its holders. */
  get(key: string, room?: string): Promise<CachedShot | null>;
  /** Moves an encoded segment into the cache under `key`, held by `room`. */
  put(key: string, tempFile: string, frames: number, room?: string): Promise<CachedShot>;
  /** A room was deleted: it holds no entry any more, and entries no other room holds are removed. */
  forgetRoom(room: string): Promise<number>;
  stats(): ShotCacheStats | Promise<ShotCacheStats>;
  flush(): Promise<void>;
}

export class ShotCache implements ShotStore {
  readonly #entries = new Map<string, CachedShot>();
  #bytes = 0;
  #saving: Promise<void> = Promise.resolve();
  #dirty = false;
  hits = 0;
  misses = 0;

  private constructor(
    readonly dir: string,
    readonly maxBytes: number,
  ) {}

  static async open(dir: string, maxBytes: number): Promise<ShotCache> {
    await mkdir(dir, { recursive: true });
    const cache = new ShotCache(dir, maxBytes);
    let saved: CachedShot[] = [];
    try {
      saved = (JSON.parse(await readFile(path.join(dir, 'index.json'), 'utf8')) as { entries: CachedShot[] }).entries;
    } catch {
      // No index yet, or a damaged one: start empty (segments without an entry are overwritten later).
    }
    for (const entry of saved.sort((a, b) => a.lastUsed - b.lastUsed)) {
      const size = await stat(cache.file(entry.key)).then((s) => s.size, () => -1);
      if (size !== entry.bytes) continue;
      cache.#entries.set(entry.key, entry);
      cache.#bytes += entry.bytes;
    }
    return cache;
  }

  file(key: string): string {
    return path.join(this.dir, `${key}.mp4`);
  }

  /** A temporary path in the cache folder for a segment being encoded (same disk: rename is atomic). */
  tempFile(): string {
    return path.join(this.dir, `tmp-${randomUUID()}.mp4`);
  }

  async get(key: string, room?: string): Promise<CachedShot | null> {
    const entry = this.#entries.get(key);
    if (!entry) {
      this.misses++;
      return null;
    }
    this.hits++;
    entry.lastUsed = Date.now();
    const rooms = withOwner(entry.rooms, room);
    if (rooms) entry.rooms = rooms;
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    this.#save();
    return entry;
  }

  async put(key: string, tempFile: string, frames: number, room?: string): Promise<CachedShot> {
    const bytes = (await stat(tempFile)).size;
    await rename(tempFile, this.file(key));
    const old = this.#entries.get(key);
    if (old) this.#bytes -= old.bytes;
    const entry: CachedShot = { key, bytes, frames, lastUsed: Date.now() };
    const rooms = withOwner(old?.rooms, room);
    if (rooms) entry.rooms = rooms;
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    this.#bytes += bytes;
    const evicted: string[] = [];
    for (const [oldKey, e] of this.#entries) {
      if (this.#bytes <= this.maxBytes || oldKey === key) break;
      this.#entries.delete(oldKey);
      this.#bytes -= e.bytes;
      evicted.push(oldKey);
    }
    await Promise.all(evicted.map((k) => rm(this.file(k), { force: true })));
    this.#save();
    return entry;
  }

  async forgetRoom(room: string): Promise<number> {
    let removed = 0;
    for (const [key, entry] of [...this.#entries]) {
      if (!entry.rooms?.includes(room)) continue;
      entry.rooms = entry.rooms.filter((r) => r !== room);
      if (entry.rooms.length > 0) continue;
      this.#entries.delete(key);
      this.#bytes -= entry.bytes;
      await rm(this.file(key), { force: true });
      removed++;
    }
    this.#save();
    return removed;
  }

  stats(): ShotCacheStats {
    return { hits: this.hits, misses: this.misses, bytes: this.#bytes, entries: this.#entries.size };
  }

  #save(): void {
    if (this.#dirty) return;
    this.#dirty = true;
    this.#saving = this.#saving.then(async () => {
      this.#dirty = false;
      const tmp = path.join(this.dir, `index.json.${process.pid}.tmp`);
      await writeFile(tmp, JSON.stringify({ entries: [...this.#entries.values()] }));
      await rename(tmp, path.join(this.dir, 'index.json'));
    }).catch(() => {});
  }

  /** Waits until the index is written. */
  flush(): Promise<void> {
    return this.#saving;
  }
}
