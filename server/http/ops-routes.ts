import type { FastifyInstance } from 'fastify';
import type { HealthResponse } from '../../shared/protocol.js';
import type { AppContext } from '../app-context.js';

/** Scale-out figures, read at scrape time: Redis latency, stream lengths, queue depths, workers. */
async function clusterGauges(ctx: AppContext): Promise<void> {
  const { cluster, jobs } = ctx.cluster!;
  const { metrics } = ctx;
  metrics.redisLatency.set((await cluster.redis.ping()) / 1000);
  const lengths = await Promise.all(cluster.store.loadedRooms.map((room) => cluster.store.streamLength(room)));
  metrics.streamEntries.set(lengths.reduce((a, b) => a + b, 0));
  metrics.previewQueueDepth.set(await jobs.previewQueue.depth());
  const renders = await jobs.renderQueue.counts();
  metrics.renderQueue.set({ state: 'waiting' }, renders.waiting);
  metrics.renderQueue.set({ state: 'active' }, renders.active);
  metrics.engineWorkers.set(renders.workers);
}

export function opsRoutes(app: FastifyInstance, ctx: AppContext): void {
  const started = Date.now();

  app.get('/healthz', async (_request, reply) => {
    const checks: HealthResponse['checks'] = {};
    for (const [name, check] of Object.entries(ctx.health)) {
      try {
        await check();
        checks[name] = { ok: true };
      } catch (error) {
        checks[name] = { ok: false, message: (error as Error).message };
      }
    }
    const ok = Object.values(checks).every((c) => c.ok);
    const body: HealthResponse = { status: ok ? 'ok' : 'degraded', uptime: (Date.now() - started) / 1000, checks };
    return reply.status(ok ? 200 : 503).send(body);
  });

  app.get('/metrics', async (_request, reply) => {
    ctx.metrics.roomsLoaded.set(ctx.rooms.loadedCount);
    if (ctx.renders) ctx.metrics.shotCacheBytes.set((await ctx.renders.cache.stats()).bytes);
    if (ctx.cluster) await clusterGauges(ctx).catch(() => {});
    return reply.type(ctx.metrics.registry.contentType).send(await ctx.metrics.registry.metrics());
  });
}
