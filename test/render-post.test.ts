import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RenderInfo, RenderProgress } from '../shared/protocol.js';
import { validateScene, type SceneInput } from '../shared/scene.js';
import { Narrator } from '../server/post/audio/tts.js';
import { PostProduction } from '../server/post/post-production.js';
import { renderScene } from '../server/render/render-scene.js';
import { ShotCache } from '../server/render/shot-cache.js';
import { sharedEngine } from './helpers/engine.js';
import { decodeAll, decodeAudio, ebur128, frameRgb, probe, rmsDb, streams, writeTone } from './helpers/media.js';
import { startServer, tempDir } from './helpers/server.js';
import { connectSocket, nextEvent, type ClientSocket } from './helpers/socket-client.js';

/** Four 1 s shots at 8 fps: captions in both languages, narration on two shots, a crossfade, a music bed. */
const scene: SceneInput = {
  fps: 8,
  seed: 21,
  music: 'calm',
  loudness: -16,
  shots: [
    { id: 'a', prompt: 'a red ball moves left', duration: 1, caption: 'A red ball rolls away', narration: 'A red ball.', transition: { type: 'crossfade', duration: 0.5 } },
    { id: 'b', prompt: 'a blue square grows', duration: 1 },
    { id: 'c', prompt: '一个黄色的三角形在草地上向上移动', duration: 1, caption: '黄色的三角形向上移动', narration: '黄色的三角形。' },
    { id: 'd', prompt: 'a white star stays still at night', duration: 1 },
  ],
};

async function setup() {
  const engine = await sharedEngine();
  const server = await startServer({}, undefined, { engine });
  const room = await server.createRoom({ scene });
  const socket = connectSocket(server.url, room.tokens.viewer);
  await nextEvent(socket, 'room:joined');
  const api = (p: string, init: RequestInit = {}) => fetch(`${server.url}${p}`, { ...init, headers: { authorization: `Bearer ${room.tokens.editor}`, ...(init.body && typeof init.body === 'string' ? { 'content-type': 'application/json' } : {}), ...(init.headers ?? {}) } });
  const render = async (body: object, progress?: RenderProgress[]) => {
    const res = await api(`/api/rooms/${room.room}/renders`, { method: 'POST', body: JSON.stringify(body) });
    expect(res.status).toBe(202);
    const { render } = (await res.json()) as { render: RenderInfo };
    if (progress) socket.on('render:progress', (p) => p.id === render.id && progress.push(p));
    await finished(socket, render.id);
    return (await (await api(`/api/renders/${render.id}`)).json()) as RenderInfo;
  };
  return { server, room, socket, api, render };
}

const finished = (socket: ClientSocket, id: string) =>
  Promise.race([
    nextEvent(socket, 'render:done', (d) => d.id === id, 240_000),
    nextEvent(socket, 'render:error', (e) => e.id === id, 240_000).then((e) => Promise.reject(new Error(`render failed: ${e.code} ${e.message}`))),
  ]);

async function download(api: (p: string) => Promise<Response>, url: string, file: string): Promise<string> {
  const res = await api(url);
  expect(res.status).toBe(200);
  await writeFile(file, Buffer.from(await res.arrayBuffer()));
  return file;
}

/** Mean absolute difference of the caption band (bottom fifth) of two RGB frames. */
function bandDiff(a: Buffer, b: Buffer): number {
  const width = 1280;
  const from = Math.floor(720 * 0.8) * width * 3;
  let sum = 0;
  for (let i = from; i < a.length; i++) sum += Math.abs(a[i]! - b[i]!);
  return sum / (a.length - from);
}

