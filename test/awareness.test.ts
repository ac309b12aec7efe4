import { describe, expect, it } from 'vitest';
import { applyAwarenessUpdate, encodeAwarenessUpdate, Awareness } from 'y-protocols/awareness';
import * as Y from 'yjs';
import { decodeMessage, encodeAwareness, MSG_AWARENESS } from '../server/collab/messages.js';
import { startServer } from './helpers/server.js';
import { openRaw } from './helpers/raw-ws.js';
import { connectYjs } from './helpers/yjs-client.js';

const isAwareness = (data: Uint8Array) => data[0] === MSG_AWARENESS;

/** An awareness update as client `clientID` would send it. */
function awarenessBytes(clientID: number, state: Record<string, unknown>, clock = 1): Uint8Array {
  const doc = new Y.Doc();
  doc.clientID = clientID;
  const awareness = new Awareness(doc);
  for (let i = 1; i < clock; i++) awareness.setLocalState({ tick: i });
  awareness.setLocalState(state);
  const bytes = encodeAwarenessUpdate(awareness, [clientID]);
  awareness.destroy();
  return bytes;
}

describe('awareness', () => {
  it('relays presence between stock clients and removes it when a client leaves', async () => {
    const server = await startServer();
    const room = await server.createRoom();
    const a = connectYjs(server.wsUrl, room.room, room.tokens.editor);
    const b = connectYjs(server.wsUrl, room.room, room.tokens.viewer);
    await Promise.all([a.synced, b.synced]);
    const seen = new Promise<void>((resolve) => {
      b.provider.awareness.on('change', () => {
        if (b.provider.awareness.getStates().get(a.doc.clientID)?.user?.name === 'Ada') resolve();
      });
    });
    a.provider.awareness.setLocalStateField('user', { name: 'Ada', color: '#f0a' });
    await seen;
    const gone = new Promise<void>((resolve) => {
      b.provider.awareness.on('change', () => {
        if (!b.provider.awareness.getStates().has(a.doc.clientID)) resolve();
      });
    });
    a.destroy();
    await gone;
  });

  it('batches a burst from many clients into fewer messages than updates', async () => {
    const server = await startServer();
    const room = await server.createRoom();
    const url = `${server.wsUrl}/yjs/${room.room}?token=${room.tokens.editor}`;
    const observer = await openRaw(url);
    await observer.next();
    const clients = await Promise.all(Array.from({ length: 30 }, () => openRaw(url)));
    await Promise.all(clients.map((c) => c.next()));
    const before = observer.messages.filter(isAwareness).length;
    clients.forEach((c, i) => c.ws.send(encodeAwareness(awarenessBytes(1000 + i, { cursor: i }))));
    // Wait until the observer knows all 30 states.
    const known = new Set<number>();
    const mirror = new Awareness(new Y.Doc());
    mirror.on('update', ({ added, updated }: { added: number[]; updated: number[] }) => [...added, ...updated].forEach((id) => known.add(id)));
    let index = before;
    await expect
      .poll(() => {
        const all = observer.messages.filter(isAwareness);
        for (; index < all.length; index++) {
          const message = decodeMessage(all[index]!);
          // Applied exactly as a client would.
          if (message.type === 'awareness') applyAwarenessUpdate(mirror, message.update, 'server');
        }
        return known.size;
      }, { timeout: 5000, interval: 20 })
      .toBe(30);
    const messages = observer.messages.filter(isAwareness).length - before;
    expect(messages).toBeLessThan(30);
  });

  it('rate-limits one chatty client but always delivers its newest state', async () => {
    const server = await startServer({ awarenessRate: 5 });
    const room = await server.createRoom();
    const url = `${server.wsUrl}/yjs/${room.room}?token=${room.tokens.editor}`;
    const observer = await openRaw(url);
    await observer.next();
    const chatty = await openRaw(url);
    await chatty.next();
    const before = observer.messages.filter(isAwareness).length;
    const doc = new Y.Doc();
    doc.clientID = 4242;
    const awareness = new Awareness(doc);
    const started = performance.now();
    for (let i = 0; i < 40; i++) {
      awareness.setLocalState({ cursor: i });
      chatty.ws.send(encodeAwareness(encodeAwarenessUpdate(awareness, [4242])));
      await new Promise((r) => setTimeout(r, 5));
    }
    const mirror = new Awareness(new Y.Doc());
    await expect
      .poll(() => {
        for (const m of observer.messages.filter(isAwareness)) {
          const message = decodeMessage(m);
          if (message.type === 'awareness') applyAwarenessUpdate(mirror, message.update, 'server');
        }
        return mirror.getStates().get(4242)?.cursor;
      }, { timeout: 5000, interval: 20 })
      .toBe(39);
    const elapsed = (performance.now() - started) / 1000;
    const relayed = observer.messages.filter(isAwareness).length - before;
    // 5 per second (+1 for the first and +1 for the trailing flush), far fewer than the 40 sent.
    expect(relayed).toBeLessThanOrEqual(Math.ceil(elapsed * 5) + 2);
    awareness.destroy();
  });

  it('ignores a client that speaks for another client’s id', async () => {
    const server = await startServer();
    const room = await server.createRoom();
    const url = `${server.wsUrl}/yjs/${room.room}?token=${room.tokens.editor}`;
    const owner = await openRaw(url);
    await owner.next();
    owner.ws.send(encodeAwareness(awarenessBytes(777, { user: { name: 'real' } })));
    const observer = connectYjs(server.wsUrl, room.room, room.tokens.viewer);
    await observer.synced;
    await expect.poll(() => observer.provider.awareness.getStates().get(777)?.user?.name, { timeout: 5000, interval: 20 }).toBe('real');
    const spoofer = await openRaw(url);
    await spoofer.next();
    spoofer.ws.send(encodeAwareness(awarenessBytes(777, { user: { name: 'fake' } }, 5)));
    // A later legitimate change from the owner is what the observer ends with.
    owner.ws.send(encodeAwareness(awarenessBytes(777, { user: { name: 'real-2' } }, 9)));
    await expect.poll(() => observer.provider.awareness.getStates().get(777)?.user?.name, { timeout: 5000, interval: 20 }).toBe('real-2');
    expect(spoofer.ws.readyState).toBe(spoofer.ws.OPEN);
  });
});
