import { execFile } from 'node:child_process';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import type { RenderInfo } from '../shared/protocol.js';
import { ffmpegPath } from '../server/render/ffmpeg.js';
import { renderScene } from '../server/render/render-scene.js';
import { ShotCache } from '../server/render/shot-cache.js';
import { validateScene } from '../shared/scene.js';
import { sharedEngine } from './helpers/engine.js';
import { decodeAll, frameRgb, probe, topLevelBoxes } from './helpers/media.js';
import { startServer, tempDir, within } from './helpers/server.js';
import { connectSocket, nextEvent, type ClientSocket } from './helpers/socket-client.js';

const run = promisify(execFile);

const scene = {
  title: 'three shots',
  fps: 8,
  seed: 11,
  shots: [
    { id: 'a', prompt: 'a red ball moves left', duration: 1 },
    { id: 'b', prompt: 'a purple square grows at sunset', duration: 0.5, camera: 'pan-right' as const },
    { id: 'c', prompt: '一个黄色的三角形在草地上向上移动', duration: 1 },
  ],
};

async function setup() {
  const engine = await sharedEngine();
  const server = await startServer({}, undefined, { engine });
  const room = await server.createRoom({ scene });
  const socket = connectSocket(server.url, room.tokens.viewer);
  await nextEvent(socket, 'room:joined');
  const api = (p: string, init: RequestInit & { token?: string } = {}) =>
    fetch(`${server.url}${p}`, { ...init, headers: { authorization: `Bearer ${init.token ?? room.tokens.editor}`, ...(init.body ? { 'content-type': 'application/json' } : {}), ...(init.headers ?? {}) } });
  const startRender = async (body: object = {}) => {
    const res = await api(`/api/rooms/${room.room}/renders`, { method: 'POST', body: JSON.stringify(body) });
    expect(res.status).toBe(202);
    return ((await res.json()) as { render: RenderInfo }).render;
  };
  return { server, room, socket, api, startRender };
}

async function download(api: (p: string) => Promise<Response>, url: string, dir: string, name: string): Promise<string> {
  const res = await api(url);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe('video/mp4');
  const file = path.join(dir, name);
  await writeFile(file, Buffer.from(await res.arrayBuffer()));
  return file;
}

/** md5 of every video packet, by stream copy (no decoding): equal lists mean byte-identical video. */
async function packetHashes(file: string): Promise<string[]> {
  const { stdout } = await run(ffmpegPath(), ['-v', 'error', '-i', file, '-map', '0:v', '-c', 'copy', '-f', 'framemd5', '-'], { maxBuffer: 64 * 1024 * 1024 });
  return stdout.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.split(',').at(-1)!.trim());
}

/** Resolves with render:done of `id`; fails with the message of its render:error. */
const done = (socket: ClientSocket, id: string) =>
  Promise.race([
    nextEvent(socket, 'render:done', (d) => d.id === id, 240_000),
    nextEvent(socket, 'render:error', (e) => e.id === id, 240_000).then((e) => Promise.reject(new Error(`render failed: ${e.code} ${e.message}`))),
  ]);

