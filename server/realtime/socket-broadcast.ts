/**
 * The RoomBroadcast to this node's sockets (the relay hands it what the event bus carries, from this
 * process or from engine workers on Redis): preview and live frames go through the per-socket flow
 * control (frame-fanout.ts), preview states behind the frames that still wait there (a socket never
 * sees a preview done before its last frame), other events straight to Socket.IO.
 */
import type { LiveFrame, PreviewFrame, PreviewState } from '../../shared/protocol.js';
import type { RoomBroadcast, RoomEventName, RoomEventPayload } from '../ports/room-broadcast.js';
import type { FrameFanout } from './frame-fanout.js';
import { ioRoom, type Io } from './socket-server.js';

export class SocketBroadcast implements RoomBroadcast {
  constructor(
    private readonly io: Io,
    private readonly fanout: FrameFanout,
  ) {}

  emit<E extends RoomEventName>(room: string, event: E, payload: RoomEventPayload<E>): void {
    if (event === 'preview:frame') {
      this.fanout.publish(room, payload as PreviewFrame);
      return;
    }
    if (event === 'live:frame') {
      this.fanout.publishEvent(room, { event, frame: payload as LiveFrame });
      return;
    }
    if (event === 'preview:state') {
      this.fanout.publishState(room, payload as PreviewState);
      return;
    }
    (this.io.local.to(ioRoom(room)).emit as (event: string, payload: unknown) => boolean)(event, payload);
  }
}
