import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { CLOSE } from '../shared/protocol.js';
import { shotsOf } from '../shared/scene-doc.js';
import { encodeUpdate } from '../server/collab/messages.js';
import { startServer, within, type TestServer } from './helpers/server.js';
import { openRaw } from './helpers/raw-ws.js';
import { connectYjs, until } from './helpers/yjs-client.js';

const promptOf = (doc: Y.Doc): Y.Text => shotsOf(doc).get(0).get('prompt') as Y.Text;
const CAP = 256 * 1024;
/** About 60 KB of update each: four fit under CAP, the fifth passes it. */
const chunk = (i: number) => `<chunk-${i}>${'x'.repeat(60_000)}`;

const serverDoc = (server: TestServer, room: string): Y.Doc => {
  const loaded = server.app.scenecast.rooms.peek(room);
  if (!loaded) throw new Error(`room ${room} is not loaded`);
  return loaded.doc;
};

describe('document size cap', () => {
  it('refuses the update that would pass maxDocBytes (4413), stores nothing of it, and the room keeps working', async () => {
    const server = await startServer({ maxDocBytes: CAP });
    const room = await server.createRoom();
    const big = connectYjs(server.wsUrl, room.room, room.tokens.editor, { reconnect: false });
    const other = connectYjs(server.wsUrl, room.room, room.tokens.editor);
    await Promise.all([big.synced, other.synced]);
    await until(big.doc, (d) => shotsOf(d).length === 1);
    await until(other.doc, (d) => shotsOf(d).length === 1);

    for (let i = 0; i < 4; i++) {
      promptOf(big.doc).insert(promptOf(big.doc).length, chunk(i));
      await until(other.doc, (d) => promptOf(d).toString().includes(`<chunk-${i}>`), 5000, `chunk ${i}`);
    }
    promptOf(big.doc).insert(promptOf(big.doc).length, chunk(4));
    const closed = await within('the close of the connection that passed the cap', 5000, big.closed);
    expect(closed.code).toBe(CLOSE.DOC_TOO_LARGE);
    expect(closed.reason).toMatch(/^DOC_TOO_LARGE: /);
    expect(Buffer.byteLength(closed.reason)).toBeLessThanOrEqual(123);

    // The other editor keeps editing; nobody got the refused update.
    promptOf(other.doc).insert(0, 'still here ');
    const watcher = connectYjs(server.wsUrl, room.room, room.tokens.viewer);
    await until(watcher.doc, (d) => shotsOf(d).length === 1 && promptOf(d).toString().startsWith('still here '), 5000, 'the later edit');
    expect(promptOf(watcher.doc).toString()).toContain('<chunk-3>');
    expect(promptOf(watcher.doc).toString()).not.toContain('<chunk-4>');
    expect(promptOf(other.doc).toString()).not.toContain('<chunk-4>');
    expect(promptOf(serverDoc(server, room.room)).toString()).not.toContain('<chunk-4>');
    expect(await (await fetch(`${server.url}/metrics`)).text()).toMatch(/scenecast_ws_closed_by_server_total\{code="4413"\} 1/);

    // What was stored: everything but the refused update.
    other.destroy();
    watcher.destroy();
    await server.close();
    const again = await startServer({ maxDocBytes: CAP }, server.dataDir);
    const reader = connectYjs(again.wsUrl, room.room, room.tokens.viewer);
    await until(reader.doc, (d) => shotsOf(d).length === 1 && promptOf(d).toString().startsWith('still here '), 5000, 'the reloaded room');
    expect(promptOf(reader.doc).toString()).toContain('<chunk-3>');
    expect(promptOf(reader.doc).toString()).not.toContain('<chunk-4>');
  });

  it('refuses a single update larger than the cap from a raw connection and ignores what it sends after', async () => {
    const server = await startServer({ maxDocBytes: CAP });
    const room = await server.createRoom();
    const raw = await openRaw(`${server.wsUrl}/yjs/${room.room}?token=${room.tokens.editor}`);
    await raw.next();
    const junk = new Y.Doc();
    junk.getText('junk').insert(0, 'j'.repeat(CAP));
    const small = new Y.Doc();
    small.getText('after').insert(0, 'sent after the refusal');
    raw.ws.send(encodeUpdate(Y.encodeStateAsUpdate(junk)));
    raw.ws.send(encodeUpdate(Y.encodeStateAsUpdate(small)));
    const closed = await within('the 4413 close', 5000, raw.closed);
    expect(closed.code).toBe(CLOSE.DOC_TOO_LARGE);
    expect(closed.reason).toMatch(/^DOC_TOO_LARGE: /);
    const doc = serverDoc(server, room.room);
    expect(doc.getText('junk').length).toBe(0);
    expect(doc.getText('after').length).toBe(0);
    expect(Y.encodeStateAsUpdate(doc).length).toBeLessThan(4096);
  });

  it('leaves a scene far below the cap alone, however many bytes of edits it took', async () => {
    // 64 KiB is the least the config allows; the edits below send more than that in total.
    const server = await startServer({ maxDocBytes: 64 * 1024, compactBytes: 4000 });
    const room = await server.createRoom();
    const editor = connectYjs(server.wsUrl, room.room, room.tokens.editor);
    const watcher = connectYjs(server.wsUrl, room.room, room.tokens.viewer);
    await Promise.all([editor.synced, watcher.synced]);
    await until(editor.doc, (d) => shotsOf(d).length === 1);
    let sent = 0;
    editor.doc.on('update', (update: Uint8Array, origin: unknown) => {
      if (origin !== editor.provider) sent += update.length;
    });
    for (let round = 0; round < 50; round++) {
      const prompt = promptOf(editor.doc);
      prompt.insert(0, `round ${round} ${'y'.repeat(2000)}`);
      prompt.delete(0, prompt.length);
      prompt.insert(0, `a red ball, take ${round}`);
      await until(watcher.doc, (d) => shotsOf(d).length === 1 && promptOf(d).toString() === `a red ball, take ${round}`, 5000, `round ${round}`);
    }
    expect(sent).toBeGreaterThan(64 * 1024);
    expect(editor.provider.wsconnected).toBe(true);
    expect(Y.encodeStateAsUpdate(serverDoc(server, room.room)).length).toBeLessThan(16 * 1024);
    expect(await (await fetch(`${server.url}/metrics`)).text()).not.toContain('code="4413"');
  });
});
