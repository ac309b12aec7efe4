/**
 * The Redis versions of the parts a server node is built from (REDIS_URL set). Embedded parts
 * live beside each module; this file only picks the scale-out ones and connects them:
 *   documents → Redis streams + snapshots (PostgreSQL or a shared folder)
 *   rooms → Redis; awareness and room events → Redis pub/sub; Socket.IO → Redis streams adapter
 *   previews and renders → BullMQ (run by `npm run worker` processes); caches → Redis + BLOB_DIR
 *   rate limits → Redis.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { createAdapter } from '@socket.io/redis-streams-adapter';
import type { FastifyBaseLogger } from 'fastify';
import { Redis } from 'ioredis';
import { loadBundle, DEFAULT_BUNDLE } from '../../engine/index.js';
import type { Config } from '../config.js';
import { RedisPreviewStore, RedisShotStore } from './redis-caches.js';
import { NodeLiveness, RedisChannels, RedisRoomEvents, redisAwarenessBus, relayRoomEvents } from './redis-buses.js';
import { RedisClients } from './redis-clients.js';
import { RedisDocumentStore } from './redis-document-store.js';
import { RedisPreviewQueue } from './redis-preview-queue.js';
import { RedisRateLimiter } from './redis-rate-limiter.js';
import { RedisRenderQueue } from './redis-render-queue.js';
import { RedisRoomDirectory } from './redis-room-directory.js';
import { FileSnapshotStore, PostgresSnapshotStore, type SnapshotStore } from './snapshot-store.js';
import type { RoomEvents } from '../realtime/room-events.js';

export interface Cluster {
  redis: RedisClients;
  channels: RedisChannels;
  liveness: NodeLiveness;
  snapshots: SnapshotStore;
  store: RedisDocumentStore;
  directory: RedisRoomDirectory;
  /** Publishes room events once per room; every node hands them to its own sockets. */
  events: RedisRoomEvents;
  adapterClient: Redis;
  close(): Promise<void>;
}

export async function connectCluster(config: Config, log: FastifyBaseLogger): Promise<Cluster> {
  const { url, prefix } = config.redis!;
  const redis = new RedisClients(url, prefix);
  await redis.ready();
  const channels = new RedisChannels(redis);
  const snapshots: SnapshotStore = config.databaseUrl
    ? new PostgresSnapshotStore(config.databaseUrl, prefix)
    : new FileSnapshotStore(path.join(config.blobDir, 'snapshots'));
  await snapshots.check();
  const adapterClient = new Redis(url, { maxRetriesPerRequest: null });
  adapterClient.on('error', () => {});
  log.info({ node: redis.nodeId, prefix, snapshots: config.databaseUrl ? 'postgresql' : 'folder' }, 'joined the cluster');
  const store = new RedisDocumentStore(redis, snapshots, { minLifetimeMs: config.redis!.streamMinLifetimeMs });
  const liveness = new NodeLiveness(redis);
  return {
    redis,
    channels,
    liveness,
    snapshots,
    store,
    directory: new RedisRoomDirectory(redis),
    events: new RedisRoomEvents(redis, channels),
    adapterClient,
    async close() {
      await liveness.close();
      await store.close();
      await snapshots.close().catch(() => {});
      adapterClient.disconnect();
      await redis.close();
    },
  };
}

/** The cluster's token secret: generated once by whichever node comes first. */
export async function sharedSecret(redis: RedisClients): Promise<string> {
  const key = redis.key('secret');
  await redis.commands.set(key, randomBytes(32).toString('hex'), 'NX');
  const secret = await redis.commands.get(key);
  if (!secret) throw new Error('could not read the cluster secret from Redis');
  return secret;
}

export function clusterAdapter(cluster: Cluster) {
  return createAdapter(cluster.adapterClient, { streamName: cluster.redis.key('socket.io') });
}

export const awarenessBusFor = (cluster: Cluster) => (room: string) => redisAwarenessBus(cluster.redis, cluster.channels, cluster.liveness, room);

export const rateLimiterFor = (cluster: Cluster, name: string, burst: number, perMinute: number) => new RedisRateLimiter(cluster.redis, name, burst, perMinute);

/** Room events published by workers (and by any node) reach this node's sockets while it has some in the room. */
export class RoomEventRelay {
  readonly #rooms = new Map<string, { sockets: number; stop: () => void }>();

  constructor(
    private readonly cluster: Cluster,
    private readonly local: RoomEvents,
  ) {}

  join(room: string): void {
    const entry = this.#rooms.get(room);
    if (entry) entry.sockets++;
    else this.#rooms.set(room, { sockets: 1, stop: relayRoomEvents(this.cluster.redis, this.cluster.channels, room, this.local) });
  }

  leave(room: string): void {
    const entry = this.#rooms.get(room);
    if (!entry) return;
    if (--entry.sockets === 0) {
      entry.stop();
      this.#rooms.delete(room);
    }
  }

  close(): void {
    for (const entry of this.#rooms.values()) entry.stop();
    this.#rooms.clear();
  }
}

export interface ClusterJobs {
  previewQueue: RedisPreviewQueue;
  previewStore: RedisPreviewStore;
  renderQueue: RedisRenderQueue;
  shotStore: RedisShotStore;
  bundleHash: string;
}

/** The job side shared by nodes (which queue) and workers (which run). */
export async function clusterJobs(cluster: Cluster, config: Config): Promise<ClusterJobs> {
  const bundle = await loadBundle(config.engine.bundleDir ?? DEFAULT_BUNDLE, { verifyHashes: false });
  return {
    previewQueue: new RedisPreviewQueue(cluster.redis, cluster.channels, 64),
    previewStore: new RedisPreviewStore(cluster.redis),
    renderQueue: new RedisRenderQueue(cluster.redis, cluster.channels, { concurrency: config.render.concurrency, lockMs: 10_000 }),
    shotStore: await RedisShotStore.open(cluster.redis, path.join(config.blobDir, 'shots'), config.render.cacheBytes),
    bundleHash: bundle.hash,
  };
}
