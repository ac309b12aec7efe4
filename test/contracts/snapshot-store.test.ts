/**
 * Contract of SnapshotStore (server/ports/snapshot-store.ts), the same tests for every backend:
 * BlobSnapshotStore (a blob folder) and PostgresSnapshotStore (a namespace of this test's own in
 * one table). A snapshot only ever replaces an older one, by Redis stream id ("ms-seq", compared
 * as numbers), so two nodes compacting at once never move a room backwards.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import '../helpers/cluster.js'; // the global set-up provides Redis to the files that import this
import { LocalBlobStore } from '../../server/embedded/local-blob-store.js';
import type { Snapshot, SnapshotStore } from '../../server/ports/snapshot-store.js';
import { BlobSnapshotStore, PostgresSnapshotStore } from '../../server/scale/snapshot-store.js';
import { withRedisLock } from '../../server/scale/redis-lock.js';
import { DATABASE_URL, bytes, onCleanup, postgresAnswers, redisPrefix, redisProcess, roomId, tempDir } from './backends.js';

interface SnapshotBackend {
  /** A store over this test's storage; each call is another instance (another node). */
  open(): SnapshotStore;
}

async function blobs(): Promise<SnapshotBackend> {
  const dir = await tempDir();
  // As in scale-out: the nodes share the folder and take a Redis lock per room to store.
  const prefix = redisPrefix();
  const { redis } = await redisProcess(prefix);
  return { open: () => new BlobSnapshotStore(new LocalBlobStore(dir), (room, fn) => withRedisLock(redis, redis.key('lock', 'snapshot', room), fn)) };
}

async function postgres(): Promise<SnapshotBackend> {
  const namespace = `contract-${randomBytes(4).toString('hex')}:`;
  onCleanup(async () => {
    const client = new pg.Client({ connectionString: DATABASE_URL });
    await client.connect();
    await client.query('DELETE FROM scenecast_snapshots WHERE namespace = $1', [namespace]).catch(() => {});
    await client.end();
  });
  return {
    open: () => {
      const store = new PostgresSnapshotStore(DATABASE_URL, namespace);
      onCleanup(() => store.close());
      return store;
    },
  };
}

const HAS_POSTGRES = await postgresAnswers();
if (!HAS_POSTGRES) console.warn(`snapshot-store contract: no PostgreSQL answers at ${DATABASE_URL}; its suite is skipped`);

const snap = (streamId: string, state: Uint8Array = bytes(300)): Snapshot => ({ streamId, state });
const same = (got: Snapshot | null, want: Snapshot) => {
  expect(got).not.toBeNull();
  expect(got!.streamId).toBe(want.streamId);
  expect(Buffer.from(got!.state).equals(Buffer.from(want.state))).toBe(true);
};

describe.each([
  ['blobs', blobs, true],
  ['postgres', postgres, HAS_POSTGRES],
] as const)('SnapshotStore contract: %s', (_name, backend, available) => {
  describe.runIf(available)('', () => {
    it('a room without a snapshot: get and streamId are null', async () => {
      const store = (await backend()).open();
      expect(await store.get(roomId())).toBeNull();
      expect(await store.streamId(roomId())).toBeNull();
    });

    it('put stores it (true); get returns its bytes and stream id, streamId the id alone, on every instance', async () => {
      const b = await backend();
      const store = b.open();
      const room = roomId();
      const first = snap('1700000000000-3');
      expect(await store.put(room, first)).toBe(true);
      same(await store.get(room), first);
      expect(await store.streamId(room)).toBe('1700000000000-3');
      same(await b.open().get(room), first);
    });

    it('a newer snapshot replaces it', async () => {
      const store = (await backend()).open();
      const room = roomId();
      await store.put(room, snap('5-1'));
      const newer = snap('5-2');
      expect(await store.put(room, newer)).toBe(true);
      same(await store.get(room), newer);
    });

    it('a snapshot as new or older never replaces the stored one (false)', async () => {
      const store = (await backend()).open();
      const room = roomId();
      const stored = snap('1700000000500-7');
      await store.put(room, stored);
      expect(await store.put(room, snap('1700000000500-7'))).toBe(false);
      expect(await store.put(room, snap('1700000000500-6'))).toBe(false);
      expect(await store.put(room, snap('1700000000499-99'))).toBe(false);
      expect(await store.put(room, snap('0-1'))).toBe(false);
      same(await store.get(room), stored);
    });

    it('stream ids compare as numbers, not as text ("10-0" is newer than "9-5"; "5-10" than "5-9")', async () => {
      const store = (await backend()).open();
      const room = roomId();
      await store.put(room, snap('9-5'));
      expect(await store.put(room, snap('10-0'))).toBe(true);
      expect(await store.put(room, snap('9-99'))).toBe(false);
      expect(await store.streamId(room)).toBe('10-0');
      const other = roomId();
      await store.put(other, snap('5-9'));
      expect(await store.put(other, snap('5-10'))).toBe(true);
      expect(await store.streamId(other)).toBe('5-10');
    });

    it('nodes storing at once: the newest stays, whatever order they finish in', async () => {
      const b = await backend();
      const [one, two] = [b.open(), b.open()];
      const wrong: string[] = [];
      // Ten rooms, six snapshots each stored at once by two nodes, oldest first and newest first.
      for (let round = 0; round < 10; round++) {
        const room = roomId();
        const order = round % 2 ? [1, 2, 3, 4, 5, 6] : [6, 5, 4, 3, 2, 1];
        await Promise.all(order.map((n, i) => (i % 2 ? one : two).put(room, snap(`100-${n}`))));
        const stored = await one.streamId(room);
        if (stored !== '100-6') wrong.push(`round ${round} (${order.join(',')}): ${stored}`);
      }
      expect(wrong).toEqual([]);
    });

    it('rooms are independent; delete removes only its room, and a room can start again after it', async () => {
      const store = (await backend()).open();
      const [a, b] = [roomId(), roomId()];
      await store.put(a, snap('7-0'));
      const keep = snap('3-0');
      await store.put(b, keep);
      await store.delete(a);
      expect(await store.get(a)).toBeNull();
      expect(await store.streamId(a)).toBeNull();
      same(await store.get(b), keep);
      await expect(store.delete(roomId())).resolves.toBeUndefined(); // none: harmless
      // After a deletion any snapshot is stored again, an older one too.
      expect(await store.put(a, snap('0-1'))).toBe(true);
      expect(await store.streamId(a)).toBe('0-1');
    });

    it('an empty state is a state', async () => {
      const store = (await backend()).open();
      const room = roomId();
      const empty = snap('1-1', new Uint8Array(0));
      expect(await store.put(room, empty)).toBe(true);
      same(await store.get(room), empty);
    });

    it('check resolves when the store is reachable', async () => {
      await expect((await backend()).open().check()).resolves.toBeUndefined();
    });
  });
});