describe('post-production', () => {
  it('finishes a scene with captions, narration, a crossfade and music: H.264 + AAC + mov_text, at its loudness, and a caption edit generates no shot', async () => {
    const { api, render } = await setup();
    const dir = await tempDir();
    const first = await render({});
    const file = await download(api, first.url!, path.join(dir, 'post.mp4'));

    const kinds = await streams(file);
    expect(kinds.find((s) => s.type === 'video')).toMatchObject({ codec: 'h264', width: 1280, height: 720 });
    expect(kinds.find((s) => s.type === 'audio')).toMatchObject({ codec: 'aac' });
    expect(kinds.find((s) => s.type === 'subtitle')).toMatchObject({ codec: 'mov_text' });
    // Four shots of 1 s, less the 0.5 s crossfade.
    const info = await probe(file);
    expect(Math.abs(info.duration - 3.5)).toBeLessThanOrEqual(1 / 8);
    const loudness = await ebur128(file);
    expect(Math.abs(loudness.integrated - -16)).toBeLessThanOrEqual(1);
    expect(loudness.truePeak).toBeLessThanOrEqual(-1);

    // The captions as WebVTT, with both languages at their times (a: 0-0.5 s while b's start overlaps it, c: 1.5-2.5 s).
    expect(first.captionsUrl).toBe(`/api/renders/${first.id}/captions.vtt`);
    const vtt = await (await api(first.captionsUrl!)).text();
    expect(vtt).toMatch(/^WEBVTT/);
    expect(vtt).toMatch(/00:00:00\.000 --> 00:00:00\.500\nA red ball rolls away/);
    expect(vtt).toMatch(/00:00:01\.500 --> 00:00:02\.500\n黄色的三角形向上移动/);

    // A caption-only edit: no shot is generated again, and the burned caption changed.
    const progress: RenderProgress[] = [];
    const edited = { ...scene, shots: scene.shots!.map((s) => (s.id === 'c' ? { ...s, caption: '另一个标题' } : s)) };
    const second = await render({ scene: edited }, progress);
    expect(progress.filter((p) => p.cached !== undefined).map((p) => p.cached)).toEqual([true, true, true, true]);
    expect(second.shots.every((s) => s.cached)).toBe(true);
    const again = await download(api, second.url!, path.join(dir, 'edited.mp4'));
    // Frame 14 (1.75 s) is in shot c: its caption band differs, while a frame of shot d does not.
    expect(bandDiff(await frameRgb(file, 14), await frameRgb(again, 14))).toBeGreaterThan(1);
    expect(bandDiff(await frameRgb(file, 25), await frameRgb(again, 25))).toBeLessThan(0.5);
  }, 300_000);

  it('warns when a narration outlasts its shot, refuses a blocked caption, and mixes an uploaded file', async () => {
    const { api, render, room, server } = await setup();
    const long = { fps: 8, shots: [{ id: 'x', prompt: 'a red ball moves left', duration: 0.5, narration: 'This narration is far too long for a half second shot, it goes on and on.' }, { id: 'y', prompt: 'a blue square grows', duration: 1 }] };
    const warned = await render({ scene: long });
    expect(warned.warnings?.some((w) => /Narration of shot "x" lasts .* longer than the shot/.test(w))).toBe(true);

    // Without music: narration is heard during its shot, and a shot without narration is silent.
    const spoken = await render({ scene: { fps: 8, shots: [{ id: 'x', prompt: 'a red ball moves left', duration: 2, narration: 'A red ball rolls.' }, { id: 'y', prompt: 'a blue square grows', duration: 2 }] } });
    const voice = await decodeAudio(await download(api, spoken.url!, path.join(await tempDir(), 'spoken.mp4')));
    expect(rmsDb(voice, 0.2, 1.2)).toBeGreaterThan(-40);
    expect(rmsDb(voice, 2.8, 3.8)).toBeLessThan(-70);

    const blocked = await api(`/api/rooms/${room.room}/renders`, { method: 'POST', body: JSON.stringify({ scene: { ...long, shots: [{ id: 'x', prompt: 'a red ball', caption: 'k1ll them all' }] } }) });
    expect(blocked.status).toBe(422);
    expect(((await blocked.json()) as { error: { code: string } }).error.code).toBe('CONTENT_BLOCKED');

    const wav = await writeTone(path.join(await tempDir(), 'tone.wav'), 3);
    const upload = await fetch(`${server.url}/api/rooms/${room.room}/assets?name=tone.wav`, { method: 'POST', headers: { authorization: `Bearer ${room.tokens.editor}`, 'content-type': 'audio/wav' }, body: await (await import('node:fs/promises')).readFile(wav) });
    expect(upload.status).toBe(201);
    const { asset } = (await upload.json()) as { asset: { id: string } };
    const withMusic = await render({ scene: { fps: 8, music: asset.id, shots: [{ id: 'x', prompt: 'a red ball moves left', duration: 1 }] } });
    const file = await download(api, withMusic.url!, path.join(await tempDir(), 'music.mp4'));
    expect(rmsDb(await decodeAudio(file), 0.2, 0.8)).toBeGreaterThan(-40);
  }, 300_000);
});

