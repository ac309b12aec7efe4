/**
 * npm run bench:render — a 4-shot, 8-second scene at 16 fps rendered with the real engine, shot
 * cache, encoder and post-production:
 *   plain    cold (empty cache), one shot changed, full cache hit — silent shots joined with cuts
 *   finished the same shots with captions, narration on two shots, one crossfade and a music
 *            bed: cold, then a caption-only edit and a music change (no shot generated again)
 * Prints time by stage, the ratios against the plain cold render and the targets.
 *
 *   npm run bench:render -- [--bundle DIR] [--parallel N]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { EnginePool } from '../engine/engine-pool.js';
import { validateScene, type Scene, type SceneInput } from '../shared/scene.js';
import { Narrator } from '../server/post/audio/tts.js';
import { PostProduction } from '../server/post/post-production.js';
import { renderScene, type RenderResult } from '../server/render/render-scene.js';
import { ShotCache } from '../server/render/shot-cache.js';
import { printJson, printTable, type Row } from './lib/report.js';

const { values } = parseArgs({ options: { bundle: { type: 'string' }, parallel: { type: 'string', default: '2' } } });
const PARALLEL = Number(values.parallel);
const bundleDir = values.bundle ?? process.env.ENGINE_BUNDLE;

const sceneOf = (input: SceneInput): Scene => {
  const result = validateScene(input);
  if (!result.ok) throw new Error(`bad scene: ${JSON.stringify(result.issues)}`);
  return result.value;
};
const plain = (third: string): SceneInput => ({
  title: 'bench',
  fps: 16,
  seed: 3,
  shots: [
    { id: 's1', prompt: 'a red ball moves right quickly on the grass', duration: 2 },
    { id: 's2', prompt: '一个蓝色的方块在天空中慢慢向上移动', duration: 2, camera: 'pan-left' },
    { id: 's3', prompt: third, duration: 2, camera: 'zoom-in' },
    { id: 's4', prompt: 'a white star spins at night', duration: 2 },
  ],
});
/** The plain scene (its shots already cached or not) with every finishing touch. */
const finished = (third: string, caption: string, music: string): SceneInput => {
  const base = plain(third);
  return {
    ...base,
    captions: 'both',
    music,
    shots: base.shots!.map((shot, i) => ({
      ...shot,
      caption: i === 0 ? caption : ['', '蓝色方块在天空中上升', 'The triangle at sunset', 'A star at night'][i],
      ...(i === 0 ? { narration: 'A red ball rolls across the grass.' } : {}),
      ...(i === 1 ? { narration: '蓝色的方块慢慢升起。', transition: { type: 'crossfade', duration: 0.5 } } : {}),
    })),
  };
};

const dir = await mkdtemp(path.join(os.tmpdir(), 'scenecast-render-bench-'));
const engine = await EnginePool.start(bundleDir ? { bundleDir } : {});
const narrator = new Narrator({ cacheDir: path.join(dir, 'tts'), maxBytes: 64 * 1024 ** 2 });
const bedsDir = path.join(dir, 'beds');
/** A set of caches (shots, and post-production's parts) that starts empty: the same shots in the plain and finished scenes. */
interface Caches {
  shots: ShotCache;
  parts: ShotCache;
  post: PostProduction;
}
const caches = new Map<string, Caches>();
const cachesFor = async (name: string): Promise<Caches> => {
  let c = caches.get(name);
  if (!c) {
    const parts = await ShotCache.openFolder(path.join(dir, `parts-${name}`), 2 * 1024 ** 3);
    c = { shots: await ShotCache.openFolder(path.join(dir, `cache-${name}`), 2 * 1024 ** 3), parts, post: new PostProduction({ narrator, bedsDir, assets: null, parts }) };
    caches.set(name, c);
  }
  return c;
};

