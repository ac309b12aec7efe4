/**
 * Remembers the newest `preview:state` of every shot (a refusal, a preview under way), so a
 * client that joins late sees each shot's badge at once, not only the complete previews.
 * `recording(inner)` wraps a RoomBroadcast: what goes through it is noted, then passed on (the
 * preview flow's own events on their way out, and what the room relay hands to this node's
 * sockets, so every state is seen whoever made it).
 */
import type { PreviewState } from '../../shared/protocol.js';
import type { RoomBroadcast, RoomEventName, RoomEventPayload } from '../ports/room-broadcast.js';

export class PreviewStateLog {
  readonly #rooms = new Map<string, Map<string, PreviewState>>();

  record(room: string, state: PreviewState): void {
    let shots = this.#rooms.get(room);
    if (!shots) {
      shots = new Map();
      this.#rooms.set(room, shots);
    }
    const known = shots.get(state.shot);
    if (!known || known.rev <= state.rev) shots.set(state.shot, state);
  }

  /** `inner`, noting every preview state that goes through it. */
  recording(inner: RoomBroadcast): RoomBroadcast {
    return {
      emit: <E extends RoomEventName>(room: string, event: E, payload: RoomEventPayload<E>) => {
        if (event === 'preview:state') this.record(room, payload as PreviewState);
        inner.emit(room, event, payload);
      },
    };
  }

  /** The newest state of each shot of a room. */
  states(room: string): PreviewState[] {
    return [...(this.#rooms.get(room)?.values() ?? [])];
  }

  /** Forgets shots that left the scene, or a whole room. */
  retain(room: string, shots?: Set<string>): void {
    const known = this.#rooms.get(room);
    if (!known) return;
    if (!shots || shots.size === 0) this.#rooms.delete(room);
    else for (const id of known.keys()) if (!shots.has(id)) known.delete(id);
  }
}
