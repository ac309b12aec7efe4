/**
 * Sends preview frames to the sockets of a room with per-socket flow control: a socket whose
 * previous frame is still being written (its transport is not writable, or its WebSocket has
 * frames queued) keeps only the NEWEST waiting frame; older waiting ones are dropped. So a slow
 * or stalled client costs the server at most one frame plus what its socket already buffers,
 * and skips ahead when it catches up, while fast clients get every frame.
 */
import type { PreviewFrame } from '../../shared/protocol.js';
import type { Metrics } from '../metrics.js';
import { ioRoom, type Io, type IoSocket } from '../realtime/socket-server.js';

interface Mailbox {
  waiting: PreviewFrame | null;
  armed: boolean;
}

interface TransportLike {
  writable: boolean;
  once(event: 'ready' | 'close', fn: () => void): void;
  off(event: 'ready' | 'close', fn: () => void): void;
  socket?: { bufferedAmount?: number };
}

export class FrameFanout {
  readonly #mailboxes = new WeakMap<IoSocket, Mailbox>();

  constructor(
    private readonly io: Io,
    private readonly metrics: Metrics,
  ) {}

  /** Sends a frame to every socket of the room on this node. */
  publish(room: string, frame: PreviewFrame): void {
    const ids = this.io.sockets.adapter.rooms.get(ioRoom(room));
    if (!ids) return;
    for (const id of ids) {
      const socket = this.io.sockets.sockets.get(id);
      if (socket) this.deliver(socket, frame);
    }
  }

  /** Sends a whole cached preview to one socket (a late joiner), in order and without dropping. */
  replay(socket: IoSocket, frames: PreviewFrame[]): void {
    for (const frame of frames) socket.emit('preview:frame', frame);
    this.metrics.previewFramesSent.inc(frames.length);
  }

  /** Bytes waiting in this node's mailboxes and socket buffers for one socket (for tests, metrics). */
  static buffered(socket: IoSocket): number {
    const conn = socket.conn as unknown as { writeBuffer: unknown[]; transport: TransportLike };
    return (conn.transport.socket?.bufferedAmount ?? 0) + conn.writeBuffer.length;
  }

  deliver(socket: IoSocket, frame: PreviewFrame): void {
    let box = this.#mailboxes.get(socket);
    if (!box) {
      box = { waiting: null, armed: false };
      this.#mailboxes.set(socket, box);
    }
    if (box.armed) {
      if (box.waiting) this.metrics.previewFramesDropped.inc();
      box.waiting = frame;
      return;
    }
    const conn = socket.conn as unknown as { writeBuffer: unknown[]; transport: TransportLike };
    const transport = conn.transport;
    // Not writable = a write is in flight (for a stalled client: forever, as its socket is full).
    if (transport.writable && conn.writeBuffer.length === 0) {
      socket.emit('preview:frame', frame);
      this.metrics.previewFramesSent.inc();
      return;
    }
    // Wait for the transport to finish its current write, then send the newest frame waiting.
    box.waiting = frame;
    box.armed = true;
    const mailbox = box;
    const onReady = () => {
      transport.off('close', onClose);
      mailbox.armed = false;
      const next = mailbox.waiting;
      mailbox.waiting = null;
      if (next && socket.connected) this.deliver(socket, next);
    };
    const onClose = () => {
      transport.off('ready', onReady);
      mailbox.armed = false;
      mailbox.waiting = null;
    };
    transport.once('ready', onReady);
    transport.once('close', onClose);
  }
}
