/**
 * Scale-out document store, in the manner of y-redis: each room's updates go to a Redis stream
 * (`<prefix>doc:<room>`), entries `u` = the update, `n` = the node that accepted it. An update is
 * acknowledged once XADD returns, so it is in Redis before any client sees it. Every node reads
 * the streams of the rooms it holds (one blocking XREAD over all of them) and applies the entries
 * of other nodes. Compaction (one node at a time per room, under a Redis lock) writes the merged
 * state to the snapshot store with the stream id it covers, then trims the stream below that id.
 * A node loading a room reads the snapshot plus the stream after its id.
 */
import type { Redis } from 'ioredis';
import { ScenecastError } from '../../shared/errors.js';
import type { DocumentStore, StoredDocument } from '../collab/store/document-store.js';
import { guard, type RedisClients } from './redis-clients.js';
import { compareStreamIds, type SnapshotStore } from './snapshot-store.js';

interface Watched {
  /** Id of the last entry delivered (or read at load). */
  lastId: string;
  onUpdate: (update: Uint8Array) => void;
  onError: (error: Error) => void;
}

type StreamEntries = [id: string, fields: (string | Buffer)[]][];

const fieldsOf = (fields: (string | Buffer)[]): Map<string, Buffer> => {
  const map = new Map<string, Buffer>();
  for (let i = 0; i + 1 < fields.length; i += 2) map.set(String(fields[i]), Buffer.from(fields[i + 1]!));
  return map;
};

export class RedisDocumentStore implements DocumentStore {
  readonly #watched = new Map<string, Watched>();
  /** Bytes in each loaded room's stream since its snapshot (as far as this node knows). */
  readonly #bytes = new Map<string, number>();
  #reading = false;
  #closed = false;

  constructor(
    private readonly redis: RedisClients,
    private readonly snapshots: SnapshotStore,
  ) {}

  #stream(room: string): string {
    return this.redis.key('doc', room);
  }

  async create(room: string, state: Uint8Array): Promise<void> {
    await this.snapshots.put(room, { state, streamId: '0-1' });
  }

  async load(room: string): Promise<StoredDocument> {
    const snapshot = await this.snapshots.get(room).catch((error: Error) => {
      throw new ScenecastError('ROOM_STORAGE_ERROR', `room ${room}: the snapshot store failed: ${error.message}`);
    });
    const after = snapshot?.streamId ?? '0-0';
    const entries = (await guard(this.redis.commands.xrangeBuffer(this.#stream(room), `(${after}`, '+'))) as unknown as StreamEntries;
    const updates: Uint8Array[] = snapshot ? [snapshot.state] : [];
    let bytes = 0;
    for (const [, fields] of entries) {
      const u = fieldsOf(fields).get('u');
      if (!u) continue;
      updates.push(u);
      bytes += u.length;
    }
    if (updates.length === 0) throw new ScenecastError('ROOM_STORAGE_ERROR', `room ${room}: no snapshot and no updates`);
    const lastId = entries.length > 0 ? String(entries.at(-1)![0]) : after;
    this.#watched.set(room, { lastId, onUpdate: () => {}, onError: () => {} });
    this.#bytes.set(room, bytes);
    return { updates, bytes, repairedBytes: 0 };
  }

  async append(room: string, update: Uint8Array): Promise<void> {
    await guard(this.redis.commands.xadd(this.#stream(room), '*', 'u', Buffer.from(update), 'n', this.redis.nodeId));
    this.#bytes.set(room, (this.#bytes.get(room) ?? 0) + update.length);
  }

  logBytes(room: string): number {
    return this.#bytes.get(room) ?? 0;
  }

  watch(room: string, onUpdate: (update: Uint8Array) => void, onError: (error: Error) => void): () => void {
    const watched = this.#watched.get(room);
    if (!watched) throw new Error(`room ${room} is not loaded`);
    watched.onUpdate = onUpdate;
    watched.onError = onError;
    if (!this.#reading) void this.#readLoop();
    return () => this.#watched.delete(room);
  }

  /** One blocking XREAD over every watched stream; rooms added meanwhile join within one block (100 ms). */
  async #readLoop(): Promise<void> {
    this.#reading = true;
    const client: Redis = this.redis.blocking;
    while (!this.#closed && this.#watched.size > 0) {
      const rooms = [...this.#watched.keys()];
      const ids = rooms.map((r) => this.#watched.get(r)!.lastId);
      let result: [Buffer, StreamEntries][] | null;
      try {
        result = (await client.xreadBuffer('BLOCK', 100, 'STREAMS', ...rooms.map((r) => this.#stream(r)), ...ids)) as unknown as [Buffer, StreamEntries][] | null;
      } catch (error) {
        if (this.#closed) break;
        // The connection broke: updates may have been missed. Every room reloads from Redis.
        for (const room of rooms) this.#watched.get(room)?.onError(new ScenecastError('STORE_UNAVAILABLE', `lost the Redis stream of ${room}: ${(error as Error).message}`));
        await new Promise((r) => setTimeout(r, 100));
        continue;
      }
      for (const [key, entries] of result ?? []) {
        const room = String(key).slice(this.redis.key('doc', '').length);
        const watched = this.#watched.get(room);
        if (!watched) continue;
        for (const [id, fields] of entries) {
          watched.lastId = String(id);
          const map = fieldsOf(fields);
          const u = map.get('u');
          if (!u) continue;
          if (map.get('n')?.toString() === this.redis.nodeId) continue; // our own: already applied
          this.#bytes.set(room, (this.#bytes.get(room) ?? 0) + u.length);
          watched.onUpdate(u);
        }
      }
    }
    this.#reading = false;
  }

  async compact(room: string, state: () => Uint8Array): Promise<boolean> {
    const watched = this.#watched.get(room);
    if (!watched) return false;
    const lock = this.redis.key('lock', 'compact', room);
    const token = `${this.redis.nodeId}:${Date.now()}`;
    // What this compaction accounts for: updates appended or read while it runs stay counted, so a burst that
    // lands during a compaction triggers the next one (the room checks logBytes again afterwards).
    const counted = this.#bytes.get(room) ?? 0;
    if ((await guard(this.redis.commands.set(lock, token, 'PX', 30_000, 'NX'))) !== 'OK') return false; // another node is on it
    try {
      // The state covers every entry up to the last one this node read (its own included).
      const streamId = watched.lastId;
      const snapshot = { state: state(), streamId };
      await this.snapshots.put(room, snapshot);
      const stored = await this.snapshots.get(room);
      if (stored && compareStreamIds(stored.streamId, '0-1') > 0) {
        // Trim below what the stored snapshot covers (never below: a newer snapshot may be ahead).
        await guard(this.redis.commands.xtrim(this.#stream(room), 'MINID', stored.streamId));
      }
      this.#bytes.set(room, Math.max(0, (this.#bytes.get(room) ?? 0) - counted));
      return true;
    } finally {
      // Release only our own lock.
      await this.redis.commands
        .eval("if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end", 1, lock, token)
        .catch(() => {});
    }
  }

  async release(room: string): Promise<void> {
    this.#watched.delete(room);
    this.#bytes.delete(room);
  }

  /** Entries waiting in a room's stream (metrics). */
  async streamLength(room: string): Promise<number> {
    return guard(this.redis.commands.xlen(this.#stream(room)));
  }

  get loadedRooms(): string[] {
    return [...this.#watched.keys()];
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#watched.clear();
  }
}
