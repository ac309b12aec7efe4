/**
 * Checks an exported bundle in onnxruntime-node against its fixtures, through the engine's own pipeline
 * (engine/pipeline: tokenizer, seeded noise, windows, sampler, decoding; engine/bundle/manifest.ts: validation and
 * graph hashes), so what passes here is what the service will run. The fixtures are PyTorch's (export.py, from
 * generate.py, the Python reference): for the same prompt, seed and sampler settings the ONNX graphs run from Node
 * must give the same tokens, noise, latents, frames and upscaled frames. With --bench it also times the graphs and
 * whole shots as the engine makes them.
 *
 *   npx tsx engine/training/ort_check.ts engine/models/shapes-v1 [--bench] [--threads 2]     (from the repository root)
 *
 * Exits 1 when a check fails (largest difference above 1e-4, as test/engine.test.ts allows). Nothing of the
 * generation algorithm is written here: a bundle the engine cannot reproduce fails here too.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { emptyTimings, generateShot, type ShotSpec } from '../pipeline/generate.js';
import { EngineModel } from '../pipeline/model.js';
import { gaussianNoise } from '../pipeline/noise.js';
import { ModelSessions, type TensorData } from '../pipeline/onnx-sessions.js';
import { frameCount, planWindows } from '../pipeline/windows.js';

/** Largest difference a check allows (float32 through two runtimes; measured: 1e-7 to 5e-6). */
export const TOLERANCE = 1e-4;

export interface Check {
  name: string;
  ok: boolean;
  /** The largest difference, where the check measures one, and the most it may be. */
  diff?: number;
  limit?: number;
}

export interface CheckReport {
  ok: boolean;
  checks: Check[];
  /** What was printed, line by line (the model card quotes it). */
  lines: string[];
}

export interface CheckOptions {
  bench?: boolean;
  /** Intra-op threads per session (default 2, as the card says). */
  threads?: number;
  /** Where each line goes as it is made (default console.log). */
  log?: (line: string) => void;
}

interface Blob {
  offset: number;
  shape: number[];
}

interface Reference {
  prompt: string;
  negative: string;
  seed: number;
  duration: number;
  fps: number;
  n: number;
  windows: number[][];
  input_ids?: number[];
  pooled?: Blob;
  bin: string;
  profiles: Record<string, { denoiser: string; steps: number; guidance: number; shift: number; latents: Blob; frames: Blob }>;
  upscalers: Record<string, { input: Blob; output: Blob }>;
}

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
};

const exp = (x: number): string => (Number.isFinite(x) ? x.toExponential(2) : String(x));

/**
 * Records the latent of every frame the pipeline decodes (generateShot decodes each frame once, in order), so the
 * latents can be compared too, not only the frames. Returns the latents and a function that removes the spy.
 */
function spyOnDecoder(model: EngineModel): { latents: Float32Array[]; restore: () => void } {
  const sessions = model.sessions;
  const run = sessions.run.bind(sessions);
  const latents: Float32Array[] = [];
  sessions.run = async (graph, feeds, outputs) => {
    if (graph === 'decoder') latents.push(Float32Array.from(feeds.latent!.data as Float32Array));
    return run(graph, feeds, outputs);
  };
  return { latents, restore: () => void delete (sessions as { run?: unknown }).run };
}

