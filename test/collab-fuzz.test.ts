import { describe, expect, it } from 'vitest';
import * as encoding from 'lib0/encoding';
import * as Y from 'yjs';
import { CLOSE } from '../shared/protocol.js';
import { readScene, shotsOf } from '../shared/scene-doc.js';
import { encodeAwareness, encodeUpdate } from '../server/collab/messages.js';
import { startServer } from './helpers/server.js';
import { openRaw } from './helpers/raw-ws.js';
import { connectYjs, until } from './helpers/yjs-client.js';

/** A small seeded PRNG (mulberry32) so a failure can be replayed from the printed seed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('malformed, truncated and oversize messages', () => {
  const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 100000);

  it(`closes only the offending connection and leaves the document unchanged (seed ${seed})`, async () => {
    const server = await startServer({ maxMessageBytes: 64 * 1024 });
    const room = await server.createRoom({ scene: { title: 'fuzz', shots: [{ id: 's1', prompt: 'a white star spins' }] } });
    const url = `${server.wsUrl}/yjs/${room.room}?token=${room.tokens.editor}`;
    const watcher = connectYjs(server.wsUrl, room.room, room.tokens.viewer);
    await watcher.synced;
    await until(watcher.doc, (d) => shotsOf(d).length === 1);
    const before = Y.encodeStateAsUpdate(watcher.doc);
    const sceneBefore = readScene(watcher.doc).scene;

    // A real edit, to cut into pieces.
    const scratch = new Y.Doc();
    Y.applyUpdate(scratch, before);
    const scratchUpdates: Uint8Array[] = [];
    scratch.on('update', (u: Uint8Array) => scratchUpdates.push(u));
    (shotsOf(scratch).get(0).get('prompt') as Y.Text).insert(0, 'EDITED ');
    const realMessage = encodeUpdate(scratchUpdates[0]!);

    const random = rng(seed);
    const bytes = (n: number) => Uint8Array.from({ length: n }, () => Math.floor(random() * 256));
    const cases: { name: string; data: Uint8Array | string; expect: number[] }[] = [];
    for (let i = 0; i < 30; i++) cases.push({ name: `random ${i}`, data: bytes(1 + Math.floor(random() * 200)), expect: [CLOSE.MALFORMED] });
    for (let cut = 1; cut < realMessage.length; cut += Math.max(1, Math.floor(realMessage.length / 12))) {
      cases.push({ name: `truncated at ${cut}`, data: realMessage.subarray(0, cut), expect: [CLOSE.MALFORMED] });
    }
    cases.push({ name: 'trailing bytes', data: Uint8Array.from([...realMessage, 7, 7]), expect: [CLOSE.MALFORMED] });
    cases.push({ name: 'unknown type', data: Uint8Array.from([9, 0]), expect: [CLOSE.MALFORMED] });
    cases.push({ name: 'unknown sync step', data: Uint8Array.from([0, 7, 0]), expect: [CLOSE.MALFORMED] });
    cases.push({ name: 'text frame', data: 'hello', expect: [CLOSE.MALFORMED] });
    cases.push({ name: 'bad awareness', data: encodeAwareness(Uint8Array.from([1, 2, 3])), expect: [CLOSE.MALFORMED] });
    const big = encoding.createEncoder();
    encoding.writeVarUint(big, 0);
    encoding.writeVarUint(big, 2);
    encoding.writeVarUint8Array(big, bytes(70 * 1024));
    cases.push({ name: 'oversize', data: encoding.toUint8Array(big), expect: [CLOSE.TOO_BIG] });

    for (const c of cases) {
      const socket = await openRaw(url);
      await socket.next(); // the server's sync step 1: the room is loaded
      socket.ws.send(c.data, { binary: typeof c.data !== 'string' });
      const closed = await Promise.race([socket.closed, new Promise<null>((r) => setTimeout(() => r(null), 2000))]);
      // Random bytes can, rarely, form a valid no-op message; then the connection stays open.
      if (closed === null) {
        expect(c.name, `${c.name} was accepted`).toMatch(/^random/);
        socket.ws.close();
      } else {
        expect(c.expect, `${c.name}: closed with ${closed.code} ${closed.reason}`).toContain(closed.code);
      }
    }

    // Still up, the watcher still connected, the document as it was, and a real edit still works.
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    const check = await (await fetch(`${server.url}/api/rooms/${room.room}/scene?token=${room.tokens.viewer}`)).json();
    expect({ ...check, skipped: undefined }).toEqual({ ...sceneBefore, skipped: undefined });
    expect(watcher.provider.wsconnected).toBe(true);
    const editor = connectYjs(server.wsUrl, room.room, room.tokens.editor);
    await editor.synced;
    await until(editor.doc, (d) => shotsOf(d).length === 1);
    (shotsOf(editor.doc).get(0).get('prompt') as Y.Text).insert(0, 'still ');
    await until(watcher.doc, (d) => (shotsOf(d).get(0).get('prompt') as Y.Text).toString() === 'still a white star spins');
  });
});
