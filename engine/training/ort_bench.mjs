// Times ONNX graphs in onnxruntime-node the way the engine runs them (2 intra-op threads, no spinning).
// usage: node engine/training/ort_bench.mjs file.onnx [...]   (run from /work/main)
import ort from 'onnxruntime-node';
const opts = { intraOpNumThreads: 2, interOpNumThreads: 1, graphOptimizationLevel: 'all',
  extra: { session: { intra_op: { allow_spinning: '0' } } } };
function rnd(shape, kind) {
  const n = shape.reduce((a, b) => a * b, 1);
  if (kind === 'int64') return new ort.Tensor('int64', BigInt64Array.from({ length: n }, (_, i) => BigInt(i % 7 + 2)), shape);
  return new ort.Tensor('float32', Float32Array.from({ length: n }, () => Math.random()), shape);
}
function feedsFor(name, B, F) {
  if (name.includes('den')) return {
    x: rnd([B, 4, F, 9, 16]), t: rnd([B]), frame_time: rnd([B, F]), context: rnd([B, 36, 128]),
    context_mask: rnd([B, 36]), pooled: rnd([B, 128]), prev: rnd([B, 4, 2, 9, 16]), prev_time: rnd([B, 2]),
    prev_valid: rnd([B]) };
  if (name.includes('dec')) return { latent: rnd([B, 4, 9, 16]) };
  if (name.includes('up5')) return { rgb: rnd([B, 3, 144, 256]) };
  if (name.includes('up4') || name.includes('upscaler_x4')) return { rgb: rnd([B, 3, 36, 64]) };
  if (name.includes('text')) return { input_ids: rnd([B, 36], 'int64') };
  throw new Error(name);
}
async function time(sess, feeds, n) {
  for (let i = 0; i < 3; i++) await sess.run(feeds);
  const t = performance.now();
  for (let i = 0; i < n; i++) await sess.run(feeds);
  return (performance.now() - t) / n;
}
for (const f of process.argv.slice(2)) {
  const s = await ort.InferenceSession.create(f, opts);
  const out = [];
  for (const B of f.includes('den') ? [1, 2] : [1]) out.push(`B=${B}: ${(await time(s, feedsFor(f, B, 8), 20)).toFixed(2)} ms`);
  console.log(f, out.join('  '));
}
