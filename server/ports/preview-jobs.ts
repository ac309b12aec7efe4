/**
 * Preview jobs between the room (which asks) and the engine (which makes frames). The rules are
 * written once, above this port (preview/preview-queue.ts asks, preview/preview-worker.ts runs);
 * a backend only keeps jobs and revisions: in memory (embedded/memory-preview-jobs.ts) or on
 * BullMQ and Redis, for engine worker processes anywhere (scale/redis-preview-jobs.ts).
 * Contract: test/contracts/preview-jobs.test.ts.
 */
import type { ResolvedShot } from '../../engine/index.js';

/** One preview to make. */
export interface PreviewJobData {
  room: string;
  shot: string;
  rev: number;
  /** The shot's content key (what it looks like), so unchanged shots are not generated again. */
  key: string;
  resolved: ResolvedShot;
  /** Date.now() when the edit that caused it reached the server, or null (latency metric). */
  editAt: number | null;
  /** The shot continues the one before: that shot's preview (its id and content key), whose last latents it starts from. */
  after?: { shot: string; key: string };
}

/** A job as the room asks for it: the shot being edited goes first. */
export type QueuedPreview = PreviewJobData & { urgent: boolean };

/** What the preview flow asks of the queue (preview/preview-queue.ts implements it over a backend). */
export interface PreviewQueue {
  submit(job: QueuedPreview): Promise<'queued' | 'full'>;
  /** Drops a shot's queued job and aborts its running one (the shot left the scene); `rev` is newer than any of its jobs. */
  cancel(room: string, shot: string, rev: number): Promise<void>;
  /** A room was deleted: every job of it goes, and whatever the queue keeps of it. */
  forgetRoom(room: string): Promise<void>;
  /** Jobs waiting (metrics). */
  depth(): Promise<number>;
  close(): Promise<void>;
}

/** Storage and delivery under the rules. Every method is atomic on its own. */
export interface PreviewJobBackend {
  /**
   * Records `rev` as the newest revision of (room, shot) and tells every process (onSupersede).
   * Resolves with the revision it replaces if that one was still pending (queued or running).
   */
  supersede(room: string, shot: string, rev: number, pending: boolean): Promise<number | null>;
  /** The newest revision of (room, shot), 0 when none. */
  latest(room: string, shot: string): Promise<number>;
  /** The job of `rev` ended: it is no longer pending (unless a newer one is). */
  settle(room: string, shot: string, rev: number): Promise<void>;
  /** Hears every supersede, from any process. Returns the unsubscribe. */
  onSupersede(listener: (room: string, shot: string, rev: number) => void): () => void;
  /**
   * Queues a job (lower `priority` first, first come first served among equals), taking the
   * waiting job of revision `replaces` of the same shot out (and off its room's load) if it has
   * not started.
   */
  enqueue(job: QueuedPreview, priority: number, replaces: number | null): Promise<void>;
  /** Jobs waiting. */
  depth(): Promise<number>;
  /** Jobs of `room` waiting or running, after adding `delta` (a room's load: the fairness measure). */
  load(room: string, delta: number): Promise<number>;
  /** Runs `handler` for each job, `concurrency` at once, in queue order (engine side). Returns the stop. */
  consume(concurrency: number, handler: (job: QueuedPreview) => Promise<void>): () => Promise<void>;
  /** Drops the waiting jobs of `room` and everything the backend keeps of it. */
  forgetRoom(room: string): Promise<void>;
  close(): Promise<void>;
}
