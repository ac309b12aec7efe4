/**
 * One engine pool per test file, on the bundled model (ENGINE_BUNDLE overrides the folder).
 */
import { afterAll } from 'vitest';
import { DEFAULT_BUNDLE, EnginePool } from '../../engine/engine-pool.js';

export const BUNDLE_DIR = process.env.ENGINE_BUNDLE ?? DEFAULT_BUNDLE;

let pool: Promise<EnginePool> | null = null;

afterAll(async () => {
  if (pool) await (await pool).close();
  pool = null;
});

export function sharedEngine(): Promise<EnginePool> {
  pool ??= EnginePool.start({ bundleDir: BUNDLE_DIR });
  return pool;
}
