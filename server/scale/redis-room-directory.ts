/**
 * Which rooms exist, in Redis (`<prefix>room:<id>` = the room's metadata as JSON), so every node
 * knows every room, including rooms it never saw.
 */
import { ROOM_ID_PATTERN } from '../../shared/protocol.js';
import type { RoomDirectory, RoomMeta } from '../rooms/directory.js';
import { guard, type RedisClients } from './redis-clients.js';

export class RedisRoomDirectory implements RoomDirectory {
  constructor(private readonly redis: RedisClients) {}

  async create(meta: RoomMeta): Promise<void> {
    const stored = await guard(this.redis.commands.set(this.redis.key('room', meta.id), JSON.stringify(meta), 'NX'));
    if (stored !== 'OK') throw new Error(`room ${meta.id} exists`);
  }

  async get(id: string): Promise<RoomMeta | null> {
    if (!ROOM_ID_PATTERN.test(id)) return null;
    const raw = await guard(this.redis.commands.get(this.redis.key('room', id)));
    return raw ? (JSON.parse(raw) as RoomMeta) : null;
  }
}
