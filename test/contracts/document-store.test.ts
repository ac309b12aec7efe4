/**
 * Contract of DocumentStore (server/ports/document-store.ts), the same tests for every backend:
 * FileDocumentStore (embedded: files under a folder) and RedisDocumentStore (scale-out: a Redis
 * stream per room, snapshots in a BlobSnapshotStore). "A fresh store instance" is a restarted
 * process (embedded) or another node (scale-out).
 *
 * Scale-out stores append only while the room's directory entry exists (an edit racing a deletion
 * must not bring the room back), so the Redis backend creates one with RedisRoomDirectory first,
 * as the service does, and deletes it before `destroy` (the port says destroy comes after that).
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import '../helpers/cluster.js'; // the global set-up provides Redis to files that import it
import { FileDocumentStore } from '../../server/collab/store/file-document-store.js';
import { LocalBlobStore } from '../../server/embedded/local-blob-store.js';
import type { DocumentStore, StoredDocument } from '../../server/ports/document-store.js';
import { RedisDocumentStore } from '../../server/scale/redis-document-store.js';
import { RedisRoomDirectory } from '../../server/scale/redis-room-directory.js';
import { BlobSnapshotStore } from '../../server/scale/snapshot-store.js';
import { eventually, keysOf, onCleanup, redisPrefix, redisProcess, roomId, tempDir } from './backends.js';

interface DocumentBackend {
  /** A store over this test's storage; each call is another instance (a restarted process, another node). */
  open(): Promise<DocumentStore>;
  /** What must exist before a room's storage (scale-out: its directory entry). */
  createRoom(room: string): Promise<void>;
  /** The room's directory entry goes (what precedes `destroy`). */
  deleteRoom(room: string): Promise<void>;
  /** What the storage still holds of `room` (names of files, keys, snapshots): [] when nothing. */
  leftovers(room: string): Promise<string[]>;
}

async function embedded(): Promise<DocumentBackend> {
  const dir = await tempDir();
  return {
    open: async () => {
      const store = new FileDocumentStore({ dir });
      onCleanup(() => store.close());
      return store;
    },
    createRoom: async () => {},
    deleteRoom: async () => {},
    leftovers: (room) => readdir(path.join(dir, room)).catch(() => []),
  };
}

async function redis(): Promise<DocumentBackend> {
  const prefix = redisPrefix();
  const snapshotDir = await tempDir();
  const snapshots = new BlobSnapshotStore(new LocalBlobStore(snapshotDir));
  const directory = new RedisRoomDirectory((await redisProcess(prefix)).redis);
  return {
    open: async () => {
      const store = new RedisDocumentStore((await redisProcess(prefix)).redis, snapshots, { minLifetimeMs: 60_000 });
      onCleanup(() => store.close());
      return store;
    },
    createRoom: (room) => directory.create({ id: room, title: 'contract', createdAt: new Date().toISOString() }),
    deleteRoom: (room) => directory.delete(room),
    leftovers: async (room) => [...(await keysOf(prefix, `*${room}*`)), ...((await snapshots.get(room)) ? ['snapshot'] : [])],
  };
}

/** A Yjs document with text, and each update it makes. */
function editor(): { doc: Y.Doc; text: Y.Text; updates: Uint8Array[] } {
  const doc = new Y.Doc();
  const updates: Uint8Array[] = [];
  doc.on('update', (update: Uint8Array) => updates.push(update));
  return { doc, text: doc.getText('script'), updates };
}

/** The document a load gives, applied in order. */
function docOf(stored: StoredDocument): Y.Doc {
  const doc = new Y.Doc();
  for (const update of stored.updates) Y.applyUpdate(doc, update);
  return doc;
}

const textOf = (doc: Y.Doc) => doc.getText('script').toString();
const asBuffers = (updates: Uint8Array[]) => updates.map((u) => Buffer.from(u));

/** A room created with `initial` as its first state; returns the editor that goes on editing it. */
async function roomWith(backend: DocumentBackend, store: DocumentStore, initial: string) {
  const room = roomId();
  const e = editor();
  e.text.insert(0, initial);
  const state = Y.encodeStateAsUpdate(e.doc);
  e.updates.length = 0;
  await backend.createRoom(room);
  await store.create(room, state);
  return { room, state, ...e };
}

