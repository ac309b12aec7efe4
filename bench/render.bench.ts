/**
 * npm run bench:render — a 4-shot, 8-second scene at 16 fps rendered three times with the real
 * engine, shot cache and encoder: cold (empty cache), warm (one shot changed) and a full cache
 * hit. Prints time by stage and the warm/cold ratio.
 *
 *   npm run bench:render -- [--bundle DIR]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { EnginePool } from '../engine/engine-pool.js';
import { validateScene, type Scene } from '../shared/scene.js';
import { renderScene, type RenderResult } from '../server/render/render-scene.js';
import { ShotCache } from '../server/render/shot-cache.js';
import { printJson, printTable, type Row } from './lib/report.js';

const { values } = parseArgs({ options: { bundle: { type: 'string' }, parallel: { type: 'string', default: '1' } } });
const PARALLEL = Number(values.parallel);
const bundleDir = values.bundle ?? process.env.ENGINE_BUNDLE;

const scene = (third: string): Scene => {
  const result = validateScene({
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
  if (!result.ok) throw new Error('bad scene');
  return result.value;
};

const dir = await mkdtemp(path.join(os.tmpdir(), 'scenecast-render-bench-'));
const engine = await EnginePool.start(bundleDir ? { bundleDir } : {});
const cache = await ShotCache.openFolder(path.join(dir, 'cache'), 2 * 1024 ** 3);
const run = async (name: string, s: Scene): Promise<{ row: Row; result: RenderResult; ms: number }> => {
  const started = performance.now();
  const result = await renderScene(s, { engine, cache, workDir: path.join(dir, name), parallel: PARALLEL });
  const ms = performance.now() - started;
  const t = result.timings;
  const row: Row = {
    render: name,
    'total s': ms / 1000,
    'generate s': t.generate / 1000,
    'upscale s': t.upscale / 1000,
    'encode wait s': t.encode / 1000,
    'join s': t.join / 1000,
    'shots rendered': result.shots.filter((x) => !x.cached).length,
    'cache hits': result.shots.filter((x) => x.cached).length,
  };
  return { row, result, ms };
};

try {
  // Warm the sessions up on something else, so "cold" means an empty shot cache, not a cold process.
  await renderScene({ ...scene('a green ball'), shots: [{ id: 'w', prompt: 'a green ball', duration: 0.5, camera: 'static' }] }, { engine, cache, workDir: path.join(dir, 'warmup') });
  const cold = await run('cold', scene('a yellow triangle grows at sunset'));
  const warm = await run('one shot changed', scene('a yellow triangle shrinks at sunset'));
  const hit = await run('full cache hit', scene('a yellow triangle shrinks at sunset'));
  const rows = [cold, warm, hit].map((r) => r.row);
  printTable(`Render of a 4-shot, 8 s scene at 16 fps, 1280x720, ${PARALLEL} shot(s) at once (generate and upscale: engine worker time; encode wait: time blocked on ffmpeg)`, rows);
  const targets = [
    { metric: 'cold s', value: cold.ms / 1000, target: 16, met: cold.ms / 1000 <= 16 },
    { metric: 'one shot changed / cold', value: warm.ms / cold.ms, target: 0.25, met: warm.ms / cold.ms <= 0.25 },
    { metric: 'full hit s', value: hit.ms / 1000, target: 0.5, met: hit.ms / 1000 <= 0.5 },
  ];
  printTable('Targets', targets);
  printJson('render', { rows, targets, ratioWarmCold: warm.ms / cold.ms });
} finally {
  await engine.close();
  await rm(dir, { recursive: true, force: true });
}
