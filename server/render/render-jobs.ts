/**
 * Renders as the HTTP side sees them (the jobs API, like BullMQ's Queue): create one (after the
 * content policy and the bounds), read, cancel, forget a deleted room's, and keep finished ones
 * within their time and bytes. The work itself is render-worker.ts's, in this process
 * (embedded) or in engine worker processes (scale-out).
 */
import type { Readable } from 'node:stream';
import type { FastifyBaseLogger } from 'fastify';
import type { RenderInfo } from '../../shared/protocol.js';
import type { Scene } from '../../shared/scene.js';
import type { Metrics } from '../metrics.js';
import { contentPolicy, type ContentPolicy } from '../policy/content-policy.js';
import type { BlobStore } from '../ports/blob-store.js';
import type { RenderQueue } from '../ports/render-queue.js';
import type { RoomBroadcast } from '../ports/room-broadcast.js';
import type { ShotStore } from '../ports/shot-store.js';
import { DEFAULT_RENDER_LIMITS, type RenderLimits } from './render-limits.js';
import { CANCELLED, captionsKey, isActive, markFailed, newRenderRecord, videoKey } from './render-records.js';
import { moderateScene, renderRefusal } from './render-scene.js';

export interface RenderJobsOptions {
  queue: RenderQueue;
  shots: ShotStore;
  /** Post-production's parts (forgotten with a deleted room like the shots). */
  parts?: ShotStore | null;
  /** Where finished videos are. */
  videos: BlobStore;
  events: RoomBroadcast;
  metrics: Metrics;
  log: FastifyBaseLogger;
  /** Queue bounds and the frame cap (default DEFAULT_RENDER_LIMITS). */
  limits?: RenderLimits;
  /** The service's content policy (default: the blocklist). */
  policy?: ContentPolicy;
  /** How long a finished render is kept (ms, default 24 h). */
  ttlMs?: number;
  /** Bytes of finished renders kept in all (default 5 GiB); the oldest go first beyond it. */
  maxBytes?: number;
}

export class RenderJobs {
  readonly #o: Required<RenderJobsOptions>;
  readonly #sweeper: NodeJS.Timeout;

  constructor(options: RenderJobsOptions) {
    this.#o = { limits: DEFAULT_RENDER_LIMITS, policy: contentPolicy(), ttlMs: 86_400_000, maxBytes: 5 * 1024 ** 3, parts: null, ...options };
    options.queue.onCancelledWhileQueued((record) => {
      options.metrics.renders.inc({ outcome: 'cancelled' });
      options.events.emit(record.room, 'render:error', { id: record.id, ...CANCELLED });
    });
    this.#sweeper = setInterval(() => void this.sweep().catch(() => {}), Math.min(this.#o.ttlMs, 600_000));
    this.#sweeper.unref();
  }

  get cache(): ShotStore {
    return this.#o.shots;
  }

  get limits(): RenderLimits {
    return this.#o.limits;
  }

  /** Queues a render of `scene` for `room`; throws SCENE_EMPTY, RENDER_TOO_LONG, CONTENT_BLOCKED, RENDER_QUEUE_FULL. */
  async create(room: string, scene: Scene, profile: RenderInfo['profile'] = 'final'): Promise<RenderInfo> {
    const refusal = renderRefusal(scene, { maxFrames: this.#o.limits.maxFrames });
    if (refusal) throw refusal;
    await moderateScene(scene, this.#o.policy);
    const record = newRenderRecord(room, scene, profile);
    const snapshot = structuredClone(record);
    await this.#o.queue.add(record, this.#o.limits);
    this.#o.metrics.renders.inc({ outcome: 'queued' });
    return snapshot;
  }

  get(id: string): Promise<RenderInfo | null> {
    return this.#o.queue.get(id);
  }

  /** The room's most recent render (a page opened after it finished shows it). */
  async latest(room: string, status?: RenderInfo['status']): Promise<RenderInfo | null> {
    return (await this.#o.queue.listRoom(room)).find((r) => !status || r.status === status) ?? null;
  }

  cancel(id: string): Promise<RenderInfo | null> {
    return this.#o.queue.cancel(id);
  }

  /** The finished video of a render: its size, and its bytes (or a range of them). */
  video(id: string): { size(): Promise<number | null>; read(range?: { start: number; end: number }): Promise<Readable> } {
    const key = videoKey(id);
    return { size: () => this.#o.videos.size(key), read: (range) => this.#o.videos.read(key, range) };
  }

  /** The captions of a finished render as WebVTT, or null when it has none. */
  async captions(id: string): Promise<Readable | null> {
    const key = captionsKey(id);
    return (await this.#o.videos.size(key)) === null ? null : this.#o.videos.read(key);
  }

  /** Removes finished renders older than the TTL, then the oldest finished ones beyond `maxBytes` in all. */
  async sweep(now = Date.now()): Promise<number> {
    const { queue, ttlMs, maxBytes, events } = this.#o;
    for (const record of (await queue.lost?.(now)) ?? []) {
      markFailed(record, { code: 'ENGINE_FAILED', message: 'The render was lost: the engine worker running it stopped' }, new Date(now));
      await queue.save(record);
      events.emit(record.room, 'render:error', { id: record.id, ...record.error! });
    }
    let removed = 0;
    const kept: RenderInfo[] = [];
    for (const record of await queue.list()) {
      if (!record.finishedAt) continue;
      if (now - Date.parse(record.finishedAt) < ttlMs) {
        kept.push(record);
        continue;
      }
      await this.#discard(record.id);
      removed++;
    }
    let bytes = kept.reduce((sum, r) => sum + (r.bytes ?? 0), 0);
    for (const record of kept.sort((a, b) => a.finishedAt!.localeCompare(b.finishedAt!))) {
      if (bytes <= maxBytes) break;
      bytes -= record.bytes ?? 0;
      await this.#discard(record.id);
      removed++;
    }
    return removed;
  }

  /** A room was deleted: its renders are cancelled and removed with their videos, its shots and post-production parts forgotten. */
  async forgetRoom(room: string): Promise<void> {
    for (const record of (await this.#o.queue.list()).filter((r) => r.room === room)) {
      if (isActive(record)) await this.#o.queue.cancel(record.id).catch(() => null);
      await this.#discard(record.id);
    }
    await this.#o.shots.forgetRoom(room);
    await this.#o.parts?.forgetRoom(room);
  }

  async #discard(id: string): Promise<void> {
    await this.#o.queue.remove(id);
    await this.#o.videos.deletePrefix(`${id}/`);
  }

  async close(): Promise<void> {
    clearInterval(this.#sweeper);
    await this.#o.queue.close();
    await this.#o.shots.flush();
    await this.#o.parts?.flush();
  }
}
