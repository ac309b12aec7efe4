/**
 * Caches shared by every process of a cluster:
 *  - shots: encoded segments in the blob folder (a directory all workers and nodes share; the
 *    seam for object storage), their index in Redis (size, frames, last use) with LRU eviction;
 *  - previews: the newest complete preview of each shot of a room (JPEG frames), in a Redis hash
 *    per room with a TTL, so late joiners on any node get them.
 */
import type { CachedPreview, PreviewStore } from '../ports/preview-store.js';
import type { BlobStore } from '../ports/blob-store.js';
import { LookupCounts, segmentKey, withOwner, type CachedShot, type ShotCacheStats, type ShotStore } from '../ports/shot-store.js';
import { guard, type RedisClients } from './redis-clients.js';
import { decodePreview, encodePreview } from './redis-encoding.js';

export class RedisShotStore implements ShotStore {
  readonly #counts = new LookupCounts();

  /** The index in Redis under `namespace`; the segments in `blobs` (shared by every process). */
  constructor(
    private readonly redis: RedisClients,
    private readonly blobs: BlobStore,
    private readonly maxBytes: number,
    private readonly namespace = 'shots',
  ) {}

  segment(key: string): Promise<string | null> {
    return this.blobs.local(segmentKey(key));
  }

  scratch(): Promise<string> {
    return this.blobs.scratch('.mp4');
  }

