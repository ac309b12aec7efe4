/**
 * The embedded backends: one process, no outside service. Rooms, logs and snapshots under
 * DATA_DIR/rooms, render records and videos under DATA_DIR/renders, the shot cache under
 * DATA_DIR/cache/shots; jobs, events and limits in memory.
 */
import { access, constants, mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type { FastifyBaseLogger } from 'fastify';
import { resolveSecret } from '../auth/secret.js';
import { FileDocumentStore } from '../collab/store/file-document-store.js';
import type { Config } from '../config.js';
import { FileRoomDirectory } from '../embedded/file-room-directory.js';
import { LocalBlobStore } from '../embedded/local-blob-store.js';
import { LocalRenderQueue } from '../embedded/local-render-queue.js';
import { LocalRoomControl } from '../embedded/local-room-control.js';
import { MemoryPreviewJobs } from '../embedded/memory-preview-jobs.js';
import { MemoryLiveStore } from '../embedded/memory-live-store.js';
import { MemoryRateLimiter } from '../embedded/memory-rate-limiter.js';
import { MemoryRoomEvents } from '../embedded/memory-room-events.js';
import { FrameCache } from '../preview/frame-cache.js';
import { ShotCache } from '../render/shot-cache.js';
import { closeAll, type Backends } from './backends.js';

/** Bytes of complete previews kept in memory. */
const PREVIEW_CACHE_BYTES = 64 * 1024 * 1024;

export async function embeddedBackends(config: Config, log: FastifyBaseLogger): Promise<Backends> {
  const roomsDir = path.join(config.dataDir, 'rooms');
  const rendersDir = path.join(config.dataDir, 'renders');
  const shotsDir = path.join(config.dataDir, 'cache', 'shots');
  // Files being made (encoded segments, renders): on the same disk; what a crash left there is garbage.
  const scratchDir = path.join(config.dataDir, 'tmp');
  await rm(scratchDir, { recursive: true, force: true });
  await mkdir(roomsDir, { recursive: true });
  const blobs = (dir: string) => new LocalBlobStore(dir, { scratchDir });
  const documents = new FileDocumentStore({ dir: roomsDir, fsync: config.fsync, onRepair: (room, message) => log.warn({ room }, message) });
  const renderQueue = await LocalRenderQueue.open(rendersDir, config.render.concurrency);
  const shots = await ShotCache.open(shotsDir, blobs(shotsDir), config.render.cacheBytes);
  const partsDir = path.join(config.dataDir, 'cache', 'parts');
  const parts = await ShotCache.open(partsDir, blobs(partsDir), config.post.cacheBytes);
  const previewJobs = new MemoryPreviewJobs();
  return {
    mode: 'embedded',
    secret: await resolveSecret(config.secret, config.dataDir),
    directory: new FileRoomDirectory(roomsDir),
    documents,
    awarenessBus: null,
    control: new LocalRoomControl(),
    events: new MemoryRoomEvents(),
    socketAdapter: null,
    rateLimiter: (_name, limit) => new MemoryRateLimiter(limit.burst, limit.perMinute),
    previewJobs,
    previewStore: new FrameCache(PREVIEW_CACHE_BYTES),
    renderQueue,
    shots,
    parts,
    live: new MemoryLiveStore(),
    videos: blobs(rendersDir),
    assets: blobs(path.join(config.dataDir, 'assets')),
    cacheDir: path.join(config.dataDir, 'cache'),
    health: { storage: () => access(roomsDir, constants.W_OK) },
    gauges: async () => {},
    close: () => closeAll([() => previewJobs.close(), () => renderQueue.close(), () => shots.flush(), () => parts.flush(), () => documents.close()]),
  };
}
