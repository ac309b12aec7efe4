/**
 * How any part of the server (or an engine worker process) talks to the clients of a room.
 * Embedded: straight to Socket.IO, frames through per-socket flow control. Scale-out: engine
 * workers publish to Redis once per room and every node hands the events to its own sockets.
 */
import type { ServerToClientEvents } from '../../shared/protocol.js';
import type { FrameFanout } from '../preview/frame-fanout.js';
import { ioRoom, type Io } from './socket-server.js';

export type RoomEventName = keyof ServerToClientEvents;
export type RoomEventPayload<E extends RoomEventName> = Parameters<ServerToClientEvents[E]>[0];

export interface RoomEvents {
  emit<E extends RoomEventName>(room: string, event: E, payload: RoomEventPayload<E>): void;
}

/** Delivers to the sockets of this process only (`local`), or through the adapter to all nodes. */
export class SocketRoomEvents implements RoomEvents {
  constructor(
    private readonly io: Io,
    private readonly fanout: FrameFanout,
    private readonly scope: 'all-nodes' | 'local' = 'all-nodes',
  ) {}

  emit<E extends RoomEventName>(room: string, event: E, payload: RoomEventPayload<E>): void {
    if (event === 'preview:frame') {
      this.fanout.publish(room, payload as RoomEventPayload<'preview:frame'>);
      return;
    }
    const target = this.scope === 'local' ? this.io.local.to(ioRoom(room)) : this.io.to(ioRoom(room));
    (target.emit as (event: string, payload: unknown) => boolean)(event, payload);
  }
}
