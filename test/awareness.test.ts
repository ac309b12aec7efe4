import * as encoding from 'lib0/encoding';
import { describe, expect, it } from 'vitest';
import { applyAwarenessUpdate, encodeAwarenessUpdate, Awareness } from 'y-protocols/awareness';
import * as Y from 'yjs';
import { decodeAwarenessUpdate, decodeMessage, encodeAwareness, encodeAwarenessUpdateEntries, MSG_AWARENESS } from '../server/collab/messages.js';
import type { TestServer } from './helpers/server.js';
import { startServer } from './helpers/server.js';
import { openRaw } from './helpers/raw-ws.js';
import { connectYjs } from './helpers/yjs-client.js';

const isAwareness = (data: Uint8Array) => data[0] === MSG_AWARENESS;

/** The awareness update inside an awareness message. */
function decodeAwarenessPayload(data: Uint8Array): Uint8Array {
  const message = decodeMessage(data);
  if (message.type !== 'awareness') throw new Error(`not an awareness message: ${message.type}`);
  return message.update;
}

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

/** An awareness update naming several clients (written here byte by byte, as any client could). */
function entriesBytes(entries: { id: number; clock: number; state: unknown }[]): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, entries.length);
  for (const { id, clock, state } of entries) {
    encoding.writeVarUint(encoder, id);
    encoding.writeVarUint(encoder, clock);
    encoding.writeVarString(encoder, JSON.stringify(state));
  }
  return encoding.toUint8Array(encoder);
}

/** The states a raw socket learnt from its awareness messages (from message `from` on), as a client would. */
function mirrorOf(messages: Uint8Array[]) {
  const awareness = new Awareness(new Y.Doc());
  awareness.setLocalState(null);
  const everAdded = new Set<number>();
  awareness.on('update', ({ added }: { added: number[] }) => added.forEach((id) => everAdded.add(id)));
  let index = 0;
  return {
    awareness,
    everAdded,
    /** Applies the messages received since the last call; returns the states. */
    states() {
      for (; index < messages.length; index++) {
        const bytes = messages[index]!;
        if (!isAwareness(bytes)) continue;
        const message = decodeMessage(bytes);
        if (message.type === 'awareness') applyAwarenessUpdate(awareness, message.update, 'server');
      }
      return awareness.getStates() as Map<number, Record<string, any>>;
    },
  };
}

const roomOf = (server: TestServer, id: string) => {
  const room = server.app.scenecast.rooms.peek(id);
  if (!room) throw new Error(`room ${id} is not loaded`);
  return room;
};

