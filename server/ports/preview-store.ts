/**
 * The newest complete preview of every shot of every room, so a client that joins or reconnects
 * sees each shot at once, with its last latents, so a shot that continues it starts where it ends. Embedded: bounded by bytes in this process (preview/frame-cache.ts);
 * scale-out: a Redis hash per room (scale/redis-caches.ts). Contract: test/contracts/preview-store.test.ts.
 */
import type { PreviewFrame } from '../../shared/protocol.js';

export interface CachedPreview {
  shot: string;
  rev: number;
  key: string;
  frames: PreviewFrame[];
  bytes: number;
  /** The clean latents of its last frames (what a shot that continues it starts from), or absent. */
  tail?: Float32Array | null;
}

export interface PreviewStore {
  get(room: string): Promise<CachedPreview[]>;
  set(room: string, preview: CachedPreview): Promise<void>;
  /** Drops shots that left the scene (all of them for an empty set). */
  retain(room: string, shotIds: Set<string>): Promise<void>;
  /** The tail of the shot's stored preview when that preview is of `key` (else null): cheap, no frames read. */
  tail(room: string, shot: string, key: string): Promise<Float32Array | null>;
}
