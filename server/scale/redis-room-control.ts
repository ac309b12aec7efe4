/**
 * Room control events (rotated links, deleted rooms) on a Redis channel, so every node acts on
 * them (room-control.ts).
 */
import type { RoomControl, RoomControlEvent } from '../ports/room-control.js';
import type { RedisChannels } from './redis-buses.js';
import type { RedisClients } from './redis-clients.js';

export class RedisRoomControl implements RoomControl {
  readonly #channel: string;

  constructor(
    redis: RedisClients,
    private readonly channels: RedisChannels,
  ) {
    this.#channel = redis.key('room-control');
  }

  publish(event: RoomControlEvent): void {
    this.channels.publish(this.#channel, Buffer.from(JSON.stringify(event)));
  }

  subscribe(listener: (event: RoomControlEvent) => void): () => void {
    return this.channels.subscribe(this.#channel, (message) => {
      let event: RoomControlEvent;
      try {
        event = JSON.parse(message.toString()) as RoomControlEvent;
      } catch {
        return;
      }
      listener(event);
    });
  }
}
