/**
 * What the contract suites (test/contracts/*.test.ts) share: the pieces a backend factory is made
 * of (a temporary folder, a Redis "process" on a key prefix of the test's own, PostgreSQL), and
 * waiting with a deadline. Every resource is closed after its test by the factory that made it
 * (helpers/server.ts runs the cleanups in reverse order, so a prefix's keys go after the
 * connections that wrote them).
 *
 * A test file that uses Redis must itself import '../helpers/cluster.js': the global set-up
 * provides Redis only for the files that do (test/setup/plan.ts, needsOf).
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import pg from 'pg';
import { RedisChannels } from '../../server/scale/redis-buses.js';
import { RedisClients } from '../../server/scale/redis-clients.js';
import { DATABASE_URL, REDIS_URL } from '../helpers/cluster.js';
import { onCleanup, tempDir, within } from '../helpers/server.js';

export { onCleanup, tempDir, within };

/** A key prefix of this test's own; its keys are deleted after the test (after everything opened later is closed). */
export function redisPrefix(): string {
  const prefix = `contract-${randomBytes(4).toString('hex')}:`;
  onCleanup(() => deleteKeys(prefix));
  return prefix;
}

async function deleteKeys(prefix: string): Promise<void> {
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  redis.on('error', () => {});
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

/** Keys under `prefix` (what a test may check a backend left behind). */
export async function keysOf(prefix: string, pattern = '*'): Promise<string[]> {
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  redis.on('error', () => {});
  try {
    const found: string[] = [];
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}${pattern}`, 'COUNT', 1000);
      cursor = next;
      found.push(...keys);
    } while (cursor !== '0');
    return found.sort();
  } finally {
    redis.disconnect();
  }
}

/** One scale-out process: its connections (ready) and its pub/sub channels, as backends/redis.ts makes them. */
export interface RedisProcess {
  redis: RedisClients;
  channels: RedisChannels;
}

/** A process of the cluster on `prefix`, closed after the test. Call it twice for two processes. */
export async function redisProcess(prefix: string): Promise<RedisProcess> {
  const redis = new RedisClients(REDIS_URL, prefix);
  onCleanup(() => redis.close());
  await redis.ready();
  return { redis, channels: new RedisChannels(redis) };
}

/**
 * Resolves once every SUBSCRIBE these processes have sent is in effect on the server. The ports'
 * `subscribe` returns at once, but Redis only delivers to a subscription it has processed; a PING
 * on the same connection is answered after it. (Test plumbing, not a contract: see the report.)
 */
export async function subscriptionsLive(...processes: RedisProcess[]): Promise<void> {
  await Promise.all(processes.map((p) => within('PING on the subscriber connection', 5000, p.redis.subscriber.ping())));
}

export { DATABASE_URL };

/** Whether the PostgreSQL at DATABASE_URL answers (its suites are skipped, saying so, when not). */
export async function postgresAnswers(): Promise<boolean> {
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

/** Polls `probe` until it returns something truthy (returned), failing with `what` after `ms`. */
export async function eventually<T>(what: string, probe: () => T | Promise<T>, ms = 5000, everyMs = 10): Promise<NonNullable<T>> {
  const error = new Error(`${what}: not so within ${ms} ms`);
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw error;
    await sleep(everyMs);
  }
}

/** A promise with its resolve outside. */
export interface Deferred<T = void> {
  promise: Promise<T>;
  resolve(value: T): void;
  settled: boolean;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  const d: Deferred<T> = {
    promise: new Promise<T>((r) => (resolve = r)),
    resolve: (value) => {
      d.settled = true;
      resolve(value);
    },
    settled: false,
  };
  return d;
}

/** Resolves when `signal` aborts (at once if it has). */
export function aborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}

/** Random bytes, zero bytes and 0xff included (binary payloads must survive as they are). */
export function bytes(n: number): Uint8Array {
  const out = new Uint8Array(randomBytes(n));
  if (n > 0) out[0] = 0;
  if (n > 1) out[n - 1] = 0xff;
  return out;
}

/** A room id of the valid form (ROOM_ID_PATTERN). */
export const roomId = (): string => `room${randomBytes(6).toString('hex')}`;
