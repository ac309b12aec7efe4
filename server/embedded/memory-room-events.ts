/**
 * The embedded RoomEventBus: events go to this process's subscribers of the room, as they are
 * (a frame's bytes are not copied).
 */
import type { RoomEventBus, RoomEventName, RoomEventPayload } from '../ports/room-broadcast.js';

type Handler = (event: RoomEventName, payload: RoomEventPayload<RoomEventName>) => void;

export class MemoryRoomEvents implements RoomEventBus {
  readonly #rooms = new Map<string, Set<Handler>>();

  emit<E extends RoomEventName>(room: string, event: E, payload: RoomEventPayload<E>): void {
    for (const handler of this.#rooms.get(room) ?? []) handler(event, payload);
  }

  subscribe<E extends RoomEventName>(room: string, handler: (event: E, payload: RoomEventPayload<E>) => void): () => void {
    let handlers = this.#rooms.get(room);
    if (!handlers) {
      handlers = new Set();
      this.#rooms.set(room, handlers);
    }
    const h = handler as unknown as Handler;
    handlers.add(h);
    return () => {
      handlers!.delete(h);
      if (handlers!.size === 0) this.#rooms.delete(room);
    };
  }
}
