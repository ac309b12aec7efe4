/**
 * What a room's live stream keeps beyond one process (DESIGN.md, "Live mode"):
 *   - the lease: one process makes a room's stream at a time; it renews the lease while it
 *     streams, and a holder that dies loses it after its ttl, so another takes over;
 *   - the checkpoint: where the stream is (the next frame's number, the revision on air, the
 *     clean latents of its last frames), so whoever takes over goes on from there, not from noise;
 *   - the votes: one per client per suggestion.
 * Embedded: in this process (embedded/memory-live-store.ts). Scale-out: Redis keys
 * (scale/redis-live-store.ts). Contract: test/contracts/live-store.test.ts.
 */
export interface LiveCheckpoint {
  /** The number of the next frame. */
  seq: number;
  /** The revision on air and its prompt. */
  rev: number;
  prompt: string;
  /** Where in the period the next frame is (its frame index), and the clean latents of the frames before it. */
  phase: number;
  context: Float32Array | null;
}

export interface LiveStore {
  /** Takes (or renews, for its holder) the room's stream for `ttlMs`; false while another holds it. */
  acquire(room: string, holder: string, ttlMs: number): Promise<boolean>;
  /** Gives the lease back (only its holder can). */
  release(room: string, holder: string): Promise<void>;
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
