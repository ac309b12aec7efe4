/**
 * The scale-out LiveStore (ports/live-store.ts) in Redis:
 *   <prefix>live:lease:<room>    the stream's holder's id, SET PX; renewed and released only by it (Lua)
 *   <prefix>live:director:<room> the same for the node that directs the room
 *   <prefix>live:plan:<room>     the plan (JSON, PX: it expires unless published again)
 *   <prefix>live:wanted          a sorted set: rooms with a plan, scored by when it expires
 *   <prefix>live:plans           the channel that names a room whenever its plan is published or withdrawn
 *   <prefix>live:cp:<room>       the checkpoint: a 4-byte JSON length, the JSON, the context floats (1 h)
 *   <prefix>live:votes:<room>:<suggestion>   a set of voters (SADD: 1 the first time; 7 days)
 */
import { parsePlan, type LiveCheckpoint, type LivePlan, type LiveRole, type LiveStore } from '../ports/live-store.js';
import type { RedisChannels } from './redis-buses.js';
import { guard, type RedisClients } from './redis-clients.js';

const ACQUIRE = "local v = redis.call('get', KEYS[1]) if v == false or v == ARGV[1] then redis.call('set', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end return 0";
const RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";
const CHECKPOINT_TTL_S = 3600;
const VOTES_TTL_S = 7 * 24 * 3600;

export class RedisLiveStore implements LiveStore {
  constructor(
    private readonly redis: RedisClients,
    private readonly channels: RedisChannels,
  ) {}

  #lease(room: string, role: LiveRole): string {
    return this.redis.key('live', role === 'stream' ? 'lease' : 'director', room);
  }

  async acquire(room: string, holder: string, ttlMs: number, role: LiveRole = 'stream'): Promise<boolean> {
    return (await guard(this.redis.commands.eval(ACQUIRE, 1, this.#lease(room, role), holder, Math.max(1, Math.round(ttlMs))))) === 1;
  }

  async release(room: string, holder: string, role: LiveRole = 'stream'): Promise<void> {
    await guard(this.redis.commands.eval(RELEASE, 1, this.#lease(room, role), holder));
  }

  async publishPlan(room: string, plan: LivePlan, ttlMs: number): Promise<void> {
    const ttl = Math.max(1, Math.round(ttlMs));
    await guard(this.redis.commands.multi().set(this.redis.key('live', 'plan', room), JSON.stringify(plan), 'PX', ttl).zadd(this.redis.key('live', 'wanted'), Date.now() + ttl, room).exec());
    this.channels.publish(this.redis.key('live', 'plans'), Buffer.from(room));
  }

  async withdrawPlan(room: string): Promise<void> {
    await guard(this.redis.commands.multi().del(this.redis.key('live', 'plan', room)).zrem(this.redis.key('live', 'wanted'), room).exec());
    this.channels.publish(this.redis.key('live', 'plans'), Buffer.from(room));
  }

  async plan(room: string): Promise<LivePlan | null> {
    const json = await guard(this.redis.commands.get(this.redis.key('live', 'plan', room)));
    return json === null ? null : parsePlan(json);
  }

  async wanted(): Promise<string[]> {
    const key = this.redis.key('live', 'wanted');
    const now = Date.now();
    const [, [, rooms]] = (await guard(this.redis.commands.multi().zremrangebyscore(key, '-inf', now).zrangebyscore(key, now, '+inf').exec())) as [unknown, [unknown, string[]]];
    return rooms;
  }

  onPlan(listener: (room: string) => void): () => void {
    return this.channels.subscribe(this.redis.key('live', 'plans'), (message) => listener(message.toString()));
  }

  async save(room: string, checkpoint: LiveCheckpoint): Promise<void> {
    const { context, ...rest } = checkpoint;
    const json = Buffer.from(JSON.stringify(rest));
    const head = Buffer.alloc(4);
    head.writeUInt32LE(json.length);
    const floats = context ? Buffer.from(context.buffer, context.byteOffset, context.byteLength) : Buffer.alloc(0);
    await guard(this.redis.commands.set(this.redis.key('live', 'cp', room), Buffer.concat([head, json, floats]), 'EX', CHECKPOINT_TTL_S));
  }

  async checkpoint(room: string): Promise<LiveCheckpoint | null> {
    const body = await guard(this.redis.commands.getBuffer(this.redis.key('live', 'cp', room)));
    if (!body || body.length < 4) return null;
    const length = body.readUInt32LE(0);
    const rest = JSON.parse(body.subarray(4, 4 + length).toString()) as Omit<LiveCheckpoint, 'context'>;
    const floats = body.subarray(4 + length);
    const context = floats.length > 0 ? new Float32Array(floats.buffer.slice(floats.byteOffset, floats.byteOffset + floats.length)) : null;
    return { ...rest, context };
  }

  async vote(room: string, suggestion: string, voter: string): Promise<boolean> {
    const key = this.redis.key('live', 'votes', room, suggestion);
    const [[, added]] = (await guard(this.redis.commands.multi().sadd(key, voter).expire(key, VOTES_TTL_S).exec())) as [[unknown, number], unknown];
    return added === 1;
  }

  async forgetRoom(room: string): Promise<void> {
    const keys = [this.#lease(room, 'stream'), this.#lease(room, 'director'), this.redis.key('live', 'plan', room), this.redis.key('live', 'cp', room)];
    let cursor = '0';
    do {
      const [next, found] = await guard(this.redis.commands.scan(cursor, 'MATCH', this.redis.key('live', 'votes', room, '*'), 'COUNT', 500));
      cursor = next;
      keys.push(...found);
    } while (cursor !== '0');
    await guard(this.redis.commands.multi().del(...keys).zrem(this.redis.key('live', 'wanted'), room).exec());
  }
}
