/**
 * Generates one shot, yielding its frames one at a time as they are made (BUNDLE.md, Generation):
 *   1 read (the bundle's prompt reader), tokenize + encode the prompt (and the negative, for guidance)
 *   2 cut the shot into windows
 *   3 per window: seeded noise → S Euler steps of the denoiser → clean latents
 *   4 per frame: decode → camera → upscale → RGB bytes → yield
 * Aborting the signal stops the work before the next denoiser step or frame.
 *
 * A stream (live mode, a shot that continues the one before) is made a part at a time: `range`
 * makes frames [from, from + count) of the shot's N, and `context` gives the clean latents of the
 * K frames before `from` (made by an earlier part, of this prompt or another), which condition the
 * first window as a window's own predecessors do inside a shot. `latents` hands each frame's clean
 * latent back, for the next part's context.
 */
import type { CameraMove } from '../../shared/scene.js';
import { denoiserAt, type ProfileName } from '../bundle/manifest.js';
import { applyCamera } from './camera.js';
import { resize, toRgb8, type FloatImage } from './image.js';
import type { EngineModel, TextCondition } from './model.js';
import { gaussianNoise } from './noise.js';
import { frameCount, frameTime, planWindows, timeGrid } from './windows.js';

export interface ShotSpec {
  prompt: string;
  /** Negative prompt; '' for none (guidance then pushes away from the empty prompt). */
  negative: string;
  /** uint32. */
  seed: number;
  /** Seconds, 0.5–10. */
  duration: number;
  fps: number;
  camera: CameraMove;
}

export interface GenerateOptions {
  profile: ProfileName;
  signal?: AbortSignal;
  /** Override the profile's sampler settings (templates do). */
  steps?: number;
  guidance?: number;
  shift?: number;
  /** Yield the decoded base frames only: no camera, no upscaling (parity tests, the eval). */
  raw?: boolean;
  /** Filled with the milliseconds spent per stage (benchmarks, render timings). */
  timings?: StageTimings;
  /**
   * Awaited before each denoiser step and each frame, when it returns a promise: how the engine
   * pool holds a render back while previews run (previews first). Aborting still stops it.
   */
  hold?: () => Promise<void> | undefined;
  /** Make only frames [from, from + count) of the shot (default: all of it). */
  range?: { from: number; count: number };
  /**
   * Clean latents of the K frames before the first one made (K·C·h·w floats, frame-major, each
   * [C, h, w]), at times `from − K … from − 1` of the shot (negative: the end of the part before,
   * one period earlier). Null or absent: the first window starts from nothing.
   */
  context?: Float32Array | null;
  /** Hand each frame's clean latent ([C, h, w]) back with it. */
  latents?: boolean;
}

export interface StageTimings {
  text: number;
  denoise: number;
  decode: number;
  camera: number;
  upscale: number;
}

export const emptyTimings = (): StageTimings => ({ text: 0, denoise: 0, decode: 0, camera: 0, upscale: 0 });

export interface GeneratedFrame {
  index: number;
  count: number;
  /** Normalised shot time of the frame. */
  tau: number;
  width: number;
  height: number;
  /** HWC RGB bytes. */
  rgb: Uint8Array;
  /** The decoded base frame (CHW float), when `raw`. */
  base?: Float32Array;
  /** The frame's clean latent ([C, h, w]), when `latents`. */
  latent?: Float32Array;
}

/** The clean latents of the last `k` frames of `frames` (GeneratedFrame.latent), as a `context`; null when there are fewer. */
export function contextOf(frames: readonly { latent?: Float32Array }[], k: number): Float32Array | null {
  const tail = frames.slice(-k);
  if (k === 0 || tail.length < k || tail.some((f) => !f.latent)) return null;
  const size = tail[0]!.latent!.length;
  const out = new Float32Array(size * k);
  tail.forEach((f, i) => out.set(f.latent!, i * size));
  return out;
}

export function abortError(): Error {
  return new DOMException('generation aborted', 'AbortError');
}

const checkAbort = (signal?: AbortSignal): void => {
  if (signal?.aborted) throw abortError();
};

