/**
 * The newest complete preview of every shot of every room, so a client that joins or reconnects
 * sees each shot at once. Embedded: bounded by bytes in this process (preview/frame-cache.ts);
 * scale-out: a Redis hash per room (scale/redis-caches.ts). Contract: test/contracts/preview-store.test.ts.
 */
import type { PreviewFrame } from '../../shared/protocol.js';

export interface CachedPreview {
  shot: string;
  rev: number;
  key: string;
  frames: PreviewFrame[];
  bytes: number;
}

export interface PreviewStore {
  get(room: string): Promise<CachedPreview[]>;
  set(room: string, preview: CachedPreview): Promise<void>;
  /** Drops shots that left the scene (all of them for an empty set). */
  retain(room: string, shotIds: Set<string>): Promise<void>;
}
