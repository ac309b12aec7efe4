/**
 * How much render work the service takes on (the rule, written once; each queue backend counts
 * atomically and asks this module):
 *  - per room: one running render and at most `roomQueue` waiting behind it;
 *  - on the whole service: at most `queueMax` renders waiting or running;
 *  - per render: at most `maxFrames` frames (each shot's duration × fps, summed).
 * Beyond a queue limit: 429 RENDER_QUEUE_FULL with a Retry-After estimate; too many frames: 422
 * RENDER_TOO_LONG.
 */
import { frameCount } from '../../engine/index.js';
import { ScenecastError } from '../../shared/errors.js';
import type { Config } from '../config.js';
import type { RenderInfo } from '../../shared/protocol.js';
import type { Scene } from '../../shared/scene.js';

export interface RenderLimits {
  /** Renders a room may have waiting behind its running one. */
  roomQueue: number;
  /** Renders waiting or running on the whole service. */
  queueMax: number;
  /** Frames one render may make. */
  maxFrames: number;
}

export const DEFAULT_RENDER_LIMITS: RenderLimits = { roomQueue: 2, queueMax: 32, maxFrames: 2400 };

/** What a backend counted at the moment of admission (renders queued or running). */
export interface RenderCounts {
  /** Of the room. */
  room: number;
  /** Of the whole service. */
  total: number;
  /** Frames still to make in the room's renders (for the Retry-After estimate). */
  roomFrames: number;
}

/** A final frame at 720p takes about this long on the two-core reference machine (upscale + encode included). */
const MS_PER_FRAME = 40;

/** Null when a new render may be queued, else the refusal (with `retryAfterS`). */
export function admitRender(counts: RenderCounts, limits: RenderLimits): (ScenecastError & { retryAfterS: number }) | null {
  if (counts.room >= 1 + limits.roomQueue) {
    const wait = Math.max(5, Math.ceil((counts.roomFrames * MS_PER_FRAME) / 1000));
    return Object.assign(new ScenecastError('RENDER_QUEUE_FULL', `This room already has ${counts.room} renders queued or running; try again when one has finished (about ${wait} s)`), { retryAfterS: wait });
  }
  if (counts.total >= limits.queueMax) {
    return Object.assign(new ScenecastError('RENDER_QUEUE_FULL', `The service has ${counts.total} renders waiting; try again shortly`), { retryAfterS: 30 });
  }
  return null;
}

/** The refusal for a render of `frames` frames, or null. */
export function frameLimitRefusal(frames: number, limits: Pick<RenderLimits, 'maxFrames'>): ScenecastError | null {
  if (frames <= limits.maxFrames) return null;
  return new ScenecastError('RENDER_TOO_LONG', `The scene has ${frames} frames; one render may make at most ${limits.maxFrames} (shorten shots, lower the fps or render part of the scene)`, {
    frames,
    maxFrames: limits.maxFrames,
  });
}

/** Frames a render of `scene` makes (each shot's duration × fps, summed). */
export const sceneFrames = (scene: Pick<Scene, 'fps' | 'shots'>): number => scene.shots.reduce((sum, shot) => sum + frameCount(shot.duration, scene.fps), 0);

/** Frames a queued or running render still has to make. */
export const framesLeft = (record: RenderInfo): number => Math.max(0, sceneFrames(record.scene) - record.shots.reduce((sum, shot) => sum + shot.done, 0));

/** The admission counts over `active` records (queued or running) for a new render of `room`. */
export function countActive(active: RenderInfo[], room: string): RenderCounts {
  const ofRoom = active.filter((r) => r.room === room);
  return { room: ofRoom.length, total: active.length, roomFrames: ofRoom.reduce((sum, r) => sum + framesLeft(r), 0) };
}

/** The limits of RENDER_ROOM_QUEUE, RENDER_QUEUE_MAX, MAX_RENDER_FRAMES, RENDER_TTL_HOURS and RENDERS_MAX_BYTES. */
export const renderBounds = (config: Pick<Config, 'render'>): { limits: RenderLimits; ttlMs: number; maxBytes: number } => ({
  limits: { roomQueue: config.render.roomQueue, queueMax: config.render.queueMax, maxFrames: config.render.maxFrames },
  ttlMs: config.render.ttlMs,
  maxBytes: config.render.maxBytes,
});
