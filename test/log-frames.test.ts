/**
 * The update log's frames (server/collab/store/frames.ts) and what the file store does with a
 * damaged log: only an interrupted last write of the newest log is set aside; any other damage
 * keeps the room closed with every file as it was, so no acknowledged edit is ever dropped.
 */
import { cp, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { CLOSE } from '../shared/protocol.js';
import { shotsOf } from '../shared/scene-doc.js';
import { FileDocumentStore } from '../server/collab/store/file-document-store.js';
import { LocalBlobStore } from '../server/embedded/local-blob-store.js';
import { BlobSnapshotStore } from '../server/scale/snapshot-store.js';
import { decodeFrames, encodeFile, encodeFrame, encodeFrameV1, FILE_MAGIC, type FrameReading } from '../server/collab/store/frames.js';
import { startServer, tempDir, within } from './helpers/server.js';
import { openRaw } from './helpers/raw-ws.js';
import { connectYjs, firstPrompt, typeAcknowledged, until } from './helpers/yjs-client.js';

const MAGIC = Buffer.from([0x89, 0x53, 0x43, 0x46, 0x02, 0x00, 0x00, 0x00]);

/** The v1 layout (u32le length | u32le crc32 | payload), kept here so the tests do not depend on the code under test. */
function v1Frame(payload: Uint8Array): Buffer {
  const frame = Buffer.alloc(8 + payload.length);
  frame.writeUInt32LE(payload.length, 0);
  frame.writeUInt32LE(crc32(payload), 4);
  frame.set(payload, 8);
  return frame;
}

/** Where each frame of a log or snapshot file starts, and its header size: v2 after the magic, else v1. */
function framesOf(file: Buffer): { offset: number; header: number; length: number }[] {
  const v2 = file.subarray(0, 8).equals(MAGIC);
  const header = v2 ? 12 : 8;
  const frames = [];
  for (let offset = v2 ? 8 : 0; offset + header <= file.length; ) {
    const length = file.readUInt32LE(offset);
    frames.push({ offset, header, length });
    offset += header + length;
  }
  return frames;
}

function flipped(file: Buffer, at: number, mask = 0xff): Buffer {
  const copy = Buffer.from(file);
  copy.writeUInt8(copy.readUInt8(at) ^ mask, at);
  return copy;
}

const bytesOf = (payloads: Uint8Array[]) => payloads.map((p) => [...p]);

/** Every file of a folder, name → bytes. */
async function folderImage(dir: string): Promise<Map<string, Buffer>> {
  const names = (await readdir(dir)).sort();
  return new Map(await Promise.all(names.map(async (n) => [n, await readFile(path.join(dir, n))] as const)));
}

describe('frame layout v2', () => {
  const payloads = [Uint8Array.of(1, 2, 3), new Uint8Array(0), new Uint8Array(1000).fill(9), Uint8Array.of(7)];
  let file: Buffer;
  let starts: number[];
  beforeAll(() => {
    file = encodeFile(payloads);
    starts = framesOf(file).map((f) => f.offset);
  });

  it('round-trips payloads, the empty one included, behind an 8-byte magic', () => {
    expect(file.subarray(0, 8)).toEqual(MAGIC);
    expect(FILE_MAGIC).toEqual(MAGIC);
    // The magic's first word is no possible v1 length (at most 256 MiB).
    expect(MAGIC.readUInt32LE(0)).toBeGreaterThan(256 * 1024 * 1024);
    // frame := u32le length | u32le crc32(payload) | u32le crc32(bytes 0..7) | payload
    const first = file.subarray(8, 8 + 12 + 3);
    expect(first.readUInt32LE(0)).toBe(3);
    expect(first.readUInt32LE(4)).toBe(crc32(Uint8Array.of(1, 2, 3)));
    expect(first.readUInt32LE(8)).toBe(crc32(first.subarray(0, 8)));
    expect([...first.subarray(12)]).toEqual([1, 2, 3]);
    expect(encodeFrame(new Uint8Array(0))).toHaveLength(12);

    const reading = decodeFrames(file);
    expect(reading).toMatchObject({ status: 'ok', format: 'v2' });
    expect(bytesOf(reading.payloads)).toEqual(bytesOf(payloads));
    const empty = decodeFrames(encodeFile([new Uint8Array(0)]));
    expect(empty).toMatchObject({ status: 'ok', format: 'v2' });
    expect(bytesOf(empty.payloads)).toEqual([[]]);
    expect(decodeFrames(encodeFile([]))).toMatchObject({ status: 'ok', format: 'v2', payloads: [] });
    expect(decodeFrames(Buffer.alloc(0))).toMatchObject({ status: 'ok', payloads: [] });
  });

  it('reads a flipped byte anywhere in any frame, header or payload, as corrupt (never torn)', () => {
    for (const [i, start] of starts.entries()) {
      const end = starts[i + 1] ?? file.length;
      for (let at = start; at < end; at++) {
        for (const mask of [0x01, 0x80, 0xff]) {
          const reading = decodeFrames(flipped(file, at, mask));
          expect(reading, `frame ${i}, byte ${at - start}, mask ${mask}`).toMatchObject({ status: 'corrupt', offset: start });
          expect(bytesOf(reading.payloads)).toEqual(bytesOf(payloads.slice(0, i)));
        }
      }
    }
  });

  it('reads a flipped byte of the file magic as corrupt, never as a v1 file', () => {
    for (let at = 0; at < 8; at++) {
      for (const mask of [0x01, 0x02, 0x80, 0xff]) {
        expect(decodeFrames(flipped(file, at, mask)), `byte ${at}, mask ${mask}`).toMatchObject({ status: 'corrupt', offset: 0 });
      }
    }
  });

  it('reads a file cut anywhere as torn at the last whole frame', () => {
    for (let cut = 0; cut < file.length; cut++) {
      const reading = decodeFrames(file.subarray(0, cut));
      const whole = starts.filter((s, i) => (starts[i + 1] ?? file.length) <= cut).length;
      const goodBytes = cut < 8 ? 0 : (starts[whole] ?? file.length);
      if (cut === 0 || cut === 8 || starts.includes(cut)) expect(reading, `cut at ${cut}`).toMatchObject({ status: 'ok' });
      else expect(reading, `cut at ${cut}`).toMatchObject({ status: 'torn', format: 'v2', goodBytes });
      expect(bytesOf(reading.payloads)).toEqual(bytesOf(payloads.slice(0, whole)));
    }
  });

  it('reads a zero-filled tail as torn, and garbage after the last frame as corrupt', () => {
    for (const zeros of [1, 11, 12, 13, 100, 4096]) {
      const reading = decodeFrames(Buffer.concat([file, Buffer.alloc(zeros)]));
      expect(reading, `${zeros} zeros`).toMatchObject({ status: 'torn', goodBytes: file.length });
      expect(reading.payloads).toHaveLength(payloads.length);
    }
    // A new log whose magic never reached the disk.
    expect(decodeFrames(Buffer.alloc(4096))).toMatchObject({ status: 'torn', format: 'v2', goodBytes: 0 });
    expect(decodeFrames(Buffer.concat([MAGIC.subarray(0, 3), Buffer.alloc(100)]))).toMatchObject({ status: 'torn', goodBytes: 0 });
    expect(decodeFrames(Buffer.concat([MAGIC, Buffer.alloc(100)]))).toMatchObject({ status: 'torn', goodBytes: 8 });

    // Zeros followed by data, a header whose checksum fails, an impossible length: damage.
    const garbage = (tail: Buffer): FrameReading => decodeFrames(Buffer.concat([file, tail]));
    expect(garbage(Buffer.concat([Buffer.alloc(20), Buffer.of(1)]))).toMatchObject({ status: 'corrupt', offset: file.length });
    expect(garbage(Buffer.from([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 1, 2, 3, 4, 5]))).toMatchObject({ status: 'corrupt', offset: file.length });
    const lying = encodeFrame(Uint8Array.of(5, 5));
    lying.writeUInt32LE(lying.readUInt32LE(4) ^ 1, 4);
    expect(garbage(lying)).toMatchObject({ status: 'corrupt', offset: file.length });
  });

  it('still reads v1 files with their old rules (v1 is read-only now)', () => {
    expect(encodeFrameV1(Uint8Array.of(1, 2, 3))).toEqual(v1Frame(Uint8Array.of(1, 2, 3)));
    const v1 = Buffer.concat(payloads.map(v1Frame));
    const reading = decodeFrames(v1);
    expect(reading).toMatchObject({ status: 'ok', format: 'v1' });
    expect(bytesOf(reading.payloads)).toEqual(bytesOf(payloads));
    // A v1 file may start with an empty frame: eight zero bytes, then data.
    expect(decodeFrames(Buffer.concat([v1Frame(new Uint8Array(0)), v1Frame(Uint8Array.of(4))]))).toMatchObject({ status: 'ok', format: 'v1' });
    expect(decodeFrames(v1.subarray(0, v1.length - 1))).toMatchObject({ status: 'torn', format: 'v1', goodBytes: v1.length - 9 });
    expect(decodeFrames(flipped(v1, 8 + 3 + 4))).toMatchObject({ status: 'corrupt', format: 'v1' });
  });
});

/** A room written through FileDocumentStore: a snapshot, then `edits` acknowledged appends (one keystroke each). */
async function storeRoom(edits: number): Promise<{ dir: string; roomDir: string; text: string }> {
  const dir = await tempDir();
  const store = new FileDocumentStore({ dir });
  const doc = new Y.Doc();
  doc.getText('t').insert(0, 'start:');
  await store.create('r', Y.encodeStateAsUpdate(doc));
  await store.load('r');
  const updates: Uint8Array[] = [];
  doc.on('update', (update: Uint8Array) => updates.push(update));
  for (let i = 0; i < edits; i++) doc.getText('t').insert(doc.getText('t').length, String.fromCharCode(97 + (i % 26)));
  for (const update of updates) await store.append('r', update); // resolved: acknowledged
  await store.close();
  return { dir, roomDir: path.join(dir, 'r'), text: doc.getText('t').toString() };
}

function textOf(updates: Uint8Array[]): string {
  const doc = new Y.Doc();
  for (const update of updates) Y.applyUpdate(doc, update);
  return doc.getText('t').toString();
}

async function copyOf(dir: string): Promise<string> {
  const copy = await tempDir();
  await cp(dir, copy, { recursive: true });
  return copy;
}

describe('FileDocumentStore with a damaged log', () => {
  it('a flipped byte of a length field in the middle of the log: ROOM_STORAGE_ERROR, every file left byte for byte', async () => {
    const room = await storeRoom(40);
    const log = (await readdir(room.roomDir)).find((n) => n.startsWith('log.'))!;
    const frames = framesOf(await readFile(path.join(room.roomDir, log)));
    expect(frames.length).toBe(40);
    for (const frame of [frames[1]!, frames[20]!, frames[38]!]) {
      for (let byte = 0; byte < 4; byte++) {
        const dir = await copyOf(room.dir);
        const roomDir = path.join(dir, 'r');
        const file = path.join(roomDir, log);
        await writeFile(file, flipped(await readFile(file), frame.offset + byte));
        const before = await folderImage(roomDir);

        const store = new FileDocumentStore({ dir, onRepair: () => expect.unreachable('nothing to repair') });
        await expect(store.load('r'), `frame at ${frame.offset}, length byte ${byte}`).rejects.toMatchObject({ code: 'ROOM_STORAGE_ERROR' });
        expect(store.logBytes('r')).toBe(0);
        await expect(store.append('r', Uint8Array.of(0, 0))).rejects.toMatchObject({ code: 'ROOM_STORAGE_ERROR' });
        await store.close();
        expect(await folderImage(roomDir)).toEqual(before);
      }
    }
  });

  it.each([
    ['a partial header', (frame: Buffer) => frame.subarray(0, 7)],
    ['a header and part of its payload', (frame: Buffer) => frame.subarray(0, 20)],
    ['a zero-filled tail', () => Buffer.alloc(4096)],
  ])('an interrupted last write (%s) is set aside and the room opens with every complete frame', async (_name, tail) => {
    const room = await storeRoom(10);
    const log = path.join(room.roomDir, (await readdir(room.roomDir)).find((n) => n.startsWith('log.'))!);
    const whole = await readFile(log);
    const torn = tail(encodeFrame(new Uint8Array(100).fill(1)));
    await writeFile(log, Buffer.concat([whole, torn]));

    const repairs: string[] = [];
    const store = new FileDocumentStore({ dir: room.dir, onRepair: (_room, message) => repairs.push(message) });
    const stored = await store.load('r');
    expect(textOf(stored.updates)).toBe(room.text);
    expect(stored.repairedBytes).toBe(torn.length);
    expect(repairs).toHaveLength(1);
    expect(await readFile(log)).toEqual(whole);
    const aside = (await readdir(room.roomDir)).filter((n) => n.includes('.torn-'));
    expect(aside).toHaveLength(1);
    expect(await readFile(path.join(room.roomDir, aside[0]!))).toEqual(torn);
    // The log takes appends again, and the next load needs no repair.
    const doc = new Y.Doc();
    for (const update of stored.updates) Y.applyUpdate(doc, update);
    doc.on('update', (update: Uint8Array) => void store.append('r', update));
    doc.getText('t').insert(doc.getText('t').length, '!');
    await store.close();
    const again = new FileDocumentStore({ dir: room.dir, onRepair: () => expect.unreachable('nothing to repair') });
    expect(textOf((await again.load('r')).updates)).toBe(`${room.text}!`);
    await again.close();
  });

  it('a torn tail in a log that is not the newest is damage', async () => {
    const room = await storeRoom(5);
    const log = path.join(room.roomDir, 'log.1.bin');
    await writeFile(log, Buffer.concat([await readFile(log), encodeFrame(Uint8Array.of(1, 2)).subarray(0, 5)]));
    await writeFile(path.join(room.roomDir, 'log.2.bin'), encodeFile([]));
    const before = await folderImage(room.roomDir);
    const store = new FileDocumentStore({ dir: room.dir });
    await expect(store.load('r')).rejects.toMatchObject({ code: 'ROOM_STORAGE_ERROR' });
    expect(await folderImage(room.roomDir)).toEqual(before);
  });

  it('a v1 room loads, appends to a new v2 log, reloads, and compacts into v2', async () => {
    const dir = await tempDir();
    const roomDir = path.join(dir, 'r');
    const doc = new Y.Doc();
    doc.getText('t').insert(0, 'old:');
    const snapshot = Y.encodeStateAsUpdate(doc);
    const updates: Uint8Array[] = [];
    doc.on('update', (update: Uint8Array) => updates.push(update));
    for (const ch of 'abc') doc.getText('t').insert(doc.getText('t').length, ch);
    await mkdir(roomDir);
    await writeFile(path.join(roomDir, 'snapshot.1.bin'), v1Frame(snapshot));
    await writeFile(path.join(roomDir, 'log.1.bin'), Buffer.concat(updates.map(v1Frame)));
    const v1Log = await readFile(path.join(roomDir, 'log.1.bin'));

    const store = new FileDocumentStore({ dir });
    const stored = await store.load('r');
    expect(textOf(stored.updates)).toBe('old:abc');
    expect(store.logBytes('r')).toBeGreaterThan(0); // the v1 files are due for compaction
    const live = new Y.Doc();
    for (const update of stored.updates) Y.applyUpdate(live, update);
    const appended: Promise<void>[] = [];
    live.on('update', (update: Uint8Array) => appended.push(store.append('r', update)));
    live.getText('t').insert(live.getText('t').length, '+new');
    await Promise.all(appended);
    await store.close();
    // Nothing was appended to the v1 log: the edits went to a new v2 log after it.
    expect(await readFile(path.join(roomDir, 'log.1.bin'))).toEqual(v1Log);
    const log2 = await readFile(path.join(roomDir, 'log.2.bin'));
    expect(decodeFrames(log2)).toMatchObject({ status: 'ok', format: 'v2' });

    const again = new FileDocumentStore({ dir });
    const reloaded = await again.load('r');
    expect(textOf(reloaded.updates)).toBe('old:abc+new');
    await again.compact('r', () => Y.encodeStateAsUpdate(live));
    await again.close();
    const files = await folderImage(roomDir);
    expect([...files.keys()]).toEqual(['log.3.bin', 'snapshot.3.bin']);
    for (const [name, bytes] of files) expect(decodeFrames(bytes), name).toMatchObject({ status: 'ok', format: 'v2' });

    const third = new FileDocumentStore({ dir });
    expect(textOf((await third.load('r')).updates)).toBe('old:abc+new');
    expect(third.logBytes('r')).toBe(0);
    await third.close();
  });
});

describe('migrating a v1 room: a crash while its first v2 log is created', () => {
  it.each([
    ['an empty file', Buffer.alloc(0)],
    ['part of the magic', MAGIC.subarray(0, 3)],
    ['zeros (the magic never reached the disk)', Buffer.alloc(8)],
    ['the magic', MAGIC],
  ])('leaves a loadable, complete set: v1 files + log.2.bin holding %s', async (_name, log2) => {
    const dir = await tempDir();
    const roomDir = path.join(dir, 'r');
    await mkdir(roomDir);
    const doc = new Y.Doc();
    doc.getText('t').insert(0, 'old');
    const updates: Uint8Array[] = [Y.encodeStateAsUpdate(doc)];
    doc.on('update', (update: Uint8Array) => updates.push(update));
    doc.getText('t').insert(3, '!');
    await writeFile(path.join(roomDir, 'log.1.bin'), Buffer.concat(updates.map(v1Frame)));
    await writeFile(path.join(roomDir, 'log.2.bin'), log2);

    const store = new FileDocumentStore({ dir });
    expect(textOf((await store.load('r')).updates)).toBe('old!');
    const appended: Promise<void>[] = [];
    doc.on('update', (update: Uint8Array) => appended.push(store.append('r', update)));
    doc.getText('t').insert(4, '?');
    await Promise.all(appended);
    await store.close();
    expect(decodeFrames(await readFile(path.join(roomDir, 'log.2.bin')))).toMatchObject({ status: 'ok', format: 'v2', payloads: { length: 1 } });
    const again = new FileDocumentStore({ dir });
    expect(textOf((await again.load('r')).updates)).toBe('old!?');
    await again.close();
  });
});

describe('BlobSnapshotStore (scale-out)', () => {
  it('writes v2 snapshot files and still reads v1 ones', async () => {
    const dir = await tempDir();
    const snapshots = new BlobSnapshotStore(new LocalBlobStore(dir));
    const state = Uint8Array.of(1, 2, 3, 4);
    expect(await snapshots.put('r', { state, streamId: '5-1' })).toBe(true);
    const file = await readFile(path.join(dir, 'r.snapshot'));
    expect(file.subarray(0, 8)).toEqual(MAGIC);
    expect(decodeFrames(file)).toMatchObject({ status: 'ok', format: 'v2', payloads: { length: 2 } });
    const got = await snapshots.get('r');
    expect(got?.streamId).toBe('5-1');
    expect([...got!.state]).toEqual([...state]);

    await writeFile(path.join(dir, 'old.snapshot'), Buffer.concat([v1Frame(Buffer.from(JSON.stringify({ streamId: '7-0' }))), v1Frame(state)]));
    const old = await snapshots.get('old');
    expect(old?.streamId).toBe('7-0');
    expect([...old!.state]).toEqual([...state]);
    await writeFile(path.join(dir, 'bad.snapshot'), flipped(file, 10));
    await expect(snapshots.get('bad')).rejects.toThrow(/damaged/);
  });
});

const promptOf = firstPrompt;


async function readPrompt(wsUrl: string, room: { room: string; tokens: { viewer: string } }, text: string): Promise<void> {
  const reader = connectYjs(wsUrl, room.room, room.tokens.viewer);
  await until(reader.doc, (d) => shotsOf(d).length === 1 && promptOf(d).toString() === text, 10_000, `the prompt "${text}"`);
  reader.destroy();
}

describe('a restarted server', () => {
  it('keeps a room with a damaged length field in the middle of its log closed, deletes nothing, never compacts it', async () => {
    const server = await startServer();
    const room = await server.createRoom();
    const text = 'a green kite loops over the harbour';
    await typeAcknowledged(server.wsUrl, room, text);
    // The files as a crash would leave them now (a clean stop would compact the log away).
    const image = await copyOf(server.dataDir);
    const control = await copyOf(server.dataDir);
    await server.close();
    const roomDir = path.join(image, 'rooms', room.room);
    const log = path.join(roomDir, (await readdir(roomDir)).find((n) => /^log\.\d+\.bin$/.test(n))!);
    const frames = framesOf(await readFile(log));
    expect(frames.length).toBeGreaterThanOrEqual(text.length);
    const middle = frames[Math.floor(frames.length / 2)]!;
    await writeFile(log, flipped(await readFile(log), middle.offset + 2)); // the length now points past the end
    const before = await folderImage(roomDir);

    // Undamaged, the same files open with every edit.
    const intact = await startServer({}, control);
    await readPrompt(intact.wsUrl, room, text);
    await intact.close();

    const again = await startServer({}, image);
    for (let attempt = 0; attempt < 2; attempt++) {
      const socket = await openRaw(`${again.wsUrl}/yjs/${room.room}?token=${room.tokens.editor}`);
      const closed = await within('the close of a damaged room', 10_000, socket.closed);
      expect(closed.code).toBe(CLOSE.STORAGE_ERROR);
      expect(closed.reason).toMatch(/^ROOM_STORAGE_ERROR/);
    }
    expect(again.app.scenecast.rooms.loadedCount).toBe(0);
    const metrics = await (await fetch(`${again.url}/metrics`)).text();
    expect(metrics).not.toMatch(/scenecast_compactions_total\{outcome="ok"\} [1-9]/);
    expect(metrics).not.toMatch(/scenecast_storage_repairs_total [1-9]/);
    await again.close();
    expect(await folderImage(roomDir)).toEqual(before);
  });

  it('opens a v1 room, takes new edits, survives a crash and a restart, and ends up in v2', async () => {
    const server = await startServer();
    const room = await server.createRoom();
    await typeAcknowledged(server.wsUrl, room, 'a v1 room');
    await server.close();
    // Rewrite the room's files as a v1 server would have left them: a v1 snapshot and a v1 log.
    const roomDir = path.join(server.dataDir, 'rooms', room.room);
    const doc = new Y.Doc();
    for (const name of await readdir(roomDir)) {
      if (!/^(snapshot|log)\.\d+\.bin$/.test(name)) continue;
      for (const update of decodeFrames(await readFile(path.join(roomDir, name))).payloads) Y.applyUpdate(doc, update);
      await rm(path.join(roomDir, name));
    }
    const snapshot = Y.encodeStateAsUpdate(doc);
    const v1Updates: Uint8Array[] = [];
    doc.on('update', (update: Uint8Array) => v1Updates.push(update));
    for (const ch of ' of old') promptOf(doc).insert(promptOf(doc).length, ch);
    await writeFile(path.join(roomDir, 'snapshot.1.bin'), v1Frame(snapshot));
    await writeFile(path.join(roomDir, 'log.1.bin'), Buffer.concat(v1Updates.map(v1Frame)));

    const second = await startServer({}, server.dataDir);
    await readPrompt(second.wsUrl, room, 'a v1 room of old');
    await typeAcknowledged(second.wsUrl, room, ' and new');
    const crashed = await copyOf(server.dataDir);
    await second.close(); // unloading compacts
    // The crash image: the v1 files untouched, the new edits in a v2 log after them.
    const crashedRoom = path.join(crashed, 'rooms', room.room);
    expect(decodeFrames(await readFile(path.join(crashedRoom, 'log.1.bin')))).toMatchObject({ status: 'ok', format: 'v1', payloads: { length: v1Updates.length } });
    expect(decodeFrames(await readFile(path.join(crashedRoom, 'log.2.bin')))).toMatchObject({ status: 'ok', format: 'v2' });

    for (const dataDir of [crashed, server.dataDir]) {
      const third = await startServer({}, dataDir);
      await readPrompt(third.wsUrl, room, 'a v1 room of old and new');
      await third.close();
    }
    const files = [...(await folderImage(roomDir))].filter(([name]) => /^(snapshot|log)\./.test(name));
    expect(files.map(([name]) => name)).not.toContain('log.1.bin');
    expect(files.map(([name]) => name)).not.toContain('snapshot.1.bin');
    for (const [name, bytes] of files) {
      expect(bytes.subarray(0, 8), name).toEqual(MAGIC);
      expect(decodeFrames(bytes), name).toMatchObject({ status: 'ok', format: 'v2' });
    }
  });
});
