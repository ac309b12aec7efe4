import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { readScene, shotsOf } from '../shared/scene-doc.js';
import { startServer } from './helpers/server.js';
import { connectYjs, until } from './helpers/yjs-client.js';

const promptOf = (doc: Y.Doc, index = 0): Y.Text => shotsOf(doc).get(index).get('prompt') as Y.Text;

describe('collaborative editing over the stock y-websocket client', () => {
  it('two editors typing into one prompt at once converge, and a late joiner gets everything', async () => {
    const server = await startServer();
    const room = await server.createRoom({ title: 'converge' });
    const a = connectYjs(server.wsUrl, room.room, room.tokens.editor);
    const b = connectYjs(server.wsUrl, room.room, room.tokens.editor);
    await Promise.all([a.synced, b.synced]);
    await until(a.doc, (d) => shotsOf(d).length === 1);
    await until(b.doc, (d) => shotsOf(d).length === 1);

    // Interleaved typing from both sides without waiting for each other.
    const wordsA = ['a ', 'red ', 'ball ', 'moves ', 'left'];
    const wordsB = ['一个', '蓝色', '的', '星星'];
    for (let i = 0; i < Math.max(wordsA.length, wordsB.length); i++) {
      const wa = wordsA[i];
      const wb = wordsB[i];
      if (wa) promptOf(a.doc).insert(promptOf(a.doc).length, wa);
      if (wb) promptOf(b.doc).insert(0, wb);
    }
    const expectedLength = wordsA.join('').length + wordsB.join('').length;
    await until(a.doc, (d) => promptOf(d).length === expectedLength);
    await until(b.doc, (d) => promptOf(d).length === expectedLength);
    expect(promptOf(a.doc).toString()).toBe(promptOf(b.doc).toString());
    expect(promptOf(a.doc).toString()).toContain('a red ball moves left');
    expect(promptOf(a.doc).toString()).toContain('星星');

    const c = connectYjs(server.wsUrl, room.room, room.tokens.viewer);
    await c.synced;
    await until(c.doc, (d) => shotsOf(d).length === 1 && promptOf(d).length === expectedLength);
    expect(Y.encodeStateVector(c.doc)).toEqual(Y.encodeStateVector(a.doc));
    expect(readScene(c.doc).scene).toEqual(readScene(a.doc).scene);
    expect(readScene(c.doc).scene.title).toBe('converge');
  });

  it('a viewer’s edits are not applied, not stored and not seen by others', async () => {
    const server = await startServer();
    const room = await server.createRoom();
    const editor = connectYjs(server.wsUrl, room.room, room.tokens.editor);
    const viewer = connectYjs(server.wsUrl, room.room, room.tokens.viewer);
    await Promise.all([editor.synced, viewer.synced]);
    await until(viewer.doc, (d) => shotsOf(d).length === 1);

    promptOf(viewer.doc).insert(0, 'VIEWER WAS HERE');
    viewer.doc.getMap('meta').set('title', 'hijacked');
    // The editor's next edit is relayed through the server after the viewer's; once the
    // viewer sees it, the server has handled the viewer's messages (one ordered socket).
    promptOf(editor.doc).insert(0, 'editor ');
    await until(viewer.doc, (d) => promptOf(d).toString().includes('editor '));
    const scene = await (await fetch(`${server.url}/api/rooms/${room.room}/scene?token=${room.tokens.viewer}`)).json();
    expect(scene.shots[0].prompt).toBe('editor ');
    expect(scene.title).not.toBe('hijacked');
    expect(promptOf(editor.doc).toString()).toBe('editor ');

    // Not stored either: after a restart from the same data folder, only the editor's text.
    await server.close();
    const again = await startServer({}, server.dataDir);
    const late = connectYjs(again.wsUrl, room.room, room.tokens.viewer);
    await late.synced;
    await until(late.doc, (d) => shotsOf(d).length === 1);
    expect(promptOf(late.doc).toString()).toBe('editor ');
    const metrics = await (await fetch(`${again.url}/metrics`)).text();
    expect(metrics).toContain('scenecast_rooms_loaded 1');
  });

  it('an idle room is unloaded from memory and comes back intact', async () => {
    const server = await startServer({ roomIdleMs: 50 });
    const room = await server.createRoom();
    const a = connectYjs(server.wsUrl, room.room, room.tokens.editor);
    await a.synced;
    await until(a.doc, (d) => shotsOf(d).length === 1);
    promptOf(a.doc).insert(0, 'a green square spins');
    const watcher = connectYjs(server.wsUrl, room.room, room.tokens.viewer);
    await until(watcher.doc, (d) => shotsOf(d).length === 1 && promptOf(d).toString() === 'a green square spins');
    a.destroy();
    watcher.destroy();
    const rooms = server.app.scenecast.rooms;
    await expect.poll(() => rooms.loadedCount, { timeout: 5000, interval: 20 }).toBe(0);

    const b = connectYjs(server.wsUrl, room.room, room.tokens.viewer);
    await b.synced;
    await until(b.doc, (d) => shotsOf(d).length === 1);
    expect(promptOf(b.doc).toString()).toBe('a green square spins');
    expect(rooms.loadedCount).toBe(1);
  });
});
