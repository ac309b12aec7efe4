import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import type { CreateRoomResponse } from '../shared/protocol.js';
import { findShot } from '../shared/scene-doc.js';
import { startCluster } from './helpers/cluster.js';
import { PreviewRecorder } from './helpers/preview-recorder.js';
import { connectSocket } from './helpers/socket-client.js';
import { connectYjs, until } from './helpers/yjs-client.js';

const promptOf = (doc: Y.Doc) => findShot(doc, 's1')!.get('prompt') as Y.Text;

async function createRoom(url: string): Promise<CreateRoomResponse> {
  const res = await fetch(`${url}/api/rooms`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ scene: { fps: 8, shots: [{ id: 's1', prompt: 'a red ball moves left', duration: 1 }] } }),
  });
  expect(res.status).toBe(201);
  return (await res.json()) as CreateRoomResponse;
}

describe('scale-out on Redis', () => {
  it('two nodes and one worker: an editor on A and a viewer on B converge, and B receives the worker’s preview frames', async () => {
    const cluster = await startCluster();
    const [a, b] = await Promise.all([cluster.node(), cluster.node()]);
    await cluster.worker();
    const room = await createRoom(a.url);

    const editor = connectYjs(a.wsUrl, room.room, room.tokens.editor);
    const viewer = connectYjs(b.wsUrl, room.room, room.tokens.viewer);
    await Promise.all([editor.synced, viewer.synced]);
    await until(editor.doc, (d) => findShot(d, 's1') !== undefined);
    await until(viewer.doc, (d) => findShot(d, 's1') !== undefined);
    const frames = new PreviewRecorder(connectSocket(b.url, room.tokens.viewer));
    await frames.done('s1'); // the preview made when the room opened

    // Presence crosses nodes too.
    editor.provider.awareness.setLocalStateField('user', { name: 'Ada' });
    await expect.poll(() => viewer.provider.awareness.getStates().get(editor.doc.clientID)?.user?.name, { timeout: 10_000, interval: 20 }).toBe('Ada');

    const before = Math.max(...frames.states.map((s) => s.rev));
    promptOf(editor.doc).insert(promptOf(editor.doc).length, ' quickly on the grass');
    await until(viewer.doc, (d) => promptOf(d).toString() === 'a red ball moves left quickly on the grass');
    const done = await frames.done('s1', before);
    const got = frames.framesOf('s1', done.rev);
    expect(got.map((f) => f.index)).toEqual([...Array(8).keys()]);
    expect(got[0]).toMatchObject({ width: 128, height: 72 });
    // B's scene endpoint reads the same document.
    const scene = await (await fetch(`${b.url}/api/rooms/${room.room}/scene?token=${room.tokens.viewer}`)).json();
    expect(scene.shots[0].prompt).toBe('a red ball moves left quickly on the grass');
  }, 120_000);
});
