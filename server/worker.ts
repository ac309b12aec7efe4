/**
 * `npm run worker`: one engine worker process of a scaled-out cluster (REDIS_URL required). It
 * loads the model into its engine threads and takes preview and render jobs from BullMQ, with the
 * same worker code the embedded server runs in-process, publishing frames and progress to the
 * rooms through Redis, and makes live streams (live-runner.ts) for the rooms the nodes direct. No HTTP. Any number of them, on any machines that share Redis and BLOB_DIR.
 */
import path from 'node:path';
import pino from 'pino';
import { DEFAULT_BUNDLE, EnginePool, loadBundle } from '../engine/index.js';
import { LiveRunner } from './live/live-runner.js';
import { contentPolicy } from './policy/content-policy.js';
import { startPreviewWorker } from './preview/preview-worker.js';
import { closeAll } from './backends/backends.js';
import { redisBackends } from './backends/redis.js';
import { loadConfig } from './config.js';
import { watchEngine } from './engine-metrics.js';
import { createMetrics } from './metrics.js';
import { renderBounds } from './render/render-limits.js';
import { RenderWorker } from './render/render-worker.js';
import { AssetStore } from './post/audio/assets.js';
import { Narrator } from './post/audio/tts.js';
import { PostProduction } from './post/post-production.js';

const config = loadConfig();
const log = pino({ level: config.logLevel });
if (!config.redis) {
  log.fatal('the engine worker needs REDIS_URL (in the embedded mode `npm start` runs the engine itself)');
  process.exit(2);
}
const metrics = createMetrics();
const backends = await redisBackends(config, log as never);
const engine = await EnginePool.start(config.engine);
watchEngine(engine, metrics);
const nodesHash = (await loadBundle(config.engine.bundleDir ?? DEFAULT_BUNDLE, { verifyHashes: false })).hash;
if (engine.info.hash !== nodesHash) log.warn({ worker: engine.info.hash, nodes: nodesHash }, 'bundle differs from the one the nodes key previews with');
const stopPreviews = startPreviewWorker({ engine, backend: backends.previewJobs, store: backends.previewStore, events: backends.events, metrics, jpegQuality: config.preview.jpegQuality });
const narrator = new Narrator({ cacheDir: path.join(backends.cacheDir, 'tts'), maxBytes: config.post.ttsCacheBytes });
const post = new PostProduction({ narrator, bedsDir: path.join(backends.cacheDir, 'beds'), assets: new AssetStore(backends.assets), parts: backends.parts });
if (config.post.bedsAtStart) void post.prepare().catch((error: unknown) => log.warn({ err: error }, 'the music beds could not be made ahead'));
const renders = RenderWorker.start({
  engine,
  queue: backends.renderQueue,
  shots: backends.shots,
  videos: backends.videos,
  events: backends.events,
  metrics,
  log: log as never,
  parallel: config.render.parallel,
  limits: renderBounds(config).limits,
  post,
});
// Live streams: any worker takes a wanted room that nobody streams (a Redis lease), from its checkpoint.
const live = new LiveRunner({ engine, store: backends.live, events: backends.events, policy: contentPolicy(), log: log as never, jpegQuality: config.preview.jpegQuality });
log.info({ bundle: engine.info.name, workers: engine.workerCount, live: live.holder }, 'engine worker ready');
console.log('engine worker ready');

let stopping = false;
const stop = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  log.info({ signal }, 'engine worker stopping; running jobs go back to the queue');
  const force = setTimeout(() => process.exit(1), 15_000);
  force.unref();
  await closeAll([() => live.close(), () => stopPreviews(), () => renders.close(), () => post.close(), () => engine.close(), () => backends.close()], (error) => log.error({ err: error }, 'a shutdown step failed')).catch(() => {});
  process.exit(0);
};
process.on('SIGINT', () => void stop('SIGINT'));
process.on('SIGTERM', () => void stop('SIGTERM'));