const run = async (name: string, input: SceneInput, options: { finish?: boolean; caches: Caches }): Promise<{ row: Row; result: RenderResult; ms: number }> => {
  const { shots, parts, post } = options.caches;
  const before = await parts.stats();
  const started = performance.now();
  const result = await renderScene(sceneOf(input), {
    engine,
    cache: shots,
    workDir: path.join(dir, name.replace(/\W+/g, '-')),
    parallel: PARALLEL,
    ...(options.finish ? { post } : {}),
  });
  const ms = performance.now() - started;
  const after = await parts.stats();
  const t = result.timings;
  const row: Row = {
    render: name,
    'total s': ms / 1000,
    'generate s': t.generate / 1000,
    'upscale s': t.upscale / 1000,
    'encode wait s': t.encode / 1000,
    'join/post s': t.join / 1000,
    'shots rendered': result.shots.filter((x) => !x.cached).length,
    'cache hits': result.shots.filter((x) => x.cached).length,
    'parts made': after.misses - before.misses,
    'parts reused': after.hits - before.hits,
  };
  return { row, result, ms };
};

try {
  // Warm the sessions, the TTS worker and the beds up on something else, so "cold" means an empty
  // shot cache, not a cold process.
  // The server makes the beds at start (MUSIC_BEDS_AT_START=1).
  const warmScene: SceneInput = { fps: 16, seed: 9, music: 'calm', shots: [{ id: 'w', prompt: 'a green ball', duration: 0.5, camera: 'static', narration: 'warm up', caption: 'warm up' }] };
  const warmup = await cachesFor('warmup');
  await warmup.post.prepare();
  await run('warmup', warmScene, { finish: true, caches: warmup });

  const plainCaches = await cachesFor('plain');
  const cold = await run('plain cold', plain('a yellow triangle grows at sunset'), { caches: plainCaches });
  const warm = await run('plain one shot changed', plain('a yellow triangle shrinks at sunset'), { caches: plainCaches });
  const hit = await run('plain full cache hit', plain('a yellow triangle shrinks at sunset'), { caches: plainCaches });
  const fin = await cachesFor('finished');
  const postCold = await run('finished cold', finished('a yellow triangle grows at sunset', 'A red ball on the grass', 'bright'), { finish: true, caches: fin });
  const captionEdit = await run('finished caption edit', finished('a yellow triangle grows at sunset', 'A red ball rolls by', 'bright'), { finish: true, caches: fin });
  const musicChange = await run('finished music change', finished('a yellow triangle grows at sunset', 'A red ball rolls by', 'pulse'), { finish: true, caches: fin });
  const rows = [cold, warm, hit, postCold, captionEdit, musicChange].map((r) => r.row);
  printTable(`Render of a 4-shot, 8 s scene at 16 fps, 1280x720, ${PARALLEL} shot(s) at once (generate and upscale: engine worker time, summed over workers; encode wait: time blocked on ffmpeg; join/post: concat, or post-production)`, rows);
  const ratio = (a: { ms: number }, b: { ms: number }) => a.ms / b.ms;
  const targets = [
    { metric: 'plain cold s', value: cold.ms / 1000, target: 4, met: cold.ms / 1000 <= 4 },
    { metric: 'one shot changed / cold', value: ratio(warm, cold), target: 0.2, met: ratio(warm, cold) <= 0.2 },
    { metric: 'full hit s', value: hit.ms / 1000, target: 0.5, met: hit.ms / 1000 <= 0.5 },
    { metric: 'finished cold / plain cold', value: ratio(postCold, cold), target: 1.15, met: ratio(postCold, cold) <= 1.15 },
    { metric: 'caption edit / plain cold', value: ratio(captionEdit, cold), target: 0.15, met: ratio(captionEdit, cold) <= 0.15 },
    { metric: 'music change / plain cold', value: ratio(musicChange, cold), target: 0.15, met: ratio(musicChange, cold) <= 0.15 },
    { metric: 'shots generated by the edits', value: [captionEdit, musicChange].reduce((n, r) => n + r.result.shots.filter((s) => !s.cached).length, 0), target: 0, met: [captionEdit, musicChange].every((r) => r.result.shots.every((s) => s.cached)) },
  ];
  printTable('Targets', targets);
  printJson('render', { parallel: PARALLEL, rows, targets, ratioWarmCold: ratio(warm, cold) });
} finally {
  await narrator.close();
  await engine.close();
  await rm(dir, { recursive: true, force: true });
}
