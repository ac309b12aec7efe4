/**
 * Sends preview and live frames to the sockets of a room with per-socket flow control. While a socket's
 * previous write is still in flight (its transport is not writable), new frames wait in a small
 * per-socket queue bounded by bytes; when it is full the OLDEST waiting frames are dropped, so a
 * slow or stalled client costs the server at most that bound and skips ahead to the newest frames
 * when it catches up, while bursts (frames relayed from another process arrive together) reach
 * fast clients whole.
 */
import type { LiveFrame, PreviewFrame, PreviewState } from '../../shared/protocol.js';
import type { Metrics } from '../metrics.js';
import { ioRoom, type Io, type IoSocket } from './socket-server.js';

/** Bytes of frames that may wait for one socket (default). */
export const MAILBOX_BYTES = 128 * 1024;

/** A frame event: a shot's preview, or the room's live stream. */
export type FrameEvent = { event: 'preview:frame'; frame: PreviewFrame } | { event: 'live:frame'; frame: LiveFrame };
/** What waits for a socket: frames, and the preview states that must reach it after the frames before them. */
type Item = FrameEvent | { event: 'preview:state'; state: PreviewState };

/** What a waiting state counts against the mailbox's bound (its JSON is about this size). */
const STATE_BYTES = 128;
const bytesOf = (item: Item) => (item.event === 'preview:state' ? STATE_BYTES : item.frame.data.length);

interface Mailbox {
  waiting: Item[];
  bytes: number;
  armed: boolean;
}

interface TransportLike {
  writable: boolean;
  once(event: 'ready' | 'close', fn: () => void): void;
  off(event: 'ready' | 'close', fn: () => void): void;
  socket?: { bufferedAmount?: number };
}

const connOf = (socket: IoSocket) => socket.conn as unknown as { writeBuffer: unknown[]; transport: TransportLike };

const send = (socket: IoSocket, item: Item): void => {
  if (item.event === 'preview:frame') socket.emit('preview:frame', item.frame);
  else if (item.event === 'live:frame') socket.emit('live:frame', item.frame);
  else socket.emit('preview:state', item.state);
};

export class FrameFanout {
  readonly #mailboxes = new WeakMap<IoSocket, Mailbox>();

  constructor(
    private readonly io: Io,
    private readonly metrics: Metrics,
    private readonly mailboxBytes = MAILBOX_BYTES,
  ) {}

  /** Sends a frame to every socket of the room on this node. */
  publish(room: string, frame: PreviewFrame): void {
    this.publishEvent(room, { event: 'preview:frame', frame });
  }

  publishEvent(room: string, item: FrameEvent): void {
    this.#publish(room, item);
  }

  /** Sends a preview state to every socket of the room on this node behind the frames still waiting for it (so
   * nobody sees a preview done before its last frame). A waiting state is dropped only for a newer one of its shot. */
  publishState(room: string, state: PreviewState): void {
    this.#publish(room, { event: 'preview:state', state });
  }

  #publish(room: string, item: Item): void {
    const ids = this.io.sockets.adapter.rooms.get(ioRoom(room));
    if (!ids) return;
    for (const id of ids) {
      const socket = this.io.sockets.sockets.get(id);
      if (socket) this.#deliver(socket, item);
    }
  }

  /** Sends a whole cached preview to one socket (a late joiner), in order and without dropping. */
  replay(socket: IoSocket, frames: PreviewFrame[]): void {
    for (const frame of frames) socket.emit('preview:frame', frame);
    this.metrics.previewFramesSent.inc(frames.length);
  }

  /** What the server holds for one socket: its WebSocket buffer, its engine.io queue and its mailbox (bytes). */
  buffered(socket: IoSocket): number {
    const conn = connOf(socket);
    return (conn.transport.socket?.bufferedAmount ?? 0) + conn.writeBuffer.length + (this.#mailboxes.get(socket)?.bytes ?? 0);
  }

  deliver(socket: IoSocket, frame: PreviewFrame): void {
    this.deliverEvent(socket, { event: 'preview:frame', frame });
  }

  deliverEvent(socket: IoSocket, item: FrameEvent): void {
    this.#deliver(socket, item);
  }

  #deliver(socket: IoSocket, item: Item): void {
    let box = this.#mailboxes.get(socket);
    if (!box) {
      box = { waiting: [], bytes: 0, armed: false };
      this.#mailboxes.set(socket, box);
    }
    const conn = connOf(socket);
    if (!box.armed && box.waiting.length === 0 && conn.transport.writable && conn.writeBuffer.length === 0) {
      send(socket, item);
      if (item.event !== 'preview:state') this.metrics.previewFramesSent.inc();
      return;
    }
    box.waiting.push(item);
    box.bytes += bytesOf(item);
    // Over the bound, the oldest frames go first (never the newest item), then states a newer state of the same
    // shot follows; what stays is at most a state per shot past the bound.
    while (box.bytes > this.mailboxBytes) {
      const last = box.waiting.length - 1;
      let oldest = box.waiting.findIndex((w, i) => w.event !== 'preview:state' && i < last);
      if (oldest < 0) oldest = box.waiting.findIndex((w, i) => w.event === 'preview:state' && box.waiting.some((n, j) => j > i && n.event === 'preview:state' && n.state.shot === w.state.shot));
      if (oldest < 0) break;
      const [dropped] = box.waiting.splice(oldest, 1);
      box.bytes -= bytesOf(dropped!);
      if (dropped!.event !== 'preview:state') this.metrics.previewFramesDropped.inc();
    }
    if (!box.armed) this.#arm(socket, box);
  }

  /** Waits for the transport to finish its write, then sends what waits (while it stays writable). */
  #arm(socket: IoSocket, box: Mailbox): void {
    const transport = connOf(socket).transport;
    box.armed = true;
    const onReady = () => {
      transport.off('close', onClose);
      box.armed = false;
      while (box.waiting.length > 0 && socket.connected) {
        const conn = connOf(socket);
        if (!(conn.transport.writable && conn.writeBuffer.length === 0) && box.waiting.length > 0) {
          this.#arm(socket, box);
          return;
        }
        const next = box.waiting.shift()!;
        box.bytes -= bytesOf(next);
        send(socket, next);
        if (next.event !== 'preview:state') this.metrics.previewFramesSent.inc();
      }
    };
    const onClose = () => {
      transport.off('ready', onReady);
      box.armed = false;
      box.waiting = [];
      box.bytes = 0;
    };
    transport.once('ready', onReady);
    transport.once('close', onClose);
  }
}
