/**
 * Scale-out document store, in the manner of y-redis: each room's updates go to a Redis stream
 * (`<prefix>doc:<room>`), entries `u` = the update, `n` = the node that accepted it. An update is
 * acknowledged once XADD returns, so it is in Redis before any client sees it. Every node reads
 * the streams of the rooms it holds (one blocking XREAD over all of them) and applies the entries
 * of other nodes. Compaction (one node at a time per room, under a Redis lock) writes the merged
 * state to the snapshot store with the stream id it covers, then trims the stream below that id,
 * but never entries younger than `minLifetimeMs` (by Redis' clock, as y-redis does): another node
 * may not have read them yet. A node that could not read a room's stream for half that long (a
 * stall, a pause) may have missed trimmed entries: it reports the room lost (`onError`) and the
 * room reloads. A node loading a room reads the snapshot plus the stream after its id, and reads
 * again if a compaction replaced the snapshot meanwhile (its trim may have taken what it read from).
 */
import type { Redis } from 'ioredis';
import { ScenecastError } from '../../shared/errors.js';
import type { DocumentStore, StoredDocument } from '../ports/document-store.js';
import { guard, type RedisClients } from './redis-clients.js';
import type { Snapshot, SnapshotStore } from '../ports/snapshot-store.js';
import { compareStreamIds } from './snapshot-store.js';

interface Watched {
  /** Id of the last entry delivered (or read at load). */
  lastId: string;
  /** When (performance.now()) the last read that covered this room was sent: nothing it could miss was trimmed before. */
  readSentAt: number;
  /** Stream id the latest snapshot this node knows of covers (what it may trim below). */
  covered: string;
  onUpdate: (update: Uint8Array) => void;
  onError: (error: Error) => void;
}

type StreamEntries = [id: string, fields: (string | Buffer)[]][];

/** XADD only while the room's directory entry (KEYS[2]) exists; nil otherwise. */
const APPEND = `if redis.call('exists', KEYS[2]) == 0 then return false end
return redis.call('xadd', KEYS[1], '*', 'u', ARGV[1], 'n', ARGV[2])`;

