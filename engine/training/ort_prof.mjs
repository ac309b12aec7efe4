import ort from 'onnxruntime-node';
import fs from 'node:fs';
const f = process.argv[2];
const s = await ort.InferenceSession.create(f, { intraOpNumThreads: 2, enableProfiling: true, profileFilePrefix: '/tmp/bench/prof', extra: { session: { intra_op: { allow_spinning: '0' } } } });
const rnd = (shape) => new ort.Tensor('float32', Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => Math.random()), shape);
const B = 1, F = 8;
const feeds = f.includes('den') ? { x: rnd([B, 4, F, 9, 16]), t: rnd([B]), frame_time: rnd([B, F]), context: rnd([B, 36, 128]), context_mask: rnd([B, 36]), pooled: rnd([B, 128]), prev: rnd([B, 4, 2, 9, 16]), prev_time: rnd([B, 2]), prev_valid: rnd([B]) } : { rgb: rnd([1, 3, 144, 256]) };
for (let i = 0; i < 20; i++) await s.run(feeds);
await s.endProfiling(); const file = '/tmp/bench/' + fs.readdirSync('/tmp/bench').filter(n => n.startsWith('prof_') && n.endsWith('.json')).sort().pop();
const ev = JSON.parse(fs.readFileSync(file, 'utf8'));
const agg = {};
for (const e of ev) if (e.cat === 'Node' && e.name.endsWith('_kernel_time')) { const k = e.args.op_name; agg[k] = (agg[k] || 0) + e.dur; }
const tot = Object.values(agg).reduce((a, b) => a + b, 0);
console.log(Object.entries(agg).sort((a, b) => b[1] - a[1]).slice(0, 12).map(([k, v]) => `${k} ${(v / 20 / 1000).toFixed(2)}ms`).join('\n'), '\ntotal', (tot / 20 / 1000).toFixed(2));
