/**
 * Renders a scene to one MP4, shot by shot:
 *   1 key     each shot's content key (bundle, prompt, template, seed, duration, camera, fps, profile)
 *   2 cache   a key already rendered is reused as is (its encoded segment, byte for byte)
 *   3 generate   otherwise, on this render's turn at the engine (rooms take turns shot by shot),
 *             the engine's profile (final: full model + upscaler to 1280x720) …
 *   4 encode  … piped frame by frame into ffmpeg (H.264, yuv420p) as a segment, then cached
 *   5 join    segments joined in order by stream copy, moov first
 * Used by the server's render queue and by the CLI. Aborting stops the engine within a step and
 * removes temporary files.
 */
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { abortError, contextOf, frameCount, keyedShots, tailKey, type ProfileName, type EnginePool } from '../../engine/index.js';
import { ScenecastError } from '../../shared/errors.js';
import type { RenderShotInfo, RenderTimings } from '../../shared/protocol.js';
import type { Scene } from '../../shared/scene.js';
import { SegmentEncoder, joinSegments } from './ffmpeg.js';
import { frameLimitRefusal, sceneFrames } from './render-limits.js';
import { emptyRenderTimings } from './render-records.js';
import { shotText, type ContentPolicy } from '../policy/content-policy.js';
import type { ShotStore } from '../ports/shot-store.js';

export interface RenderProgressEvent {
  stage: 'generate' | 'join' | 'post' | 'done';
  shot?: string;
  done: number;
  total: number;
  cached?: boolean;
  warnings?: string[];
}

/**
 * The post-production stage (server/post/post-production.ts): begun when the render starts, so
 * what needs no frames (narration, music, the mix) and pieces whose shots are there are made while
 * the engine still generates; finished on every shot's segment.
 */
export interface PostStage {
  begin(plan: PostPlan): PostRun;
}

export interface PostPlan {
  scene: Scene;
  /** Each shot's key in the shot cache (what decides its frames), and its frame count. */
  keys: string[];
  frames: number[];
  workDir: string;
  /** Aborted when the render stops (cancelled, or a shot failed). */
  signal: AbortSignal;
  /** The room the render is for (its uploaded music; it holds the parts made). */
  room?: string;
}

export interface PostRun {
  /** Shot i's segment is in the shot cache (generated or found there) at `segment`. */
  shotReady(i: number, segment: string): void;
  /** The finished MP4 at `out`, from every shot's segment. */
  finish(segments: string[], out: string): Promise<Finished>;
  /** Removes the scratch files (after finish, or when the render stopped before it). */
  close(): Promise<void>;
}

export interface Finished {
  frames: number;
  warnings: string[];
  /** The captions as WebVTT, or null when the scene has none. */
  captions: string | null;
}

export interface RenderSceneOptions {
  engine: EnginePool;
  cache: ShotStore;
  /** Folder for the joined file and scratch files. */
  workDir: string;
  /** Name of the output file inside workDir (default video.mp4). */
  output?: string;
  profile?: ProfileName;
  signal?: AbortSignal;
  onProgress?: (event: RenderProgressEvent, shots: RenderShotInfo[]) => void;
  /**
   * Shots generated at once (default 1). 2 uses both engine workers and about halves a cold
   * render on two cores, but previews then wait for a shot to finish before they get a worker.
   */
  parallel?: number;
  /**
   * Waits for this render's turn at the engine before a shot is generated (cache hits need none)
   * and resolves with the function that gives it back: how renders of several rooms share the
   * engine shot by shot (fair-turns.ts). Default: no waiting.
   */
  turn?: (signal: AbortSignal) => Promise<() => void>;
  /** Frames one render may make (default: no limit; the server passes MAX_RENDER_FRAMES). */
  maxFrames?: number;
  /** The room the render is for: it becomes a holder of the shots it makes or reuses (shot-cache.ts). */
  room?: string;
  /**
   * Post-production (captions, narration, music, transitions, loudness) on the cached segments.
   * Without it the segments are joined as they are, by stream copy.
   */
  post?: PostStage;
}

export interface RenderResult {
  file: string;
  frames: number;
  seconds: number;
  shots: RenderShotInfo[];
  timings: RenderTimings;
  warnings: string[];
  captions: string | null;
}


