/**
 * What a process is built on, as one typed object per mode: `embeddedBackends` (one process,
 * files under DATA_DIR) or `redisBackends` (REDIS_URL: any number of server nodes and engine
 * worker processes). The flows above (collab, realtime, preview, render, rooms) take it and never
 * ask which mode they are in.
 */
import type { ServerOptions } from 'socket.io';
import type { Metrics } from '../metrics.js';
import type { AwarenessBus } from '../ports/awareness-bus.js';
import type { BlobStore } from '../ports/blob-store.js';
import type { DocumentStore } from '../ports/document-store.js';
import type { LiveStore } from '../ports/live-store.js';
import type { PreviewJobBackend } from '../ports/preview-jobs.js';
import type { PreviewStore } from '../ports/preview-store.js';
import type { RateLimiter } from '../ports/rate-limiter.js';
import type { RenderQueue } from '../ports/render-queue.js';
import type { RoomEventBus } from '../ports/room-broadcast.js';
import type { RoomControl } from '../ports/room-control.js';
import type { RoomDirectory } from '../ports/room-directory.js';
import type { ShotStore } from '../ports/shot-store.js';

export interface Backends {
  mode: 'embedded' | 'redis';
  /** The HMAC key of room tokens (every node of a cluster has the same). */
  secret: string;
  directory: RoomDirectory;
  documents: DocumentStore;
  /** Presence held by other processes of the room (none embedded). */
  awarenessBus: ((room: string) => AwarenessBus) | null;
  control: RoomControl;
  /** Room events of the preview and render flows, from whichever process makes them. */
  events: RoomEventBus;
  /** Socket.IO across nodes (null: this process is the only one). */
  socketAdapter: ServerOptions['adapter'] | null;
  rateLimiter(name: string, limit: { burst: number; perMinute: number }): RateLimiter;
  previewJobs: PreviewJobBackend;
  previewStore: PreviewStore;
  renderQueue: RenderQueue;
  shots: ShotStore;
  /** What post-production makes from the shots (video pieces with captions or transitions, soundtracks), kept like the shots. */
  parts: ShotStore;
  /** Live streams' leases, checkpoints and votes. */
  live: LiveStore;
  /** Finished videos. */
  videos: BlobStore;
  /** The rooms' uploaded audio. */
  assets: BlobStore;
  /** A local folder for derived files any process may remake (spoken narration, music beds). */
  cacheDir: string;
  /** Named readiness checks for /healthz; each throws when unhealthy. */
  health: Record<string, () => Promise<void>>;
  /** Mode-specific figures, read at scrape time. */
  gauges(metrics: Metrics): Promise<void>;
  /** Closes every connection and file; each step runs even when one before it failed. */
  close(): Promise<void>;
}

/** Runs every step in order even when one throws; then throws the first failure. */
export async function closeAll(steps: readonly (() => unknown)[], onError?: (error: unknown) => void): Promise<void> {
  let first: unknown = null;
  for (const step of steps) {
    try {
      await step();
    } catch (error) {
      onError?.(error);
      first ??= error;
    }
  }
  if (first) throw first;
}
