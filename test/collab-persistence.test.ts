import { appendFile, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { CLOSE } from '../shared/protocol.js';
import { shotsOf } from '../shared/scene-doc.js';
import { decodeFrames, encodeFile, encodeFrame } from '../server/collab/store/frames.js';
import { startServer } from './helpers/server.js';
import { connectYjs, firstPrompt, typeAcknowledged, until } from './helpers/yjs-client.js';
import { openRaw } from './helpers/raw-ws.js';

const promptOf = firstPrompt;

// The frame layout itself is tested in log-frames.test.ts; this is the short version.
describe('log frames', () => {
  it('round-trip, and tell an interrupted write from damage', () => {
    const payloads = [Uint8Array.of(1, 2, 3), new Uint8Array(0), new Uint8Array(1000).fill(9)];
    const file = encodeFile(payloads);
    const ok = decodeFrames(file);
    expect(ok.status).toBe('ok');
    expect(ok.payloads.map((p) => [...p])).toEqual(payloads.map((p) => [...p]));

    const torn = decodeFrames(file.subarray(0, file.length - 10));
    expect(torn).toMatchObject({ status: 'torn', goodBytes: 8 + encodeFrame(payloads[0]!).length + encodeFrame(payloads[1]!).length });
    expect(decodeFrames(file.subarray(0, 5))).toMatchObject({ status: 'torn', goodBytes: 0 });

    const flipped = Buffer.from(file);
    flipped.writeUInt8(flipped.readUInt8(9) ^ 0xff, 9); // the first frame's length
    expect(decodeFrames(flipped)).toMatchObject({ status: 'corrupt', offset: 8 });
    const impossible = Buffer.concat([file, Buffer.from([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 1, 2, 3, 4, 1])]);
    expect(decodeFrames(impossible).status).toBe('corrupt');
  });
});

async function roomFiles(dataDir: string, room: string): Promise<string[]> {
  return (await readdir(path.join(dataDir, 'rooms', room))).sort();
}


describe('persistence', () => {
  it('compacts the log into a snapshot and reloads the same document', async () => {
    const server = await startServer({ compactBytes: 2000 });
    const room = await server.createRoom();
    const text = 'a purple triangle bounces slowly on the grass at sunset '.repeat(4);
    await typeAcknowledged(server.wsUrl, room, text);
    // Compaction ran at least once: the first snapshot (generation 1) is replaced by a newer one.
    await expect
      .poll(async () => (await roomFiles(server.dataDir, room.room)).filter((f) => f.startsWith('snapshot.')), { timeout: 5000, interval: 20 })
      .toEqual([expect.not.stringMatching(/^snapshot\.1\.bin$/)]);
    expect(await (await fetch(`${server.url}/metrics`)).text()).toMatch(/scenecast_compactions_total\{outcome="ok"\} [1-9]/);

    await server.close();
    const again = await startServer({}, server.dataDir);
    const reader = connectYjs(again.wsUrl, room.room, room.tokens.viewer);
    await until(reader.doc, (d) => shotsOf(d).length === 1);
    expect(promptOf(reader.doc).toString()).toBe(text);
  });

  // What a power cut during write(2) leaves: half a frame, part of a header, or (some filesystems) zeros.
  it.each([
    ['half a frame', encodeFrame(new Uint8Array(100).fill(1)).subarray(0, 40)],
    ['part of a header', encodeFrame(new Uint8Array(100).fill(1)).subarray(0, 6)],
    ['a zero-filled tail', Buffer.alloc(4096)],
  ])('sets aside an interrupted last write (%s) and opens the room with every complete update', async (_name, tail) => {
    const server = await startServer();
    const room = await server.createRoom();
    await typeAcknowledged(server.wsUrl, room, 'a blue ball');
    await server.close();
    const dir = path.join(server.dataDir, 'rooms', room.room);
    const log = (await roomFiles(server.dataDir, room.room)).find((f) => f.startsWith('log.'))!;
    await appendFile(path.join(dir, log), tail);

    const again = await startServer({}, server.dataDir);
    const reader = connectYjs(again.wsUrl, room.room, room.tokens.viewer);
    await until(reader.doc, (d) => shotsOf(d).length === 1 && promptOf(d).toString() === 'a blue ball');
    expect((await roomFiles(again.dataDir, room.room)).some((f) => f.includes('.torn-'))).toBe(true);
    expect(await (await fetch(`${again.url}/metrics`)).text()).toContain('scenecast_storage_repairs_total 1');
  });

  it.each([
    ['a damaged snapshot', 'snapshot'],
    ['a checksum mismatch inside the log', 'log'],
  ] as const)('%s gives clients ROOM_STORAGE_ERROR, keeps the files and loads nothing', async (_name, target) => {
    const server = await startServer();
    const room = await server.createRoom();
    await typeAcknowledged(server.wsUrl, room, 'a red star');
    await server.close();
    const dir = path.join(server.dataDir, 'rooms', room.room);
    const files = await roomFiles(server.dataDir, room.room);
    const file = path.join(dir, files.find((f) => f.startsWith(`${target}.`))!);
    if (target === 'snapshot') {
      const bytes = Buffer.from(await readFile(file));
      bytes.writeUInt8(bytes.readUInt8(24) ^ 0xff, 24); // inside the payload (magic 8 + frame header 12)
      await writeFile(file, bytes);
    } else {
      // Two complete frames, the first with a wrong checksum: damage, not an interrupted write.
      const bad = encodeFrame(Uint8Array.of(0, 0));
      bad.writeUInt32LE(bad.readUInt32LE(4) ^ 1, 4);
      await appendFile(file, Buffer.concat([bad, encodeFrame(Uint8Array.of(0, 0))]));
    }
    const damaged = await readFile(file);

    const again = await startServer({}, server.dataDir);
    const socket = await openRaw(`${again.wsUrl}/yjs/${room.room}?token=${room.tokens.editor}`);
    const closed = await socket.closed;
    expect(closed.code).toBe(CLOSE.STORAGE_ERROR);
    expect(closed.reason).toMatch(/^ROOM_STORAGE_ERROR/);
    expect(again.app.scenecast.rooms.loadedCount).toBe(0);
    const res = await fetch(`${again.url}/api/rooms/${room.room}/scene?token=${room.tokens.viewer}`);
    expect(res.status).toBe(500);
    expect((await res.json()).error.code).toBe('ROOM_STORAGE_ERROR');
    // Nothing was rewritten: the good updates are still on disk, byte for byte.
    expect(await readFile(file)).toEqual(damaged);
    expect(await roomFiles(again.dataDir, room.room)).toEqual(files);
    // The server itself is fine.
    expect((await fetch(`${again.url}/healthz`)).status).toBe(200);
    const other = await again.createRoom();
    await typeAcknowledged(again.wsUrl, other, 'ok');
  });
});