export async function* generateShot(model: EngineModel, shot: ShotSpec, options: GenerateOptions): AsyncGenerator<GeneratedFrame> {
  const { manifest } = model;
  const profile = model.profile(options.profile);
  const steps = options.steps ?? profile.steps;
  const guidance = options.guidance ?? profile.guidance;
  const { signal } = options;
  const { channels: C, width: w, height: h } = manifest.latent;
  const { frames: F, context: K } = manifest.chunk;
  const plane = h * w;
  const timings = options.timings ?? emptyTimings();
  let mark = performance.now();
  const lap = (stage: keyof StageTimings) => {
    const now = performance.now();
    timings[stage] += now - mark;
    mark = now;
  };

  // 1. Conditioning, from the prompt as the bundle's reader reads it (camera words move the
  // camera of a shot left static).
  checkAbort(signal);
  const reader = model.bundle.reader;
  const reading = reader ? reader.read(shot.prompt) : null;
  const camera = shot.camera === 'static' && reading?.camera ? reading.camera : shot.camera;
  const cond = await model.encodeText(reading ? reading.reading : shot.prompt);
  const uncond = guidance !== 1 ? await model.encodeText(reader && shot.negative ? reader.read(shot.negative).reading : shot.negative) : null;
  lap('text');

  // 2. Windows.
  const n = frameCount(shot.duration, shot.fps);
  const range = options.range ?? { from: 0, count: n };
  if (!(range.from >= 0 && range.count >= 1 && range.from + range.count <= n)) throw new Error(`frames ${range.from}..${range.from + range.count} of a shot of ${n}`);
  const windows = planWindows(range.count, F).map((win) => ({ ...win, start: win.start + range.from }));
  const context = options.context ?? null;
  if (context && context.length !== K * C * plane) throw new Error(`a context of ${context.length} floats, not ${K}·${C}·${h}·${w}`);
  const grid = timeGrid(steps, options.shift ?? profile.shift);
  // A self-conditioned denoiser also takes its own x0 estimate of the previous step (BUNDLE.md, `x0_self`).
  // With experts, one denoiser a step by its noise level: the cost of a step stays that of one.
  const denoisers = grid.slice(0, steps).map((t) => denoiserAt(profile, t));
  const selfCond = denoisers.every((d) => 'x0_self' in manifest.graphs[d]!.inputs);
  /** Clean latents of every frame made so far, frame-major [C, h, w] each. */
  const made: Float32Array[] = [];

  for (const win of windows) {
    const f = win.frames;
    const times = Float32Array.from({ length: f }, (_, i) => frameTime(win.start + i, n));
    const prev = new Float32Array(C * K * plane);
    const prevTime = new Float32Array(K);
    const fromContext = win.start === range.from && context !== null;
    const prevValid = K > 0 && (win.start > range.from || fromContext) ? 1 : 0;
    if (prevValid) {
      for (let k = 0; k < K; k++) {
        let frame: Float32Array;
        let j: number;
        if (fromContext) {
          j = win.start - K + k;
          frame = context.subarray(k * C * plane, (k + 1) * C * plane);
        } else {
          // Clamped at the first frame made: a last window of a short part can start fewer than K frames in (N = 9, F = 8).
          j = Math.max(range.from, win.start - K + k);
          frame = made[j]!;
        }
        prevTime[k] = frameTime(j, n);
        for (let c = 0; c < C; c++) prev.set(frame.subarray(c * plane, (c + 1) * plane), (c * K + k) * plane);
      }
    }

    // 3. Denoise the window from seeded noise.
    mark = performance.now();
    const x = gaussianNoise(shot.seed, win.index, C * f * plane);
    let estimate: Float32Array | null = selfCond ? new Float32Array(x.length * (uncond ? 2 : 1)) : null;
    for (let i = 0; i < steps; i++) {
      await options.hold?.();
      checkAbort(signal);
      const { v, estimate: next } = await velocity(model, denoisers[i]!, { x, t: grid[i]!, times, prev, prevTime, prevValid, cond, uncond, guidance, estimate, C, f, h, w, K });
      estimate = next;
      const dt = grid[i + 1]! - grid[i]!;
      for (let k = 0; k < x.length; k++) x[k]! += dt * v[k]!;
    }
    lap('denoise');

    // 4. Decode, move the camera, upscale and hand out each new frame.
    for (let i = 0; i < f; i++) {
      const j = win.start + i;
      const latent = new Float32Array(C * plane);
      for (let c = 0; c < C; c++) latent.set(x.subarray((c * f + i) * plane, (c * f + i + 1) * plane), c * plane);
      made[j] = latent;
      if (i < win.skip) continue;
      await options.hold?.();
      checkAbort(signal);
      mark = performance.now();
      const decoded = await model.sessions.run('decoder', { latent: { data: latent, dims: [1, C, h, w] } });
      const base: FloatImage = { data: decoded.rgb!.data, width: manifest.frame.width, height: manifest.frame.height };
      const tau = frameTime(j, n);
      lap('decode');
      // A copy: the worker hands the buffer over (transfers it), and `made` still needs this one.
      const keep = options.latents ? { latent: latent.slice() } : {};
      if (options.raw) {
        yield { index: j, count: n, tau, width: base.width, height: base.height, rgb: toRgb8(base), base: base.data, ...keep };
        continue;
      }
      let image = applyCamera(base, camera, tau);
      lap('camera');
      let rgb: Uint8Array | null = null;
      for (const [k, name] of profile.upscalers.entries()) {
        const scale = manifest.graphs[name]!.scale!;
        const [width, height] = [image.width * scale, image.height * scale];
        const input = { rgb: { data: image.data, dims: [1, 3, image.height, image.width] } };
        // A last stage that lands on the profile's size and offers `rgb8` hands out bytes as they are.
        if (k === profile.upscalers.length - 1 && width === profile.size[0] && height === profile.size[1] && manifest.graphs[name]!.outputs.rgb8) {
          rgb = new Uint8Array((await model.sessions.run(name, input, ['rgb8'])).rgb8!.data as unknown as Uint8Array);
          image = { data: new Float32Array(0), width, height };
          break;
        }
        image = { data: (await model.sessions.run(name, input, ['rgb_up'])).rgb_up!.data, width, height };
      }
      if (!rgb) {
        image = resize(image, profile.size[0], profile.size[1]);
        rgb = toRgb8(image);
      }
      lap('upscale');
      yield { index: j, count: n, tau, width: image.width, height: image.height, rgb, ...keep };
    }
  }
}

