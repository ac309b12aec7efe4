/**
 * Keeps loaded rooms in memory while they are used. A room is loaded on first use (concurrent
 * users share one load), unloaded after `idleMs` without users (compacted to a snapshot first),
 * and at most `maxLoaded` rooms are held: the least recently used idle room makes way, else the
 * caller gets ROOMS_AT_CAPACITY. A room that fails to load or store is dropped whole.
 */
import type { FastifyBaseLogger } from 'fastify';
import { ScenecastError } from '../../shared/errors.js';
import type { Metrics } from '../metrics.js';
import type { RoomDirectory } from '../ports/room-directory.js';
import { Room, type RoomDeps } from './room.js';

export interface RoomManagerOptions extends RoomDeps {
  directory: RoomDirectory;
  maxLoaded: number;
  idleMs: number;
}

interface Entry {
  room: Room;
  users: number;
  lastUsed: number;
  idleTimer: NodeJS.Timeout | null;
}

export class RoomManager {
  readonly #options: RoomManagerOptions;
  readonly #entries = new Map<string, Entry>();
  readonly #loading = new Map<string, Promise<Room>>();
  readonly #unloading = new Map<string, Promise<void>>();
  readonly #loadedListeners = new Set<(room: Room) => void>();
  #closed = false;

  constructor(options: RoomManagerOptions) {
    this.#options = options;
  }

  get metrics(): Metrics {
    return this.#options.metrics;
  }

  get loadedCount(): number {
    return this.#entries.size;
  }

  /** Called for every room once it is loaded (the preview scheduler subscribes here). */
  onLoaded(listener: (room: Room) => void): () => void {
    this.#loadedListeners.add(listener);
    return () => this.#loadedListeners.delete(listener);
  }

  /** The loaded room, if it is in memory (no load, no use count: tests and diagnostics). */
  peek(id: string): Room | undefined {
    return this.#entries.get(id)?.room;
  }

  /** Loads (or finds) a room and counts one user; pair with release(). */
  async acquire(id: string): Promise<Room> {
    if (this.#closed) throw new ScenecastError('SHUTTING_DOWN');
    const entry = this.#entries.get(id);
    if (entry) return this.#use(entry);
    const loading = this.#loading.get(id) ?? this.#load(id);
    const room = await loading;
    const loaded = this.#entries.get(id);
    if (!loaded || loaded.room !== room) return this.acquire(id);
    return this.#use(loaded);
  }

  release(room: Room): void {
    const entry = this.#entries.get(room.id);
    if (!entry || entry.room !== room) return;
    entry.users = Math.max(0, entry.users - 1);
    entry.lastUsed = performance.now();
    if (entry.users === 0 && !entry.idleTimer) {
      entry.idleTimer = setTimeout(() => void this.unload(room.id, 'idle'), this.#options.idleMs);
      entry.idleTimer.unref();
    }
  }

  /** Runs `fn` with the room held, loading it if needed. */
  async with<T>(id: string, fn: (room: Room) => T | Promise<T>): Promise<T> {
    const room = await this.acquire(id);
    try {
      return await fn(room);
    } finally {
      this.release(room);
    }
  }

  #use(entry: Entry): Room {
    entry.users += 1;
    entry.lastUsed = performance.now();
    if (entry.idleTimer) {
      clearTimeout(entry.idleTimer);
      entry.idleTimer = null;
    }
    return entry.room;
  }

  #load(id: string): Promise<Room> {
    const { metrics, log, directory } = this.#options;
    const job = (async () => {
      await this.#unloading.get(id);
      if (!(await directory.get(id))) throw new ScenecastError('ROOM_NOT_FOUND', `No room "${id}"`);
      this.#makeRoom();
      const room = await Room.open(id, this.#options);
      room.once('failed', () => void this.unload(id, 'failed'));
      this.#entries.set(id, { room, users: 0, lastUsed: performance.now(), idleTimer: null });
      metrics.roomsLoaded.set(this.#entries.size);
      metrics.roomLoads.inc({ outcome: 'ok' });
      for (const listener of this.#loadedListeners) listener(room);
      return room;
    })();
    this.#loading.set(id, job);
    job.then(
      () => this.#loading.delete(id),
      (error: unknown) => {
        this.#loading.delete(id);
        const code = error instanceof ScenecastError ? error.code : 'INTERNAL';
        metrics.roomLoads.inc({ outcome: code });
        if (code === 'ROOM_STORAGE_ERROR') log.error({ room: id, err: error }, 'room could not be loaded');
      },
    );
    return job;
  }

  /** Frees a slot for one more room, or throws ROOMS_AT_CAPACITY. */
  #makeRoom(): void {
    if (this.#entries.size + this.#loading.size <= this.#options.maxLoaded) return;
    let victim: Entry | undefined;
    for (const entry of this.#entries.values()) {
      if (entry.users === 0 && (!victim || entry.lastUsed < victim.lastUsed)) victim = entry;
    }
    if (!victim) throw new ScenecastError('ROOMS_AT_CAPACITY');
    void this.unload(victim.room.id, 'capacity');
  }

  /** Takes a room out of memory (compacting it first unless it failed). */
  unload(id: string, reason: string): Promise<void> {
    const entry = this.#entries.get(id);
    if (!entry) return this.#unloading.get(id) ?? Promise.resolve();
    this.#entries.delete(id);
    if (entry.idleTimer) clearTimeout(entry.idleTimer);
    this.#options.metrics.roomsLoaded.set(this.#entries.size);
    this.#options.metrics.roomUnloads.inc({ reason });
    const job = entry.room
      .unload()
      .catch((error: unknown) => this.#options.log.error({ room: id, err: error }, 'unload failed'))
      .finally(() => this.#unloading.delete(id));
    this.#unloading.set(id, job);
    return job;
  }

  /** Takes a deleted room out of memory without compacting it; its peers are closed with `code`/`reason`. */
  async discard(id: string, code: number, reason: string): Promise<void> {
    await this.#loading.get(id)?.catch(() => {});
    const entry = this.#entries.get(id);
    if (!entry) return this.#unloading.get(id) ?? Promise.resolve();
    this.#entries.delete(id);
    if (entry.idleTimer) clearTimeout(entry.idleTimer);
    this.#options.metrics.roomsLoaded.set(this.#entries.size);
    this.#options.metrics.roomUnloads.inc({ reason: 'deleted' });
    const job = entry.room.discard(code, reason).finally(() => this.#unloading.delete(id));
    this.#unloading.set(id, job);
    return job;
  }

  /** Ids of the rooms in memory. */
  get loadedIds(): string[] {
    return [...this.#entries.keys()];
  }

  async close(): Promise<void> {
    this.#closed = true;
    await Promise.allSettled([...this.#loading.values()]);
    await Promise.all([...this.#entries.keys()].map((id) => this.unload(id, 'shutdown')));
    await Promise.all([...this.#unloading.values()]);
  }
}
