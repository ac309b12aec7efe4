import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import type { CreateRoomResponse, RenderInfo } from '../shared/protocol.js';
import { BUNDLE_DIR } from './helpers/engine.js';
import { readFile, writeFile } from 'node:fs/promises';
import { decodeAll, ebur128, probe, streams, writeTone } from './helpers/media.js';
import { tempDir } from './helpers/server.js';
import { spawnServer } from './helpers/server-process.js';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '..');

describe('renders across a crash, and from the command line', () => {
  it('queued renders survive kill -9 and finish after a restart', async () => {
    const dataDir = await tempDir();
    const env = { DATA_DIR: dataDir, ENGINE_BUNDLE: BUNDLE_DIR, ENGINE_WORKERS: '1' };
    const first = await spawnServer(env);
    const room = (await (await fetch(`${first.url}/api/rooms`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).json()) as CreateRoomResponse;
    const post = async (url: string, shots: object[]) => {
      const res = await fetch(`${url}/api/rooms/${room.room}/renders`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${room.tokens.editor}` },
        body: JSON.stringify({ scene: { fps: 8, shots } }),
      });
      expect(res.status).toBe(202);
      return ((await res.json()) as { render: RenderInfo }).render.id;
    };
    const running = await post(first.url, [{ id: 'long', prompt: 'a blue ball bounces', duration: 6 }]);
    const queued = await post(first.url, [{ id: 'short', prompt: 'a red star spins', duration: 1 }]);
    await first.kill9();

    const second = await spawnServer(env);
    const status = async (id: string) => {
      const record = (await (await fetch(`${second.url}/api/renders/${id}`, { headers: { authorization: `Bearer ${room.tokens.viewer}` } })).json()) as RenderInfo;
      if (record.status === 'failed') throw new Error(`render ${id} failed: ${JSON.stringify(record.error)}`);
      return record.status;
    };
    await expect.poll(() => status(queued), { timeout: 120_000, interval: 250 }).toBe('done');
    await expect.poll(() => status(running), { timeout: 120_000, interval: 250 }).toBe('done');
    const res = await fetch(`${second.url}/api/renders/${queued}/video.mp4?token=${encodeURIComponent(room.tokens.viewer)}`);
    const file = path.join(dataDir, 'check.mp4');
    await (await import('node:fs/promises')).writeFile(file, Buffer.from(await res.arrayBuffer()));
    expect(await decodeAll(file)).toBe(8);
  }, 240_000);

  it('`scenecast render` renders a scene file, and explains bad input', async () => {
    const dir = await tempDir();
    const out = path.join(dir, 'clip.mp4');
    const cli = (...args: string[]) => run(process.execPath, [path.join(ROOT, 'bin', 'scenecast.mjs'), 'render', ...args, '--bundle', BUNDLE_DIR, '--cache', path.join(dir, 'cache')], { cwd: ROOT });
    const { stderr } = await cli(path.join(ROOT, 'test', 'fixtures', 'scene.json'), '--out', out);
    // Not a terminal: plain progress lines.
    expect(stderr).toContain('shot 1/2 intro: 8 frames');
    expect(stderr).toContain('shot 2/2 outro: 4 frames');
    expect(stderr).not.toContain('\r');
    expect(await probe(out)).toMatchObject({ codec: 'h264', width: 1280, height: 720, fps: 8, frames: 12 });

    const preview = path.join(dir, 'preview.mp4');
    await cli(path.join(ROOT, 'test', 'fixtures', 'scene.json'), '--out', preview, '--preview', '--template', 'neon-night', '--seed', '5');
    const small = await probe(preview);
    expect(small.width).toBeLessThan(1280);
    expect(small.frames).toBe(12);

    await expect(cli(path.join(ROOT, 'test', 'fixtures', 'scene.json'), '--out', out, '--template', 'nope')).rejects.toMatchObject({ stderr: expect.stringContaining('unknown template') });
    const bad = path.join(dir, 'bad.json');
    await (await import('node:fs/promises')).writeFile(bad, JSON.stringify({ shots: [{ id: 'a', prompt: 'x', camera: 'sideways' }] }));
    await expect(cli(bad, '--out', out)).rejects.toMatchObject({ stderr: expect.stringContaining('SHOT_CAMERA_UNKNOWN') });
  }, 120_000);

  it('`scenecast render` honours --captions, --music FILE and --loudness', async () => {
    const dir = await tempDir();
    const out = path.join(dir, 'post.mp4');
    const scene = path.join(dir, 'scene.json');
    await writeFile(scene, JSON.stringify({ fps: 8, shots: [{ id: 'a', prompt: 'a red ball moves left', duration: 1, caption: 'Hello', narration: 'Hello there.' }, { id: 'b', prompt: 'a blue square grows', duration: 1 }] }));
    const tone = await writeTone(path.join(dir, 'tone.wav'), 4);
    const cli = (...args: string[]) => run(process.execPath, [path.join(ROOT, 'bin', 'scenecast.mjs'), 'render', ...args, '--bundle', BUNDLE_DIR, '--cache', path.join(dir, 'cache', 'shots')], { cwd: ROOT });
    await cli(scene, '--out', out, '--captions', 'soft', '--music', tone, '--loudness=-23');
    const kinds = await streams(out);
    expect(kinds.map((s) => `${s.type}:${s.codec}`).sort()).toEqual(['audio:aac', 'subtitle:mov_text', 'video:h264']);
    expect(Math.abs((await ebur128(out)).integrated - -23)).toBeLessThanOrEqual(1);
    expect(await readFile(path.join(dir, 'post.vtt'), 'utf8')).toMatch(/00:00:00\.000 --> 00:00:01\.000\nHello/);
    await expect(cli(scene, '--out', out, '--music', scene)).rejects.toMatchObject({ stderr: expect.stringContaining('--music') });
    await expect(cli(scene, '--out', out, '--loudness=-10')).rejects.toMatchObject({ stderr: expect.stringContaining('SCENE_LOUDNESS_INVALID') });
  }, 120_000);
});
