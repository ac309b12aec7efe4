/**
 * npm run bench:moderation — the cost of the content filter (shared/moderation.ts), which runs on
 * every prompt a client sends (edits, audience suggestions): microseconds per call on 500-character
 * prompts (the longest a prompt may be) in English, simplified and traditional Chinese.
 * Target: well under a millisecond (≤ 0.5 ms p99).
 */
import { moderate } from '../shared/moderation.js';
import { printJson, printTable, summarize } from './lib/report.js';

const prompts = {
  english: 'a red cube spins slowly on the green grass while the camera pushes in, a blue star bounces to the left under a night sky, '.repeat(6),
  simplified: '一个红色的立方体在草地上慢慢旋转，镜头缓缓推近，蓝色的星星在夜空中向左弹跳。'.repeat(20),
  traditional: '一個紅色的立方體在草地上慢慢旋轉，鏡頭緩緩推近，藍色的星星在夜空中向左彈跳。'.repeat(20),
};
const rows = [];
const all: number[] = [];
for (const [name, long] of Object.entries(prompts)) {
  const prompt = long.slice(0, 500);
  for (let i = 0; i < 200; i++) moderate(prompt); // warm-up
  const samples: number[] = [];
  for (let i = 0; i < 2000; i++) {
    const t0 = performance.now();
    moderate(prompt);
    samples.push((performance.now() - t0) * 1000);
  }
  all.push(...samples);
  const s = summarize(samples);
  rows.push({ prompt: name, chars: prompt.length, calls: s.n, 'p50 µs': s.p50, 'p99 µs': s.p99, 'max µs': s.max });
}
const total = summarize(all);
printTable('Moderating a 500-character prompt', rows);
const targets = [{ metric: 'moderate p99 µs', value: total.p99, target: 500, met: total.p99 <= 500 }];
printTable('Targets', targets);
printJson('moderation', { rows, all: total, targets });
