/**
 * ws://HOST/yjs/:room?token=… : the y-websocket protocol over `ws`. Stages of a connection:
 *   upgrade (400 for an undecodable path) → per-address limit (4429) → check token (4401/4403)
 *   → load room (4404/4503/4500) → join → messages → leave.
 * Messages that arrive while the room loads are queued and handled in order afterwards.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyBaseLogger } from 'fastify';
import { WebSocket, WebSocketServer } from 'ws';
import { ERRORS, ScenecastError, type ErrorCode } from '../../shared/errors.js';
import { CLOSE, canWrite, type Role } from '../../shared/protocol.js';
import type { RoomAccess } from '../auth/room-access.js';
import { tokenFrom } from '../auth/tokens.js';
import type { Metrics } from '../metrics.js';
import type { AddressOf } from '../net/client-address.js';
import type { ConnectionLimiter } from '../net/connection-limiter.js';
import { refuseUpgrade } from '../net/upgrade-router.js';
import { KEEPALIVE, MalformedMessage } from './messages.js';
import type { Peer } from './origins.js';
import type { Room } from './room.js';
import type { RoomManager } from './room-manager.js';

export interface CollabEndpointOptions {
  rooms: RoomManager;
  /** Token, room and link-generation checks. */
  access: RoomAccess;
  metrics: Metrics;
  log: FastifyBaseLogger;
  maxMessageBytes: number;
  maxBufferedBytes: number;
  /** Connections per client address (shared with Socket.IO). */
  limiter: ConnectionLimiter;
  addressOf: AddressOf;
  /** Ping interval (ms); a connection that misses a pong is dropped. Default 30 s. */
  pingMs?: number;
  /** A peer that was sent nothing for this long gets a no-op message (the client's watchdog wants one every 30 s). */
  keepaliveMs?: number;
}

const CODE_TO_CLOSE: Partial<Record<ErrorCode, number>> = {
  TOKEN_MISSING: CLOSE.BAD_TOKEN,
  TOKEN_INVALID: CLOSE.BAD_TOKEN,
  TOKEN_WRONG_ROOM: CLOSE.FORBIDDEN,
  TOKEN_EXPIRED: CLOSE.BAD_TOKEN,
  TOKEN_REVOKED: CLOSE.BAD_TOKEN,
  ROOM_DELETED: CLOSE.UNKNOWN_ROOM,
  ROLE_FORBIDDEN: CLOSE.FORBIDDEN,
  ROOM_NOT_FOUND: CLOSE.UNKNOWN_ROOM,
  ROOMS_AT_CAPACITY: CLOSE.AT_CAPACITY,
  ROOM_STORAGE_ERROR: CLOSE.STORAGE_ERROR,
  SHUTTING_DOWN: CLOSE.GOING_AWAY,
};

/** A close reason is at most 123 bytes. */
export const reasonText = (code: string, message: string): string => Buffer.from(`${code}: ${message}`).subarray(0, 123).toString();

/** Bytes a client may send before its room is loaded (they wait in memory meanwhile). */
const MAX_QUEUED_BYTES = 8 * 1024 * 1024;

/** What the endpoint knows of a connection when asked to close some (closeWhere). */
export interface PeerInfo {
  room: string;
  role: Role;
  /** The link generation of its token. */
  epoch: number;
}

let nextPeer = 0;

class WsPeer implements Peer, PeerInfo {
  readonly label: string;
  readonly canWrite: boolean;
  lastSentAt = performance.now();
  alive = true;
  expiry: NodeJS.Timeout | null = null;

  constructor(
    readonly ws: WebSocket,
    readonly role: Role,
    readonly room: string,
    readonly epoch: number,
    private readonly options: CollabEndpointOptions,
  ) {
    this.canWrite = canWrite(role);
    this.label = `${room}#${++nextPeer}(${role})`;
  }

  send(data: Uint8Array): void {
    if (this.ws.readyState !== WebSocket.OPEN) return;
    if (this.ws.bufferedAmount > this.options.maxBufferedBytes) {
      // Document updates cannot be skipped; a reconnect resyncs the client from the current state.
      this.close(CLOSE.CLIENT_TOO_SLOW, reasonText('CLIENT_TOO_SLOW', 'too far behind; reconnect to resync'));
      return;
    }
    this.lastSentAt = performance.now();
    this.ws.send(data);
  }

  close(code: number, reason: string): void {
    if (this.ws.readyState === WebSocket.CLOSED || this.ws.readyState === WebSocket.CLOSING) return;
    this.options.metrics.wsClosed.inc({ code: String(code) });
    this.ws.close(code, reason);
  }
}

export class CollabEndpoint {
  readonly #options: CollabEndpointOptions;
  readonly #wss: WebSocketServer;
  readonly #peers = new Set<WsPeer>();
  readonly #timer: NodeJS.Timeout;
  #closed = false;

  constructor(options: CollabEndpointOptions) {
    this.#options = options;
    this.#wss = new WebSocketServer({ noServer: true, maxPayload: options.maxMessageBytes, perMessageDeflate: false });
    const pingMs = options.pingMs ?? 30_000;
    const keepaliveMs = options.keepaliveMs ?? 10_000;
    this.#timer = setInterval(() => this.#tick(pingMs, keepaliveMs), Math.min(pingMs, keepaliveMs) / 2);
    this.#timer.unref();
  }

  #lastPing = performance.now();