/** Drops a lock only if we hold it. */
const RELEASE_LOCK = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";

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
    private readonly options: { minLifetimeMs: number } = { minLifetimeMs: 60_000 },
  ) {}

  #stream(room: string): string {
    return this.redis.key('doc', room);
  }

  async create(room: string, state: Uint8Array): Promise<void> {
    await this.snapshots.put(room, { state, streamId: '0-1' });
  }

  #fromSnapshots<T>(room: string, read: Promise<T>): Promise<T> {
    return read.catch((error: Error) => {
      throw new ScenecastError('ROOM_STORAGE_ERROR', `room ${room}: the snapshot store failed: ${error.message}`);
    });
  }

  async load(room: string): Promise<StoredDocument> {
    let snapshot: Snapshot | null = null;
    let entries: StreamEntries = [];
    let readSentAt = 0;
    for (let attempt = 1; ; attempt++) {
      snapshot = await this.#fromSnapshots(room, this.snapshots.get(room));
      readSentAt = performance.now();
      entries = (await guard(this.redis.commands.xrangeBuffer(this.#stream(room), `(${snapshot?.streamId ?? '0-0'}`, '+'))) as unknown as StreamEntries;
      // A compaction stores its snapshot before it trims: the same snapshot id afterwards means nothing we read from was trimmed.
      if ((await this.#fromSnapshots(room, this.snapshots.streamId(room))) === (snapshot?.streamId ?? null)) break;
      if (attempt === 5) throw new ScenecastError('ROOM_STORAGE_ERROR', `room ${room}: compactions kept replacing the snapshot while it loaded`);
    }
    const after = snapshot?.streamId ?? '0-0';
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
    this.#watched.set(room, { lastId, readSentAt, covered: after, onUpdate: () => {}, onError: () => {} });
    this.#bytes.set(room, bytes);
    return { updates, bytes, repairedBytes: 0 };
  }

  async append(room: string, update: Uint8Array): Promise<void> {
    // Only while the room exists: an edit racing the room's deletion must not bring its stream back.
    const id = await guard(this.redis.commands.eval(APPEND, 2, this.#stream(room), this.redis.key('room', room), Buffer.from(update), this.redis.nodeId));
    if (id === null) throw new ScenecastError('ROOM_DELETED', `room ${room} was deleted`);
    this.#bytes.set(room, (this.#bytes.get(room) ?? 0) + update.length);
  }

  async destroy(room: string): Promise<void> {
    await this.release(room);
    // Under the compaction lock, so a compaction that began before the deletion cannot store its snapshot after it.
    const lock = this.redis.key('lock', 'compact', room);
    const token = `${this.redis.nodeId}:destroy:${Date.now()}`;
    for (let i = 0; (await guard(this.redis.commands.set(lock, token, 'PX', 30_000, 'NX'))) !== 'OK'; i++) {
      if (i >= 300) break; // a stuck lock expires within 30 s anyway
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    try {
      await guard(this.redis.commands.del(this.#stream(room)));
      await this.#fromSnapshots(room, this.snapshots.delete(room));
    } finally {
      await this.redis.commands.eval(RELEASE_LOCK, 1, lock, token).catch(() => {});
    }
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

  /**
   * Whether entries this room's reader has not seen could have been trimmed: only entries older
   * than `minLifetimeMs` are, so a reader is safe while its reads follow each other more closely
   * than that (half of it, for clock drift and the time a reply takes).
   */
  #mayHaveMissed(watched: Watched, now: number): boolean {
    return now - watched.readSentAt > this.options.minLifetimeMs / 2;
  }

  #lost(room: string, watched: Watched, why: string): void {
    this.#watched.delete(room);
    watched.onError(new ScenecastError('STORE_UNAVAILABLE', `lost the Redis stream of ${room}: ${why}`));
  }

  /** One blocking XREAD over every watched stream; rooms added meanwhile join within one block (100 ms). */
  async #readLoop(): Promise<void> {
    this.#reading = true;
    const client: Redis = this.redis.blocking;
    while (!this.#closed && this.#watched.size > 0) {
      const rooms = [...this.#watched.keys()];
      const ids = rooms.map((r) => this.#watched.get(r)!.lastId);
      const sentAt = performance.now();
      let result: [Buffer, StreamEntries][] | null;
      try {
        result = (await client.xreadBuffer('BLOCK', 100, 'STREAMS', ...rooms.map((r) => this.#stream(r)), ...ids)) as unknown as [Buffer, StreamEntries][] | null;
      } catch (error) {
        if (this.#closed) break;
        // The connection broke: updates may have been missed. Every room reloads from Redis.
        for (const room of rooms) {
          const watched = this.#watched.get(room);
          if (watched) this.#lost(room, watched, (error as Error).message);
        }
        await new Promise((r) => setTimeout(r, 100));
        continue;
      }
      // A reader that was away too long (this process paused, its event loop stalled) reloads those rooms.
      const now = performance.now();
      for (const room of rooms) {
        const watched = this.#watched.get(room);
        if (!watched) continue;
        if (this.#mayHaveMissed(watched, now)) this.#lost(room, watched, `not read for ${Math.round(now - watched.readSentAt)} ms: entries may have been trimmed`);
        else watched.readSentAt = sentAt;
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
      if (!(await guard(this.redis.commands.exists(this.redis.key('room', room))))) return false; // deleted meanwhile
      // The state covers every entry up to the last one this node read (its own included).
      const streamId = watched.lastId;
      const snapshot = { state: state(), streamId };
      await this.snapshots.put(room, snapshot);
      const stored = await this.snapshots.get(room);
      if (stored) {
        // What the stored snapshot covers (never more: a newer snapshot of another node may be ahead).
        if (compareStreamIds(stored.streamId, watched.covered) > 0) watched.covered = stored.streamId;
        await this.#trim(room, watched.covered);
      }
      this.#bytes.set(room, Math.max(0, (this.#bytes.get(room) ?? 0) - counted));
      return true;
    } finally {
      // Release only our own lock.
      await this.redis.commands.eval(RELEASE_LOCK, 1, lock, token).catch(() => {});
    }
  }

  /** Trims entries a snapshot covers and that are older than `minLifetimeMs` by Redis' clock. */
  async #trim(room: string, covered: string): Promise<void> {
    if (compareStreamIds(covered, '0-1') <= 0) return;
    const [seconds, micros] = await guard(this.redis.commands.time());
    const cutoff = `${Math.max(0, Number(seconds) * 1000 + Math.floor(Number(micros) / 1000) - this.options.minLifetimeMs)}-0`;
    const below = compareStreamIds(covered, cutoff) < 0 ? covered : cutoff;
    await guard(this.redis.commands.xtrim(this.#stream(room), 'MINID', below));
  }

  /** Lets go of a room (after its last compaction), trimming what has aged out of its stream since. */
  async release(room: string): Promise<void> {
    const watched = this.#watched.get(room);
    this.#watched.delete(room);
    this.#bytes.delete(room);
    if (watched) await this.#trim(room, watched.covered).catch(() => {});
  }

  /** Entries waiting in a room's stream (metrics). */
  async streamLength(room: string): Promise<number> {
    return guard(this.redis.commands.xlen(this.#stream(room)));
  }

  /** The rooms whose streams this node reads (metrics). */
  get loadedRooms(): string[] {
    return Array.from(this.#watched.keys());
  }

  /** Stops the reader; the rooms were released before (their last trims ran there). */
  async close(): Promise<void> {
    this.#closed = true;
    this.#watched.clear();
    this.#bytes.clear();
  }
}
