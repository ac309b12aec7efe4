import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import type { CreateRoomResponse, RenderInfo } from '../shared/protocol.js';
import { findShot } from '../shared/scene-doc.js';
import { Redis } from 'ioredis';
import { REDIS_ADDRESS, REDIS_URL, startCluster } from './helpers/cluster.js';
import { openRaw } from './helpers/raw-ws.js';
import { startProxy } from './helpers/tcp-proxy.js';
import { PreviewRecorder } from './helpers/preview-recorder.js';
import { decodeAll, probe } from './helpers/media.js';
import { fetchWithin, tempDir, within } from './helpers/server.js';
import { connectSocket, nextEvent } from './helpers/socket-client.js';
import { connectYjs, until } from './helpers/yjs-client.js';

const promptOf = (doc: Y.Doc) => findShot(doc, 's1')!.get('prompt') as Y.Text;

async function createRoom(url: string): Promise<CreateRoomResponse> {
  const res = await fetchWithin(`${url}/api/rooms`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ scene: { fps: 8, shots: [{ id: 's1', prompt: 'a red ball moves left', duration: 1 }] } }),
  });
  expect(res.status).toBe(201);
  return (await res.json()) as CreateRoomResponse;
}

/** Compaction after 200 bytes of log, stream entries trimmable after 1 s. */
const FAST_COMPACTION = { COMPACT_BYTES: '200', STREAM_MIN_LIFETIME_MS: '1000' };

/**
 * Two nodes started with `env` (and an engine worker when asked): an editor on A, a viewer on B, both synced.
 */
async function editorOnAViewerOnB(env: Record<string, string> = {}, options: { worker?: boolean } = {}) {
  const cluster = await startCluster();
  const [a, b] = await Promise.all([cluster.node(env), cluster.node(env)]);
  if (options.worker) await cluster.worker();
  const room = await createRoom(a.url);
  const editor = connectYjs(a.wsUrl, room.room, room.tokens.editor);
  const watcher = connectYjs(b.wsUrl, room.room, room.tokens.viewer);
  await within('first sync of the editor on A and the viewer on B', 20_000, Promise.all([editor.synced, watcher.synced]));
  await until(editor.doc, (d) => findShot(d, 's1') !== undefined);
  await until(watcher.doc, (d) => findShot(d, 's1') !== undefined);
  return {
    cluster,
    a,
    b,
    room,
    editor,
    watcher,
    /** Types at the end of the prompt, one keystroke (one update) per character. */
    type(text: string) {
      for (const ch of text) promptOf(editor.doc).insert(promptOf(editor.doc).length, ch);
    },
    /** The prompt as a node serves it over HTTP. */
    async promptOn(node: { url: string }): Promise<string | undefined> {
      return (await (await fetchWithin(`${node.url}/api/rooms/${room.room}/scene?token=${room.tokens.viewer}`)).json()).shots?.[0]?.prompt;
    },
    async streamLength(): Promise<number> {
      const redis = new Redis(REDIS_URL);
      try {
        return await redis.xlen(`${cluster.prefix}doc:${room.room}`);
      } finally {
        redis.disconnect();
      }
    },
  };
}