interface StepInput {
  x: Float32Array;
  t: number;
  times: Float32Array;
  prev: Float32Array;
  prevTime: Float32Array;
  prevValid: number;
  cond: TextCondition;
  uncond: TextCondition | null;
  guidance: number;
  /** Self-conditioning: the x0 estimate of the previous step per batch half (zeros at the first), or null. */
  estimate: Float32Array | null;
  C: number;
  f: number;
  h: number;
  w: number;
  K: number;
}

/**
 * One denoiser call; with guidance, a batch of two (cond first) combined as v_u + g·(v_c − v_u). With
 * self-conditioning it also returns each half's x0 estimate, x − t·v, for the next step.
 */
async function velocity(model: EngineModel, denoiser: string, s: StepInput): Promise<{ v: Float32Array; estimate: Float32Array | null }> {
  const B = s.uncond ? 2 : 1;
  const L = s.cond.mask.length;
  const D = s.cond.pooled.length;
  const repeat = (a: Float32Array, b?: Float32Array) => {
    if (B === 1) return a;
    const out = new Float32Array(a.length * 2);
    out.set(a);
    out.set(b ?? a, a.length);
    return out;
  };
  const feeds = {
    x: { data: repeat(s.x), dims: [B, s.C, s.f, s.h, s.w] },
    t: { data: new Float32Array(B).fill(s.t), dims: [B] },
    frame_time: { data: repeat(s.times), dims: [B, s.f] },
    context: { data: repeat(s.cond.context, s.uncond?.context), dims: [B, L, s.cond.context.length / L] },
    context_mask: { data: repeat(s.cond.mask, s.uncond?.mask), dims: [B, L] },
    pooled: { data: repeat(s.cond.pooled, s.uncond?.pooled), dims: [B, D] },
    prev: { data: repeat(s.prev), dims: [B, s.C, s.K, s.h, s.w] },
    prev_time: { data: repeat(s.prevTime), dims: [B, s.K] },
    prev_valid: { data: new Float32Array(B).fill(s.prevValid), dims: [B] },
    ...(s.estimate ? { x0_self: { data: s.estimate, dims: [B, s.C, s.f, s.h, s.w] } } : {}),
  };
  const out = (await model.sessions.run(denoiser, feeds)).velocity!.data;
  const n = s.x.length;
  let estimate: Float32Array | null = null;
  if (s.estimate) {
    estimate = new Float32Array(out.length);
    for (let k = 0; k < out.length; k++) estimate[k] = s.x[k % n]! - s.t * out[k]!;
  }
  if (B === 1) return { v: out, estimate };
  const v = new Float32Array(n);
  for (let k = 0; k < n; k++) {
    const vc = out[k]!;
    const vu = out[n + k]!;
    v[k] = vu + s.guidance * (vc - vu);
  }
  return { v, estimate };
}
