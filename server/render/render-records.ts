/**
 * A render's record through its life: made queued, then running, and one of done, failed or
 * cancelled (the only places a record changes state, for every backend and the worker).
 */
import { randomBytes } from 'node:crypto';
import type { ErrorCode } from '../../shared/errors.js';
import type { RenderInfo, RenderStatus, RenderTimings } from '../../shared/protocol.js';
import type { Scene } from '../../shared/scene.js';

export const emptyRenderTimings = (): RenderTimings => ({ generate: 0, upscale: 0, encode: 0, join: 0, total: 0 });

const FINAL: readonly RenderStatus[] = ['done', 'failed', 'cancelled'];

/** Queued or running: it counts against the bounds and may still run. */
export const isActive = (record: RenderInfo): boolean => !FINAL.includes(record.status);

export const CANCELLED = { code: 'RENDER_CANCELLED', message: 'The render was cancelled' } as const satisfies { code: ErrorCode; message: string };

export function newRenderRecord(room: string, scene: Scene, profile: RenderInfo['profile']): RenderInfo {
  return {
    id: `r${randomBytes(9).toString('base64url').replace(/[-_]/g, 'x').toLowerCase()}`,
    room,
    status: 'queued',
    stage: 'queued',
    profile,
    createdAt: new Date().toISOString(),
    startedAt: null,
    finishedAt: null,
    scene,
    shots: [],
    timings: emptyRenderTimings(),
    url: null,
    bytes: null,
    seconds: null,
    error: null,
    warnings: [],
    captionsUrl: null,
  };
}

/** Back to waiting (a restart, a worker handing its job back). */
export function markQueued(record: RenderInfo): RenderInfo {
  return Object.assign(record, { status: 'queued', stage: 'queued' } satisfies Partial<RenderInfo>);
}

export function markRunning(record: RenderInfo, now = new Date()): RenderInfo {
  return Object.assign(record, { status: 'running', stage: 'generate', startedAt: now.toISOString() } satisfies Partial<RenderInfo>);
}

export function markCancelled(record: RenderInfo, now = new Date()): RenderInfo {
  return Object.assign(record, { status: 'cancelled', finishedAt: now.toISOString(), error: { ...CANCELLED } } satisfies Partial<RenderInfo>);
}

export function markFailed(record: RenderInfo, error: { code: ErrorCode; message: string }, now = new Date()): RenderInfo {
  return Object.assign(record, { status: 'failed', finishedAt: now.toISOString(), error } satisfies Partial<RenderInfo>);
}

export function markDone(record: RenderInfo, done: Pick<RenderInfo, 'shots' | 'timings' | 'bytes' | 'seconds'>, now = new Date()): RenderInfo {
  return Object.assign(record, {
    status: 'done',
    stage: 'done',
    finishedAt: now.toISOString(),
    url: `/api/renders/${record.id}/video.mp4`,
    ...done,
  } satisfies Partial<RenderInfo>);
}

/** The blob key of a render's video (renders' blob store). */
export const videoKey = (id: string): string => `${id}/video.mp4`;

/** The blob key of a render's captions (WebVTT). */
export const captionsKey = (id: string): string => `${id}/captions.vtt`;
