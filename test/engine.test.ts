import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkSet, formatBreakdown, loadWorld } from '../engine/eval/check-clips.js';
import { BundleError, loadBundle } from '../engine/bundle/manifest.js';
import type { EnginePool } from '../engine/engine-pool.js';
import { cameraWindow } from '../engine/pipeline/camera.js';
import { generateShot, type ShotSpec } from '../engine/pipeline/generate.js';
import { EngineModel } from '../engine/pipeline/model.js';
import { gaussianNoise, hash32 } from '../engine/pipeline/noise.js';
import { Tokenizer } from '../engine/pipeline/tokenizer.js';
import { frameCount, planWindows } from '../engine/pipeline/windows.js';
import { BUNDLE_DIR, sharedEngine } from './helpers/engine.js';

const fixture = (name: string) => path.join(BUNDLE_DIR, 'fixtures', name);
const readJson = async <T>(file: string): Promise<T> => JSON.parse(await readFile(file, 'utf8')) as T;

describe('bundle loading', () => {
  let scratch: string;
  beforeAll(async () => {
    scratch = await mkdtemp(path.join(os.tmpdir(), 'bundle-'));
  });
  afterAll(() => rm(scratch, { recursive: true, force: true }));

  /** A copy of the bundle with its manifest changed by `edit`. */
  async function broken(name: string, edit: (m: Record<string, any>) => void, afterCopy?: (dir: string) => Promise<void>): Promise<string> {
    const dir = path.join(scratch, name);
    await cp(BUNDLE_DIR, dir, { recursive: true });
    const manifest = await readJson<Record<string, any>>(path.join(dir, 'manifest.json'));
    edit(manifest);
    await writeFile(path.join(dir, 'manifest.json'), JSON.stringify(manifest));
    await afterCopy?.(dir);
    return dir;
  }

  it('loads the bundled model and checks every graph', async () => {
    const bundle = await loadBundle(BUNDLE_DIR);
    expect(bundle.manifest.format).toBe(1);
    expect(bundle.hash).toMatch(/^[0-9a-f]{16}$/);
    expect(bundle.manifest.profiles.preview.size[0]).toBeGreaterThanOrEqual(128);
    expect(bundle.manifest.profiles.final.size).toEqual([1280, 720]);
  });

  it.each([
    ['a profile names a graph that is not there', (m: any) => (m.profiles.preview.denoiser = 'nope'), /"nope"/],
    ['a graph lacks an input', (m: any) => delete m.graphs.text_encoder.inputs.input_ids, /lacks input "input_ids"/],
    ['the format is unknown', (m: any) => (m.format = 2), /invalid manifest.*format/],
    ['a tokenizer id is outside the vocabulary', (m: any) => (m.tokenizer.eos_id = 100000), /outside the vocabulary/],
  ])('refuses a manifest where %s', async (name, edit, message) => {
    const dir = await broken(name.replace(/\W+/g, '-'), edit);
    await expect(loadBundle(dir)).rejects.toThrow(BundleError);
    await expect(loadBundle(dir)).rejects.toThrow(message);
  });

  it('names a missing or altered graph file', async () => {
    const missing = await broken('missing-file', () => {}, (dir) => rm(path.join(dir, 'decoder.onnx')));
    await expect(loadBundle(missing)).rejects.toThrow(/decoder\.onnx is missing/);
    const altered = await broken('altered-file', () => {}, async (dir) => writeFile(path.join(dir, 'decoder.onnx'), 'not a model'));
    await expect(loadBundle(altered)).rejects.toThrow(/decoder\.onnx does not match its sha256/);
    const garbage = await broken('garbage', () => {}, (dir) => writeFile(path.join(dir, 'manifest.json'), '{"format": '));
    await expect(loadBundle(garbage)).rejects.toThrow(/cannot read/);
  });
});