  /** Pings every `pingMs` (dropping peers that missed the last pong) and sends keepalives. */
  #tick(pingMs: number, keepaliveMs: number): void {
    const now = performance.now();
    const ping = now - this.#lastPing >= pingMs;
    if (ping) this.#lastPing = now;
    for (const peer of this.#peers) {
      if (ping) {
        if (!peer.alive) {
          peer.ws.terminate();
          continue;
        }
        peer.alive = false;
        peer.ws.ping();
      }
      if (now - peer.lastSentAt >= keepaliveMs) peer.send(KEEPALIVE);
    }
  }

  /** Serves an upgrade of /yjs/… (the app's upgrade router hands them over). */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, url: URL): void {
    if (this.#closed) {
      refuseUpgrade(socket, 'SHUTTING_DOWN');
      return;
    }
    let roomId: string;
    try {
      roomId = decodeURIComponent(url.pathname.slice('/yjs/'.length)).replace(/\/$/, '');
    } catch {
      refuseUpgrade(socket, 'INVALID_PARAMS', 'The room in the path is not valid percent-encoding');
      return;
    }
    const address = this.#options.addressOf(req);
    this.#wss.handleUpgrade(req, socket, head, (ws) => {
      // Over the limit: upgraded only to say why with a close code the stock client reports.
      if (!this.#options.limiter.allows(address)) {
        this.#options.metrics.wsClosed.inc({ code: String(CLOSE.TOO_MANY_CONNECTIONS) });
        ws.close(CLOSE.TOO_MANY_CONNECTIONS, reasonText('TOO_MANY_CONNECTIONS', `at most ${this.#options.limiter.max} connections per address`));
        return;
      }
      const release = this.#options.limiter.open(address);
      ws.once('close', release);
      void this.#onConnection(ws, req, url, roomId);
    });
  }

  async #onConnection(ws: WebSocket, req: IncomingMessage, url: URL, roomId: string): Promise<void> {
    const { rooms, access, metrics, log } = this.#options;
    const queued: Buffer[] = [];
    let queuedBytes = 0;
    let room: Room | null = null;
    let peer: WsPeer | null = null;
    let closed = false;

    ws.on('error', (error) => log.debug({ err: error, room: roomId }, 'yjs socket error'));
    ws.on('message', (data, isBinary) => {
      const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
      if (!isBinary) {
        refuse(CLOSE.MALFORMED, 'MESSAGE_MALFORMED', 'text frames are not part of the protocol');
        return;
      }
      if (room && peer) handle(bytes);
      else if ((queuedBytes += bytes.length) > MAX_QUEUED_BYTES) refuse(CLOSE.MALFORMED, 'MESSAGE_MALFORMED', 'too much sent before the room was ready');
      else queued.push(bytes);
    });
    ws.on('pong', () => {
      if (peer) peer.alive = true;
    });
    ws.on('close', () => {
      closed = true;
      if (peer) {
        if (peer.expiry) clearTimeout(peer.expiry);
        this.#peers.delete(peer);
        metrics.connections.dec({ transport: 'yjs', role: peer.role });
        room?.leave(peer);
      }
      if (room) rooms.release(room);
    });

    const refuse = (code: number, errorCode: ErrorCode, message: string): void => {
      metrics.wsClosed.inc({ code: String(code) });
      if (ws.readyState === WebSocket.OPEN) ws.close(code, reasonText(errorCode, message));
    };

    const handle = (bytes: Buffer): void => {
      if (!room || !peer) return;
      try {
        room.receive(peer, bytes);
      } catch (error) {
        if (!(error instanceof MalformedMessage)) throw error;
        log.warn({ room: roomId, peer: peer.label, reason: error.message, bytes: bytes.length }, 'malformed message; closing the connection');
        refuse(CLOSE.MALFORMED, 'MESSAGE_MALFORMED', error.message);
      }
    };

    let claims: Awaited<ReturnType<RoomAccess['check']>>;
    try {
      claims = await access.check(tokenFrom(req.headers, url.searchParams), roomId);
      if (closed) return;
      const acquired = await rooms.acquire(roomId);
      if (closed) {
        rooms.release(acquired);
        return;
      }
      room = acquired;
    } catch (error) {
      const scenecast = error instanceof ScenecastError ? error : new ScenecastError('INTERNAL');
      if (!(error instanceof ScenecastError)) log.error({ err: error, room: roomId }, 'yjs connection failed');
      refuse(CODE_TO_CLOSE[scenecast.code] ?? 1011, scenecast.code, scenecast.message);
      return;
    }

    const { role } = claims;
    peer = new WsPeer(ws, role, roomId, claims.epoch, this.#options);
    if (claims.expiresAt !== null) {
      const open = peer;
      // A link that expires closes its connections then (at most every 24 days: the timer's range).
      open.expiry = setTimeout(() => open.close(CLOSE.BAD_TOKEN, reasonText('TOKEN_EXPIRED', ERRORS.TOKEN_EXPIRED.message)), Math.min(claims.expiresAt - Date.now(), 2 ** 31 - 1));
      open.expiry.unref();
    }
    this.#peers.add(peer);
    metrics.connections.inc({ transport: 'yjs', role });
    room.join(peer);
    for (const bytes of queued.splice(0)) handle(bytes);
  }

  /** Closes this node's connections of `room` for which `which` holds (a rotation, a deletion). */
  closeWhere(room: string, which: (peer: PeerInfo) => boolean, code: number, reason: string): number {
    let closed = 0;
    for (const peer of this.#peers) {
      if (peer.room !== room || !which(peer)) continue;
      peer.close(code, reason);
      closed++;
    }
    return closed;
  }

  get connectionCount(): number {
    return this.#peers.size;
  }

  /** Stops taking connections and closes the open ones (1001). Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    for (const peer of this.#peers) peer.close(CLOSE.GOING_AWAY, 'server shutting down');
    this.#wss.close();
  }
}
