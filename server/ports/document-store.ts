/**
 * Where Yjs updates are kept. The embedded mode writes files (collab/store/file-document-store.ts);
 * the scale-out mode keeps a Redis stream per room plus snapshots (scale/redis-document-store.ts;
 * its appends need the room's directory entry: a deleted room's late edits are refused).
 *
 * Contract (test/contracts/document-store.test.ts): `append` resolves once the update is durable
 * (the promise is what "acknowledged" means: the room fans an update out only after it
 * resolves). Updates are idempotent Yjs updates, so replaying one twice after a crash is
 * harmless, and a load may return updates a snapshot already covers.
 */
export interface StoredDocument {
  /** Snapshot first (if any), then the logged updates in order. */
  updates: Uint8Array[];
  /** Bytes read, for metrics and compaction decisions. */
  bytes: number;
  /** Bytes of an interrupted last write that were set aside while loading (never acknowledged). */
  repairedBytes: number;
}

export interface DocumentStore {
  /** Creates a room's storage with its first state. */
  create(room: string, state: Uint8Array): Promise<void>;
  /** Reads a room; throws ScenecastError('ROOM_STORAGE_ERROR') when it cannot be read whole. */
  load(room: string): Promise<StoredDocument>;
  /** Appends one update; resolves when durable, rejects when it cannot be stored. */
  append(room: string, update: Uint8Array): Promise<void>;
  /** Bytes logged since the last snapshot. */
  logBytes(room: string): number;
  /**
   * Replaces the log with a snapshot. `state` is called synchronously at the moment new appends
   * start going to a fresh log, so the snapshot covers exactly what was logged before.
   * Resolves true when it compacted, false when it did nothing (another process holds the room's compaction).
   */
  compact(room: string, state: () => Uint8Array): Promise<boolean>;
  /** Flushes and closes a room's files (after the room is unloaded). */
  release(room: string): Promise<void>;
  /**
   * Removes everything stored of a room that was deleted (its directory entry is already gone, so
   * nothing loads it again): logs, snapshots, streams. Resolves once it is gone.
   */
  destroy(room: string): Promise<void>;
  /**
   * Updates appended by OTHER processes to a loaded room, in order (scale-out). `onError` hears
   * when the store lost track (a reconnect): the room must reload. Embedded stores have no others.
   */
  watch?(room: string, onUpdate: (update: Uint8Array) => void, onError: (error: Error) => void): () => void;
  close(): Promise<void>;
}
