/**
 * `npm run worker`: one engine worker process of a scaled-out cluster (REDIS_URL required). It
 * loads the model into its engine threads and runs preview and render jobs from BullMQ, publishing
 * frames and progress to the rooms through Redis. No HTTP. Any number of them, on any machines that
 * share Redis and BLOB_DIR.
 */
import pino from 'pino';
import { EnginePool } from '../engine/index.js';
import { loadConfig } from './config.js';
import { createMetrics } from './metrics.js';
import { RenderService, renderBounds } from './render/render-service.js';
import { clusterJobs, connectCluster } from './scale/cluster.js';
import { runPreviewWorker } from './scale/redis-preview-queue.js';

const config = loadConfig();
const log = pino({ level: config.logLevel });
if (!config.redis) {
  log.fatal('the engine worker needs REDIS_URL (in the embedded mode `npm start` runs the engine itself)');
  process.exit(2);
}
const metrics = createMetrics();
const cluster = await connectCluster(config, log as never);
const jobs = await clusterJobs(cluster, config);
const engine = await EnginePool.start(config.engine);
if (engine.info.hash !== jobs.bundleHash) log.warn({ worker: engine.info.hash, nodes: jobs.bundleHash }, 'bundle differs from the one the nodes key previews with');
const stopPreviews = runPreviewWorker({ redis: cluster.redis, channels: cluster.channels, engine, events: cluster.events, store: jobs.previewStore, metrics, jpegQuality: config.preview.jpegQuality });
const renders = await RenderService.start({
  dataDir: config.blobDir,
  engine,
  events: cluster.events,
  metrics,
  log: log as never,
  parallel: config.render.parallel,
  ...renderBounds(config),
  queue: jobs.renderQueue,
  cache: jobs.shotStore,
  process: true,
});
log.info({ node: cluster.redis.nodeId, bundle: engine.info.name, workers: engine.workerCount }, 'engine worker ready');
console.log(`engine worker ready (${cluster.redis.nodeId})`);

let stopping = false;
const stop = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  log.info({ signal }, 'engine worker stopping; running jobs go back to the queue');
  const force = setTimeout(() => process.exit(1), 15_000);
  force.unref();
  await stopPreviews();
  await renders.close();
  await engine.close();
  await jobs.previewQueue.close();
  await cluster.close();
  process.exit(0);
};
process.on('SIGINT', () => void stop('SIGINT'));
process.on('SIGTERM', () => void stop('SIGTERM'));
