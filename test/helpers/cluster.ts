/**
 * A scale-out cluster of real processes (server nodes and engine workers) on the real Redis,
 * with a key prefix of its own, and PostgreSQL for snapshots when one answers.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { BUNDLE_DIR } from './engine.js';
import { onCleanup, tempDir } from './server.js';
import { spawnServer, type ServerProcess } from './server-process.js';

/** Set by the global set-up (test/setup/global-setup.ts): the machine's Redis, or a private one on another port. */
export const REDIS_URL = process.env.SCENECAST_TEST_REDIS_URL ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const redisUrl = new URL(REDIS_URL);
/** Where REDIS_URL points, for a TCP proxy in front of it (never assume 127.0.0.1:6379). */
export const REDIS_ADDRESS = { host: redisUrl.hostname, port: Number(redisUrl.port || 6379) } as const;
export const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

async function postgresAnswers(): Promise<boolean> {
  const client = new pg.Client({ connectionString: DATABASE_URL, connectionTimeoutMillis: 1000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

export interface TestCluster {
  prefix: string;
  env: Record<string, string>;
  node(extra?: Record<string, string>): Promise<ServerProcess>;
  worker(extra?: Record<string, string>): Promise<ServerProcess>;
}

export async function startCluster(options: { redisUrl?: string } = {}): Promise<TestCluster> {
  const prefix = `test-${randomBytes(4).toString('hex')}:`;
  const dataDir = await tempDir();
  const env: Record<string, string> = {
    REDIS_URL: options.redisUrl ?? REDIS_URL,
    REDIS_PREFIX: prefix,
    BLOB_DIR: path.join(dataDir, 'blobs'),
    ENGINE_BUNDLE: BUNDLE_DIR,
    ENGINE_WORKERS: '1',
    ROOM_IDLE_MS: '2000',
  };
  if (await postgresAnswers()) env.DATABASE_URL = DATABASE_URL;
  onCleanup(async () => {
    const redis = new Redis(REDIS_URL);
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) await redis.del(...keys);
    } while (cursor !== '0');
    redis.disconnect();
    if (env.DATABASE_URL) {
      const client = new pg.Client({ connectionString: env.DATABASE_URL });
      await client.connect();
      await client.query('DELETE FROM scenecast_snapshots WHERE namespace = $1', [prefix]).catch(() => {});
      await client.end();
    }
  });
  let nodes = 0;
  return {
    prefix,
    env,
    node: async (extra = {}) => spawnServer({ ...env, DATA_DIR: path.join(dataDir, `node-${++nodes}`), ...extra }),
    worker: async (extra = {}) => spawnServer({ ...env, DATA_DIR: path.join(dataDir, 'worker'), ...extra }, 'server/worker.ts'),
  };
}