describe('scale-out on Redis', () => {
  it('two nodes and one worker: an editor on A and a viewer on B converge, and B receives the worker’s preview frames', async () => {
    const { a, b, room, editor, watcher: viewer } = await editorOnAViewerOnB({}, { worker: true });
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

    // A late joiner on the other node gets the cached preview from Redis.
    const late = new PreviewRecorder(connectSocket(a.url, room.tokens.overlay));
    const replayed = await late.done('s1', before);
    expect(late.framesOf('s1', replayed.rev)).toHaveLength(8);

    // Rapid edits on A: only the newest revision completes, on whichever worker. A 10 s shot takes long
    // enough to generate that each word arrives while the previous revision is still being made.
    const rapidFrom = Math.max(...frames.states.map((s) => s.rev));
    findShot(editor.doc, 's1')!.set('duration', 10);
    let newest = rapidFrom;
    for (const word of [' and', ' a', ' star']) {
      const generating = await frames.until(() => frames.states.find((s) => s.shot === 's1' && s.rev > newest && s.status === 'generating'), 30_000, 'a newer revision generating');
      newest = generating.rev;
      promptOf(editor.doc).insert(promptOf(editor.doc).length, word);
    }
    const finalText = 'a red ball moves left quickly on the grass and a star';
    await until(viewer.doc, (d) => promptOf(d).toString() === finalText);
    const revs = () => [...new Set(frames.states.filter((s) => s.shot === 's1' && s.rev > rapidFrom).map((s) => s.rev))];
    await frames.until(() => revs().length > 1 && revs().every((r) => frames.finalState('s1', r)) && frames.finalState('s1', Math.max(...revs()))?.status === 'done', 60_000, 'the newest revision to finish');
    const ends = revs().map((r) => frames.finalState('s1', r)!.status);
    expect(ends.at(-1)).toBe('done');
    expect(ends.slice(0, -1).every((e) => e === 'cancelled')).toBe(true);

    const health = await (await fetch(`${b.url}/healthz`)).json();
    expect(health.checks).toMatchObject({ redis: { ok: true }, snapshots: { ok: true }, blobs: { ok: true } });
    const metrics = await (await fetch(`${b.url}/metrics`)).text();
    expect(metrics).toMatch(/scenecast_redis_latency_seconds \d/);
    expect(metrics).toContain('scenecast_engine_workers 1');
    expect(metrics).toMatch(/scenecast_doc_stream_entries \d/);
  }, 120_000);
});

