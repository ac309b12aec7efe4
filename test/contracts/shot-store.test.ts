/**
 * Contract of ShotStore (server/ports/shot-store.ts), the same tests for every backend, both over
 * a LocalBlobStore in a temporary folder: ShotCache (embedded: the index a JSON file) and
 * RedisShotStore (scale-out: the index in Redis). Segments by content key, bounded by bytes
 * (least recently used first), kept across restarts, forgotten with the rooms that held them.
 *
 * Recency is by Date.now() in both (Redis orders by it): the clock is faked (Date only, so I/O
 * and timers stay real) and moved a second between steps, so "least recently used" never
 * depends on two steps landing in one millisecond.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import '../helpers/cluster.js'; // the global set-up provides Redis to files that import it
import { LocalBlobStore } from '../../server/embedded/local-blob-store.js';
import type { ShotStore } from '../../server/ports/shot-store.js';
import { ShotCache } from '../../server/render/shot-cache.js';
import { RedisShotStore } from '../../server/scale/redis-caches.js';
import { bytes, redisPrefix, redisProcess, roomId, tempDir } from './backends.js';

interface ShotBackend {
  /** A store over this test's index and segments, bounded by `maxBytes`; each call is another instance (a restart, another node). */
  open(maxBytes?: number): Promise<ShotStore>;
}

async function embedded(): Promise<ShotBackend> {
  const dir = await tempDir();
  const blobs = new LocalBlobStore(path.join(dir, 'segments'));
  return { open: (maxBytes = 1 << 30) => ShotCache.open(path.join(dir, 'index'), blobs, maxBytes) };
}

async function redis(): Promise<ShotBackend> {
  const prefix = redisPrefix();
  const blobs = new LocalBlobStore(path.join(await tempDir(), 'segments'));
  return { open: async (maxBytes = 1 << 30) => new RedisShotStore((await redisProcess(prefix)).redis, blobs, maxBytes) };
}

describe('RedisShotStore namespaces', () => {
  it('two stores on one Redis under different names keep their own index, bytes and bounds', async () => {
    const prefix = redisPrefix();
    const { redis: clients } = await redisProcess(prefix);
    const shots = new RedisShotStore(clients, new LocalBlobStore(path.join(await tempDir(), 'shots')), 1 << 30);
    const parts = new RedisShotStore(clients, new LocalBlobStore(path.join(await tempDir(), 'parts')), 1 << 30, 'parts');
    await putSegment(shots, 'shotkey0001', 300);
    await putSegment(parts, 'partkey0001', 200);
    expect(await shots.get('partkey0001')).toBeNull();
    expect(await parts.get('shotkey0001')).toBeNull();
    expect(await shots.stats()).toMatchObject({ bytes: 300, entries: 1 });
    expect(await parts.stats()).toMatchObject({ bytes: 200, entries: 1 });
  });
});

let now = Date.parse('2030-01-01T00:00:00Z');
beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(now);
});
afterEach(() => {
  vi.useRealTimers();
});
/** A second later. */
const tick = () => vi.setSystemTime((now += 1000));

/** Encodes a "segment" of `size` bytes into the store's scratch path and puts it under `key`. */
async function putSegment(store: ShotStore, key: string, size: number, room?: string, frames = 16) {
  const data = bytes(size);
  const file = await store.scratch();
  await writeFile(file, data);
  const entry = await store.put(key, file, frames, room);
  tick();
  return { entry, data: Buffer.from(data) };
}

const keys = (n: number) => Array.from({ length: n }, (_, i) => `${'k'.repeat(8)}${i}${Math.random().toString(36).slice(2, 10)}`);