const poll = { timeout: 5000, interval: 20 };

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

  it('encodes and decodes awareness updates as y-protocols does', () => {
    const doc = new Y.Doc();
    const awareness = new Awareness(doc);
    awareness.setLocalState({ user: { name: 'Ada ✓' }, cursor: null });
    applyAwarenessUpdate(awareness, entriesBytes([{ id: 9, clock: 3, state: { shot: 's1' } }]), 'test');
    const stock = encodeAwarenessUpdate(awareness, [doc.clientID, 9]);
    const entries = decodeAwarenessUpdate(stock);
    expect(entries.map(({ clientID, clock, json }) => ({ clientID, clock, state: new TextDecoder().decode(json) }))).toEqual([
      { clientID: doc.clientID, clock: 1, state: JSON.stringify({ user: { name: 'Ada ✓' }, cursor: null }) },
      { clientID: 9, clock: 3, state: JSON.stringify({ shot: 's1' }) },
    ]);
    expect(encodeAwarenessUpdateEntries(entries)).toEqual(stock);
    awareness.destroy();
  });

  it('removes a CSS string a viewer sends as its colour before an editor sees its presence', async () => {
    const server = await startServer();
    const room = await server.createRoom();
    const editor = connectYjs(server.wsUrl, room.room, room.tokens.editor);
    const viewer = connectYjs(server.wsUrl, room.room, room.tokens.viewer);
    await Promise.all([editor.synced, viewer.synced]);
    const css = 'red;position:fixed;inset:0;background:url(http://x)';
    viewer.provider.awareness.setLocalStateField('user', { name: 'Mallory', color: css, colorLight: `${css}33`, role: 'viewer' });
    await expect.poll(() => editor.provider.awareness.getStates().get(viewer.doc.clientID)?.user?.name, poll).toBe('Mallory');
    const user = editor.provider.awareness.getStates().get(viewer.doc.clientID)!.user;
    expect(user).toEqual({ name: 'Mallory', role: 'viewer' });
  });

  it('shows a viewer that claims to be an editor as a viewer', async () => {
    const server = await startServer();
    const room = await server.createRoom();
    const editor = connectYjs(server.wsUrl, room.room, room.tokens.editor);
    const viewer = connectYjs(server.wsUrl, room.room, room.tokens.viewer);
    await Promise.all([editor.synced, viewer.synced]);
    viewer.provider.awareness.setLocalStateField('user', { name: 'Editor', color: '#30a46c', colorLight: '#30a46c33', role: 'editor' });
    await expect.poll(() => editor.provider.awareness.getStates().get(viewer.doc.clientID)?.user?.name, poll).toBe('Editor');
    expect(editor.provider.awareness.getStates().get(viewer.doc.clientID)!.user.role).toBe('viewer');
  });

  it('rebuilds an honest state: known keys kept, name cleaned and cut, role from the token', async () => {
    const server = await startServer();
    const room = await server.createRoom();
    const a = connectYjs(server.wsUrl, room.room, room.tokens.editor);
    const b = connectYjs(server.wsUrl, room.room, room.tokens.viewer);
    await Promise.all([a.synced, b.synced]);
    const cursor = {
      anchor: { type: { client: 12, clock: 3 }, tname: null, item: { client: 12, clock: 5 }, assoc: 0 },
      head: { type: { client: 12, clock: 3 }, tname: null, item: null, assoc: -1 },
    };
    a.provider.awareness.setLocalState({
      user: { name: `Ada\u0007 Lovelace\u202E${'x'.repeat(50)}`, color: '#30a46c', colorLight: '#30a46c33', role: 'overlay', avatar: 'http://x/a.png' },
      shot: 'shot_1-A',
      cursor,
      onclick: 'alert(1)',
    });
    await expect.poll(() => b.provider.awareness.getStates().get(a.doc.clientID)?.shot, poll).toBe('shot_1-A');
    expect(b.provider.awareness.getStates().get(a.doc.clientID)).toEqual({
      user: { name: `Ada Lovelace${'x'.repeat(28)}`, color: '#30a46c', colorLight: '#30a46c33', role: 'editor' },
      shot: 'shot_1-A',
      cursor,
    });
  });

  it('checks every field it keeps', async () => {
    const { sanitizeAwarenessState } = await import('../server/collab/awareness-policy.js');
    expect(sanitizeAwarenessState(null, 'editor')).toBeNull();
    expect(sanitizeAwarenessState([1], 'editor')).toBeUndefined();
    expect(sanitizeAwarenessState('x', 'editor')).toBeUndefined();
    expect(sanitizeAwarenessState({ user: 'x', shot: '../../etc', cursor: [] }, 'overlay')).toEqual({ user: { role: 'overlay' } });
    expect(sanitizeAwarenessState({ user: { name: 7, color: '#abc', colorLight: '#aabbccddee' }, shot: null, cursor: null }, 'viewer')).toEqual({
      user: { role: 'viewer' },
      shot: null,
      cursor: null,
    });
    // A malformed relative position would throw in other editors' y-codemirror view updates.
    expect(sanitizeAwarenessState({ cursor: { anchor: { item: {} }, head: { item: null } } }, 'editor')).toEqual({ user: { role: 'editor' } });
    expect(sanitizeAwarenessState({ cursor: { anchor: { item: { client: 1, clock: 2 }, extra: 1 }, head: { tname: 't' } } }, 'editor')).toEqual({
      user: { role: 'editor' },
      cursor: { anchor: { item: { client: 1, clock: 2 } }, head: { tname: 't' } },
    });
  });

  it('keeps a connection to the first client id it published', async () => {
    const server = await startServer();
    const room = await server.createRoom();
    const url = `${server.wsUrl}/yjs/${room.room}?token=${room.tokens.editor}`;
    const observer = connectYjs(server.wsUrl, room.room, room.tokens.viewer);
    await observer.synced;
    const raw = await openRaw(url);
    await raw.next();
    raw.ws.send(encodeAwareness(entriesBytes([
      { id: 5001, clock: 1, state: { user: { name: 'own' } } },
      { id: 5002, clock: 1, state: { user: { name: 'other' } } },
    ])));
    raw.ws.send(encodeAwareness(entriesBytes([{ id: 5003, clock: 1, state: { user: { name: 'third' } } }])));
    raw.ws.send(encodeAwareness(entriesBytes([{ id: 5001, clock: 2, state: { user: { name: 'own-2' } } }])));
    await expect.poll(() => observer.provider.awareness.getStates().get(5001)?.user?.name, poll).toBe('own-2');
    const states = observer.provider.awareness.getStates();
    expect([...states.keys()].sort()).toEqual([5001, observer.doc.clientID].sort());
    expect([...roomOf(server, room.room).relay.awareness.getStates().keys()]).toEqual([5001]);
    // It may remove its own state.
    raw.ws.send(encodeAwareness(entriesBytes([{ id: 5001, clock: 3, state: null }])));
    await expect.poll(() => observer.provider.awareness.getStates().has(5001), poll).toBe(false);
  });

  it('drops a state over awarenessMaxBytes and keeps the previous one', async () => {
    const server = await startServer();
    const room = await server.createRoom();
    const url = `${server.wsUrl}/yjs/${room.room}?token=${room.tokens.editor}`;
    const raw = await openRaw(url);
    await raw.next();
    const own = mirrorOf(raw.messages);
    raw.ws.send(encodeAwareness(awarenessBytes(6001, { user: { name: 'first' } }, 1)));
    await expect.poll(() => own.states().get(6001)?.user?.name, poll).toBe('first');

    const from = raw.messages.length;
    raw.ws.send(encodeAwareness(awarenessBytes(6001, { user: { name: 'big' }, cursor: 'x'.repeat(5000) }, 2)));
    raw.ws.send(Uint8Array.of(3)); // query awareness: answered after the state above was handled
    const answer = await raw.next((m) => raw.messages.indexOf(m) >= from && isAwareness(m) && decodeAwarenessUpdate(decodeAwarenessPayload(m)).some((e) => e.clientID === 6001));
    const entry = decodeAwarenessUpdate(decodeAwarenessPayload(answer)).find((e) => e.clientID === 6001)!;
    expect(JSON.parse(new TextDecoder().decode(entry.json)).user.name).toBe('first');
    expect(roomOf(server, room.room).relay.awareness.getStates().get(6001)?.user?.name).toBe('first');

    raw.ws.send(encodeAwareness(awarenessBytes(6001, { user: { name: 'third' } }, 3)));
    await expect.poll(() => own.states().get(6001)?.user?.name, poll).toBe('third');
  });

  it('bounds a flood of client ids: others learn one state, the room holds one, few bytes go out', async () => {
    const server = await startServer();
    const room = await server.createRoom();
    const observer = await openRaw(`${server.wsUrl}/yjs/${room.room}?token=${room.tokens.editor}`);
    await observer.next();
    const flooder = await openRaw(`${server.wsUrl}/yjs/${room.room}?token=${room.tokens.viewer}`);
    await flooder.next();
    const seen = mirrorOf(observer.messages);
    const receivedBefore = observer.messages.reduce((n, m) => n + m.length, 0);
    const FIRST = 100_000;
    let sent = 0;
    for (let batch = 0; batch < 40; batch++) {
      const entries = Array.from({ length: 500 }, (_, i) => ({ id: FIRST + batch * 500 + i, clock: 1, state: { user: { name: `flood-${batch}-${i}` }, cursor: 'c'.repeat(150) } }));
      const message = encodeAwareness(entriesBytes(entries));
      sent += message.length;
      flooder.ws.send(message);
    }
    flooder.ws.send(encodeAwareness(entriesBytes([{ id: FIRST, clock: 2, state: { user: { name: 'done' } } }])));
    await expect.poll(() => seen.states().get(FIRST)?.user?.name, { timeout: 10_000, interval: 20 }).toBe('done');

    const learnt = [...seen.everAdded].filter((id) => id >= FIRST && id < FIRST + 20_000);
    expect(learnt).toEqual([FIRST]);
    const awareness = roomOf(server, room.room).relay.awareness;
    expect(awareness.getStates().size).toBeLessThanOrEqual(2);
    expect(awareness.meta.size).toBeLessThanOrEqual(3);
    const received = observer.messages.reduce((n, m) => n + m.length, 0) - receivedBefore;
    expect(sent).toBeGreaterThan(3_000_000);
    expect(received).toBeLessThan(sent / 1000);
  });

  it('limits the awareness messages one connection may send, and applies its newest', async () => {
    const server = await startServer({ awarenessRate: 10 });
    const room = await server.createRoom();
    const raw = await openRaw(`${server.wsUrl}/yjs/${room.room}?token=${room.tokens.editor}`);
    await raw.next();
    const awareness = roomOf(server, room.room).relay.awareness;
    let applied = 0;
    awareness.on('update', (_change: unknown, origin: unknown) => {
      if (typeof origin === 'object' && origin !== null && 'send' in origin) applied++;
    });
    const started = performance.now();
    for (let i = 1; i <= 200; i++) raw.ws.send(encodeAwareness(entriesBytes([{ id: 7001, clock: i, state: { cursor: i } }])));
    await expect.poll(() => awareness.getStates().get(7001)?.cursor, poll).toBe(200);
    const elapsed = (performance.now() - started) / 1000;
    // A burst of 20, then 2 × rate a second, and the newest when a token is free.
    expect(applied).toBeLessThanOrEqual(20 + Math.ceil(elapsed * 20) + 1);
    expect(applied).toBeGreaterThan(1);
  });

  it('gets an honest client’s newest state through although it echoes every state it learns', async () => {
    const server = await startServer();
    const room = await server.createRoom();
    const a = connectYjs(server.wsUrl, room.room, room.tokens.editor);
    const b = connectYjs(server.wsUrl, room.room, room.tokens.editor);
    await Promise.all([a.synced, b.synced]);
    // Counts what a sends that carries b's state.
    let echoes = 0;
    const ws = a.provider.ws!;
    const send = ws.send.bind(ws);
    ws.send = (data: Parameters<typeof send>[0]) => {
      const bytes = data instanceof Uint8Array ? data : null;
      if (bytes && isAwareness(bytes) && decodeAwarenessUpdate(decodeAwarenessPayload(bytes)).some((e) => e.clientID === b.doc.clientID)) echoes++;
      send(data);
    };
    // b moves, a learns it and re-sends it to the server (what the stock client does); meanwhile
    // a sends more of its own states than the burst allows.
    for (let i = 0; i < 40; i++) {
      b.provider.awareness.setLocalStateField('cursor', i);
      a.provider.awareness.setLocalStateField('cursor', i);
      await new Promise((r) => setTimeout(r, 2));
    }
    await expect.poll(() => b.provider.awareness.getStates().get(a.doc.clientID)?.cursor, poll).toBe(39);
    await expect.poll(() => a.provider.awareness.getStates().get(b.doc.clientID)?.cursor, poll).toBe(39);
    expect(echoes).toBeGreaterThan(0);
  });
});
