/**
 * buildApp(config) wires one scenecast server and returns it without listening (main.ts listens;
 * tests listen on port 0 or use inject). Parts, in the order data flows through them:
 * rooms + tokens → collab (Yjs over WebSocket, persistence) → realtime (Socket.IO) → HTTP routes.
 */
import { access as canAccess, constants, mkdir } from 'node:fs/promises';
import path from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { EnginePool } from '../engine/index.js';
import type { AppContext } from './app-context.js';
import { resolveSecret } from './auth/secret.js';
import { RoomAccess } from './auth/room-access.js';
import { TokenSigner } from './auth/tokens.js';
import { CollabEndpoint } from './collab/endpoint.js';
import { RoomManager } from './collab/room-manager.js';
import { FileDocumentStore } from './collab/store/file-document-store.js';
import type { Config } from './config.js';
import { frameworkErrors, registerErrorHandling } from './http/errors.js';
import { opsRoutes } from './http/ops-routes.js';
import { staticRoutes } from './http/static-routes.js';
import { roomRoutes } from './http/room-routes.js';
import { createMetrics } from './metrics.js';
import { clientAddress } from './net/client-address.js';
import { ConnectionLimiter } from './net/connection-limiter.js';
import { UpgradeRouter } from './net/upgrade-router.js';
import { FrameCache } from './preview/frame-cache.js';
import { FrameFanout } from './preview/frame-fanout.js';
import { LocalPreviewQueue } from './preview/local-preview-queue.js';
import { PreviewService } from './preview/preview-service.js';
import { contentPolicy, type ModerationHook } from './policy/content-policy.js';
import { PreviewStateLog } from './preview/state-log.js';
import { SocketRoomEvents } from './realtime/room-events.js';
import { RenderService, renderBounds } from './render/render-service.js';
import { renderRoutes } from './render/render-routes.js';
import { MemoryRateLimiter } from './embedded/memory-rate-limiter.js';
import { suggestionRoutes } from './suggestions/suggestion-routes.js';
import { TEMPLATES } from '../shared/templates.js';
import { createSocketServer } from './realtime/socket-server.js';
import { RoomEventRelay, sharedSecret, awarenessBusFor, clusterAdapter, clusterJobs, connectCluster, rateLimiterFor, type ClusterJobs } from './scale/cluster.js';
import { FileRoomDirectory } from './embedded/file-room-directory.js';
import { LocalRoomControl } from './rooms/room-control.js';
import { RoomGuard } from './rooms/room-guard.js';
import { RedisRoomControl } from './scale/redis-room-control.js';

declare module 'fastify' {
  interface FastifyInstance {
    scenecast: AppContext;
  }
}

export interface AppDeps {
  /** An engine to use instead of starting one (tests share one); the app does not close it. */
  engine?: EnginePool | null;
  /** A content classifier to use instead of the blocklist. */
  moderation?: ModerationHook;
}