describe('post-production’s parts cache', () => {
  it('a caption edit re-encodes only the piece it is on, a music change only the soundtrack; no shot is generated, warnings come back with a cached soundtrack, and the joined pieces decode whole', async () => {
    const engine = await sharedEngine();
    const dir = await tempDir();
    const shots = await ShotCache.openFolder(path.join(dir, 'shots'), 1024 ** 3);
    const parts = await ShotCache.openFolder(path.join(dir, 'parts'), 1024 ** 3);
    const narrator = new Narrator({ cacheDir: path.join(dir, 'tts') });
    const post = new PostProduction({ narrator, bedsDir: path.join(dir, 'beds'), assets: null, parts });
    const base = (captionA: string, music: string): SceneInput => ({
      fps: 8,
      seed: 5,
      captions: 'both',
      music,
      shots: [
        { id: 'a', prompt: 'a red ball moves left', duration: 1, caption: captionA, narration: 'This narration goes on far longer than its one second shot does.' },
        { id: 'b', prompt: 'a blue square grows', duration: 1, transition: { type: 'crossfade', duration: 0.5 } },
        { id: 'c', prompt: 'a white star stays still at night', duration: 1, caption: 'A star' },
      ],
    });
    // Pieces: a (caption), b without its tail, b→c (crossfade, c's caption), c without its head (caption): 4, and the soundtrack.
    const render = async (input: SceneInput, name: string) => {
      const valid = validateScene(input);
      if (!valid.ok) throw new Error(JSON.stringify(valid.issues));
      const before = await parts.stats();
      const result = await renderScene(valid.value, { engine, cache: shots, workDir: path.join(dir, name), post });
      const after = await parts.stats();
      return { result, made: after.misses - before.misses, reused: after.hits - before.hits };
    };
    try {
      const first = await render(base('A red ball', 'calm'), 'first');
      expect(first).toMatchObject({ made: 5, reused: 0 });
      expect(first.result.shots.every((s) => !s.cached)).toBe(true);
      const long = first.result.warnings.filter((w) => /Narration of shot "a" lasts .* longer than the shot/.test(w));
      expect(long).toHaveLength(1);
      // 24 frames less the 4 of the crossfade, every one decodable across the joins.
      expect(await decodeAll(first.result.file)).toBe(20);

      const caption = await render(base('A ball rolls away', 'calm'), 'caption');
      expect(caption).toMatchObject({ made: 1, reused: 4 });
      expect(caption.result.shots.every((s) => s.cached)).toBe(true);
      expect(caption.result.warnings).toEqual(first.result.warnings);
      expect(await decodeAll(caption.result.file)).toBe(20);
      // Only shot a's frames changed (its caption band); b→c is the same.
      expect(bandDiff(await frameRgb(first.result.file, 3), await frameRgb(caption.result.file, 3))).toBeGreaterThan(1);
      expect(bandDiff(await frameRgb(first.result.file, 14), await frameRgb(caption.result.file, 14))).toBe(0);

      const music = await render(base('A ball rolls away', 'pulse'), 'music');
      expect(music).toMatchObject({ made: 1, reused: 4 });
      expect(music.result.shots.every((s) => s.cached)).toBe(true);
      expect(await decodeAll(music.result.file)).toBe(20);

      // Back to the first scene: everything is found.
      expect(await render(base('A red ball', 'calm'), 'again')).toMatchObject({ made: 0, reused: 5 });
    } finally {
      await narrator.close();
    }
  }, 300_000);
});
