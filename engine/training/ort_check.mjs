// Checks an exported bundle in onnxruntime-node against its fixtures (tokenizer, noise, reference generation,
// upscalers) and times its graphs. An independent JS implementation of engine/BUNDLE.md's algorithm, used only
// by the training side to validate exports before handing them to the engine.
//   node engine/training/ort_check.mjs engine/models/shapes-v1 [--bench]     (run from /work/main)
import ort from 'onnxruntime-node';
import fs from 'node:fs';
import path from 'node:path';

const dir = process.argv[2] ?? 'engine/models/shapes-v1';
const bench = process.argv.includes('--bench');
const man = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
const opts = { intraOpNumThreads: 2, interOpNumThreads: 1, graphOptimizationLevel: 'all',
  extra: { session: { intra_op: { allow_spinning: '0' } } } };
const sess = {};
for (const [name, g] of Object.entries(man.graphs)) sess[name] = await ort.InferenceSession.create(path.join(dir, g.file), opts);

// ---- tokenizer
const tk = man.tokenizer;
const index = new Map(tk.vocab.map((w, i) => [w, i]));
function tokenize(text) {
  const s = text.normalize('NFKC').toLowerCase();
  const words = [];
  let cur = '';
  for (const ch of s) {
    const o = ch.codePointAt(0);
    if (ch >= 'a' && ch <= 'z') { cur += ch; continue; }
    if (cur) { words.push(cur); cur = ''; }
    if ((o >= 0x3400 && o <= 0x4dbf) || (o >= 0x4e00 && o <= 0x9fff)) words.push(ch);
  }
  if (cur) words.push(cur);
  const ids = words.map((w) => index.get(w) ?? tk.unk_id).slice(0, tk.max_length - 2);
  const seq = [tk.bos_id, ...ids, tk.eos_id];
  while (seq.length < tk.max_length) seq.push(tk.pad_id);
  return seq;
}
let bad = 0;
const tfx = JSON.parse(fs.readFileSync(path.join(dir, 'fixtures/tokenizer.json'), 'utf8'));
for (const p of tfx.pairs) if (JSON.stringify(tokenize(p.text)) !== JSON.stringify(p.ids)) { bad++; console.log('tokenizer mismatch', p.text); }
console.log(`tokenizer: ${tfx.pairs.length - bad}/${tfx.pairs.length} fixtures match`);

// ---- noise
const hash32 = (x) => { x >>>= 0; x ^= x >>> 16; x = Math.imul(x, 0x7feb352d) >>> 0; x ^= x >>> 15; x = Math.imul(x, 0x846ca68b) >>> 0; x ^= x >>> 16; return x >>> 0; };
function noise(seed, w, n) {
  const key = hash32((seed ^ hash32((w + 0x9e3779b9) >>> 0)) >>> 0);
  const r = (i) => hash32((key + Math.imul(i, 0x9e3779b9)) >>> 0);
  const out = new Float32Array(n);
  for (let k = 0; k < n; k++) {
    const u1 = (r(2 * k) + 1) / 4294967297, u2 = r(2 * k + 1) / 4294967296;
    out[k] = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  }
  return out;
}
const nfx = JSON.parse(fs.readFileSync(path.join(dir, 'fixtures/noise.json'), 'utf8'));
let nerr = 0;
for (const c of nfx.cases) { const v = noise(c.seed, c.window, 16); for (let i = 0; i < 16; i++) nerr = Math.max(nerr, Math.abs(v[i] - c.values[i])); }
console.log(`noise: max abs diff ${nerr}`);

