/**
 * Where scale-out keeps a room's compacted document, with the stream id it covers (the stream
 * entries after it are the rest of the room). PostgreSQL (DATABASE_URL) or blobs (BLOB_DIR):
 * scale/snapshot-store.ts. Contract: test/contracts/snapshot-store.test.ts.
 */
export interface Snapshot {
  state: Uint8Array;
  /** Redis stream id ("ms-seq") of the last update the state includes; "0-0" for none. */
  streamId: string;
}

export interface SnapshotStore {
  get(room: string): Promise<Snapshot | null>;
  /** Only the stream id of the stored snapshot (null when there is none): cheaper than `get`. */
  streamId(room: string): Promise<string | null>;
  /** Stores it unless the stored one is as new or newer; says whether it was stored. */
  put(room: string, snapshot: Snapshot): Promise<boolean>;
  /** Removes the room's snapshot (the room was deleted). */
  delete(room: string): Promise<void>;
  /** Throws when the store cannot be reached (health check). */
  check(): Promise<void>;
  close(): Promise<void>;
}