export async function checkBundle(dir: string, options: CheckOptions = {}): Promise<CheckReport> {
  const lines: string[] = [];
  const checks: Check[] = [];
  const say = (line: string) => {
    lines.push(line);
    (options.log ?? console.log)(line);
  };
  const check = (name: string, ok: boolean) => {
    checks.push({ name, ok });
    return ok;
  };
  /** A measured check: passes when the largest difference is at most `limit`. */
  const measure = (name: string, diff: number, limit = TOLERANCE) => {
    checks.push({ name, ok: diff <= limit, diff, limit });
    return diff <= limit;
  };
  const threads = options.threads ?? 2;

  // The bundle as the engine loads it: manifest validated, every graph's sha256 checked, sessions created.
  const model = await EngineModel.load(dir, { threads });
  const { manifest } = model;
  const extra: ModelSessions[] = [];
  try {
    const loaded = new Set(['text_encoder', 'decoder', ...Object.values(manifest.profiles).flatMap((p) => [p.denoiser, ...(p.experts ?? []).map((e) => e.denoiser), ...p.upscalers])]);
    const others = Object.keys(manifest.graphs).filter((g) => !loaded.has(g));
    if (others.length) extra.push(await ModelSessions.load(model.bundle, others, { threads })); // graphs no profile uses
    say(`bundle ${manifest.name} (${model.bundle.hash}): manifest valid, graph hashes ${manifest.sha256 ? 'match' : 'not given'}, ` +
      `${Object.keys(manifest.graphs).length} graphs loaded (engine/pipeline, ${threads} intra-op threads)`);

    const fixtures = path.join(dir, 'fixtures');
    const json = async <T>(name: string): Promise<T> => JSON.parse(await readFile(path.join(fixtures, name), 'utf8')) as T;

    // Tokenizer.
    const { pairs } = await json<{ pairs: { text: string; ids: number[] }[] }>('tokenizer.json');
    const wrong = pairs.filter((p) => JSON.stringify(model.tokenizer.encode(p.text)) !== JSON.stringify(p.ids));
    for (const p of wrong) say(`tokenizer mismatch: ${JSON.stringify(p.text)}`);
    check('tokenizer', wrong.length === 0 && pairs.length > 0);
    say(`tokenizer: ${pairs.length - wrong.length}/${pairs.length} fixtures match`);

    // Seeded noise.
    const { cases } = await json<{ cases: { seed: number; window: number; values: number[] }[] }>('noise.json');
    let noiseDiff = 0;
    for (const c of cases) noiseDiff = Math.max(noiseDiff, maxDiff(gaussianNoise(c.seed, c.window, c.values.length), c.values));
    if (cases.length) measure('noise', noiseDiff, 1e-6);
    else check('noise', false);
    say(`noise: max abs diff ${noiseDiff}`);

    // The reference generation: one shot per profile, latents and decoded base frames.
    const ref = await json<Reference>('reference.json');
    const bin = await readFile(path.join(fixtures, ref.bin));
    const arr = (e: Blob) => new Float32Array(bin.buffer, bin.byteOffset + e.offset, e.shape.reduce((a, b) => a * b, 1));
    const plan = planWindows(ref.n, manifest.chunk.frames).map((w) => [w.start, w.frames, w.skip]);
    const windowsOk = check('windows', JSON.stringify(plan) === JSON.stringify(ref.windows) && frameCount(ref.duration, ref.fps) === ref.n);
    const idsOk = !ref.input_ids || check('input_ids', JSON.stringify(model.tokenizer.encode(ref.prompt)) === JSON.stringify(ref.input_ids));
    let text = `reference text: windows ${windowsOk ? 'match' : `differ (${JSON.stringify(plan)} vs ${JSON.stringify(ref.windows)})`}`;
    if (ref.input_ids) text += `, input_ids ${idsOk ? 'match' : 'differ'}`;
    if (ref.pooled) {
      const d = maxDiff((await model.encodeText(ref.prompt)).pooled, arr(ref.pooled));
      measure('pooled', d);
      text += `, pooled max diff ${exp(d)}`;
    }
    say(text);

    const { channels: C, width: w, height: h } = manifest.latent;
    const plane = h * w;
    for (const [name, p] of Object.entries(ref.profiles)) {
      const profile = manifest.profiles[name];
      if (!profile || profile.denoiser !== p.denoiser) {
        check(`profile ${name}`, false);
        say(`reference ${name}: the manifest's profile ${profile ? `runs ${profile.denoiser}` : 'is missing'}, the fixture ${p.denoiser}`);
        continue;
      }
      const shot: ShotSpec = { prompt: ref.prompt, negative: ref.negative, seed: ref.seed, duration: ref.duration, fps: ref.fps, camera: 'static' };
      const spy = spyOnDecoder(model);
      const frames: Float32Array[] = [];
      try {
        for await (const frame of generateShot(model, shot, { profile: name as 'preview' | 'final', raw: true, steps: p.steps, guidance: p.guidance, shift: p.shift })) {
          frames.push(frame.base!);
        }
      } finally {
        spy.restore();
      }
      // The fixture's latents are [C, n, h, w]; the engine decodes [C, h, w] per frame.
      const latents = new Float32Array(C * ref.n * plane);
      spy.latents.forEach((lat, j) => {
        for (let c = 0; c < C; c++) latents.set(lat.subarray(c * plane, (c + 1) * plane), (c * ref.n + j) * plane);
      });
      const all = new Float32Array(frames.reduce((a, f) => a + f.length, 0));
      let o = 0;
      for (const f of frames) {
        all.set(f, o);
        o += f.length;
      }
      const dl = frames.length === ref.n && spy.latents.length === ref.n ? maxDiff(latents, arr(p.latents)) : Infinity;
      const df = frames.length === ref.n ? maxDiff(all, arr(p.frames)) : Infinity;
      measure(`reference ${name} latents`, dl);
      measure(`reference ${name} frames`, df);
      say(`reference ${name} (steps ${p.steps}, guidance ${p.guidance}, shift ${p.shift}): latents max diff ${exp(dl)}, frames max diff ${exp(df)}` +
        (frames.length === ref.n ? '' : ` (${frames.length} of ${ref.n} frames made)`));
    }

    // The upscalers, one input -> output pair each; and the uint8 output where a graph has one.
    for (const [name, u] of Object.entries(ref.upscalers)) {
      const out = await model.sessions.run(name, { rgb: { data: arr(u.input).slice(), dims: u.input.shape } });
      const d = maxDiff(out.rgb_up!.data, arr(u.output));
      measure(`reference ${name}`, d);
      let line = `reference ${name}: max diff ${exp(d)}`;
      if (out.rgb8) {
        const bytes = out.rgb8.data as unknown as Uint8Array;
        const [, , H, W] = out.rgb_up!.dims as number[];
        const px = H! * W!;
        let off = 0;
        for (let i = 0; i < px; i++) for (let c = 0; c < 3; c++) off = Math.max(off, Math.abs(bytes[i * 3 + c]! - out.rgb_up!.data[c * px + i]! * 255));
        measure(`${name} rgb8`, off, 0.5001);
        line += `; rgb8 within ${off.toFixed(3)} of rgb_up x 255`;
      }
      say(line);
    }
    if (Object.keys(ref.upscalers).length === 0) check('upscaler fixtures', false);

    const failed = checks.filter((c) => !c.ok);
    say(failed.length ? `parity: FAILED (${failed.map((c) => c.name).join(', ')})` : `parity: ok (${checks.length} checks, tolerance ${TOLERANCE})`);

    if (options.bench) for (const line of await bench(model)) say(line);
    return { ok: failed.length === 0, checks, lines };
  } finally {
    await Promise.all(extra.map((s) => s.dispose()));
    await model.dispose();
  }
}

