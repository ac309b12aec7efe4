/**
 * What a room's live stream keeps beyond one process (DESIGN.md, "Live mode"). The stream is
 * directed where the room's document is (a node: live-service.ts) and made where an engine is
 * (live-runner.ts: the embedded server itself, or an engine worker); this store is all they share:
 *   - the plan: what is on air, at which fps, how many watch; published by the one process that
 *     directs the room (the `director` lease) and read before every frame by the one that makes it;
 *     a plan not renewed expires, and the rooms with a plan are the ones whose stream is wanted;
 *   - the lease: one process makes a room's stream at a time; it renews the lease while it
 *     streams, and a holder that dies loses it after its ttl, so another takes over;
 *   - the checkpoint: where the stream is (the next frame's number, the revision on air, the
 *     clean latents of its last frames, its last state), so whoever takes over goes on from there;
 *   - the votes: one per client per suggestion.
 * Embedded: in this process (embedded/memory-live-store.ts). Scale-out: Redis keys
 * (scale/redis-live-store.ts). Contract: test/contracts/live-store.test.ts.
 */
import type { LiveState } from '../../shared/protocol.js';

export interface OnAirPrompt {
  prompt: string;
  /** Who suggested it (absent: an editor's prompt). */
  author?: string;
  suggestion?: string;
}

/** What the stream makes next. */
export interface LivePlan {
  on: boolean;
  onAir: OnAirPrompt;
  fps: number;
  seed: number;
  /** Sockets of the room, on every node. */
  watchers: number;
}

export interface LiveCheckpoint {
  /** The number of the next frame. */
  seq: number;
  /** The revision on air and its prompt. */
  rev: number;
  prompt: string;
  /** Where in the period the next frame is (its frame index), and the clean latents of the frames before it. */
  phase: number;
  context: Float32Array | null;
  /** The stream's last `live:state` (for sockets that join on any node). */
  state?: LiveState;
}

/** Who may hold a room's lease: the process making its stream, or the one directing it. */
export type LiveRole = 'stream' | 'director';

export interface LiveStore {
  /** Takes (or renews, for its holder) the room's `role` for `ttlMs`; false while another holds it. */
  acquire(room: string, holder: string, ttlMs: number, role?: LiveRole): Promise<boolean>;
  /** Gives the lease back (only its holder can). */
  release(room: string, holder: string, role?: LiveRole): Promise<void>;
  /** Publishes the room's plan for `ttlMs` (renewed by publishing again) and tells every process (`onPlan`). */
  publishPlan(room: string, plan: LivePlan, ttlMs: number): Promise<void>;
  /** The room's stream is no longer wanted (live off, the room closed). */
  withdrawPlan(room: string): Promise<void>;
  /** The room's plan, or null (none, or expired). */
  plan(room: string): Promise<LivePlan | null>;
  /** The rooms with a plan that has not expired. */
  wanted(): Promise<string[]>;
  /** Called with the room whenever a plan is published or withdrawn, by any process. */
  onPlan(listener: (room: string) => void): () => void;
  save(room: string, checkpoint: LiveCheckpoint): Promise<void>;
  /** The last checkpoint saved, or null. */
  checkpoint(room: string): Promise<LiveCheckpoint | null>;
  /** Counts `voter`'s vote for `suggestion` once: false when it voted for it before. */
  vote(room: string, suggestion: string, voter: string): Promise<boolean>;
  /** The room was deleted. */
  forgetRoom(room: string): Promise<void>;
}

/** Voters remembered per room before the oldest suggestions' are forgotten (embedded). */
export const MAX_VOTE_KEYS = 20_000;

/** A plan read back from a store is checked like any input: the wrong shape reads as none. */
export function parsePlan(json: string): LivePlan | null {
  try {
    const p = JSON.parse(json) as Partial<LivePlan>;
    const onAir = p.onAir as Partial<OnAirPrompt> | undefined;
    if (typeof p.on !== 'boolean' || typeof p.fps !== 'number' || typeof p.seed !== 'number' || typeof p.watchers !== 'number') return null;
    if (!onAir || typeof onAir.prompt !== 'string') return null;
    return {
      on: p.on,
      fps: p.fps,
      seed: p.seed,
      watchers: p.watchers,
      onAir: { prompt: onAir.prompt, ...(typeof onAir.author === 'string' ? { author: onAir.author } : {}), ...(typeof onAir.suggestion === 'string' ? { suggestion: onAir.suggestion } : {}) },
    };
  } catch {
    return null;
  }
}