  /** The keys a room holds (for forgetRoom). */
  #roomKeys(room: string): string {
    return this.redis.key(this.namespace, 'room', room);
  }

  async get(key: string, room?: string): Promise<CachedShot | null> {
    const raw = await guard(this.redis.commands.hget(this.redis.key(this.namespace), key));
    const stored = raw ? (JSON.parse(raw) as CachedShot) : null;
    // The index and the folder can disagree after a crash: trust only both.
    if (!stored || (await this.blobs.size(segmentKey(key))) !== stored.bytes) return this.#counts.miss();
    const newHolder = room !== undefined && !stored.rooms?.includes(room);
    const entry = this.#counts.hit(stored, room);
    const write = this.redis.commands.multi().zadd(this.redis.key(this.namespace, 'lru'), entry.lastUsed, key);
    if (newHolder) write.hset(this.redis.key(this.namespace), key, JSON.stringify(entry)).sadd(this.#roomKeys(room), key);
    await guard(write.exec());
    return entry;
  }

  async put(key: string, file: string, frames: number, room?: string, notes?: string[]): Promise<CachedShot> {
    const bytes = await this.blobs.put(segmentKey(key), file);
    const previousRaw = await guard(this.redis.commands.hget(this.redis.key(this.namespace), key));
    const previous = previousRaw ? (JSON.parse(previousRaw) as CachedShot) : null;
    const entry: CachedShot = { key, bytes, frames, lastUsed: Date.now() };
    const rooms = withOwner(previous?.rooms, room);
    if (rooms) entry.rooms = rooms;
    if (notes && notes.length > 0) entry.notes = notes;
    const delta = bytes - (previous?.bytes ?? 0);
    const write = this.redis.commands
      .multi()
      .hset(this.redis.key(this.namespace), key, JSON.stringify(entry))
      .zadd(this.redis.key(this.namespace, 'lru'), entry.lastUsed, key)
      .incrby(this.redis.key(this.namespace, 'bytes'), delta);
    if (room !== undefined) write.sadd(this.#roomKeys(room), key);
    const total = Number((await guard(write.exec()))![2]![1]);
    if (total > this.maxBytes) await this.#evict(total, key);
    return entry;
  }

  async forgetRoom(room: string): Promise<number> {
    let removed = 0;
    for (const key of await guard(this.redis.commands.smembers(this.#roomKeys(room)))) {
      const raw = await guard(this.redis.commands.hget(this.redis.key(this.namespace), key));
      if (!raw) continue;
      const entry = JSON.parse(raw) as CachedShot;
      entry.rooms = (entry.rooms ?? []).filter((r) => r !== room);
      if (entry.rooms.length > 0) {
        await guard(this.redis.commands.hset(this.redis.key(this.namespace), key, JSON.stringify(entry)));
        continue;
      }
      await guard(this.redis.commands.multi().zrem(this.redis.key(this.namespace, 'lru'), key).hdel(this.redis.key(this.namespace), key).decrby(this.redis.key(this.namespace, 'bytes'), entry.bytes).exec());
      await this.blobs.delete(segmentKey(key));
      removed++;
    }
    await guard(this.redis.commands.del(this.#roomKeys(room)));
    return removed;
  }

  async #evict(total: number, keep: string): Promise<void> {
    while (total > this.maxBytes) {
      const [oldest] = await guard(this.redis.commands.zrange(this.redis.key(this.namespace, 'lru'), '0', '0'));
      if (!oldest || oldest === keep) return;
      const raw = await guard(this.redis.commands.hget(this.redis.key(this.namespace), oldest));
      const bytes = raw ? (JSON.parse(raw) as CachedShot).bytes : 0;
      await guard(this.redis.commands.multi().zrem(this.redis.key(this.namespace, 'lru'), oldest).hdel(this.redis.key(this.namespace), oldest).decrby(this.redis.key(this.namespace, 'bytes'), bytes).exec());
      await this.blobs.delete(segmentKey(oldest));
      total -= bytes;
    }
  }

  async stats(): Promise<ShotCacheStats> {
    const [bytes, entries] = await Promise.all([this.redis.commands.get(this.redis.key(this.namespace, 'bytes')), this.redis.commands.hlen(this.redis.key(this.namespace))]);
    return { hits: this.#counts.hits, misses: this.#counts.misses, bytes: Number(bytes ?? 0), entries };
  }

  async flush(): Promise<void> {}
}

/** Bytes of the content key in front of a stored tail (keys are 32 hex digits). */
const TAIL_KEY_BYTES = 64;

export class RedisPreviewStore implements PreviewStore {
  /** Seconds a room's previews are kept after their last change. */
  constructor(
    private readonly redis: RedisClients,
    private readonly ttlSeconds = 24 * 3600,
  ) {}

  #key(room: string): string {
    return this.redis.key('previews', room);
  }

  /** Tails apart from the frames (`<prefix>previews-tail:<room>`, per shot: its key, then the floats), so reading one reads no frames. */
  #tails(room: string): string {
    return this.redis.key('previews-tail', room);
  }

  async get(room: string): Promise<CachedPreview[]> {
    const all = await guard(this.redis.commands.hgetallBuffer(this.#key(room)));
    return Object.values(all).map(decodePreview);
  }

  async set(room: string, preview: CachedPreview): Promise<void> {
    const write = this.redis.commands.multi().hset(this.#key(room), preview.shot, encodePreview(preview)).expire(this.#key(room), this.ttlSeconds);
    if (preview.tail) {
      const { tail } = preview;
      write.hset(this.#tails(room), preview.shot, Buffer.concat([Buffer.from(preview.key.padEnd(TAIL_KEY_BYTES).slice(0, TAIL_KEY_BYTES)), Buffer.from(tail.buffer, tail.byteOffset, tail.byteLength)]));
    } else write.hdel(this.#tails(room), preview.shot);
    await guard(write.expire(this.#tails(room), this.ttlSeconds).exec());
  }

  async retain(room: string, shotIds: Set<string>): Promise<void> {
    const fields = await guard(this.redis.commands.hkeys(this.#key(room)));
    const gone = fields.filter((f) => !shotIds.has(f));
    if (gone.length > 0) await guard(this.redis.commands.multi().hdel(this.#key(room), ...gone).hdel(this.#tails(room), ...gone).exec());
  }

  async tail(room: string, shot: string, key: string): Promise<Float32Array | null> {
    const body = await guard(this.redis.commands.hgetBuffer(this.#tails(room), shot));
    if (!body || body.length <= TAIL_KEY_BYTES || body.subarray(0, TAIL_KEY_BYTES).toString().trimEnd() !== key) return null;
    const floats = body.subarray(TAIL_KEY_BYTES);
    return new Float32Array(floats.buffer.slice(floats.byteOffset, floats.byteOffset + floats.length));
  }
}