// ---- generation
const T = (data, dims, type = 'float32') => new ort.Tensor(type, data, dims);
async function encodeText(text) {
  const ids = tokenize(text);
  const o = await sess.text_encoder.run({ input_ids: T(BigInt64Array.from(ids.map(BigInt)), [1, ids.length], 'int64') });
  return { context: o.context, pooled: o.pooled, mask: T(Float32Array.from(ids.map((i) => (i !== tk.pad_id ? 1 : 0))), [1, ids.length]) };
}
function cat2(a, b) { const d = new Float32Array(a.data.length * 2); d.set(a.data); d.set(b.data, a.data.length); return T(d, [2, ...a.dims.slice(1)]); }
function timeGrid(S, shift) { const t = []; for (let i = 0; i <= S; i++) { const s = 1 - i / S; t.push(shift * s / (1 + (shift - 1) * s)); } return t; }
async function generateShot(prompt, negative, seed, n, prof) {
  const { channels: C, width: w, height: h } = man.latent; const F = man.chunk.frames, K = man.chunk.context;
  const cond = await encodeText(prompt);
  const unc = prof.guidance !== 1 ? await encodeText(negative) : null;
  const taus = Array.from({ length: n }, (_, j) => (j + 0.5) / n);
  const wins = [];
  if (n <= F) wins.push([0, n, 0]); else { let s = 0; for (; s + F <= n; s += F) wins.push([s, F, 0]); if (n % F) wins.push([n - F, F, F - (n % F)]); }
  const hw = h * w;
  const made = new Float32Array(C * n * hw); // [C, n, h, w]
  const tg = timeGrid(prof.steps, prof.shift);
  const den = sess[prof.denoiser];
  for (let wi = 0; wi < wins.length; wi++) {
    const [start, fl, first] = wins[wi];
    let x = noise(seed, wi, C * fl * hw);
    const ft = T(Float32Array.from(taus.slice(start, start + fl)), [1, fl]);
    const prev = new Float32Array(C * K * hw), pt = new Float32Array(K);
    let pv = 0;
    if (wi > 0) {
      pv = 1;
      for (let j = 0; j < K; j++) {
        const src = Math.max(0, start - K + j); pt[j] = taus[src];
        for (let c = 0; c < C; c++) prev.set(made.subarray((c * n + src) * hw, (c * n + src + 1) * hw), (c * K + j) * hw);
      }
    }
    const one = { context: cond.context, context_mask: cond.mask, pooled: cond.pooled, frame_time: ft, prev: T(prev, [1, C, K, h, w]), prev_time: T(pt, [1, K]), prev_valid: T(Float32Array.of(pv), [1]) };
    const selfCond = den.inputNames.includes('x0_self');
    const halves = prof.guidance !== 1 ? 2 : 1;
    let est = new Float32Array(halves * x.length); // self-conditioning: each half's x0 estimate of the last step
    for (let i = 0; i < prof.steps; i++) {
      let v, o;
      const sc = selfCond ? { x0_self: T(est, [halves, C, fl, h, w]) } : {};
      if (prof.guidance !== 1) {
        const feeds = { x: T(Float32Array.from([...x, ...x]), [2, C, fl, h, w]), t: T(Float32Array.of(tg[i], tg[i]), [2]), ...sc };
        for (const k of ['frame_time', 'prev', 'prev_time', 'prev_valid']) feeds[k] = cat2(one[k], one[k]);
        feeds.context = cat2(cond.context, unc.context); feeds.context_mask = cat2(cond.mask, unc.mask); feeds.pooled = cat2(cond.pooled, unc.pooled);
        o = (await den.run(feeds)).velocity.data; const m = x.length;
        v = new Float32Array(m); for (let k = 0; k < m; k++) v[k] = o[m + k] + prof.guidance * (o[k] - o[m + k]);
      } else {
        o = v = (await den.run({ ...one, ...sc, x: T(x, [1, C, fl, h, w]), t: T(Float32Array.of(tg[i]), [1]) })).velocity.data;
      }
      if (selfCond) { est = new Float32Array(o.length); for (let k = 0; k < o.length; k++) est[k] = x[k % x.length] - tg[i] * o[k]; }
      const dt = tg[i + 1] - tg[i]; const nx = new Float32Array(x.length);
      for (let k = 0; k < x.length; k++) nx[k] = x[k] + dt * v[k];
      x = nx;
    }
    for (let c = 0; c < C; c++) for (let j = first; j < fl; j++) made.set(x.subarray((c * fl + j) * hw, (c * fl + j + 1) * hw), (c * n + start + j) * hw);
  }
  const frames = [];
  for (let j = 0; j < n; j++) {
    const lat = new Float32Array(C * hw); for (let c = 0; c < C; c++) lat.set(made.subarray((c * n + j) * hw, (c * n + j + 1) * hw), c * hw);
    frames.push((await sess.decoder.run({ latent: T(lat, [1, C, h, w]) })).rgb.data);
  }
  return { made, frames };
}
const ref = JSON.parse(fs.readFileSync(path.join(dir, 'fixtures/reference.json'), 'utf8'));
const bin = fs.readFileSync(path.join(dir, 'fixtures', ref.bin));
const arr = (e) => new Float32Array(bin.buffer.slice(bin.byteOffset + e.offset, bin.byteOffset + e.offset + 4 * e.shape.reduce((a, b) => a * b, 1)));
const maxdiff = (a, b) => { let m = 0; for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i])); return m; };
for (const [pname, p] of Object.entries(ref.profiles)) {
  const { made, frames } = await generateShot(ref.prompt, ref.negative, ref.seed, ref.n, p);
  const fr = new Float32Array(frames.reduce((a, f) => a + f.length, 0)); let o = 0; for (const f of frames) { fr.set(f, o); o += f.length; }
  console.log(`reference ${pname} (steps ${p.steps}, guidance ${p.guidance}, shift ${p.shift}): latents max diff ${maxdiff(made, arr(p.latents)).toExponential(2)}, frames max diff ${maxdiff(fr, arr(p.frames)).toExponential(2)}`);
}
for (const [uname, u] of Object.entries(ref.upscalers)) {
  const out = (await sess[uname].run({ rgb: T(arr(u.input), u.input.shape) })).rgb_up.data;
  console.log(`reference ${uname}: max diff ${maxdiff(out, arr(u.output)).toExponential(2)}`);
}

