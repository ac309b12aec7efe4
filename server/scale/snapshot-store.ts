/**
 * Document snapshots of the scale-out mode: the whole Y.Doc state plus the id of the last Redis
 * stream entry it covers. A snapshot only ever replaces an older one (by stream id), so two nodes
 * compacting at once can never move the stored state backwards. PostgreSQL (DATABASE_URL) or a
 * shared folder.
 *
 * A snapshot file is a v2 frame file (frames.ts) of two frames: JSON {streamId}, then the state.
 * Files written in v1 before are still read (decodeFrames tells the formats apart); a node of an
 * older version reads a v2 file as damaged, so upgrade every node before the first new snapshot.
 */
import { readFile, rm, writeFile } from 'node:fs/promises';
import pg from 'pg';
import { decodeFrames, encodeFile } from '../collab/store/frames.js';
import type { BlobStore } from '../ports/blob-store.js';
import type { Snapshot, SnapshotStore } from '../ports/snapshot-store.js';



export function parseStreamId(id: string): [bigint, bigint] {
  const [ms, seq] = id.split('-');
  return [BigInt(ms ?? 0), BigInt(seq ?? 0)];
}

export function compareStreamIds(a: string, b: string): number {
  const [am, as] = parseStreamId(a);
  const [bm, bs] = parseStreamId(b);
  return am === bm ? Number(as - bs) : am < bm ? -1 : 1;
}

/** Snapshots as blobs (`<room>.snapshot`, frames.ts format: a JSON header, then the state): a shared folder today, an object store with another BlobStore. */
/** Runs each room's work one after another in this process. */
function inOrder(): <T>(room: string, fn: () => Promise<T>) => Promise<T> {
  const tails = new Map<string, Promise<unknown>>();
  return <T>(room: string, fn: () => Promise<T>): Promise<T> => {
    const run = (tails.get(room) ?? Promise.resolve()).catch(() => {}).then(fn);
    tails.set(room, run);
    void run.finally(() => tails.get(room) === run && tails.delete(room)).catch(() => {});
    return run;
  };
}

export class BlobSnapshotStore implements SnapshotStore {
  /**
   * `lock`: how one process at a time stores a room's snapshot (the read, compare and write of
   * `put` must not interleave with another node's, or an older snapshot could win): a Redis lock
   * in scale-out. Without it, only this process's own puts are kept in order.
   */
  constructor(
    private readonly blobs: BlobStore,
    private readonly lock: <T>(room: string, fn: () => Promise<T>) => Promise<T> = inOrder(),
  ) {}

  #key(room: string): string {
    return `${room}.snapshot`;
  }

  async get(room: string): Promise<Snapshot | null> {
    const file = await this.blobs.local(this.#key(room));
    if (!file) return null;
    let data: Buffer;
    try {
      data = await readFile(file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
    const reading = decodeFrames(data);
    if (reading.status !== 'ok' || reading.payloads.length !== 2) throw new Error(`snapshot of ${room} is damaged`);
    const header = JSON.parse(Buffer.from(reading.payloads[0]!).toString('utf8')) as { streamId: string };
    return { streamId: header.streamId, state: reading.payloads[1]! };
  }

  async streamId(room: string): Promise<string | null> {
    return (await this.get(room))?.streamId ?? null; // one small file: reading it whole costs no more than its header
  }

  async put(room: string, snapshot: Snapshot): Promise<boolean> {
    const tmp = await this.blobs.scratch('.snapshot');
    await writeFile(tmp, encodeFile([Buffer.from(JSON.stringify({ streamId: snapshot.streamId })), snapshot.state]), { flush: true });
    const stored = await this.lock(room, async () => {
      const current = await this.get(room);
      if (current && compareStreamIds(current.streamId, snapshot.streamId) >= 0) return false;
      await this.blobs.put(this.#key(room), tmp);
      return true;
    });
    if (!stored) await rm(tmp, { force: true });
    return stored;
  }

  async delete(room: string): Promise<void> {
    await this.blobs.delete(this.#key(room));
  }

  async check(): Promise<void> {
    await this.blobs.scratch(); // makes the scratch folder: the store is there and writable
  }

  async close(): Promise<void> {}
}

export class PostgresSnapshotStore implements SnapshotStore {
  readonly #pool: pg.Pool;
  #ready: Promise<void> | null = null;

  /** `namespace` keeps clusters (and tests) apart in one table: the Redis key prefix. */
  constructor(
    url: string,
    private readonly namespace: string,
  ) {
    this.#pool = new pg.Pool({ connectionString: url, max: 4, connectionTimeoutMillis: 3000 });
    this.#pool.on('error', () => {});
  }

  #init(): Promise<void> {
    this.#ready ??= this.#pool
      .query(
        `CREATE TABLE IF NOT EXISTS scenecast_snapshots (
           namespace text NOT NULL, room text NOT NULL,
           stream_ms bigint NOT NULL, stream_seq bigint NOT NULL,
           state bytea NOT NULL, updated_at timestamptz NOT NULL DEFAULT now(),
           PRIMARY KEY (namespace, room))`,
      )
      .then(() => undefined)
      .catch((error: unknown) => {
        this.#ready = null;
        throw error;
      });
    return this.#ready;
  }

  async get(room: string): Promise<Snapshot | null> {
    await this.#init();
    const { rows } = await this.#pool.query<{ stream_ms: string; stream_seq: string; state: Buffer }>(
      'SELECT stream_ms, stream_seq, state FROM scenecast_snapshots WHERE namespace = $1 AND room = $2',
      [this.namespace, room],
    );
    const row = rows[0];
    return row ? { state: new Uint8Array(row.state), streamId: `${row.stream_ms}-${row.stream_seq}` } : null;
  }

  async streamId(room: string): Promise<string | null> {
    await this.#init();
    const { rows } = await this.#pool.query<{ stream_ms: string; stream_seq: string }>(
      'SELECT stream_ms, stream_seq FROM scenecast_snapshots WHERE namespace = $1 AND room = $2',
      [this.namespace, room],
    );
    const row = rows[0];
    return row ? `${row.stream_ms}-${row.stream_seq}` : null;
  }

  async put(room: string, snapshot: Snapshot): Promise<boolean> {
    await this.#init();
    const [ms, seq] = parseStreamId(snapshot.streamId);
    const result = await this.#pool.query(
      `INSERT INTO scenecast_snapshots (namespace, room, stream_ms, stream_seq, state) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (namespace, room) DO UPDATE SET stream_ms = excluded.stream_ms, stream_seq = excluded.stream_seq,
         state = excluded.state, updated_at = now()
       WHERE (scenecast_snapshots.stream_ms, scenecast_snapshots.stream_seq) < (excluded.stream_ms, excluded.stream_seq)`,
      [this.namespace, room, ms.toString(), seq.toString(), Buffer.from(snapshot.state)],
    );
    return (result.rowCount ?? 0) > 0;
  }

  async delete(room: string): Promise<void> {
    await this.#init();
    await this.#pool.query('DELETE FROM scenecast_snapshots WHERE namespace = $1 AND room = $2', [this.namespace, room]);
  }

  async check(): Promise<void> {
    await this.#pool.query('SELECT 1');
  }

  async close(): Promise<void> {
    await this.#pool.end();
  }
}
