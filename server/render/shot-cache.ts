/**
 * The embedded ShotStore (ports/shot-store.ts): segments in a blob store, the index a JSON file
 * in `dir`, rewritten (atomically) after changes.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { LocalBlobStore } from '../embedded/local-blob-store.js';
import type { BlobStore } from '../ports/blob-store.js';
import { LookupCounts, segmentKey, withOwner, type CachedShot, type ShotCacheStats, type ShotStore } from '../ports/shot-store.js';

export class ShotCache implements ShotStore {
  readonly #entries = new Map<string, CachedShot>();
  #bytes = 0;
  #saving: Promise<void> = Promise.resolve();
  #dirty = false;
  readonly #counts = new LookupCounts();

  private constructor(
    readonly dir: string,
    private readonly blobs: BlobStore,
    readonly maxBytes: number,
  ) {}

  /** The index and the segments in one folder (the CLI, benchmarks). */
  static openFolder(dir: string, maxBytes: number): Promise<ShotCache> {
    return ShotCache.open(dir, new LocalBlobStore(dir), maxBytes);
  }

  /** The index lives in `dir`; the segments in `blobs`. */
  static async open(dir: string, blobs: BlobStore, maxBytes: number): Promise<ShotCache> {
    await mkdir(dir, { recursive: true });
    const cache = new ShotCache(dir, blobs, maxBytes);
    let saved: CachedShot[] = [];
    try {
      saved = (JSON.parse(await readFile(path.join(dir, 'index.json'), 'utf8')) as { entries: CachedShot[] }).entries;
    } catch {
      // No index yet, or a damaged one: start empty (segments without an entry are overwritten later).
    }
    for (const entry of saved.sort((a, b) => a.lastUsed - b.lastUsed)) {
      const size = (await blobs.size(segmentKey(entry.key))) ?? -1;
      if (size !== entry.bytes) continue;
      cache.#entries.set(entry.key, entry);
      cache.#bytes += entry.bytes;
    }
    return cache;
  }

  segment(key: string): Promise<string | null> {
    return this.#entries.has(key) ? this.blobs.local(segmentKey(key)) : Promise.resolve(null);
  }

  scratch(): Promise<string> {
    return this.blobs.scratch('.mp4');
  }

  async get(key: string, room?: string): Promise<CachedShot | null> {
    const found = this.#entries.get(key);
    if (!found) return this.#counts.miss();
    const entry = this.#counts.hit(found, room);
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    this.#save();
    return entry;
  }

  async put(key: string, file: string, frames: number, room?: string, notes?: string[]): Promise<CachedShot> {
    const bytes = await this.blobs.put(segmentKey(key), file);
    const old = this.#entries.get(key);
    if (old) this.#bytes -= old.bytes;
    const entry: CachedShot = { key, bytes, frames, lastUsed: Date.now() };
    const rooms = withOwner(old?.rooms, room);
    if (rooms) entry.rooms = rooms;
    if (notes && notes.length > 0) entry.notes = notes;
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
    await Promise.all(evicted.map((k) => this.blobs.delete(segmentKey(k))));
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
      await this.blobs.delete(segmentKey(key));
      removed++;
    }
    this.#save();
    return removed;
  }

  stats(): ShotCacheStats {
    return { hits: this.#counts.hits, misses: this.#counts.misses, bytes: this.#bytes, entries: this.#entries.size };
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

  flush(): Promise<void> {
    return this.#saving;
  }
}