describe('scale-out faults', () => {
  it('kill -9 of node A: its clients reconnect to B with every acknowledged edit, none applied twice', async () => {
    const cluster = await startCluster();
    const [a, b] = await Promise.all([cluster.node(), cluster.node()]);
    const room = await createRoom(a.url);
    const editor = connectYjs(a.wsUrl, room.room, room.tokens.editor);
    const observer = connectYjs(b.wsUrl, room.room, room.tokens.viewer);
    await Promise.all([editor.synced, observer.synced]);
    await until(editor.doc, (d) => findShot(d, 's1') !== undefined);
    await until(observer.doc, (d) => findShot(d, 's1') !== undefined);
    // B's viewer sees the editor (connected to A) as present…
    editor.provider.awareness.setLocalStateField('user', { name: 'on A' });
    await expect.poll(() => observer.provider.awareness.getStates().get(editor.doc.clientID)?.user?.name, { timeout: 10_000, interval: 20 }).toBe('on A');
    const typed: string[] = [];
    for (let i = 0; i < 120; i++) {
      const ch = String.fromCharCode(97 + (i % 26));
      typed.push(ch);
      promptOf(editor.doc).insert(promptOf(editor.doc).length, ch);
      if (i % 10 === 0) await new Promise((r) => setImmediate(r));
    }
    // What B received came through Redis: it was stored before anyone saw it.
    await until(observer.doc, (d) => promptOf(d).length >= 60);
    const acknowledged = promptOf(observer.doc).toString();
    await a.kill9();
    // …and, once A is found dead (its heartbeat lapses), no longer: B removes the presence A relayed.
    await expect.poll(() => observer.provider.awareness.getStates().has(editor.doc.clientID), { timeout: 10_000, interval: 50 }).toBe(false);
    editor.provider.disconnect();
    editor.provider.serverUrl = `${b.wsUrl}/yjs`;
    editor.provider.connect();
    const expected = `a red ball moves left${typed.join('')}`;
    await until(observer.doc, (d) => promptOf(d).toString() === expected, 20_000);
    expect(promptOf(observer.doc).toString().startsWith(acknowledged)).toBe(true);
    // A fresh reader on B gets exactly the same text: nothing lost, nothing doubled.
    const reader = connectYjs(b.wsUrl, room.room, room.tokens.viewer);
    await until(reader.doc, (d) => findShot(d, 's1') !== undefined && promptOf(d).toString() === expected, 20_000);
  }, 120_000);

  it('a node that never saw a room serves it correctly on first request', async () => {
    const cluster = await startCluster();
    const [a, b] = await Promise.all([cluster.node(), cluster.node()]);
    const room = await createRoom(a.url);
    const editor = connectYjs(a.wsUrl, room.room, room.tokens.editor);
    await editor.synced;
    await until(editor.doc, (d) => findShot(d, 's1') !== undefined);
    promptOf(editor.doc).insert(0, 'now ');
    await expect
      .poll(async () => (await (await fetch(`${b.url}/api/rooms/${room.room}/scene?token=${room.tokens.viewer}`)).json()).shots?.[0]?.prompt, { timeout: 10_000, interval: 100 })
      .toBe('now a red ball moves left');
    const links = await fetch(`${b.url}/api/rooms/${room.room}/links`, { headers: { authorization: `Bearer ${room.tokens.editor}` } });
    expect((await links.json()).tokens).toEqual(room.tokens); // one secret for the whole cluster
  }, 60_000);

  it('compacts a room into a snapshot, trims its stream, and loads it back from both', async () => {
    const { a, b, editor, watcher, type, promptOn, streamLength } = await editorOnAViewerOnB(FAST_COMPACTION);
    const text = ' and then a blue star spins slowly on the grass under the sky';
    type(text);
    const expected = `a red ball moves left${text}`;
    await until(watcher.doc, (d) => promptOf(d).toString() === expected);
    editor.destroy();
    watcher.destroy();
    // Both nodes unload the idle room (ROOM_IDLE_MS=2000 here): the last compaction, and entries older than the
    // stream's minimum lifetime that a snapshot covers are trimmed: far fewer entries than keystrokes remain.
    await expect.poll(streamLength, { timeout: 10_000, interval: 100 }).toBeLessThan(text.length / 2);
    // Then each loads it again from the snapshot and the stream's tail.
    for (const node of [a, b]) expect(await promptOn(node)).toBe(expected);
  }, 60_000);

  it('a node that falls behind for longer than the stream keeps entries reloads the room instead of missing edits', async () => {
    const { a, b, watcher, type, promptOn, streamLength } = await editorOnAViewerOnB(FAST_COMPACTION);
    const first = ' while B is frozen a blue star spins on the grass';
    const second = ' and A compacts meanwhile';
    const expected = `a red ball moves left${first}${second}`;
    b.child.kill('SIGSTOP');
    try {
      type(first);
      await expect.poll(() => promptOn(a), { timeout: 10_000, interval: 100 }).toBe(`a red ball moves left${first}`);
      // Past the stream's minimum lifetime, A's next compaction may trim what B has not read yet.
      await new Promise((r) => setTimeout(r, 1500));
      type(second);
      await expect.poll(streamLength, { timeout: 10_000, interval: 100 }).toBeLessThanOrEqual(second.length);
    } finally {
      b.child.kill('SIGCONT');
    }
    // B notices it was away too long, reloads the room from the snapshot, and its viewer resyncs.
    await until(watcher.doc, (d) => findShot(d, 's1') !== undefined && promptOf(d).toString() === expected, 20_000);
    expect(await promptOn(b)).toBe(expected);
  }, 60_000);

  it('rate limits hold across nodes (counted in Redis)', async () => {
    const cluster = await startCluster();
    const limits = { ROOM_CREATE_BURST: '2', ROOMS_PER_HOUR: '1' };
    const [a, b] = await Promise.all([cluster.node(limits), cluster.node(limits)]);
    await createRoom(a.url);
    await createRoom(b.url);
    const third = await fetch(`${a.url}/api/rooms`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(third.status).toBe(429);
  }, 60_000);

  it('render bounds hold across nodes (counted in Redis)', async () => {
    const cluster = await startCluster();
    const limits = { RENDER_ROOM_QUEUE: '1', RENDER_QUEUE_MAX: '3', MAX_RENDER_FRAMES: '100' };
    // No engine worker: the renders stay queued, which is what the bounds count.
    const [a, b] = await Promise.all([cluster.node(limits), cluster.node(limits)]);
    const [r1, r2, r3] = [await createRoom(a.url), await createRoom(a.url), await createRoom(b.url)];
    const post = (node: { url: string }, room: CreateRoomResponse, body: object = {}) =>
      fetchWithin(`${node.url}/api/rooms/${room.room}/renders`, { method: 'POST', headers: { authorization: `Bearer ${room.tokens.editor}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const first = await post(a, r1);
    expect(first.status).toBe(202);
    expect((await post(b, r1)).status).toBe(202);
    const roomFull = await post(a, r1);
    expect(roomFull.status).toBe(429);
    expect(roomFull.headers.get('retry-after')).toBeTruthy();
    expect(((await roomFull.json()) as { error: { code: string } }).error.code).toBe('RENDER_QUEUE_FULL');
    expect((await post(b, r2)).status).toBe(202);
    const serviceFull = await post(a, r3);
    expect(serviceFull.status).toBe(429);
    expect(((await serviceFull.json()) as { error: { message: string } }).error.message).toMatch(/service has 3 renders/);
    // A cancelled render stops counting, on every node.
    const id = ((await first.json()) as { render: RenderInfo }).render.id;
    expect((await fetchWithin(`${b.url}/api/renders/${id}`, { method: 'DELETE', headers: { authorization: `Bearer ${r1.tokens.editor}` } })).status).toBe(200);
    expect((await post(a, r3)).status).toBe(202);
    const tooLong = await post(b, r3, { scene: { fps: 30, shots: [{ id: 'x', prompt: 'a red ball moves left', duration: 10 }] } });
    expect(tooLong.status).toBe(422);
    expect(((await tooLong.json()) as { error: { code: string } }).error.code).toBe('RENDER_TOO_LONG');
  }, 60_000);

  it('rotating links and deleting a room hold on every node at once', async () => {
    const cluster = await startCluster();
    const [a, b] = await Promise.all([cluster.node(), cluster.node()]);
    const room = await createRoom(a.url);
    const viewerOnB = await openRaw(`${b.wsUrl}/yjs/${room.room}?token=${room.tokens.viewer}`);
    await viewerOnB.next();
    const rotated = await fetchWithin(`${a.url}/api/rooms/${room.room}/links/rotate`, { method: 'POST', headers: { authorization: `Bearer ${room.tokens.editor}`, 'content-type': 'application/json' }, body: '{}' });
    expect(rotated.status).toBe(200);
    const fresh = (await rotated.json()) as CreateRoomResponse;
    expect((await within('B closes the old link', 10_000, viewerOnB.closed)).reason).toMatch(/^TOKEN_REVOKED/);
    expect((await fetchWithin(`${b.url}/api/rooms/${room.room}/scene?token=${room.tokens.viewer}`)).status).toBe(401);

    const editorOnB = connectYjs(b.wsUrl, room.room, fresh.tokens.editor);
    await within('editor on B synced', 10_000, editorOnB.synced);
    await until(editorOnB.doc, (d) => findShot(d, 's1') !== undefined);
    promptOf(editorOnB.doc).insert(0, 'blue ');
    const deleted = await fetchWithin(`${a.url}/api/rooms/${room.room}`, { method: 'DELETE', headers: { authorization: `Bearer ${fresh.tokens.editor}` } });
    expect(deleted.status).toBe(204);
    expect((await within('B closes the deleted room', 10_000, editorOnB.closed)).reason).toMatch(/^ROOM_DELETED/);
    const redis = new Redis(REDIS_URL);
    try {
      // Nothing of the room is left in Redis (give B's last edits a moment to have been refused).
      await new Promise((resolve) => setTimeout(resolve, 300));
      const keys = await redis.keys(`${cluster.prefix}*${room.room}*`);
      expect(keys.map((k) => k.slice(cluster.prefix.length))).toEqual([]);
    } finally {
      redis.disconnect();
    }
    expect((await fetchWithin(`${b.url}/api/rooms/${room.room}/scene?token=${fresh.tokens.viewer}`)).status).toBe(404);
    editorOnB.destroy();
  }, 60_000);

  it('Redis cut mid-session: clear 503s meanwhile, then nodes reconnect, clients resync, no acknowledged edit lost', async () => {
    const proxy = await startProxy(REDIS_ADDRESS.host, REDIS_ADDRESS.port);
    const cluster = await startCluster({ redisUrl: proxy.url });
    const [a, b] = await Promise.all([cluster.node(), cluster.node()]);
    const room = await createRoom(a.url);
    const editor = connectYjs(a.wsUrl, room.room, room.tokens.editor);
    const observer = connectYjs(b.wsUrl, room.room, room.tokens.viewer);
    await within('first sync of the editor on A and the observer on B', 20_000, Promise.all([editor.synced, observer.synced]));
    await until(observer.doc, (d) => findShot(d, 's1') !== undefined, 10_000, 'the shot on B');
    await until(editor.doc, (d) => findShot(d, 's1') !== undefined, 10_000, 'the shot on A');
    promptOf(editor.doc).insert(promptOf(editor.doc).length, ' before');
    await until(observer.doc, (d) => promptOf(d).toString().endsWith(' before'), 10_000, "' before' on B");

    proxy.cut();
    const started = performance.now();
    const refused = await fetchWithin(`${a.url}/api/rooms`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(refused.status).toBe(503);
    expect((await refused.json()).error.code).toBe('STORE_UNAVAILABLE');
    expect(performance.now() - started).toBeLessThan(5000);
    const health = await fetchWithin(`${a.url}/healthz`);
    expect(health.status).toBe(503);
    // Typed during the outage: it cannot be stored, so it is not acknowledged; the editor keeps it.
    promptOf(editor.doc).insert(promptOf(editor.doc).length, ' during');

    proxy.restore();
    await until(observer.doc, (d) => promptOf(d).toString() === 'a red ball moves left before during', 30_000, "' during' on B after Redis is back");
    promptOf(editor.doc).insert(promptOf(editor.doc).length, ' after');
    await until(observer.doc, (d) => promptOf(d).toString() === 'a red ball moves left before during after', 30_000, "' after' on B");
    await expect.poll(async () => (await fetchWithin(`${a.url}/healthz`, {}, 2000)).status, { timeout: 10_000, interval: 200 }).toBe(200);
  }, 120_000);

  it('Redis drops while a request’s command is on its way: the request still answers 503 within seconds, then the node recovers', async () => {
    const proxy = await startProxy(REDIS_ADDRESS.host, REDIS_ADDRESS.port);
    const cluster = await startCluster({ redisUrl: proxy.url });
    const a = await cluster.node();
    // The connection drops the moment POST /api/rooms sends its first command (the rate limit): no reply will come
    // on that connection, and Redis stays away until the request has answered.
    const dropped = proxy.cutWhenSent(`${cluster.prefix}rate:rooms:`);
    const started = performance.now();
    const refused = await fetchWithin(`${a.url}/api/rooms`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    await within('the cut with the command in flight', 1000, dropped);
    expect(refused.status).toBe(503);
    expect((await refused.json()).error.code).toBe('STORE_UNAVAILABLE');
    expect(performance.now() - started).toBeLessThan(5000);
    expect((await fetchWithin(`${a.url}/healthz`)).status).toBe(503);
    proxy.restore();
    await expect.poll(async () => (await fetchWithin(`${a.url}/healthz`, {}, 2000)).status, { timeout: 10_000, interval: 200 }).toBe(200);
    await createRoom(a.url);
  }, 60_000);
});

describe('scale-out renders', () => {
  it('kill -9 of a worker mid-render: the job is picked up again and the clip is complete and valid', async () => {
    const cluster = await startCluster();
    const a = await cluster.node();
    const first = await cluster.worker();
    const room = await createRoom(a.url);
    const socket = connectSocket(a.url, room.tokens.viewer);
    await new Promise<void>((resolve) => socket.once('room:joined', () => resolve()));
    const progress: { done: number }[] = [];
    socket.on('render:progress', (p) => progress.push(p));
    const res = await fetch(`${a.url}/api/rooms/${room.room}/renders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${room.tokens.editor}` },
      body: JSON.stringify({ scene: { fps: 8, shots: [{ id: 'a', prompt: 'a blue star moves right', duration: 4 }, { id: 'b', prompt: 'a red ball grows', duration: 1 }] } }),
    });
    const { render } = (await res.json()) as { render: RenderInfo };
    await expect.poll(() => progress.some((p) => p.done >= 3), { timeout: 60_000, interval: 50 }).toBe(true);
    await first.kill9();
    await cluster.worker(); // a new worker finds the job when the dead one's lock runs out
    const done = await nextEvent(socket, 'render:done', (d) => d.id === render.id, 120_000);
    expect(done.seconds).toBe(5);
    const file = path.join(await tempDir(), 'clip.mp4');
    const video = await fetch(`${a.url}${done.url}?token=${encodeURIComponent(room.tokens.viewer)}`);
    await writeFile(file, Buffer.from(await video.arrayBuffer()));
    expect(await decodeAll(file)).toBe(40);
    expect(await probe(file)).toMatchObject({ codec: 'h264', width: 1280, height: 720, fps: 8 });
  }, 240_000);
});
