/**
 * The embedded RoomBroadcast: events go straight to Socket.IO, preview frames through the
 * per-socket flow control (frame-fanout.ts), and preview states behind the frames that still wait
 * there (a socket never sees a preview done before its last frame). `local` reaches this node's sockets only (a node
 * relaying what engine workers published on Redis); `all-nodes` goes through the adapter.
 */
import type { LiveFrame, PreviewFrame, PreviewState } from '../../shared/protocol.js';
import type { RoomBroadcast, RoomEventName, RoomEventPayload } from '../ports/room-broadcast.js';
import type { FrameFanout } from './frame-fanout.js';
import { ioRoom, type Io } from './socket-server.js';

export class SocketBroadcast implements RoomBroadcast {
  constructor(
    private readonly io: Io,
    private readonly fanout: FrameFanout,
    private readonly scope: 'all-nodes' | 'local' = 'all-nodes',
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
      const reached = this.fanout.publishState(room, payload as PreviewState);
      if (this.scope === 'all-nodes') (this.io.except(reached).to(ioRoom(room)).emit as (event: string, payload: unknown) => boolean)(event, payload);
      return;
    }
    const target = this.scope === 'local' ? this.io.local.to(ioRoom(room)) : this.io.to(ioRoom(room));
    (target.emit as (event: string, payload: unknown) => boolean)(event, payload);
  }
}
