/**
 * The scale-out backends (REDIS_URL), the same for server nodes and engine worker processes:
 *   documents → Redis streams + snapshots (PostgreSQL at DATABASE_URL, or blobs in BLOB_DIR)
 *   rooms, limits, caches' indexes → Redis; awareness, room events and room control → pub/sub;
 *   Socket.IO → the Redis streams adapter; previews and renders → BullMQ;
 *   shot segments and videos → BLOB_DIR, a folder every process shares.
 */
import { randomBytes } from 'node:crypto';
import { access, constants, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { createAdapter } from '@socket.io/redis-streams-adapter';
import type { FastifyBaseLogger } from 'fastify';
import { Redis } from 'ioredis';
import type { Config } from '../config.js';
import { LocalBlobStore } from '../embedded/local-blob-store.js';
import type { Metrics } from '../metrics.js';
import type { SnapshotStore } from '../ports/snapshot-store.js';
import { RedisPreviewStore, RedisShotStore } from '../scale/redis-caches.js';
import { NodeLiveness, RedisChannels, RedisRoomEvents, redisAwarenessBus } from '../scale/redis-buses.js';
import { RedisLiveStore } from '../scale/redis-live-store.js';
import { RedisClients } from '../scale/redis-clients.js';
import { RedisDocumentStore } from '../scale/redis-document-store.js';
import { withRedisLock } from '../scale/redis-lock.js';
import { RedisPreviewJobs } from '../scale/redis-preview-jobs.js';
import { RedisRateLimiter } from '../scale/redis-rate-limiter.js';
import { RedisRenderQueue } from '../scale/redis-render-queue.js';
import { RedisRoomControl } from '../scale/redis-room-control.js';
import { RedisRoomDirectory } from '../scale/redis-room-directory.js';
import { BlobSnapshotStore, PostgresSnapshotStore } from '../scale/snapshot-store.js';
import { closeAll, type Backends } from './backends.js';

/** The cluster's token secret: the configured one, else generated once by whichever process comes first. */
async function sharedSecret(config: Config, redis: RedisClients): Promise<string> {
  if (config.secret) return config.secret;
  const key = redis.key('secret');
  await redis.commands.set(key, randomBytes(32).toString('hex'), 'NX');
  const secret = await redis.commands.get(key);
  if (!secret) throw new Error('could not read the cluster secret from Redis');
  return secret;
}

export async function redisBackends(config: Config, log: FastifyBaseLogger): Promise<Backends> {
  const { url, prefix, streamMinLifetimeMs } = config.redis!;
  await mkdir(config.blobDir, { recursive: true });
  const redis = new RedisClients(url, prefix);
  await redis.ready();
  const channels = new RedisChannels(redis);
  const snapshots: SnapshotStore = config.databaseUrl
    ? new PostgresSnapshotStore(config.databaseUrl, prefix)
    : new BlobSnapshotStore(new LocalBlobStore(path.join(config.blobDir, 'snapshots')), (room, fn) => withRedisLock(redis, redis.key('lock', 'snapshot', room), fn));
  await snapshots.check();
  const adapterClient = new Redis(url, { maxRetriesPerRequest: null });
  adapterClient.on('error', () => {});
  log.info({ node: redis.nodeId, prefix, snapshots: config.databaseUrl ? 'postgresql' : 'folder' }, 'joined the cluster');
  const documents = new RedisDocumentStore(redis, snapshots, { minLifetimeMs: streamMinLifetimeMs });
  const liveness = new NodeLiveness(redis);
  const previewJobs = new RedisPreviewJobs(redis, channels);
  const renderQueue = new RedisRenderQueue(redis, channels, { concurrency: config.render.concurrency, lockMs: 10_000 });
  return {
    mode: 'redis',
    secret: await sharedSecret(config, redis),
    directory: new RedisRoomDirectory(redis),
    documents,
    awarenessBus: (room) => redisAwarenessBus(redis, channels, liveness, room),
    control: new RedisRoomControl(redis, channels),
    events: new RedisRoomEvents(redis, channels),
    socketAdapter: createAdapter(adapterClient, { streamName: redis.key('socket.io') }),
    rateLimiter: (name, limit) => new RedisRateLimiter(redis, name, limit.burst, limit.perMinute),
    previewJobs,
    previewStore: new RedisPreviewStore(redis),
    renderQueue,
    shots: new RedisShotStore(redis, new LocalBlobStore(path.join(config.blobDir, 'shots')), config.render.cacheBytes),
    parts: new RedisShotStore(redis, new LocalBlobStore(path.join(config.blobDir, 'parts')), config.post.cacheBytes, 'parts'),
    live: new RedisLiveStore(redis, channels),
    videos: new LocalBlobStore(path.join(config.blobDir, 'renders')),
    assets: new LocalBlobStore(path.join(config.blobDir, 'assets')),
    cacheDir: path.join(config.dataDir, 'cache'),
    health: {
      redis: async () => void (await redis.ping()),
      snapshots: () => snapshots.check(),
      blobs: () => access(config.blobDir, constants.W_OK),
    },
    gauges: async (metrics: Metrics) => {
      metrics.redisLatency.set((await redis.ping()) / 1000);
      const lengths = await Promise.all(documents.loadedRooms.map((room) => documents.streamLength(room)));
      metrics.streamEntries.set(lengths.reduce((a, b) => a + b, 0));
      const renders = await renderQueue.counts();
      metrics.renderQueue.set({ state: 'waiting' }, renders.waiting);
      metrics.renderQueue.set({ state: 'active' }, renders.active);
      metrics.engineWorkers.set(renders.workers);
    },
    close: () =>
      closeAll([
        () => previewJobs.close(),
        () => renderQueue.close(),
        () => liveness.close(),
        () => documents.close(),
        () => snapshots.close(),
        () => adapterClient.disconnect(),
        () => redis.close(),
      ]),
  };
}
