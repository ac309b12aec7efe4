/**
 * The embedded RoomEventBus: events go to this process's subscribers of the room, as they are
 * (a frame's bytes are not copied).
 */
import type { RoomEventBus, RoomEventName, RoomEventPayload } from '../ports/room-broadcast.js';
import { Subscribers } from '../util/subscribers.js';

type Handler = (event: RoomEventName, payload: RoomEventPayload<RoomEventName>) => void;

export class MemoryRoomEvents implements RoomEventBus {
  readonly #rooms = new Subscribers<Handler>();

  emit<E extends RoomEventName>(room: string, event: E, payload: RoomEventPayload<E>): void {
    for (const handler of this.#rooms.of(room)) handler(event, payload);
  }

  subscribe<E extends RoomEventName>(room: string, handler: (event: E, payload: RoomEventPayload<E>) => void): () => void {
    return this.#rooms.add(room, handler as unknown as Handler);
  }
}