describe('parity with the Python reference', () => {
  let model: EngineModel;
  beforeAll(async () => {
    model = await EngineModel.load(BUNDLE_DIR, { threads: 1 });
  });
  afterAll(() => model.dispose());

  it('tokenizes English and Chinese exactly like training', async () => {
    const { pairs } = await readJson<{ pairs: { text: string; ids: number[] }[] }>(fixture('tokenizer.json'));
    expect(pairs.length).toBeGreaterThan(10);
    expect(pairs.some((p) => /[\u4e00-\u9fff]/.test(p.text))).toBe(true);
    for (const { text, ids } of pairs) expect(model.tokenizer.encode(text), text).toEqual(ids);
    expect(new Tokenizer(model.manifest.tokenizer).unknownWords('a red zeppelin')).toEqual(['zeppelin']);
  });

  it('draws the same seeded noise', async () => {
    const { cases } = await readJson<{ cases: { seed: number; window: number; values: number[] }[] }>(fixture('noise.json'));
    for (const c of cases) {
      const got = gaussianNoise(c.seed, c.window, c.values.length);
      c.values.forEach((v, i) => expect(Math.abs(got[i]! - v), `seed ${c.seed} window ${c.window} #${i}`).toBeLessThan(1e-6));
    }
    expect(hash32(0)).toBe(0);
  });

  it('generates the same frames as PyTorch for the same seed (within 1e-4), both profiles and the upscalers', async () => {
    const ref = await readJson<any>(fixture('reference.json'));
    const bin = await readFile(fixture(ref.bin));
    const arr = (e: { offset: number; shape: number[] }) => new Float32Array(bin.buffer, bin.byteOffset + e.offset, e.shape.reduce((a, b) => a * b, 1));
    expect(planWindows(ref.n, model.manifest.chunk.frames).map((w) => [w.start, w.frames, w.skip])).toEqual(ref.windows);
    for (const [profile, p] of Object.entries<any>(ref.profiles)) {
      const spec: ShotSpec = { prompt: ref.prompt, negative: ref.negative, seed: ref.seed, duration: ref.duration, fps: ref.fps, camera: 'static' };
      const expected = arr(p.frames);
      const plane = expected.length / ref.n;
      let j = 0;
      let worst = 0;
      for await (const frame of generateShot(model, spec, { profile: profile as 'preview' | 'final', raw: true, steps: p.steps, guidance: p.guidance, shift: p.shift })) {
        expect(frame.index).toBe(j);
        for (let k = 0; k < plane; k++) worst = Math.max(worst, Math.abs(frame.base![k]! - expected[j * plane + k]!));
        j++;
      }
      expect(j).toBe(ref.n);
      expect(worst, `${profile}: largest difference`).toBeLessThan(1e-4);
    }
    for (const [name, u] of Object.entries<any>(ref.upscalers)) {
      const out = await model.sessions.run(name, { rgb: { data: arr(u.input).slice(), dims: u.input.shape } });
      const expected = arr(u.output);
      let worst = 0;
      for (let k = 0; k < expected.length; k++) worst = Math.max(worst, Math.abs(out.rgb_up!.data[k]! - expected[k]!));
      expect(worst, name).toBeLessThan(1e-4);
      if (!out.rgb8) continue;
      // The uint8 output is the same frame, rounded, channels last.
      const bytes = out.rgb8.data as unknown as Uint8Array;
      const [, , H, W] = out.rgb_up!.dims as number[];
      const plane = H! * W!;
      let off = 0;
      for (let i = 0; i < plane; i++) for (let c = 0; c < 3; c++) off = Math.max(off, Math.abs(bytes[i * 3 + c]! - out.rgb_up!.data[c * plane + i]! * 255));
      expect(off, `${name} rgb8`).toBeLessThanOrEqual(0.5001);
    }
    expect(Object.values(ref.upscalers).length).toBeGreaterThan(0);
    expect(model.manifest.graphs[model.manifest.profiles.final.upscalers.at(-1)!]!.outputs.rgb8, 'the final upscaler offers rgb8').toBeDefined();
  }, 60_000);
});