describe.each([
  ['embedded', embedded],
  ['redis', redis],
] as const)('ShotStore contract: %s', (_name, backend) => {
  it('put then get and segment: the entry, and a local file with the bytes put', async () => {
    const store = await (await backend()).open();
    const [key] = keys(1) as [string];
    const { entry, data } = await putSegment(store, key, 1000, undefined, 24);
    expect(entry).toMatchObject({ key, bytes: 1000, frames: 24 });
    const got = await store.get(key);
    expect(got).toMatchObject({ key, bytes: 1000, frames: 24 });
    const file = await store.segment(key);
    expect(file).not.toBeNull();
    expect((await readFile(file!)).equals(data)).toBe(true);
  });

  it('notes put with an entry come back with every hit, also after a restart', async () => {
    const backendOf = await backend();
    const store = await backendOf.open();
    const [a, b] = keys(2) as [string, string];
    const file = await store.scratch();
    await writeFile(file, bytes(50));
    await store.put(a, file, 0, 'room-a', ['The soundtrack is quiet']);
    await putSegment(store, b, 50);
    expect((await store.get(a))?.notes).toEqual(['The soundtrack is quiet']);
    expect((await store.get(b))?.notes).toBeUndefined();
    await store.flush();
    expect((await (await backendOf.open()).get(a))?.notes).toEqual(['The soundtrack is quiet']);
  });

  it('an unknown key: get null, no segment', async () => {
    const store = await (await backend()).open();
    expect(await store.get('nothing0000')).toBeNull();
    expect(await store.segment('nothing0000')).toBeNull();
  });

  it('stats count hits and misses, bytes and entries', async () => {
    const store = await (await backend()).open();
    const [a, b] = keys(2) as [string, string];
    expect(await store.stats()).toEqual({ hits: 0, misses: 0, bytes: 0, entries: 0 });
    await store.get(a);
    await putSegment(store, a, 300);
    await putSegment(store, b, 200);
    await store.get(a);
    await store.get(b);
    await store.get(a);
    await store.get('missing000');
    expect(await store.stats()).toEqual({ hits: 3, misses: 2, bytes: 500, entries: 2 });
  });

  it('put of a key again replaces its segment and counts its bytes once', async () => {
    const store = await (await backend()).open();
    const [a] = keys(1) as [string];
    await putSegment(store, a, 300);
    const { data } = await putSegment(store, a, 120);
    expect(await store.get(a)).toMatchObject({ bytes: 120 });
    expect((await readFile((await store.segment(a))!)).equals(data)).toBe(true);
    expect(await store.stats()).toMatchObject({ bytes: 120, entries: 1 });
  });

  it('bounded by bytes: the least recently used entries go first (a get counts as a use)', async () => {
    const store = await (await backend()).open(1000);
    const [a, b, c] = keys(3) as [string, string, string];
    await putSegment(store, a, 400);
    await putSegment(store, b, 400);
    await store.get(a); // a is now more recent than b
    tick();
    await putSegment(store, c, 400); // 1200 > 1000: b goes
    expect(await store.get(b)).toBeNull();
    expect(await store.segment(b)).toBeNull();
    expect(await store.get(a)).not.toBeNull();
    expect(await store.get(c)).not.toBeNull();
    expect(await store.stats()).toMatchObject({ bytes: 800, entries: 2 });
  });

  it('survives reopening: another instance over the same index and segments has the entries', async () => {
    const b = await backend();
    const store = await b.open();
    const [x, y] = keys(2) as [string, string];
    const { data } = await putSegment(store, x, 256, 'roomaaaaaaaa', 8);
    await putSegment(store, y, 128);
    await store.flush();
    const reopened = await b.open();
    expect(await reopened.get(x)).toMatchObject({ key: x, bytes: 256, frames: 8 });
    expect((await readFile((await reopened.segment(x))!)).equals(data)).toBe(true);
    expect(await reopened.stats()).toMatchObject({ bytes: 384, entries: 2 });
  });

  it('forgetRoom removes the entries only that room held, and keeps those another room (or none) holds', async () => {
    const store = await (await backend()).open();
    const [roomA, roomB] = [roomId(), roomId()];
    const [onlyA, shared, onlyB, nobody] = keys(4) as [string, string, string, string];
    await putSegment(store, onlyA, 100, roomA);
    await putSegment(store, shared, 100, roomA);
    await store.get(shared, roomB); // B reuses it: now a holder too
    await putSegment(store, onlyB, 100, roomB);
    await putSegment(store, nobody, 100);
    expect(await store.forgetRoom(roomA)).toBe(1);
    await store.flush();
    expect(await store.segment(onlyA)).toBeNull();
    expect(await store.get(onlyA)).toBeNull();
    for (const key of [shared, onlyB, nobody]) expect(await store.segment(key), key).not.toBeNull();
    expect(await store.stats()).toMatchObject({ bytes: 300, entries: 3 });
    // B goes too: what it held alone goes with it; the entry no room ever held stays.
    expect(await store.forgetRoom(roomB)).toBe(2);
    expect(await store.segment(shared)).toBeNull();
    expect(await store.segment(onlyB)).toBeNull();
    expect(await store.segment(nobody)).not.toBeNull();
    expect(await store.forgetRoom(roomId())).toBe(0);
  });

  it('a forgotten room stays forgotten after reopening', async () => {
    const b = await backend();
    const store = await b.open();
    const [room, other] = [roomId(), roomId()];
    const [k] = keys(1) as [string];
    await putSegment(store, k, 100, room);
    await store.get(k, other);
    await store.forgetRoom(room);
    await store.flush();
    const reopened = await b.open();
    // `other` is still a holder: its deletion removes the entry.
    expect(await reopened.forgetRoom(other)).toBe(1);
    expect(await reopened.segment(k)).toBeNull();
  });
});
