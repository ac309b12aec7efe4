/**
 * Render jobs and their records. Embedded: records as files, jobs in this process
 * (embedded/local-render-queue.ts); scale-out: records in Redis, jobs on BullMQ for engine worker
 * processes (scale/redis-render-queue.ts). The rules (bounds, one running render per room, the
 * record's states) are written once in render/render-limits.ts and render/render-records.ts.
 * Contract: test/contracts/render-queue.test.ts.
 */
import type { RenderInfo } from '../../shared/protocol.js';
import type { RenderLimits } from '../render/render-limits.js';

export interface RenderQueue {
  /** Starts running jobs (those resumed from storage first) with `processor`. */
  start(processor: RenderProcessor): void;
  /**
   * Stores a new record and queues it, if `limits` allow (render-limits.ts: counted atomically
   * with the other renders queued or running); else throws RENDER_QUEUE_FULL with `retryAfterS`.
   */
  add(record: RenderInfo, limits: RenderLimits): Promise<void>;
  get(id: string): Promise<RenderInfo | null>;
  /** Cancels a queued or running job; returns the record as it ends, or null if unknown. */
  cancel(id: string): Promise<RenderInfo | null>;
  onCancelledWhileQueued(listener: (record: RenderInfo) => void): void;
  /** Persists a changed record; a record that was removed is never written again (no-op). */
  save(record: RenderInfo): Promise<void>;
  /** Every stored record (for clean-up). */
  list(): Promise<RenderInfo[]>;
  /** A room's records, newest first. */
  listRoom(room: string): Promise<RenderInfo[]>;
  remove(id: string): Promise<void>;
  /**
   * Records counted as queued or running whose job is gone (a worker died and its job ran out of
   * attempts): returned so the service can mark them failed. Backends that cannot lose a job omit it.
   */
  lost?(now: number): Promise<RenderInfo[]>;
  close(): Promise<void>;
}

export type RenderProcessor = (record: RenderInfo, signal: AbortSignal) => Promise<void>;
