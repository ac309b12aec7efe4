/**
 * Remembers the newest `preview:state` of every shot (a refusal, a preview under way), so a
 * socket that joins late sees each shot's badge at once, not only the complete previews.
 * It wraps the RoomEvents sink, so it sees every state whoever emits it.
 */
import type { PreviewState } from '../../shared/protocol.js';
import type { RoomEventName, RoomEventPayload, RoomEvents } from '../realtime/room-events.js';

export class PreviewStateLog implements RoomEvents {
  readonly #rooms = new Map<string, Map<string, PreviewState>>();

  constructor(private readonly inner: RoomEvents) {}

  emit<E extends RoomEventName>(room: string, event: E, payload: RoomEventPayload<E>): void {
    if (event === 'preview:state') {
      const state = payload as PreviewState;
      let shots = this.#rooms.get(room);
      if (!shots) {
        shots = new Map();
        this.#rooms.set(room, shots);
      }
      const known = shots.get(state.shot);
      if (!known || known.rev <= state.rev) shots.set(state.shot, state);
    }
    this.inner.emit(room, event, payload);
  }

  /** The newest state of each shot of a room. */
  states(room: string): PreviewState[] {
    return [...(this.#rooms.get(room)?.values() ?? [])];
  }

  /** Forgets shots that left the scene, or a whole room. */
  retain(room: string, shots?: Set<string>): void {
    const known = this.#rooms.get(room);
    if (!known) return;
    if (!shots) this.#rooms.delete(room);
    else for (const id of known.keys()) if (!shots.has(id)) known.delete(id);
  }
}
