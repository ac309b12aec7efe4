/**
 * buildApp(config) wires one scenecast server and returns it without listening (main.ts listens;
 * tests listen on port 0 or use inject). The backends of the mode come first (embedded, or Redis
 * with REDIS_URL: backends/), then the capabilities in the order data flows through them:
 *   rooms + tokens → collab (Yjs over WebSocket, persistence) → realtime (Socket.IO, the room
 *   relay) → preview (debounce, jobs) → render (jobs; the engine's side runs here when embedded)
 *   → HTTP routes, one plugin per capability.
 */
import path from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { EnginePool, loadBundle, DEFAULT_BUNDLE } from '../engine/index.js';
import { TEMPLATES } from '../shared/templates.js';
import type { AppContext } from './app-context.js';
import { RoomAccess } from './auth/room-access.js';
import { TokenSigner } from './auth/tokens.js';
import { closeAll, type Backends } from './backends/backends.js';
import { embeddedBackends } from './backends/embedded.js';
import { redisBackends } from './backends/redis.js';
import { CollabEndpoint } from './collab/endpoint.js';
import { RoomManager } from './collab/room-manager.js';
import type { Config } from './config.js';
import { watchEngine } from './engine-metrics.js';
import { frameworkErrors, registerErrorHandling } from './http/errors.js';
import { opsPlugin } from './http/ops-routes.js';
import { roomsPlugin } from './http/room-routes.js';
import { staticRoutes } from './http/static-routes.js';
import { createMetrics } from './metrics.js';
import { clientAddress } from './net/client-address.js';
import { ConnectionLimiter } from './net/connection-limiter.js';
import { UpgradeRouter } from './net/upgrade-router.js';
import { contentPolicy, type ModerationHook } from './policy/content-policy.js';
import { PreviewJobQueue } from './preview/preview-queue.js';
import { PreviewService } from './preview/preview-service.js';
import { startPreviewWorker } from './preview/preview-worker.js';
import { PreviewStateLog } from './preview/state-log.js';
import { FrameFanout } from './realtime/frame-fanout.js';
import { RoomRelay } from './realtime/room-relay.js';
import { SocketBroadcast } from './realtime/socket-broadcast.js';
import { createSocketServer, ioRoom } from './realtime/socket-server.js';
import { LiveClips } from './live/live-clips.js';
import { promptsPlugin } from './http/prompt-routes.js';
import { livePlugin } from './live/live-routes.js';
import { LiveRunner } from './live/live-runner.js';
import { LiveService } from './live/live-service.js';
import { RenderJobs } from './render/render-jobs.js';
import { renderBounds } from './render/render-limits.js';
import { rendersPlugin } from './render/render-routes.js';
import { RenderWorker } from './render/render-worker.js';
import { RoomGuard } from './rooms/room-guard.js';
import { AssetStore } from './post/audio/assets.js';
import { assetsPlugin } from './post/audio/asset-routes.js';
import { Narrator } from './post/audio/tts.js';
import { PostProduction } from './post/post-production.js';
import { postPlugin } from './post/post-routes.js';
import { suggestionsPlugin } from './suggestions/suggestion-routes.js';
import { Suggestions } from './suggestions/suggestions.js';

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
  const metrics = createMetrics();
  const backends: Backends = config.redis ? await redisBackends(config, log) : await embeddedBackends(config, log);
  const tokens = new TokenSigner(backends.secret);
  const access = new RoomAccess(tokens, backends.directory);
  // One content policy for every text people send: previews, renders, suggestions.
  const policy = contentPolicy(deps.moderation);

  // Collab: rooms in memory, the Yjs endpoint.
  const rooms = new RoomManager({
    store: backends.documents,
    directory: backends.directory,
    metrics,
    log,
    compactBytes: config.compactBytes,
    awarenessRate: config.awarenessRate,
    awarenessMaxBytes: config.awarenessMaxBytes,
    maxDocBytes: config.maxDocBytes,
    coalesceMs: config.coalesceMs,
    maxLoaded: config.maxRoomsLoaded,
    idleMs: config.roomIdleMs,
    ...(backends.awarenessBus ? { awarenessBus: backends.awarenessBus } : {}),
  });
  const addressOf = clientAddress(config.trustProxy);
  const limiter = new ConnectionLimiter(config.maxConnectionsPerIp);
  const collab = new CollabEndpoint({ rooms, access, metrics, log, maxMessageBytes: config.maxMessageBytes, maxBufferedBytes: config.maxBufferedBytes, limiter, addressOf });

  // The engine runs in this process when embedded; engine worker processes (`npm run worker`) run it in scale-out.
  const ownsEngine = deps.engine === undefined;
  const engine = backends.mode === 'redis' ? null : ownsEngine ? (config.engine.workers === 0 ? null : await EnginePool.start(config.engine)) : (deps.engine ?? null);
  if (engine && ownsEngine) watchEngine(engine, metrics);
  const jobsHere = engine !== null;
  const enginesSomewhere = jobsHere || backends.mode === 'redis';

  // Realtime: Socket.IO, and the relay that hands the room events of the bus to this node's sockets.
  const stateLog = new PreviewStateLog();
  let preview: PreviewService | null = null;
  let relay: RoomRelay | null = null;
  let live: LiveService | null = null;
  const realtime = createSocketServer(app.server, {
    access,
    metrics,
    log,
    onJoin: (socket) => {
      relay?.join(socket.data.room);
      void preview?.onJoin({
        room: socket.data.room,
        emit: (event, payload) => (socket.emit as (event: string, payload: unknown) => boolean)(event, payload),
        replayFrames: (frames) => fanout.replay(socket, frames),
      });
      void live?.stateOf(socket.data.room).then((state) => state && socket.emit('live:state', state));
      void live?.onPresence(socket.data.room);
    },
    onLeave: (socket) => {
      relay?.leave(socket.data.room);
      void live?.onPresence(socket.data.room);
    },
    limiter,
    addressOf,
    ...(backends.socketAdapter ? { adapter: backends.socketAdapter } : {}),
  });
  const fanout = new FrameFanout(realtime.io, metrics);
  relay = new RoomRelay(backends.events, stateLog.recording(new SocketBroadcast(realtime.io, fanout)));
  // What this node's flows emit, noted for late joiners on its way to the room.
  const events = stateLog.recording(backends.events);
  // Every WebSocket upgrade goes through one router: each endpoint its path, anything else an HTTP error.
  const upgrades = new UpgradeRouter();
  upgrades.route('/yjs/', (req, socket, head, url) => collab.handleUpgrade(req, socket, head, url));
  upgrades.route(realtime.upgradePath, (req, socket, head, url) => realtime.handleUpgrade(req, socket, head, url));
  upgrades.attach(app.server);

  // The bundle as this node reads it (its hash keys previews; its prompt reader answers /api/prompts/read).
  const bundle = await loadBundle(config.engine.bundleDir ?? DEFAULT_BUNDLE, { verifyHashes: false });

  // Previews: this node watches its rooms and asks; the engine's side takes the jobs.
  let stopPreviewWorker: (() => Promise<void>) | null = null;
  if (enginesSomewhere) {
    const queue = new PreviewJobQueue({ backend: backends.previewJobs, broadcast: events, maxQueued: config.preview.queueMax, onCancelled: () => metrics.previewJobs.inc({ outcome: 'cancelled' }) });
    const bundleHash = engine?.info.hash ?? bundle.hash;
    preview = new PreviewService({
      rooms,
      bundleHash,
      queue,
      store: backends.previewStore,
      events,
      stateLog,
      metrics,
      log,
      debounceMs: config.preview.debounceMs,
      maxWaitMs: config.preview.maxWaitMs,
      policy,
    });
    if (engine) stopPreviewWorker = startPreviewWorker({ engine, backend: backends.previewJobs, store: backends.previewStore, events, metrics, jpegQuality: config.preview.jpegQuality });
  }

  // Post-production: narration, music, uploads (the render's finish stage and the player's previews).
  const narrator = new Narrator({ cacheDir: path.join(backends.cacheDir, 'tts'), maxBytes: config.post.ttsCacheBytes });
  const assets = new AssetStore(backends.assets);
  const bedsDir = path.join(backends.cacheDir, 'beds');
  const post = new PostProduction({ narrator, bedsDir, assets, parts: backends.parts });
  if (config.post.bedsAtStart) void post.prepare().catch((error: unknown) => log.warn({ err: error }, 'the music beds could not be made ahead'));

  // Renders: the jobs API here; the engine's side here too when embedded.
  let renders: RenderJobs | null = null;
  let renderWorker: RenderWorker | null = null;
  if (enginesSomewhere) {
    const bounds = renderBounds(config);
    const jobs = new RenderJobs({ queue: backends.renderQueue, shots: backends.shots, parts: backends.parts, videos: backends.videos, events, metrics, log, policy, ...bounds });
    renders = jobs;
    if (engine) {
      renderWorker = RenderWorker.start({
        engine,
        queue: backends.renderQueue,
        shots: backends.shots,
        videos: backends.videos,
        events,
        metrics,
        log,
        parallel: config.render.parallel,
        limits: bounds.limits,
        post,
        onFinished: () => void jobs.sweep().catch((error: unknown) => log.warn({ err: error }, 'render sweep failed')),
      });
    }
  }

  // Live mode: directed where the document is (here), made where an engine is (here when embedded).
  live = new LiveService({
    rooms,
    store: backends.live,
    events,
    bus: backends.events,
    watchers: async (room) => (await realtime.io.in(ioRoom(room)).fetchSockets()).length,
    log,
  });
  const liveService = live;
  const liveRunner = engine ? new LiveRunner({ engine, store: backends.live, events, policy, log, jpegQuality: config.preview.jpegQuality }) : null;
  const clips = new LiveClips(backends.videos);

  const guard = new RoomGuard({
    control: backends.control,
    directory: backends.directory,
    rooms,
    collab,
    realtime,
    log,
    forgetPreviews: async (room) => {
      await preview?.forgetRoom(room);
      await liveService.forgetRoom(room);
      await clips.forgetRoom(room);
    },
  });
  const ctx: AppContext = { config, log, metrics, backends, tokens, access, policy, guard, rooms, collab, realtime, fanout, events, addressOf, engine, preview, renders, assets };
  app.decorate('scenecast', ctx);

  // HTTP: one plugin per capability.
  registerErrorHandling(app);
  await app.register(roomsPlugin, { ctx, limiter: backends.rateLimiter('rooms', config.roomCreation) });
  await app.register(rendersPlugin, { ctx });
  await app.register(suggestionsPlugin, { ctx, suggestions: new Suggestions({ rooms, policy, limiter: backends.rateLimiter('suggestions', config.suggestions), events }) });
  await app.register(assetsPlugin, { ctx, assets, maxBytes: config.post.assetMaxBytes });
  await app.register(postPlugin, { ctx, narrator, assets, bedsDir, limiter: backends.rateLimiter('narration', { burst: 30, perMinute: 60 }) });
  await app.register(livePlugin, { ctx, live: liveService, clips, votes: backends.rateLimiter('votes', config.votes), replays: backends.rateLimiter('replays', { burst: 3, perMinute: 6 }) });
  await app.register(promptsPlugin, { ctx, reader: bundle.reader });
  app.get('/api/templates', async () => ({ templates: TEMPLATES }));
  await staticRoutes(app);
  await app.register(opsPlugin, { ctx });

  // Shutdown in reverse order of the data flow; every step runs even when one before it failed.
  const failed = (error: unknown) => log.error({ err: error }, 'a shutdown step failed');
  app.addHook('preClose', () =>
    closeAll(
      [
        () => guard.close(),
        () => upgrades.close(),
        () => collab.close(),
        () => preview?.close(),
        async () => liveRunner?.close(),
        () => liveService.close(),
        () => stopPreviewWorker?.(),
        () => renderWorker?.close(),
        () => renders?.close(),
        () => relay?.close(),
        () => realtime.close(),
        () => post.close(),
      ],
      failed,
    ),
  );
  app.addHook('onClose', () => closeAll([() => rooms.close(), () => (ownsEngine ? engine?.close() : undefined), () => backends.close()], failed));
  return app;
}
