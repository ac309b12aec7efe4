/**
 * npm run bench:reader — the cost of reading a prompt (engine/bundle/reader.ts), what the editor
 * asks on every keystroke: microseconds per read over prompts of both languages, at every length
 * a person typing it passes through. Target: ≤ 1 ms.
 */
import { loadBundle, DEFAULT_BUNDLE } from '../engine/index.js';
import { printJson, printTable, summarize } from './lib/report.js';

const bundle = await loadBundle(process.env.ENGINE_BUNDLE ?? DEFAULT_BUNDLE, { verifyHashes: false });
const reader = bundle.reader;
if (!reader) throw new Error('the bundle has no prompt reader');
const prompts = [
  'A crimson orb wanders slowly across the meadow while the camera pans left',
  'the golden pyramid soars swiftly into the heavens at dusk, zoom in slowly',
  'a silver car drives down a city street in the morning',
  '一个红色的小球在草原上缓缓升起，镜头推进',
  '蓝色的立方体在夜空中坠落，镜头向左摇',
];
const rows = [];
const all: number[] = [];
for (const prompt of prompts) {
  const samples: number[] = [];
  for (let round = 0; round < 20; round++) {
    for (let n = 1; n <= prompt.length; n++) {
      const text = prompt.slice(0, n);
      const t0 = performance.now();
      reader.read(text);
      samples.push((performance.now() - t0) * 1000);
    }
  }
  all.push(...samples);
  const s = summarize(samples);
  rows.push({ prompt: prompt.length > 40 ? `${prompt.slice(0, 40)}…` : prompt, reads: s.n, 'p50 µs': s.p50, 'p99 µs': s.p99, 'max µs': s.max });
}
const total = summarize(all);
printTable('Reading a prompt at every length while it is typed', rows);
const targets = [{ metric: 'read p99 µs', value: total.p99, target: 1000, met: total.p99 <= 1000 }];
printTable('Targets', targets);
printJson('reader', { rows, all: total, targets });
