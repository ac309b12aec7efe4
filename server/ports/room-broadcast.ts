/**
 * Events to every client of a room, whichever node its sockets are on: how the preview and render
 * flows (and engine worker processes) talk to the room. Embedded: straight to this process's
 * Socket.IO (realtime/socket-broadcast.ts). Scale-out: published once per room on Redis and handed
 * by every node to its own sockets (scale/redis-buses.ts). Contract: test/contracts/room-event-bus.test.ts.
 */
import type { PreviewFrame, ServerToClientEvents } from '../../shared/protocol.js';

export type RoomEventName = keyof ServerToClientEvents;
export type RoomEventPayload<E extends RoomEventName> = Parameters<ServerToClientEvents[E]>[0];

export interface RoomBroadcast {
  emit<E extends RoomEventName>(room: string, event: E, payload: RoomEventPayload<E>): void;
}

/** One client of a room, for what only it should get (a late joiner's catch-up). */
export interface RoomClient {
  readonly room: string;
  emit<E extends RoomEventName>(event: E, payload: RoomEventPayload<E>): void;
  /** A whole cached preview, in order, without the flow control's dropping. */
  replayFrames(frames: PreviewFrame[]): void;
}

/**
 * The room events of the preview and render flows on their way from whichever process makes them
 * (this one, or an engine worker process) to every node with clients in the room. A node
 * subscribes for the rooms it has sockets in (realtime/room-relay.ts). Embedded: in this process
 * (embedded/memory-room-events.ts); scale-out: a Redis channel per room (scale/redis-buses.ts).
 */
export interface RoomEventBus extends RoomBroadcast {
  /** Hears every event of `room`, from any process. Returns the unsubscribe. */
  subscribe<E extends RoomEventName>(room: string, handler: (event: E, payload: RoomEventPayload<E>) => void): () => void;
}
