/**
 * One room's two connections: the scene document over y-websocket (`/yjs/:room`) and the event
 * stream over Socket.IO (previews, renders, suggestions, presence counts). `close()` is idempotent
 * and runs every step even when one throws.
 */
import { io, type Socket } from 'socket.io-client';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';
import type { ClientToServerEvents, ConnectErrorData, Role, ServerToClientEvents } from '../../../shared/protocol.js';
import { createAwareness } from './awareness.js';

export type EventSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

export interface RoomConnection {
  room: string;
  token: string;
  doc: Y.Doc;
  provider: WebsocketProvider;
  socket: EventSocket;
  close(): void;
}

export interface ConnectOptions {
  room: string;
  token: string;
  /** Publish no awareness state (overlay pages are not people). */
  silent?: boolean;
  /** The server refused us for good (bad token, unknown room, …): code and message. */
  onFatal?: (code: string, message: string) => void;
  onRole?: (role: Role) => void;
}

const wsBase = (): string => `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/yjs`;

/** WebSocket close reasons are "CODE: message" (server/collab/endpoint.ts). */
function splitReason(reason: string): { code: string; message: string } {
  const match = /^([A-Z_]+): (.*)$/s.exec(reason);
  return match ? { code: match[1]!, message: match[2]! } : { code: '', message: reason };
}

export function connect(options: ConnectOptions): RoomConnection {
  const { room, token } = options;
  const doc = new Y.Doc();
  // Tabs do not relay for each other (disableBc): each syncs with the server, which knows its
  // role. Over BroadcastChannel a read-only tab's local change reached an editor tab of the same
  // room and was stored as the editor's.
  const provider = new WebsocketProvider(wsBase(), room, doc, { params: { token }, awareness: createAwareness(doc), disableBc: true });
  if (options.silent) provider.awareness.setLocalState(null);
  provider.on('closed', (event) => {
    const { code, message } = splitReason(event.reason);
    options.onFatal?.(code, message || `closed (${event.code})`);
  });

  // WebSocket first: no long-polling requests left hanging (and logged as failed) when the
  // server refuses the token; polling stays as the fallback for networks that block WebSockets.
  const socket: EventSocket = io(location.origin, { auth: { token }, transports: ['websocket', 'polling'], tryAllTransports: true });
  socket.on('room:joined', ({ role }) => options.onRole?.(role));
  socket.on('connect_error', (error) => {
    const data = (error as Error & { data?: ConnectErrorData }).data;
    // Refused at the handshake: retrying cannot help. Otherwise Socket.IO keeps retrying itself.
    if (data?.code) {
      socket.disconnect();
      options.onFatal?.(data.code, error.message);
    }
  });

  let closed = false;
  return {
    room,
    token,
    doc,
    provider,
    socket,
    close() {
      if (closed) return;
      closed = true;
      for (const step of [() => socket.disconnect(), () => provider.destroy(), () => doc.destroy()]) {
        try {
          step();
        } catch {
          // keep closing the rest
        }
      }
    },
  };
}