/** Why a scene cannot be rendered, or null (its content is the content policy's to judge: moderateScene). */
export function renderRefusal(scene: Scene, limits: { maxFrames?: number } = {}): ScenecastError | null {
  if (scene.shots.length === 0) return new ScenecastError('SCENE_EMPTY', 'The scene has no shot to render; add a shot with a prompt first');
  if (limits.maxFrames !== undefined) {
    const tooLong = frameLimitRefusal(sceneFrames(scene), { maxFrames: limits.maxFrames });
    if (tooLong) return tooLong;
  }
  for (const shot of scene.shots) {
    if (!shot.prompt.trim()) return new ScenecastError('SHOT_PROMPT_EMPTY', `Shot "${shot.id}" has no prompt`);
  }
  return null;
}

/** Throws CONTENT_BLOCKED for the first shot the policy refuses. */
export async function moderateScene(scene: Scene, policy: ContentPolicy): Promise<void> {
  for (const shot of scene.shots) await policy.enforce(shotText(shot), `Shot "${shot.id}"`);
}

export async function renderScene(scene: Scene, options: RenderSceneOptions): Promise<RenderResult> {
  const { engine, cache, workDir, signal } = options;
  const profile = options.profile ?? 'final';
  const refusal = renderRefusal(scene, options.maxFrames === undefined ? {} : { maxFrames: options.maxFrames });
  if (refusal) throw refusal;
  const started = performance.now();
  const timings = emptyRenderTimings();
  const [width, height] = engine.info.profiles[profile]!.size;
  await mkdir(workDir, { recursive: true });

  // 1. Keys (a shot that continues the one before also holds that one's key).
  const plans = keyedShots(engine.info.hash, scene, profile);
  // Continuity: the last clean latents of shot i, for shot i + 1 when it continues it.
  const K = engine.chunk.context;
  const wantsTail = (i: number) => plans[i + 1]?.shot.continue === true;
  const tails = plans.map(() => {
    let resolve!: (tail: Float32Array) => void;
    let reject!: (error: unknown) => void;
    const promise = new Promise<Float32Array>((res, rej) => ((resolve = res), (reject = rej)));
    promise.catch(() => {});
    return { promise, resolve, reject };
  });
  /** The kept tail of a cached shot, or null when it is not kept (the shot is then made again). */
  const cachedTail = async (i: number): Promise<Float32Array | null> => {
    const key = tailKey(plans[i]!.key);
    if (!(await cache.get(key, options.room))) return null;
    const file = await cache.segment(key);
    if (!file) return null;
    const bytes = await readFile(file);
    return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  };
  const shots: RenderShotInfo[] = plans.map(({ shot, key }) => ({
    id: shot.id,
    key,
    frames: frameCount(shot.duration, scene.fps),
    done: 0,
    cached: false,
    status: 'pending',
    ms: 0,
  }));
  const report = (event: RenderProgressEvent) => options.onProgress?.(event, shots);

  // Aborted by the caller, or by a failing shot so the others stop too.
  const inner = new AbortController();
  const stop = () => inner.abort();
  signal?.addEventListener('abort', stop, { once: true });
  // A shot waiting for the last frames of one that failed or was stopped stops too.
  inner.signal.addEventListener('abort', () => tails.forEach((t) => t.reject(abortError())), { once: true });
  const post = options.post?.begin({ scene, keys: plans.map((p) => p.key), frames: shots.map((s) => s.frames), workDir, signal: inner.signal, ...(options.room ? { room: options.room } : {}) }) ?? null;
  const ready = async (i: number) => {
    const segment = await cache.segment(plans[i]!.key);
    if (segment) post?.shotReady(i, segment);
  };

  const renderOne = async (i: number): Promise<void> => {
    const { shot, resolved, key } = plans[i]!;
    if (inner.signal.aborted) throw abortError();
    const info = shots[i]!;
    // 2. Cache (with the tail a continuing shot needs, or the shot is made again to get it).
    if (await cache.get(key, options.room)) {
      const tail = wantsTail(i) ? await cachedTail(i) : null;
      if (!wantsTail(i) || tail) {
        if (tail) tails[i]!.resolve(tail);
        Object.assign(info, { done: info.frames, cached: true, status: 'done' });
        report({ stage: 'generate', shot: shot.id, done: info.frames, total: info.frames, cached: true });
        await ready(i);
        return;
      }
    }
    // 3-4. Generate and encode, on this render's turn (a continuing shot first waits for the last
    // frames of the one before).
    const context = i > 0 && shot.continue ? await tails[i - 1]!.promise : null;
    const lastLatents: Float32Array[] = [];
    const giveBack = options.turn ? await options.turn(inner.signal) : () => {};
    info.status = 'rendering';
    const shotStarted = performance.now();
    const temp = await cache.scratch();
    const encoder = new SegmentEncoder(temp, { width, height, fps: scene.fps });
    let lastReport = 0;
    try {
      const frames = engine.generate(resolved.spec, {
        profile,
        ...(resolved.steps ? { steps: resolved.steps } : {}),
        ...(resolved.guidance ? { guidance: resolved.guidance } : {}),
        signal: inner.signal,
        ...(context ? { context } : {}),
        // Every shot keeps its last latents (a few KiB), so turning `continue` on later regenerates only the shot that continues.
        latents: true,
        onStats: (stats) => {
          timings.generate += stats.timings.text + stats.timings.denoise + stats.timings.decode;
          timings.upscale += stats.timings.camera + stats.timings.upscale;
        },
      });
      for await (const frame of frames) {
        if (frame.latent) {
          lastLatents.push(frame.latent);
          if (lastLatents.length > K) lastLatents.shift();
        }
        const writeStarted = performance.now();
        await encoder.write(frame.rgb);
        timings.encode += performance.now() - writeStarted;
        info.done = frame.index + 1;
        if (performance.now() - lastReport > 100 || info.done === info.frames) {
          lastReport = performance.now();
          report({ stage: 'generate', shot: shot.id, done: info.done, total: info.frames, cached: false });
        }
      }
      const finishStarted = performance.now();
      await encoder.finish();
      timings.encode += performance.now() - finishStarted;
      await cache.put(key, temp, encoder.frames, options.room);
      const tail = contextOf(lastLatents.map((latent) => ({ latent })), K);
      if (tail) {
        const file = await cache.scratch();
        await writeFile(file, new Uint8Array(tail.buffer, tail.byteOffset, tail.byteLength));
        await cache.put(tailKey(key), file, K, options.room);
        tails[i]!.resolve(tail);
      } else if (wantsTail(i)) {
        throw new ScenecastError('ENGINE_FAILED', `Shot "${shot.id}" has fewer frames than the next shot needs to continue from`);
      }
    } catch (error) {
      tails[i]!.reject(error);
      encoder.abort();
      await rm(temp, { force: true });
      throw error;
    } finally {
      giveBack();
    }
    info.status = 'done';
    info.ms = performance.now() - shotStarted;
    await ready(i);
  };

  // Shots in order, `parallel` at a time; the first failure stops the others.
  let next = 0;
  const lanes = Array.from({ length: Math.max(1, Math.min(options.parallel ?? 1, plans.length)) }, async () => {
    while (next < plans.length && !inner.signal.aborted) await renderOne(next++);
  });
  let frames = shots.reduce((sum, s) => sum + s.frames, 0);
  let warnings: string[] = [];
  let captions: string | null = null;
  const file = path.join(workDir, options.output ?? 'video.mp4');
  const partial = `${file}.partial.mp4`;
  let joinStarted = performance.now();
  try {
    await Promise.all(lanes.map((lane) => lane.catch((error: unknown) => (inner.abort(), Promise.reject(error)))));

    // 5. Join (or post-production on the segments).
    if (signal?.aborted) throw abortError();
    report({ stage: post ? 'post' : 'join', done: 0, total: 1 });
    joinStarted = performance.now();
    const segments = await Promise.all(
      plans.map(async (p) => {
        const file = await cache.segment(p.key);
        if (!file) throw new ScenecastError('ENGINE_FAILED', `The segment of shot "${p.shot.id}" left the shot cache before the join`);
        return file;
      }),
    );
    if (post) ({ frames, warnings, captions } = await post.finish(segments, partial));
    else await joinSegments(segments, partial, path.join(workDir, 'segments.txt'));
    await rename(partial, file);
  } finally {
    signal?.removeEventListener('abort', stop);
    if (!inner.signal.aborted) inner.abort();
    await post?.close();
    await rm(partial, { force: true });
    await rm(path.join(workDir, 'segments.txt'), { force: true });
  }
  timings.join = performance.now() - joinStarted;
  timings.total = performance.now() - started;
  report({ stage: 'done', done: 1, total: 1, ...(warnings.length > 0 ? { warnings } : {}) });
  return { file, frames, seconds: frames / scene.fps, shots, timings, warnings, captions };
}
