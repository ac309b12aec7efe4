import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import type { CreateRoomResponse } from '../shared/protocol.js';
import { shotsOf } from '../shared/scene-doc.js';
import { tempDir } from './helpers/server.js';
import { spawnServer } from './helpers/server-process.js';
import { connectYjs, until } from './helpers/yjs-client.js';

const promptOf = (doc: Y.Doc): Y.Text => shotsOf(doc).get(0).get('prompt') as Y.Text;

/** True when every struct in `seen` is also in `doc`. */
function covers(doc: Y.Doc, seen: Y.Doc): boolean {
  const have = Y.decodeStateVector(Y.encodeStateVector(doc));
  for (const [client, clock] of Y.decodeStateVector(Y.encodeStateVector(seen))) {
    if ((have.get(client) ?? 0) < clock) return false;
  }
  return true;
}

describe('kill -9', () => {
  it('keeps every acknowledged edit, and the editor’s unacknowledged ones come back on reconnect', async () => {
    const dataDir = await tempDir();
    const first = await spawnServer({ DATA_DIR: dataDir });
    const res = await fetch(`${first.url}/api/rooms`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    const room = (await res.json()) as CreateRoomResponse;

    const editor = connectYjs(first.wsUrl, room.room, room.tokens.editor);
    const observer = connectYjs(first.wsUrl, room.room, room.tokens.viewer);
    await Promise.all([editor.synced, observer.synced]);
    await until(editor.doc, (d) => shotsOf(d).length === 1);
    await until(observer.doc, (d) => shotsOf(d).length === 1);

    // The editor types 400 keystrokes, one update each, without waiting.
    const typing = (async () => {
      for (let i = 0; i < 400; i++) {
        promptOf(editor.doc).insert(promptOf(editor.doc).length, String.fromCharCode(97 + (i % 26)));
        if (i % 20 === 0) await new Promise((r) => setImmediate(r));
      }
    })();
    // What the observer received was durable on the server before it was sent: acknowledged.
    await until(observer.doc, (d) => promptOf(d).length >= 150);
    await first.kill9();
    const acknowledged = new Y.Doc();
    Y.applyUpdate(acknowledged, Y.encodeStateAsUpdate(observer.doc));
    observer.destroy();
    await typing;
    expect(promptOf(acknowledged).length).toBeGreaterThanOrEqual(150);

    const second = await spawnServer({ DATA_DIR: dataDir });
    const reader = connectYjs(second.wsUrl, room.room, room.tokens.viewer, { reconnect: false });
    await reader.synced;
    await until(reader.doc, (d) => shotsOf(d).length === 1);
    expect(covers(reader.doc, acknowledged)).toBe(true);
    expect(promptOf(reader.doc).toString().startsWith(promptOf(acknowledged).toString())).toBe(true);

    // The editor reconnects to the new process and sends what the server never stored.
    editor.provider.disconnect();
    editor.provider.serverUrl = `${second.wsUrl}/yjs`;
    editor.provider.connect();
    await until(reader.doc, (d) => promptOf(d).length === 400);
    expect(promptOf(reader.doc).toString()).toBe(promptOf(editor.doc).toString());
  });
});
