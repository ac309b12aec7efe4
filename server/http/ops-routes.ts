import type { FastifyPluginAsync } from 'fastify';
import type { HealthResponse } from '../../shared/protocol.js';
import type { AppContext } from '../app-context.js';

/** Health and metrics. */
export const opsPlugin: FastifyPluginAsync<{ ctx: AppContext }> = async (app, { ctx }) => {
  const started = Date.now();

  app.get('/healthz', async (_request, reply) => {
    const checks: HealthResponse['checks'] = {};
    for (const [name, check] of Object.entries(ctx.backends.health)) {
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
    if (ctx.preview) ctx.metrics.previewQueueDepth.set(await ctx.preview.queueDepth().catch(() => 0));
    await ctx.backends.gauges(ctx.metrics).catch(() => {});
    return reply.type(ctx.metrics.registry.contentType).send(await ctx.metrics.registry.metrics());
  });
};