export async function buildApp(config: Config, deps: AppDeps = {}): Promise<FastifyInstance> {
  const app = Fastify({
    logger: {
      level: config.logLevel,
      // Tokens may ride in query strings: log paths only.
      serializers: { req: (req: { method: string; url: string }) => ({ method: req.method, url: req.url.split('?')[0] }) },
    },
    bodyLimit: 256 * 1024,
    trustProxy: config.trustProxy,
    frameworkErrors,
  });
  const log = app.log;
  const roomsDir = path.join(config.dataDir, 'rooms');
  await mkdir(roomsDir, { recursive: true });

  const metrics = createMetrics();
  // Scale-out (REDIS_URL) swaps in the Redis versions of the stores; the rest is the same.
  const cluster = config.redis ? await connectCluster(config, log) : null;
  // Every node must verify every other node's tokens: in a cluster an unset secret is shared through Redis.
  const tokens = new TokenSigner(cluster && !config.secret ? await sharedSecret(cluster.redis) : await resolveSecret(config.secret, config.dataDir));
  const directory = cluster?.directory ?? new FileRoomDirectory(roomsDir);
  const access = new RoomAccess(tokens, directory);
  const control = cluster ? new RedisRoomControl(cluster.redis, cluster.channels) : new LocalRoomControl();
  const store =
    cluster?.store ??
    new FileDocumentStore({
      dir: roomsDir,
      fsync: config.fsync,
      onRepair: (room, message) => log.warn({ room }, message),
    });
  const rooms = new RoomManager({
    store,
    directory,
    metrics,
    log,
    compactBytes: config.compactBytes,
    awarenessRate: config.awarenessRate,
    awarenessMaxBytes: config.awarenessMaxBytes,
    maxDocBytes: config.maxDocBytes,
    coalesceMs: config.coalesceMs,
    maxLoaded: config.maxRoomsLoaded,
    idleMs: config.roomIdleMs,
    ...(cluster ? { awarenessBus: awarenessBusFor(cluster) } : {}),
  });
  const addressOf = clientAddress(config.trustProxy);
  const limiter = new ConnectionLimiter(config.maxConnectionsPerIp);
  const collab = new CollabEndpoint({
    rooms,
    access,
    metrics,
    log,
    maxMessageBytes: config.maxMessageBytes,
    maxBufferedBytes: config.maxBufferedBytes,
    limiter,
    addressOf,
  });

  // Embedded: the engine runs here. Scale-out: engine worker processes (`npm run worker`) run it.
  const ownsEngine = deps.engine === undefined;
  const engine = cluster ? null : ownsEngine ? (config.engine.workers === 0 ? null : await EnginePool.start(config.engine)) : deps.engine ?? null;
  let preview: PreviewService | null = null;
  let renders: RenderService | null = null;
  let relay: RoomEventRelay | null = null;
  const realtime = createSocketServer(app.server, {
    access,
    metrics,
    log,
    onJoin: (socket) => {
      relay?.join(socket.data.room);
      void preview?.onJoin(socket);
    },
    onLeave: (socket) => relay?.leave(socket.data.room),
    limiter,
    addressOf,
    ...(cluster ? { adapter: clusterAdapter(cluster) } : {}),
  });
  // Every WebSocket upgrade goes through one router: each endpoint its path, anything else an HTTP error.
  const upgrades = new UpgradeRouter();
  upgrades.route('/yjs/', (req, socket, head, url) => collab.handleUpgrade(req, socket, head, url));
  upgrades.route(realtime.upgradePath, (req, socket, head, url) => realtime.handleUpgrade(req, socket, head, url));
  upgrades.attach(app.server);
  const fanout = new FrameFanout(realtime.io, metrics);
  // One content policy for every text people send: previews, renders, suggestions.
  const policy = contentPolicy(deps.moderation);
  const previewTiming = { debounceMs: config.preview.debounceMs, maxWaitMs: config.preview.maxWaitMs };
  let jobs: ClusterJobs | null = null;
  if (cluster) {
    jobs = await clusterJobs(cluster, config);
    // What workers publish for a room reaches this node's sockets through the relay and the log.
    const local = new PreviewStateLog(new SocketRoomEvents(realtime.io, fanout, 'local'));
    relay = new RoomEventRelay(cluster, local);
    preview = new PreviewService({ rooms, bundleHash: jobs.bundleHash, queue: jobs.previewQueue, store: jobs.previewStore, events: cluster.events, stateLog: local, fanout, metrics, log, ...previewTiming, policy });
    renders = await RenderService.start({ dataDir: config.blobDir, engine: null, events: cluster.events, metrics, log, policy, ...renderBounds(config), queue: jobs.renderQueue, cache: jobs.shotStore, process: false });
  } else if (engine) {
    const events = new PreviewStateLog(new SocketRoomEvents(realtime.io, fanout));
    const previewStore = new FrameCache(64 * 1024 * 1024);
    const queue = new LocalPreviewQueue({ engine, events, store: previewStore, metrics, maxQueued: 64, jpegQuality: config.preview.jpegQuality });
    preview = new PreviewService({ rooms, bundleHash: engine.info.hash, queue, store: previewStore, events, stateLog: events, fanout, metrics, log, ...previewTiming, policy });
    engine.on('job', ({ stats }) => {
      if (!stats) return;
      metrics.textCache.inc({ result: 'hit' }, stats.textCacheHits);
      metrics.textCache.inc({ result: 'miss' }, stats.textCacheMisses);
    });
    renders = await RenderService.start({
      dataDir: config.dataDir,
      engine,
      events,
      metrics,
      log,
      concurrency: config.render.concurrency,
      parallel: config.render.parallel,
      cacheBytes: config.render.cacheBytes,
      policy,
      ...renderBounds(config),
    });
  }

  const guard = new RoomGuard({ control, directory, rooms, collab, realtime, log, forgetPreviews: async (room) => preview?.forgetRoom(room) });
  const ctx: AppContext = {
    config,
    log,
    metrics,
    tokens,
    access,
    policy,
    control,
    guard,
    directory,
    store,
    rooms,
    collab,
    realtime,
    fanout,
    engine,
    preview,
    renders,
    health: cluster
      ? {
          redis: async () => void (await cluster.redis.ping()),
          snapshots: () => cluster.snapshots.check(),
          blobs: () => canAccess(config.blobDir, constants.W_OK),
        }
      : { storage: () => canAccess(roomsDir, constants.W_OK) },
    cluster: cluster && jobs ? { cluster, jobs } : null,
  };
  app.decorate('scenecast', ctx);

  registerErrorHandling(app);
  const rateLimiter = (name: string, limit: { burst: number; perMinute: number }) =>
    cluster ? rateLimiterFor(cluster, name, limit.burst, limit.perMinute) : new MemoryRateLimiter(limit.burst, limit.perMinute);
  roomRoutes(app, ctx, rateLimiter('rooms', config.roomCreation));
  renderRoutes(app, ctx, () => renders);
  suggestionRoutes(app, ctx, rateLimiter('suggestions', config.suggestions));
  app.get('/api/templates', async () => ({ templates: TEMPLATES }));
  await staticRoutes(app);
  opsRoutes(app, ctx);

  // Shutdown in reverse order of the data flow; each step runs even if one before it failed.
  app.addHook('preClose', async () => {
    guard.close();
    upgrades.close();
    collab.close();
    await preview?.close();
    await renders?.close();
    relay?.close();
    await realtime.close();
  });
  app.addHook('onClose', async () => {
    await rooms.close();
    await store.close();
    if (ownsEngine) await engine?.close();
    await jobs?.previewQueue.close();
    await cluster?.close();
  });
  return app;
}
