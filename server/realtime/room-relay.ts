/**
 * Hands the room events of the bus (from this process or an engine worker process) to this
 * node's sockets of the room, while it has some: one subscription per room, counted by sockets.
 * The same in both modes; only the bus differs.
 */
import type { RoomBroadcast, RoomEventBus } from '../ports/room-broadcast.js';

export class RoomRelay {
  readonly #rooms = new Map<string, { sockets: number; stop: () => void }>();

  constructor(
    private readonly bus: RoomEventBus,
    /** This node's sockets (SocketBroadcast, local scope). */
    private readonly local: RoomBroadcast,
  ) {}

  join(room: string): void {
    const entry = this.#rooms.get(room);
    if (entry) entry.sockets++;
    else this.#rooms.set(room, { sockets: 1, stop: this.bus.subscribe(room, (event, payload) => this.local.emit(room, event, payload)) });
  }

  leave(room: string): void {
    const entry = this.#rooms.get(room);
    if (!entry) return;
    if (--entry.sockets === 0) {
      entry.stop();
      this.#rooms.delete(room);
    }
  }

  close(): void {
    for (const entry of this.#rooms.values()) entry.stop();
    this.#rooms.clear();
  }
}