describe('the engine pool', () => {
  let engine: EnginePool;
  beforeAll(async () => {
    engine = await sharedEngine();
  });
  const shot: ShotSpec = { prompt: 'a green triangle moves right quickly on the grass', negative: '', seed: 99, duration: 1.5, fps: 12, camera: 'static' };
  const collect = async (spec: ShotSpec, profile: 'preview' | 'final', signal?: AbortSignal) => {
    const frames = [];
    const started = performance.now();
    for await (const frame of engine.generate(spec, { profile, ...(signal ? { signal } : {}) })) frames.push({ ...frame, at: performance.now() - started });
    return frames;
  };

  it('streams frames one at a time, in order, at the profile size', async () => {
    const preview = await collect(shot, 'preview');
    expect(preview.map((f) => f.index)).toEqual([...Array(frameCount(1.5, 12)).keys()]);
    for (const f of preview) {
      expect([f.width, f.height]).toEqual(engine.info.profiles.preview!.size);
      expect(f.rgb.length).toBe(f.width * f.height * 3);
      expect(f.count).toBe(18);
    }
    // The first frame is out well before the last one: frames are sent as they are made.
    expect(preview[0]!.at).toBeLessThan(preview.at(-1)!.at);
    const final = await collect({ ...shot, duration: 0.5, fps: 8 }, 'final');
    expect(final).toHaveLength(4);
    for (const f of final) expect([f.width, f.height]).toEqual([1280, 720]);
  }, 60_000);

  it('makes shots whose last window starts fewer than K frames in (N = F + 1)', async () => {
    // 0.5 s at 18 fps = 9 frames: windows [0, 8) and [1, 9), the second with context frames 0 and 0.
    expect(planWindows(9, 8).map((w) => [w.start, w.skip])).toEqual([[0, 0], [1, 7]]);
    const frames = await collect({ ...shot, duration: 0.5, fps: 18 }, 'preview');
    expect(frames.map((f) => f.index)).toEqual([...Array(9).keys()]);
  });

  it('is deterministic by seed', async () => {
    const a = await collect(shot, 'preview');
    const b = await collect(shot, 'preview');
    const c = await collect({ ...shot, seed: 100 }, 'preview');
    expect(a.map((f) => Buffer.from(f.rgb).toString('base64'))).toEqual(b.map((f) => Buffer.from(f.rgb).toString('base64')));
    expect(Buffer.from(a[0]!.rgb).equals(Buffer.from(c[0]!.rgb))).toBe(false);
  });

  it('applies the camera move visibly', async () => {
    const still = await collect({ ...shot, prompt: 'a white star stays still at night', camera: 'static' }, 'preview');
    const zoom = await collect({ ...shot, prompt: 'a white star stays still at night', camera: 'zoom-in' }, 'preview');
    const diff = (a: Uint8Array, b: Uint8Array) => a.reduce((s, v, i) => s + Math.abs(v - b[i]!), 0) / a.length;
    // Same noise, same model: the first frame (τ near 0) barely moves, the last is zoomed in.
    expect(diff(still.at(-1)!.rgb, zoom.at(-1)!.rgb)).toBeGreaterThan(2 * diff(still[0]!.rgb, zoom[0]!.rgb));
    expect(cameraWindow('pan-left', 0).x).toBeGreaterThan(cameraWindow('pan-left', 1).x);
    expect(cameraWindow('zoom-out', 0).w).toBeLessThan(cameraWindow('zoom-out', 1).w);
  });

  it('stops within one step when aborted, and keeps serving', async () => {
    const controller = new AbortController();
    let after = 0;
    let aborted = false;
    await expect(
      (async () => {
        for await (const _frame of engine.generate({ ...shot, duration: 10, fps: 30 }, { profile: 'final', signal: controller.signal })) {
          if (aborted) after++;
          else {
            aborted = true;
            controller.abort();
          }
        }
      })(),
    ).rejects.toMatchObject({ name: 'AbortError' });
    // Frames the worker had already made (in flight, or buffered while the consumer was busy) are dropped.
    expect(after).toBe(0);
    expect(await collect(shot, 'preview')).toHaveLength(18);
  }, 60_000);

  it('puts previews first: a running render holds while a preview runs, even with every worker rendering', async () => {
    // One render per worker: no worker is free when the preview comes.
    const renders = Array.from({ length: engine.workerCount }, (_, i) => ({ frames: [] as number[], spec: { ...shot, seed: 500 + i, duration: 6, fps: 16 } }));
    const stop = new AbortController();
    const running = renders.map(async (r) => {
      for await (const frame of engine.generate(r.spec, { profile: 'final', signal: stop.signal })) r.frames.push(frame.index);
    });
    while (renders.some((r) => r.frames.length < 2)) await new Promise((resolve) => setTimeout(resolve, 10));
    const before = renders.map((r) => r.frames.length);
    const preview = await collect(shot, 'preview');
    const during = renders.map((r, i) => r.frames.length - before[i]!);
    expect(preview).toHaveLength(18);
    // While the preview ran, each render made at most the frame it was in the middle of (and one in flight).
    for (const n of during) expect(n).toBeLessThanOrEqual(2);
    expect(engine.heldJobs).toBe(0);
    // …and then the renders go on to the end.
    const after = renders.map((r) => r.frames.length);
    while (renders.some((r, i) => r.frames.length < after[i]! + 3)) await new Promise((resolve) => setTimeout(resolve, 10));
    stop.abort();
    await Promise.allSettled(running);
  }, 120_000);

  it('serves an edit’s preview before a live chunk queued ahead of it, and a live chunk before a render', async () => {
    // Every worker busy with a long live chunk (never held): what comes next waits in the queue.
    const stops = Array.from({ length: engine.workerCount }, () => new AbortController());
    const busy = stops.map((stop, i) =>
      (async () => {
        for await (const _ of engine.generate({ ...shot, seed: 900 + i, duration: 10, fps: 30 }, { profile: 'preview', range: { from: 0, count: 300 }, latents: true, signal: stop.signal }));
      })().catch(() => {}),
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    const order: string[] = [];
    const done = new AbortController();
    const first = async (name: string, frames: AsyncIterable<unknown>) => {
      try {
        for await (const _ of frames) {
          order.push(name);
          break;
        }
      } catch {
        // aborted at the end
      }
    };
    const render = first('render', engine.generate({ ...shot, seed: 3 }, { profile: 'final', signal: done.signal }));
    const live = first('live', engine.generate({ ...shot, seed: 4, duration: 4 }, { profile: 'preview', range: { from: 8, count: 8 }, latents: true, signal: done.signal }));
    const preview = first('preview', engine.generate({ ...shot, seed: 5 }, { profile: 'preview', signal: done.signal }));
    // One worker comes free: it takes the three one after another, in priority order.
    stops[0]!.abort();
    await Promise.all([render, live, preview]);
    for (const stop of stops) stop.abort();
    done.abort();
    await Promise.all(busy);
    expect(order).toEqual(['preview', 'live', 'render']);
  }, 120_000);

  it('lets an edit’s preview go in front of other rooms’ previews that have shown their first window, which then go on', async () => {
    // Every worker busy with a long preview that is past its first window.
    const stops = Array.from({ length: engine.workerCount }, () => new AbortController());
    const counts = stops.map(() => 0);
    const ended = stops.map(() => false);
    const busy = stops.map(async (stop, i) => {
      try {
        for await (const _ of engine.generate({ ...shot, seed: 700 + i, duration: 10, fps: 30 }, { profile: 'preview', signal: stop.signal })) counts[i]!++;
      } catch {
        // aborted at the end
      } finally {
        ended[i] = true;
      }
    });
    while (counts.some((n) => n < 8)) await new Promise((resolve) => setTimeout(resolve, 5));
    let firstFrameWhileBusy: boolean | null = null;
    const frames: number[] = [];
    for await (const frame of engine.generate({ ...shot, seed: 6 }, { profile: 'preview' })) {
      firstFrameWhileBusy ??= ended.every((e) => !e) && counts.every((n) => n < 300);
      frames.push(frame.index);
    }
    // It did not wait for a 300-frame preview to end.
    expect(firstFrameWhileBusy).toBe(true);
    expect(frames).toHaveLength(18);
    // The ones it went in front of go on.
    const after = [...counts];
    while (counts.some((n, i) => n < after[i]! + 8)) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(engine.heldJobs).toBe(0);
    for (const stop of stops) stop.abort();
    await Promise.all(busy);
  }, 120_000);
});

describe('the eval checker', () => {
  it('reads every attribute right on ground-truth clips', () => {
    const report = checkSet(loadWorld(), path.join(import.meta.dirname, '..', 'engine', 'eval', 'fixtures', 'ground-truth.json'));
    expect(report.clips.length).toBeGreaterThanOrEqual(10);
    expect(report.overall.attributesRight).toBeGreaterThanOrEqual(95);
    // the breakdown of one-object clips: every shape asked for is the shape seen
    const shapeRows = formatBreakdown(report).split('\n').filter((l) => /^\| (circle|square|triangle|star) \|/.test(l));
    expect(shapeRows.length).toBeGreaterThan(0);
    for (const row of shapeRows) expect(row).toMatch(/\| 100% \|$/);
  });

  it('has held-out sets that are half English, half Chinese, and a parallel set with every scene in both', async () => {
    interface Prompt { id: string; prompt: string; lang: string; seed: number; duration: number; fps: number; expected: unknown; tags: string[] }
    const evalDir = path.join(import.meta.dirname, '..', 'engine', 'eval');
    const heldout = (await readJson<{ prompts: Prompt[] }>(path.join(evalDir, 'heldout.json'))).prompts;
    const parallel = (await readJson<{ prompts: Prompt[] }>(path.join(evalDir, 'heldout-parallel.json'))).prompts;
    expect(heldout.length).toBeGreaterThanOrEqual(100);
    expect(heldout.filter((p) => p.lang === 'en').length).toBe(heldout.length / 2);
    // the originals are heldout.json's prompts, in order; each twin follows its original
    expect(parallel.length).toBe(2 * heldout.length);
    const tokenizer = new Tokenizer((await loadBundle(BUNDLE_DIR)).manifest.tokenizer);
    for (let i = 0; i < heldout.length; i++) {
      const original = parallel[2 * i]!;
      const twin = parallel[2 * i + 1]!;
      expect(original.prompt).toBe(heldout[i]!.prompt);
      expect(original.tags).toContain('original');
      expect(twin.tags).toContain('twin');
      expect(twin.lang).toBe(original.lang === 'en' ? 'zh' : 'en');
      expect([twin.seed, twin.duration, twin.fps, twin.expected]).toEqual([original.seed, original.duration, original.fps, original.expected]);
      expect(twin.prompt).not.toBe(original.prompt);
      expect(/[\u4e00-\u9fff]/.test(twin.prompt)).toBe(twin.lang === 'zh');
      // every word of every prompt is in the model's vocabulary
      for (const p of [original, twin]) expect(tokenizer.unknownWords(p.prompt), p.prompt).toEqual([]);
    }
  });
});
