/**
 * A lock in Redis for work one process at a time may do (SET NX PX, renewed while held, released
 * only by its holder). A holder that dies loses it after `ttlMs`.
 */
import { randomBytes } from 'node:crypto';
import { guard, type RedisClients } from './redis-clients.js';

const RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";
const RENEW = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end";

/** Runs `fn` holding `key`; waits for it (polling every 20 ms) at most `waitMs`, then throws. */
export async function withRedisLock<T>(redis: RedisClients, key: string, fn: () => Promise<T>, options: { ttlMs?: number; waitMs?: number } = {}): Promise<T> {
  const ttlMs = options.ttlMs ?? 10_000;
  const token = randomBytes(9).toString('base64url');
  const deadline = Date.now() + (options.waitMs ?? 30_000);
  while ((await guard(redis.commands.set(key, token, 'PX', ttlMs, 'NX'))) !== 'OK') {
    if (Date.now() > deadline) throw new Error(`could not take the lock ${key}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const renew = setInterval(() => void redis.commands.eval(RENEW, 1, key, token, ttlMs).catch(() => {}), ttlMs / 3);
  try {
    return await fn();
  } finally {
    clearInterval(renew);
    await redis.commands.eval(RELEASE, 1, key, token).catch(() => {});
  }
}
