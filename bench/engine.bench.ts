/**
 * npm run bench:engine — the engine on its own, per profile: session load time, ms to the first
 * frame, ms per denoiser step, frames per second, upscale ms per 720p frame, RSS.
 * A 2 s shot at 16 fps (32 frames), the median of several runs, with 1 and 2 intra-op threads.
 *
 *   npm run bench:engine -- [--bundle DIR] [--runs 5]
 */
import { parseArgs } from 'node:util';
import { DEFAULT_BUNDLE } from '../engine/engine-pool.js';
import { emptyTimings, generateShot, type ShotSpec } from '../engine/pipeline/generate.js';
import { EngineModel } from '../engine/pipeline/model.js';
import { frameCount, planWindows } from '../engine/pipeline/windows.js';
import { printJson, printTable, type Row } from './lib/report.js';

const { values } = parseArgs({ options: { bundle: { type: 'string' }, runs: { type: 'string', default: '5' } } });
const bundleDir = values.bundle ?? process.env.ENGINE_BUNDLE ?? DEFAULT_BUNDLE;
const RUNS = Number(values.runs);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const shots: ShotSpec[] = [
  { prompt: 'a red ball moves left quickly on the grass', negative: '', seed: 1, duration: 2, fps: 16, camera: 'static' },
  { prompt: '一个蓝色的星星在夜空中慢慢旋转', negative: '', seed: 2, duration: 2, fps: 16, camera: 'zoom-in' },
];

const rows: Row[] = [];
for (const threads of [2, 1]) {
  const loadStarted = performance.now();
  const model = await EngineModel.load(bundleDir, { threads });
  const loadMs = performance.now() - loadStarted;
  for (const profile of ['preview', 'final'] as const) {
    const spec = model.profile(profile);
    const first: number[] = [];
    const total: number[] = [];
    const perStep: number[] = [];
    const upscalePerFrame: number[] = [];
    for (let run = 0; run < RUNS + 1; run++) {
      const shot = { ...shots[run % shots.length]!, seed: 100 + run };
      const n = frameCount(shot.duration, shot.fps);
      const calls = planWindows(n, model.manifest.chunk.frames).length * spec.steps;
      const timings = emptyTimings();
      const started = performance.now();
      let firstAt = 0;
      let frames = 0;
      for await (const _frame of generateShot(model, shot, { profile, timings })) {
        if (frames++ === 0) firstAt = performance.now() - started;
      }
      if (run === 0) continue; // warm-up
      first.push(firstAt);
      total.push(performance.now() - started);
      perStep.push(timings.denoise / calls);
      upscalePerFrame.push((timings.upscale + timings.camera) / frames);
    }
    const n = frameCount(2, 16);
    rows.push({
      threads,
      profile,
      steps: spec.steps,
      guidance: spec.guidance,
      size: `${spec.size[0]}x${spec.size[1]}`,
      'load ms': Math.round(loadMs),
      'first frame ms': median(first),
      'ms/step': median(perStep),
      'shot ms (2 s, 32 fr)': median(total),
      'frames/s': n / (median(total) / 1000),
      'upscale ms/frame': median(upscalePerFrame),
      'rss MiB': Math.round(process.memoryUsage().rss / 2 ** 20),
    });
  }
  await model.dispose();
}

printTable(`Engine, bundle ${bundleDir.split('/').at(-1)}, median of ${RUNS} runs (targets: preview first frame ≤ 80 ms, 2 s preview ≤ 250 ms, final 2 s at 720p ≤ 2000 ms)`, rows);
const best = (profile: string) => rows.filter((r) => r.profile === profile).sort((a, b) => Number(a['shot ms (2 s, 32 fr)']) - Number(b['shot ms (2 s, 32 fr)']))[0]!;
const targets = {
  previewFirstFrameMs: { value: best('preview')['first frame ms'], target: 80 },
  previewShotMs: { value: best('preview')['shot ms (2 s, 32 fr)'], target: 250 },
  finalShotMs: { value: best('final')['shot ms (2 s, 32 fr)'], target: 2000 },
};
printTable('Targets (best thread setting)', Object.entries(targets).map(([name, t]) => ({ metric: name, value: Number(t.value), target: t.target, met: Number(t.value) <= t.target })));
printJson('engine', { bundle: bundleDir, runs: RUNS, rows, targets });
