/**
 * Which rooms exist, in Redis (`<prefix>room:<id>` = the room's metadata as JSON, its link
 * generation in `<prefix>room:<id>:epoch`), so every node knows every room, including rooms it
 * never saw, and a rotation or a deletion holds on every node at once.
 */
import { ROOM_ID_PATTERN } from '../../shared/protocol.js';
import type { RoomDirectory, RoomMeta } from '../ports/room-directory.js';
import { guard, type RedisClients } from './redis-clients.js';

/** Next epoch, only for a room that exists (a missing epoch key is generation 1). */
const ROTATE = `
if redis.call('exists', KEYS[1]) == 0 then return false end
local epoch = tonumber(redis.call('get', KEYS[2]) or '1') + 1
redis.call('set', KEYS[2], epoch)
return epoch`;

export class RedisRoomDirectory implements RoomDirectory {
  constructor(private readonly redis: RedisClients) {}

  /** The key a room's existence is read from (the document store checks it before appending). */
  metaKey(id: string): string {
    return this.redis.key('room', id);
  }

  async create(meta: RoomMeta): Promise<void> {
    const stored = await guard(this.redis.commands.set(this.metaKey(meta.id), JSON.stringify(meta), 'NX'));
    if (stored !== 'OK') throw new Error(`room ${meta.id} exists`);
  }

  async get(id: string): Promise<RoomMeta | null> {
    if (!ROOM_ID_PATTERN.test(id)) return null;
    const [raw, epoch] = await guard(this.redis.commands.mget(this.metaKey(id), `${this.metaKey(id)}:epoch`));
    if (!raw) return null;
    const meta = JSON.parse(raw) as RoomMeta;
    return epoch ? { ...meta, epoch: Number(epoch) } : meta;
  }

  async rotate(id: string): Promise<number | null> {
    if (!ROOM_ID_PATTERN.test(id)) return null;
    const epoch = await guard(this.redis.commands.eval(ROTATE, 2, this.metaKey(id), `${this.metaKey(id)}:epoch`));
    return epoch === null ? null : Number(epoch);
  }

  async delete(id: string): Promise<void> {
    if (!ROOM_ID_PATTERN.test(id)) return;
    await guard(this.redis.commands.del(this.metaKey(id), `${this.metaKey(id)}:epoch`));
  }
}