if (bench) {
  const time = async (fn, n = 20) => { for (let i = 0; i < 3; i++) await fn(); const t = performance.now(); for (let i = 0; i < n; i++) await fn(); return (performance.now() - t) / n; };
  const { channels: C, width: w, height: h } = man.latent; const F = man.chunk.frames, K = man.chunk.context, L = tk.max_length;
  const rnd = (dims) => T(Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => Math.random()), dims);
  const dfeeds = (B) => ({ x: rnd([B, C, F, h, w]), t: rnd([B]), frame_time: rnd([B, F]), context: rnd([B, L, 128]), context_mask: T(new Float32Array(B * L).fill(1), [B, L]), pooled: rnd([B, 128]), prev: rnd([B, C, K, h, w]), prev_time: rnd([B, K]), prev_valid: T(new Float32Array(B).fill(1), [B]), ...(sess.final_denoiser.inputNames.includes('x0_self') ? { x0_self: rnd([B, C, F, h, w]) } : {}) });
  const r = {};
  for (const dn of ['preview_denoiser', 'final_denoiser']) for (const B of [1, 2]) { const f = dfeeds(B); r[`${dn} B=${B}`] = await time(() => sess[dn].run(f)); }
  const ids = T(BigInt64Array.from(tokenize('a red ball moves left').map(BigInt)), [1, L], 'int64');
  r.text_encoder = await time(() => sess.text_encoder.run({ input_ids: ids }));
  const lat = rnd([1, C, h, w]); r['decoder (1 frame)'] = await time(() => sess.decoder.run({ latent: lat }));
  let hw = [man.frame.height, man.frame.width];
  for (const u of man.profiles.final.upscalers) { const x = rnd([1, 3, ...hw]); r[`${u} ${hw[1]}x${hw[0]} (1 frame)`] = await time(() => sess[u].run({ rgb: x }), 10); hw = hw.map((v) => v * man.graphs[u].scale); }
  for (const [pname, prof] of Object.entries(man.profiles)) {
    const t0 = performance.now(); const g = await generateShot('a red ball moves left quickly on grass', '', 7, 32, prof); const tg = performance.now() - t0;
    let tu = 0; if (prof.upscalers.length) { const t1 = performance.now(); for (const f of g.frames) { let x = T(f, [1, 3, man.frame.height, man.frame.width]); for (const u of prof.upscalers) x = (await sess[u].run({ rgb: x })).rgb_up; } tu = performance.now() - t1; }
    r[`${pname}: 2 s shot at 16 fps (32 frames) incl. decode`] = tg; if (tu) r[`${pname}: + upscaling 32 frames`] = tu;
    const t2 = performance.now(); await generateShot('a red ball moves left quickly on grass', '', 7, 8, prof); r[`${pname}: first window of 8 frames incl. decode`] = performance.now() - t2;
  }
  for (const [k, v] of Object.entries(r)) console.log(`${k.padEnd(58)} ${v.toFixed(1)} ms`);
}
