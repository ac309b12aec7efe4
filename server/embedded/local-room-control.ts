/** The embedded RoomControl: events reach this process's listeners at once. */
import type { RoomControl, RoomControlEvent } from '../ports/room-control.js';

export class LocalRoomControl implements RoomControl {
  readonly #listeners = new Set<(event: RoomControlEvent) => void>();

  publish(event: RoomControlEvent): void {
    for (const listener of this.#listeners) listener(event);
  }

  subscribe(listener: (event: RoomControlEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