describe.each([
  ['embedded', embedded, false],
  ['redis', redis, true],
] as const)('DocumentStore contract: %s', (_name, makeBackend, scaleOut) => {
  it('load gives back the state create stored', async () => {
    const backend = await makeBackend();
    const store = await backend.open();
    const { room, state } = await roomWith(backend, store, 'first draft');
    const loaded = await store.load(room);
    expect(asBuffers(loaded.updates)).toEqual(asBuffers([state]));
    expect(textOf(docOf(loaded))).toBe('first draft');
    expect(loaded.repairedBytes).toBe(0);
  });

  it('load gives the snapshot first, then the appended updates in order', async () => {
    const backend = await makeBackend();
    const store = await backend.open();
    const { room, state, text, updates } = await roomWith(backend, store, 'a');
    await store.load(room);
    for (const word of [' b', ' c', ' d']) {
      text.insert(text.length, word);
      await store.append(room, updates.at(-1)!);
    }
    const loaded = await (await backend.open()).load(room);
    expect(asBuffers(loaded.updates)).toEqual(asBuffers([state, ...updates]));
    expect(textOf(docOf(loaded))).toBe('a b c d');
  });

  it('an append is durable once it resolves: a fresh store instance loads it', async () => {
    const backend = await makeBackend();
    const store = await backend.open();
    const { room, text, updates } = await roomWith(backend, store, 'hello');
    await store.load(room);
    text.insert(5, ' world');
    await store.append(room, updates.at(-1)!);
    // No release, no close: what "acknowledged" means is that the promise resolved.
    expect(textOf(docOf(await (await backend.open()).load(room)))).toBe('hello world');
  });

  it('a room released and loaded again is whole', async () => {
    const backend = await makeBackend();
    const store = await backend.open();
    const { room, text, updates } = await roomWith(backend, store, 'x');
    await store.load(room);
    text.insert(1, 'y');
    await store.append(room, updates.at(-1)!);
    await store.release(room);
    expect(textOf(docOf(await store.load(room)))).toBe('xy');
  });

  it('load of a room that was never created throws ROOM_STORAGE_ERROR', async () => {
    const store = await (await makeBackend()).open();
    await expect(store.load(roomId())).rejects.toMatchObject({ code: 'ROOM_STORAGE_ERROR' });
  });

  it('logBytes grows with appends; compaction resets it and keeps the document whole', async () => {
    const backend = await makeBackend();
    const store = await backend.open();
    const { room, doc, text, updates } = await roomWith(backend, store, 'scene one');
    await store.load(room);
    const before = store.logBytes(room);
    const sizes: number[] = [];
    for (let i = 0; i < 5; i++) {
      text.insert(text.length, ` edit ${i}`);
      await store.append(room, updates.at(-1)!);
      sizes.push(store.logBytes(room));
    }
    expect(sizes[0]).toBeGreaterThan(before);
    for (let i = 1; i < sizes.length; i++) expect(sizes[i]).toBeGreaterThan(sizes[i - 1]!);
    expect(await store.compact(room, () => Y.encodeStateAsUpdate(doc))).toBe(true);
    expect(store.logBytes(room)).toBe(0);
    const reloaded = docOf(await (await backend.open()).load(room));
    expect(textOf(reloaded)).toBe('scene one edit 0 edit 1 edit 2 edit 3 edit 4');
    expect(Buffer.from(Y.encodeStateVector(reloaded)).equals(Buffer.from(Y.encodeStateVector(doc)))).toBe(true);
    // Appends go on after a compaction, and count again.
    text.insert(0, '> ');
    await store.append(room, updates.at(-1)!);
    expect(store.logBytes(room)).toBeGreaterThan(0);
    expect(textOf(docOf(await (await backend.open()).load(room)))).toBe('> scene one edit 0 edit 1 edit 2 edit 3 edit 4');
  });

  it('no append is lost to a compaction: edits appended all through one are all there after it', async () => {
    const backend = await makeBackend();
    const store = await backend.open();
    const { room, doc, text, updates } = await roomWith(backend, store, 'base');
    await store.load(room);
    // `state` is the document as it is when called: it must be called when appends switch to the new log.
    let compacting = true;
    const compaction = store.compact(room, () => Y.encodeStateAsUpdate(doc)).finally(() => (compacting = false));
    const appends: Promise<void>[] = [];
    for (let i = 0; compacting && i < 1000; i++) {
      text.insert(text.length, ` ${i}`);
      appends.push(store.append(room, updates.at(-1)!));
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(await compaction).toBe(true);
    await Promise.all(appends);
    expect(appends.length).toBeGreaterThan(0);
    expect(textOf(docOf(await (await backend.open()).load(room)))).toBe(text.toString());
  });

  it('destroy removes everything of a deleted room: load then throws ROOM_STORAGE_ERROR, and an append cannot bring it back', async () => {
    const backend = await makeBackend();
    const store = await backend.open();
    const { room, doc, text, updates } = await roomWith(backend, store, 'doomed');
    await store.load(room);
    text.insert(0, 'soon ');
    await store.append(room, updates.at(-1)!);
    await store.compact(room, () => Y.encodeStateAsUpdate(doc));
    text.insert(0, 'very ');
    await store.append(room, updates.at(-1)!);
    expect(await backend.leftovers(room)).not.toEqual([]);
    await backend.deleteRoom(room);
    await store.destroy(room);
    expect(await backend.leftovers(room)).toEqual([]);
    await expect(store.load(room)).rejects.toMatchObject({ code: 'ROOM_STORAGE_ERROR' });
    await expect((await backend.open()).load(room)).rejects.toMatchObject({ code: 'ROOM_STORAGE_ERROR' });
    // An edit racing the deletion is refused and stores nothing.
    text.insert(0, 'late ');
    await expect(store.append(room, updates.at(-1)!)).rejects.toThrow();
    expect(await backend.leftovers(room)).toEqual([]);
  });

  it('destroy of one room leaves the others alone', async () => {
    const backend = await makeBackend();
    const store = await backend.open();
    const gone = await roomWith(backend, store, 'gone');
    const kept = await roomWith(backend, store, 'kept');
    await backend.deleteRoom(gone.room);
    await store.destroy(gone.room);
    expect(textOf(docOf(await store.load(kept.room)))).toBe('kept');
  });

  // Scale-out only: several nodes hold one room and each hears what the others appended. The
  // embedded store has no `watch` (one process: nobody else appends).
  it.runIf(scaleOut)('(scale-out) watch: updates another node appended reach this node, in order, and its own do not', async () => {
    const backend = await makeBackend();
    const here = await backend.open();
    const there = await backend.open();
    const { room, state } = await roomWith(backend, here, '');
    await here.load(room);
    await there.load(room);
    const heard: Buffer[] = [];
    const errors: Error[] = [];
    expect(here.watch).toBeTypeOf('function');
    const stop = here.watch!(room, (u) => heard.push(Buffer.from(u)), (e) => errors.push(e));

    // Two editors of one document, one per node.
    const a = editor();
    Y.applyUpdate(a.doc, state);
    const b = editor();
    Y.applyUpdate(b.doc, state);
    a.updates.length = 0;
    b.updates.length = 0;
    a.text.insert(0, 'mine ');
    await here.append(room, a.updates.at(-1)!); // our own: not delivered back
    for (const word of ['one ', 'two ', 'three ']) {
      b.text.insert(b.text.length, word);
      await there.append(room, b.updates.at(-1)!);
    }
    await eventually('the other node’s three updates arrived', () => heard.length >= 3, 5000);
    expect(heard).toEqual(asBuffers(b.updates));
    expect(errors).toEqual([]);

    // After the unsubscribe nothing more is delivered. End mark: another room this node watches, appended to
    // afterwards; once its update is here, a read that could have carried the first room's is over.
    stop();
    b.text.insert(0, 'after ');
    await there.append(room, b.updates.at(-1)!);
    const other = await roomWith(backend, there, 'other');
    await here.load(other.room);
    const marks: Buffer[] = [];
    here.watch!(other.room, (u) => marks.push(Buffer.from(u)), (e) => errors.push(e));
    const o = editor();
    Y.applyUpdate(o.doc, other.state);
    o.text.insert(0, 'mark ');
    await there.append(other.room, o.updates.at(-1)!);
    await eventually('the end mark arrived', () => marks.length === 1, 5000);
    expect(heard).toHaveLength(3);
    expect(errors).toEqual([]);
  });
});