describe('final render', () => {
  it('renders a 3-shot scene to a 720p H.264 MP4 that plays, then reuses unchanged shots after an edit', async () => {
    const { server, socket, api, startRender } = await setup();
    const dir = await tempDir();
    const progress: { stage: string; shot?: string; cached?: boolean }[] = [];
    socket.on('render:progress', (p) => progress.push(p));
    const first = await startRender();
    expect(first.status).toBe('queued');
    const finished = await done(socket, first.id);
    expect(finished.url).toBe(`/api/renders/${first.id}/video.mp4`);
    const file = await download(api, finished.url, dir, 'first.mp4');

    const info = await probe(file);
    expect(info).toMatchObject({ codec: 'h264', pixFmt: 'yuv420p', width: 1280, height: 720, fps: 8 });
    const frames = 8 + 4 + 8;
    expect(Math.abs(info.duration - 2.5)).toBeLessThanOrEqual(1 / 8);
    expect(await decodeAll(file)).toBe(frames);
    const boxes = topLevelBoxes(await readFile(file));
    expect(boxes.indexOf('moov')).toBeGreaterThanOrEqual(0);
    expect(boxes.indexOf('moov')).toBeLessThan(boxes.indexOf('mdat'));

    const status = (await (await api(`/api/renders/${first.id}`)).json()) as RenderInfo;
    expect(status).toMatchObject({ status: 'done', stage: 'done', bytes: finished.bytes, seconds: 2.5 });
    expect(status.shots.map((s) => [s.id, s.cached, s.done, s.frames])).toEqual([['a', false, 8, 8], ['b', false, 4, 4], ['c', false, 8, 8]]);
    expect(status.timings.total).toBeGreaterThan(0);
    expect(progress.filter((p) => p.cached === false).map((p) => p.shot)).toContain('b');

    // Edit shot b only and render again.
    progress.length = 0;
    const edited = { ...scene, shots: scene.shots.map((s) => (s.id === 'b' ? { ...s, prompt: 'a white square shrinks at sunset' } : s)) };
    const second = await startRender({ scene: edited });
    await done(socket, second.id);
    const cachedBy = Object.fromEntries(progress.filter((p) => p.cached !== undefined).map((p) => [p.shot, p.cached]));
    expect(cachedBy).toEqual({ a: true, b: false, c: true });
    const again = await download(api, `/api/renders/${second.id}/video.mp4`, dir, 'second.mp4');
    expect(await decodeAll(again)).toBe(frames);
    const [h1, h2] = [await packetHashes(file), await packetHashes(again)];
    expect(h2.slice(0, 8)).toEqual(h1.slice(0, 8)); // shot a: the same bytes
    expect(h2.slice(12)).toEqual(h1.slice(12)); // shot c
    expect(h2.slice(8, 12)).not.toEqual(h1.slice(8, 12)); // shot b was rendered anew
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/scenecast_shot_cache_lookups_total\{result="hit"\} 2/);

    // A render that is a full cache hit needs no engine at all.
    progress.length = 0;
    const third = await startRender({ scene: edited });
    await done(socket, third.id);
    expect(progress.filter((p) => p.cached !== undefined).every((p) => p.cached)).toBe(true);
  }, 180_000);

  it('serves byte ranges, ETags and clear errors', async () => {
    const { socket, api, startRender, room } = await setup();
    const render = await startRender({ scene: { ...scene, shots: [scene.shots[0]] } });
    await done(socket, render.id);
    const url = `/api/renders/${render.id}/video.mp4`;
    const whole = Buffer.from(await (await api(url)).arrayBuffer());
    const middle = await api(url, { headers: { range: 'bytes=100-299' } });
    expect(middle.status).toBe(206);
    expect(middle.headers.get('content-range')).toBe(`bytes 100-299/${whole.length}`);
    expect(Buffer.from(await middle.arrayBuffer()).equals(whole.subarray(100, 300))).toBe(true);
    const tail = await api(url, { headers: { range: 'bytes=-50' } });
    expect(Buffer.from(await tail.arrayBuffer()).equals(whole.subarray(whole.length - 50))).toBe(true);
    const outside = await api(url, { headers: { range: `bytes=${whole.length + 10}-` } });
    expect(outside.status).toBe(416);
    expect(outside.headers.get('content-range')).toBe(`bytes */${whole.length}`);
    await outside.body?.cancel();
    // (a body the test does not read is cancelled: an unread MP4 keeps its connection, and the server's close, waiting)
    const full = await api(url);
    const etag = full.headers.get('etag')!;
    await full.body?.cancel();
    expect((await api(url, { headers: { 'if-none-match': etag } })).status).toBe(304);
    // A viewer may watch it (a <video> element passes the token in the query string).
    const viaQuery = await fetch(`${(await api('/healthz')).url.replace('/healthz', '')}${url}?token=${encodeURIComponent(room.tokens.viewer)}`, { headers: { range: 'bytes=0-9' } });
    expect(viaQuery.status).toBe(206);
    await viaQuery.body?.cancel();
  }, 300_000);

  it('refuses bad input with a reason: invalid scene, viewer token, empty scene', async () => {
    const { api, room, server } = await setup();
    const invalid = await api(`/api/rooms/${room.room}/renders`, { method: 'POST', body: JSON.stringify({ scene: { shots: [{ id: 'x', prompt: 'p', duration: 99 }] } }) });
    expect(invalid.status).toBe(400);
    expect((await invalid.json()).error).toMatchObject({ code: 'SHOT_DURATION_OUT_OF_RANGE', message: expect.stringContaining('shots.0.duration') });
    const viewer = await api(`/api/rooms/${room.room}/renders`, { method: 'POST', body: '{}', token: room.tokens.viewer });
    expect(viewer.status).toBe(403);
    expect((await viewer.json()).error.code).toBe('ROLE_FORBIDDEN');
    const empty = await api(`/api/rooms/${room.room}/renders`, { method: 'POST', body: JSON.stringify({ scene: { shots: [] } }) });
    expect(empty.status).toBe(422);
    expect((await empty.json()).error).toMatchObject({ code: 'SCENE_EMPTY', message: expect.stringContaining('no shot') });
    const blocked = await api(`/api/rooms/${room.room}/renders`, { method: 'POST', body: JSON.stringify({ scene: { shots: [{ id: 'x', prompt: 'a naked ball' }] } }) });
    expect((await blocked.json()).error.code).toBe('CONTENT_BLOCKED');
    expect((await api('/api/renders/rnonexistent1')).status).toBe(404);
    const fresh = await server.createRoom();
    const untyped = await fetch(`${server.url}/api/rooms/${fresh.room}/renders`, { method: 'POST', headers: { authorization: `Bearer ${fresh.tokens.editor}` } });
    expect(untyped.status).toBe(422);
    expect((await untyped.json()).error.code).toBe('SHOT_PROMPT_EMPTY');
  });

  it('cancels mid-render: the engine stops and temporary files are removed', async () => {
    const { server, socket, api, startRender } = await setup();
    const render = await startRender({ scene: { ...scene, shots: [{ id: 'long', prompt: 'a green star moves left slowly', duration: 10 }] } });
    await nextEvent(socket, 'render:progress', (p) => p.id === render.id && p.done > 2, 60_000);
    const errored = nextEvent(socket, 'render:error', (e) => e.id === render.id, 30_000);
    const res = await api(`/api/renders/${render.id}`, { method: 'DELETE' });
    expect(res.status).toBe(200);
    expect(await errored).toMatchObject({ code: 'RENDER_CANCELLED' });
    const status = (await (await api(`/api/renders/${render.id}`)).json()) as RenderInfo;
    expect(status.status).toBe('cancelled');
    const shotsDir = path.join(server.dataDir, 'cache', 'shots');
    expect((await readdir(shotsDir)).filter((f) => f.startsWith('tmp-'))).toEqual([]);
    expect(await readdir(path.join(server.dataDir, 'renders', render.id))).toEqual(['render.json']);
    expect((await api(`/api/renders/${render.id}/video.mp4`)).status).toBe(409);
  }, 120_000);

  it('keeps the shot cache across a restart, and removes finished renders after their time', async () => {
    const engine = await sharedEngine();
    const first = await startServer({}, undefined, { engine });
    const room = await first.createRoom({ scene });
    const one = { ...scene, shots: [scene.shots[0]] };
    const post = (server: typeof first) =>
      fetch(`${server.url}/api/rooms/${room.room}/renders`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${room.tokens.editor}` }, body: JSON.stringify({ scene: one }) }).then(async (r) => ((await r.json()) as { render: RenderInfo }).render);
    const a = connectSocket(first.url, room.tokens.viewer);
    await nextEvent(a, 'room:joined');
    const r1 = await post(first);
    await done(a, r1.id);
    await first.close();

    const second = await startServer({}, first.dataDir, { engine });
    const b = connectSocket(second.url, room.tokens.viewer);
    await nextEvent(b, 'room:joined');
    const progress: { cached?: boolean }[] = [];
    b.on('render:progress', (p) => progress.push(p));
    const r2 = await post(second);
    await done(b, r2.id);
    expect(progress.filter((p) => p.cached !== undefined).map((p) => p.cached)).toEqual([true]);

    const renders = second.app.scenecast.renders!;
    expect(await renders.sweep(Date.now())).toBe(0); // both are younger than the TTL
    expect(await renders.sweep(Date.now() + second.config.render.ttlMs + 1000)).toBe(2);
    const gone = await fetch(`${second.url}/api/renders/${r2.id}`, { headers: { authorization: `Bearer ${room.tokens.viewer}` } });
    expect(gone.status).toBe(404);
    expect((await readdir(path.join(second.dataDir, 'renders')))).toEqual([]);
  }, 180_000);

  it('keeps finished renders within RENDERS_MAX_BYTES, removing the oldest first', async () => {
    const engine = await sharedEngine();
    const { server, socket, startRender, room } = await setup();
    const one = { ...scene, shots: [scene.shots[0]] };
    const r1 = await startRender({ scene: one });
    const first = await done(socket, r1.id);
    await server.close();
    // Room for one render of this size and a half: the second pushes the first out.
    const again = await startServer({ render: { ...server.config.render, maxBytes: Math.floor(first.bytes * 1.5) } }, server.dataDir, { engine });
    const socket2 = connectSocket(again.url, room.tokens.viewer);
    await nextEvent(socket2, 'room:joined');
    const res = await fetch(`${again.url}/api/rooms/${room.room}/renders`, { method: 'POST', headers: { authorization: `Bearer ${room.tokens.editor}`, 'content-type': 'application/json' }, body: JSON.stringify({ scene: { ...one, seed: 12 } }) });
    const r2 = ((await res.json()) as { render: RenderInfo }).render;
    await done(socket2, r2.id);
    const get = (p: string) => fetch(`${again.url}${p}`, { headers: { authorization: `Bearer ${room.tokens.viewer}` } });
    await within('the oldest render removed', 10_000, (async () => {
      while ((await get(`/api/renders/${r1.id}`)).status !== 404) await new Promise((resolve) => setTimeout(resolve, 50));
    })());
    expect((await get(`/api/renders/${r2.id}`)).status).toBe(200);
    expect((await get(`/api/renders/${r2.id}/video.mp4`)).status).toBe(200);
  }, 120_000);

  it('cancelling a render that is still queued tells the room, and the latest render can be looked up', async () => {
    const { socket, api, startRender, room } = await setup();
    const long = await startRender({ scene: { ...scene, shots: [{ id: 'long', prompt: 'a green star moves left slowly', duration: 10 }] } });
    const waiting = await startRender({ scene: { ...scene, shots: [scene.shots[0]] } });
    const errored = nextEvent(socket, 'render:error', (e) => e.id === waiting.id, 30_000);
    const res = await api(`/api/renders/${waiting.id}`, { method: 'DELETE' });
    expect(((await res.json()) as RenderInfo).status).toBe('cancelled');
    expect(await errored).toMatchObject({ code: 'RENDER_CANCELLED' });
    const latest = (await (await api(`/api/rooms/${room.room}/renders/latest`, { token: room.tokens.overlay })).json()) as { render: RenderInfo };
    expect(latest.render.id).toBe(waiting.id);
    const latestRunning = (await (await api(`/api/rooms/${room.room}/renders/latest?status=running`, { token: room.tokens.viewer })).json()) as { render: RenderInfo | null };
    expect(latestRunning.render?.id).toBe(long.id);
    await api(`/api/renders/${long.id}`, { method: 'DELETE' });
  }, 120_000);
});

describe('continuity', () => {
  it('a shot that continues the one before starts from its last frames, and is made again when that shot changes', async () => {
    const engine = await sharedEngine();
    const dir = await tempDir();
    const cache = await ShotCache.openFolder(path.join(dir, 'shots'), 1024 ** 3);
    const scene = (firstPrompt: string, cont: boolean) => {
      const v = validateScene({ fps: 8, seed: 4, shots: [{ id: 'a', prompt: firstPrompt, duration: 1 }, { id: 'b', prompt: 'a ball moves left', duration: 1, continue: cont }] });
      if (!v.ok) throw new Error('bad scene');
      return v.value;
    };
    const diff = (x: Buffer, y: Buffer) => {
      let sum = 0;
      for (let i = 0; i < x.length; i++) sum += Math.abs(x[i]! - y[i]!);
      return sum / x.length;
    };
    const render = (name: string, s: ReturnType<typeof scene>) => renderScene(s, { engine, cache, workDir: path.join(dir, name) });
    const cut = await render('cut', scene('a blue ball moves right on the grass', false));
    const cont = await render('cont', scene('a blue ball moves right on the grass', true));
    // Shot a is the same; shot b is made again (another key) and starts where a ended.
    expect(cont.shots.map((s) => s.cached)).toEqual([true, false]);
    expect(cont.shots[1]!.key).not.toBe(cut.shots[1]!.key);
    const lastOfA = await frameRgb(cont.file, 7);
    expect(diff(await frameRgb(cont.file, 8), lastOfA)).toBeLessThan(diff(await frameRgb(cut.file, 8), lastOfA));
    // The same scene again: both found (the tail of a is kept for b).
    expect((await render('again', scene('a blue ball moves right on the grass', true))).shots.map((s) => s.cached)).toEqual([true, true]);
    // Shot a changes: b, unchanged itself, is made again from a's new last frames.
    const changed = await render('changed', scene('a yellow ball moves right on the grass', true));
    expect(changed.shots.map((s) => s.cached)).toEqual([false, false]);
  }, 120_000);
});
