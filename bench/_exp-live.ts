import { EnginePool, contextOf, type GeneratedFrame } from '../engine/index.js';
const engine = await EnginePool.start({ workers: 1 });
const P = 64;
const mean = (f: GeneratedFrame) => { let r = 0, g = 0, b = 0; const n = f.rgb.length / 3; for (let i = 0; i < f.rgb.length; i += 3) { r += f.rgb[i]!; g += f.rgb[i + 1]!; b += f.rgb[i + 2]!; } return [r / n, g / n, b / n].map((x) => Math.round(x)); };
// colour of the object: pixels far from the background median
const frames: GeneratedFrame[] = [];
const prompts = ['a red ball moves right on the grass', 'a red ball moves right on the grass', 'a blue ball moves right on the grass', 'a blue ball moves right on the grass', 'a blue ball moves right on the grass'];
let from = 0;
for (const [c, prompt] of prompts.entries()) {
  const t0 = performance.now();
  const chunk: GeneratedFrame[] = [];
  for await (const f of engine.generate({ prompt, negative: '', seed: 1000 + c, duration: P / 16, fps: 16, camera: 'static' }, { profile: 'preview', range: { from, count: 8 }, context: contextOf(frames, 2), latents: true })) chunk.push(f);
  frames.push(...chunk);
  console.log(c, prompt.split(' ')[1], from, Math.round(performance.now() - t0), 'ms', chunk.map(mean).map((m) => m.join(',')).filter((_, i) => i % 3 === 0).join(' | '));
  from = (from + 8) % P;
}
// and with no context
for await (const f of engine.generate({ prompt: 'a blue ball moves right on the grass', negative: '', seed: 5, duration: 4, fps: 16, camera: 'static' }, { profile: 'preview', range: { from: 16, count: 8 } })) { console.log('fresh blue', mean(f).join(',')); break; }
await engine.close();
