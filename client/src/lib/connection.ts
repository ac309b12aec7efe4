/**
 * One room's two connections: the scene document over y-websocket (`/yjs/:room`) and the event
 * stream over Socket.IO (previews, renders, suggestions, presence counts). `close()` is idempotent
 * and runs every step even when one throws.
 *
 * The server ends a page's access for good in three ways, all reported once through `onFatal`:
 * a WebSocket close 4400-4499 (`CODE: message`, e.g. 4401 TOKEN_REVOKED, 4404 ROOM_DELETED, 4413
 * DOC_TOO_LARGE), Socket.IO's `room:closed` (sent just before it disconnects), or a refused
 * Socket.IO handshake. Either way both connections stop and nothing reconnects: the same token
 * cannot work again, and after a 4413 a reconnect would send the refused edit again (and again).
 */
import { io, type Socket } from 'socket.io-client';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';
import type { ClientToServerEvents, ConnectErrorData, Role, ServerToClientEvents } from '../../../shared/protocol.js';
import { createAwareness } from './awareness.js';

export type EventSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

export interface RoomConnection {
  room: string;
  /** The token both connections use now (`resume` may change it). */
  readonly token: string;
  doc: Y.Doc;
  provider: WebsocketProvider;
  socket: EventSocket;
  /**
   * Stops both connections; the document stays, and local edits wait in it. For a token switch:
   * pause before the old token is revoked, so the revocation is not taken for the end of the page.
   */
  pause(): void;
  /**
   * Connects both again (with `token` when given), on the same document: the Yjs sync exchanges
   * whatever either side missed, so edits made while paused arrive. No-op once ended or closed.
   */
  resume(token?: string): void;
  close(): void;
}

export interface ConnectOptions {
  room: string;
  token: string;
  /** Publish no awareness state (overlay pages are not people). */
  silent?: boolean;
  /** The server refused us for good (bad token, links replaced or expired, room deleted, edit too large, …): code and message. Called once. */
  onFatal?: (code: string, message: string) => void;
  onRole?: (role: Role) => void;
}

/**
 * Codes after which the room is over for this page (its link no longer opens it), as opposed to
 * an error the page can still be looked at with (DOC_TOO_LARGE: the scene stays, read-only).
 */
export const ROOM_ENDED = new Set(['TOKEN_REVOKED', 'TOKEN_EXPIRED', 'ROOM_DELETED', 'ROOM_NOT_FOUND']);

const wsBase = (): string => `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/yjs`;

/** WebSocket close reasons are "CODE: message" (server/collab/endpoint.ts). */
function splitReason(reason: string): { code: string; message: string } {
  const match = /^([A-Z_]+): (.*)$/s.exec(reason);
  return match ? { code: match[1]!, message: match[2]! } : { code: '', message: reason };
}

/**
 * 4400-4499 are the server's "the request itself is wrong" closes (shared/protocol.ts CLOSE):
 * never reconnect after one. y-websocket 3's default says the same; stated here so the page does
 * not depend on that default (earlier releases reconnected after anything).
 */
const shouldReconnect = (event: CloseEvent): boolean => !(event.code >= 4400 && event.code < 4500);

export function connect(options: ConnectOptions): RoomConnection {
  const { room } = options;
  let token = options.token;
  const doc = new Y.Doc();
  // Tabs do not relay for each other (disableBc): each syncs with the server, which knows its
  // role. Over BroadcastChannel a read-only tab's local change reached an editor tab of the same
  // room and was stored as the editor's.
  const provider = new WebsocketProvider(wsBase(), room, doc, { params: { token }, awareness: createAwareness(doc), disableBc: true, shouldReconnect });
  if (options.silent) provider.awareness.setLocalState(null);

  // WebSocket first: no long-polling requests left hanging (and logged as failed) when the
  // server refuses the token; polling stays as the fallback for networks that block WebSockets.
  const socket: EventSocket = io(location.origin, { auth: { token }, transports: ['websocket', 'polling'], tryAllTransports: true });

  let ended = false;
  let closed = false;
  const end = (code: string, message: string): void => {
    if (ended || closed) return;
    ended = true;
    provider.disconnect();
    socket.disconnect();
    options.onFatal?.(code, message);
  };

  // Only the server's closes reach here (y-websocket emits `closed` when shouldReconnect says no).
  provider.on('closed', (event) => {
    const { code, message } = splitReason(event.reason);
    end(code, message || `closed (${event.code})`);
  });
  socket.on('room:joined', ({ role }) => options.onRole?.(role));
  // The server disconnects right after this; Socket.IO would not reconnect, but the Yjs side may
  // not have heard yet (and one page should not wait for the other connection to be told).
  socket.on('room:closed', ({ code, message }) => end(code, message));
  socket.on('connect_error', (error) => {
    const data = (error as Error & { data?: ConnectErrorData }).data;
    // Refused at the handshake: retrying cannot help. Otherwise Socket.IO keeps retrying itself.
    if (data?.code) end(data.code, error.message);
  });

  return {
    room,
    get token() {
      return token;
    },
    doc,
    provider,
    socket,
    pause() {
      if (ended || closed) return;
      provider.disconnect();
      socket.disconnect();
    },
    resume(next) {
      if (ended || closed) return;
      if (next) {
        token = next;
        // Both read these on their next connection (y-websocket: `params` may be changed at any time).
        provider.params = { ...provider.params, token };
        socket.auth = { token };
      }
      provider.connect();
      socket.connect();
    },
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
