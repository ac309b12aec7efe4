/** The engine's own figures on /metrics (its text-embedding cache). */
import type { EnginePool } from '../engine/index.js';
import type { Metrics } from './metrics.js';

export function watchEngine(engine: EnginePool, metrics: Metrics): void {
  engine.on('job', ({ stats }) => {
    if (!stats) return;
    metrics.textCache.inc({ result: 'hit' }, stats.textCacheHits);
    metrics.textCache.inc({ result: 'miss' }, stats.textCacheMisses);
  });
}
