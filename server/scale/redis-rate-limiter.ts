/**
 * Token buckets in Redis, so a limit holds across every node (one Lua call per request).
 */
import type { RateLimiter } from '../ports/rate-limiter.js';
import { guard, type RedisClients } from './redis-clients.js';

const SCRIPT = `
local tokens = tonumber(redis.call('hget', KEYS[1], 't'))
local at = tonumber(redis.call('hget', KEYS[1], 'a'))
local burst, rate, now = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
if tokens == nil then tokens = burst; at = now end
tokens = math.min(burst, tokens + (now - at) * rate)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = math.ceil((1 - tokens) / rate) end
redis.call('hset', KEYS[1], 't', tostring(tokens), 'a', tostring(now))
redis.call('pexpire', KEYS[1], math.ceil(burst / rate) + 1000)
return wait`;

export class RedisRateLimiter implements RateLimiter {
  constructor(
    private readonly redis: RedisClients,
    private readonly name: string,
    private readonly burst: number,
    private readonly perMinute: number,
  ) {}

  async take(key: string): Promise<number> {
    const rate = this.perMinute / 60_000;
    const wait = await guard(this.redis.commands.eval(SCRIPT, 1, this.redis.key('rate', this.name, key), this.burst, rate, Date.now()));
    return Number(wait);
  }
}