/** Milliseconds per graph call (random inputs), and whole shots as the engine makes them. */
async function bench(model: EngineModel): Promise<string[]> {
  const { manifest, sessions } = model;
  const time = async (fn: () => Promise<unknown>, n = 20) => {
    for (let i = 0; i < 3; i++) await fn();
    const t = performance.now();
    for (let i = 0; i < n; i++) await fn();
    return (performance.now() - t) / n;
  };
  const { channels: C, width: w, height: h } = manifest.latent;
  const { frames: F, context: K } = manifest.chunk;
  const L = manifest.tokenizer.max_length;
  const pooledDim = manifest.graphs.text_encoder!.outputs.pooled!.shape[1];
  const D = typeof pooledDim === 'number' ? pooledDim : 128;
  const rnd = (dims: number[]): TensorData => ({ data: Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => Math.random()), dims });
  const ones = (dims: number[]): TensorData => ({ data: new Float32Array(dims.reduce((a, b) => a * b, 1)).fill(1), dims });
  const r: [string, number][] = [];
  const denoisers = [...new Set(Object.values(manifest.profiles).map((p) => p.denoiser))];
  for (const dn of denoisers) {
    for (const B of [1, 2]) {
      const feeds: Record<string, TensorData> = {
        x: rnd([B, C, F, h, w]), t: rnd([B]), frame_time: rnd([B, F]), context: rnd([B, L, D]), context_mask: ones([B, L]),
        pooled: rnd([B, D]), prev: rnd([B, C, K, h, w]), prev_time: rnd([B, K]), prev_valid: ones([B]),
        ...('x0_self' in manifest.graphs[dn]!.inputs ? { x0_self: rnd([B, C, F, h, w]) } : {}),
      };
      r.push([`${dn} B=${B}`, await time(() => sessions.run(dn, feeds))]);
    }
  }
  const ids = model.tokenizer.encode('a red ball moves left');
  r.push(['text_encoder', await time(() => sessions.run('text_encoder', { input_ids: { data: BigInt64Array.from(ids, BigInt), dims: [1, ids.length] } }))]);
  const lat = rnd([1, C, h, w]);
  r.push(['decoder (1 frame)', await time(() => sessions.run('decoder', { latent: lat }))]);
  let hw = [manifest.frame.height, manifest.frame.width];
  for (const u of manifest.profiles.final.upscalers) {
    const x = rnd([1, 3, hw[0]!, hw[1]!]);
    r.push([`${u} ${hw[1]}x${hw[0]} (1 frame)`, await time(() => sessions.run(u, { rgb: x }), 10)]);
    hw = hw.map((v) => v * manifest.graphs[u]!.scale!);
  }
  const shot: ShotSpec = { prompt: 'a red ball moves left quickly on grass', negative: '', seed: 7, duration: 2, fps: 16, camera: 'static' };
  for (const name of Object.keys(manifest.profiles) as ('preview' | 'final')[]) {
    const run = async (spec: ShotSpec, raw: boolean) => {
      const timings = emptyTimings();
      const t0 = performance.now();
      let first = 0;
      for await (const _frame of generateShot(model, spec, { profile: name, raw, timings })) first ||= performance.now() - t0;
      return { total: performance.now() - t0, first, timings };
    };
    const base = await run(shot, true);
    r.push([`${name}: 2 s shot at 16 fps (32 frames) incl. decode`, base.total]);
    const full = await run(shot, false);
    const t = full.timings;
    r.push([`${name}: the same at ${manifest.profiles[name].size.join('x')} (camera, upscaling: ${(t.camera + t.upscale).toFixed(0)} ms)`, full.total]);
    r.push([`${name}: its first frame at ${manifest.profiles[name].size.join('x')}`, full.first]);
    r.push([`${name}: first window of 8 frames incl. decode`, (await run({ ...shot, duration: 0.5 }, true)).total]);
  }
  return r.map(([k, v]) => `${k.padEnd(58)} ${v.toFixed(1)} ms`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { bench: { type: 'boolean', default: false }, threads: { type: 'string', default: '2' } } });
  const report = await checkBundle(positionals[0] ?? 'engine/models/shapes-v1', { bench: values.bench, threads: Number(values.threads) });
  process.exitCode = report.ok ? 0 : 1;
}
