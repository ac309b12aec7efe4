/**
 * Socket.IO on the same HTTP server (default path). The handshake carries `auth: { token }`;
 * each socket joins its room, and the room hears how many editors, viewers and overlays are in.
 * Previews and renders are emitted to the room from their own modules through `io`.
 */
import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyBaseLogger } from 'fastify';
import { Server, type ServerOptions, type Socket } from 'socket.io';
import type { z } from 'zod';
import { ERRORS, ScenecastError, type ErrorCode } from '../../shared/errors.js';
import { CLIENT_EVENT_SCHEMAS } from '../../shared/client-events.js';
import type { ClientToServerEvents, Presence, ServerToClientEvents, SocketData } from '../../shared/protocol.js';
import type { RoomAccess } from '../auth/room-access.js';
import type { Metrics } from '../metrics.js';
import type { AddressOf } from '../net/client-address.js';
import type { ConnectionLimiter } from '../net/connection-limiter.js';
import { refuseUpgrade } from '../net/upgrade-router.js';

export type Io = Server<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;
export type IoSocket = Socket<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;

/** What a client event's handler answers on success (the ack's fields besides `ok`). */
export type ClientEventResult<E extends ClientEventName> =
  Parameters<Parameters<ClientToServerEvents[E]>[1]>[0] extends infer R ? (R extends { ok: true } ? Omit<R, 'ok'> : never) : never;
export type ClientEventName = keyof ClientToServerEvents;

export interface SocketServer {
  io: Io;
  /**
   * Handles a client → server event: its payload is checked against its schema
   * (shared/client-events.ts) first; the handler's result, or its ScenecastError's code and
   * message, goes back in the acknowledgement. Registered by the capability that owns the event.
   */
  handle<E extends ClientEventName>(event: E, handler: (socket: IoSocket, payload: z.output<(typeof CLIENT_EVENT_SCHEMAS)[E]>) => Promise<ClientEventResult<E>>): void;
  /** Tells this node's sockets of `room` for which `which` holds why, and disconnects them. */
  closeWhere(room: string, which: (data: SocketData) => boolean, code: ErrorCode, message: string): Promise<number>;
  /** Path prefix of Socket.IO's upgrades (for the app's upgrade router). */
  upgradePath: string;
  /** Serves a WebSocket upgrade of Socket.IO (the app's upgrade router hands them over). */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, url: URL): void;
  /** Disconnects every socket and stops. Idempotent. */
  close(): Promise<void>;
}

export interface SocketServerOptions {
  /** Token, room and link-generation checks. */
  access: RoomAccess;
  metrics: Metrics;
  log: FastifyBaseLogger;
  /** Called for every socket that joined a room (late joiners get cached previews here). */
  onJoin?: (socket: IoSocket) => void;
  /** Called when a socket leaves. */
  onLeave?: (socket: IoSocket) => void;
  /** Scale-out: the Socket.IO adapter that spans the nodes (the Redis streams adapter). */
  adapter?: ServerOptions['adapter'];
  /** Connections per client address (shared with the Yjs endpoint). */
  limiter: ConnectionLimiter;
  addressOf: AddressOf;
}

/** Socket.IO room name of a scenecast room. */
export const ioRoom = (room: string): string => `room:${room}`;

export function createSocketServer(server: HttpServer, options: SocketServerOptions): SocketServer {
  const { access, metrics, log, limiter, addressOf } = options;
  const before = new Set(server.listeners('upgrade'));
  const io: Io = new Server(server, {
    serveClient: false,
    destroyUpgrade: false,
    maxHttpBufferSize: 64 * 1024,
    // A new connection (either transport) over the per-address limit is refused at the handshake.
    allowRequest: (req, callback) => {
      const allowed = limiter.allows(addressOf(req));
      callback(allowed ? null : 'TOO_MANY_CONNECTIONS', allowed);
    },
    ...(options.adapter ? { adapter: options.adapter } : {}),
  });
  // The app's upgrade router owns the `upgrade` event (it answers paths nobody serves); Socket.IO's
  // own listener is taken off and its upgrades are handed over through handleUpgrade below.
  for (const listener of server.listeners('upgrade')) if (!before.has(listener)) server.off('upgrade', listener as (...args: unknown[]) => void);
  io.engine.on('connection', (raw: { request: IncomingMessage; once(event: 'close', fn: () => void): void }) => {
    raw.once('close', limiter.open(addressOf(raw.request)));
  });
  const upgradePath = `${io.path().replace(/\/$/, '')}/`;
  const handleUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer, url: URL): void => {
    // A new connection (no session id yet) over the limit: a plain 429 before any upgrade.
    if (!url.searchParams.has('sid') && !limiter.allows(addressOf(req))) {
      refuseUpgrade(socket, 'TOO_MANY_CONNECTIONS', `At most ${limiter.max} connections per address`, { 'Retry-After': 10 });
      return;
    }
    io.engine.handleUpgrade(req, socket, head);
  };

  io.use((socket, next) => {
    const auth = socket.handshake.auth as { token?: unknown };
    const token = typeof auth.token === 'string' ? auth.token : (socket.handshake.query.token as string | undefined);
    (async () => {
      const claims = await access.check(token);
      socket.data = { room: claims.room, role: claims.role, epoch: claims.epoch, expiresAt: claims.expiresAt };
    })().then(
      () => next(),
      (error: unknown) => {
        const scenecast = error instanceof ScenecastError ? error : new ScenecastError('INTERNAL');
        if (!(error instanceof ScenecastError)) log.error({ err: error }, 'socket handshake failed');
        const refusal = new Error(scenecast.message) as Error & { data: unknown };
        refusal.data = { code: scenecast.code };
        next(refusal);
      },
    );
  });

  const pending = new Map<string, NodeJS.Timeout>();
  const announcePresence = (room: string): void => {
    if (pending.has(room)) return;
    // Coalesce joins and leaves of one burst into one message.
    pending.set(
      room,
      setTimeout(async () => {
        pending.delete(room);
        const sockets = await io.in(ioRoom(room)).fetchSockets();
        const presence: Presence = { room, editor: 0, viewer: 0, overlay: 0 };
        for (const s of sockets) presence[s.data.role] += 1;
        io.to(ioRoom(room)).emit('room:presence', presence);
      }, 50),
    );
  };

  const closeOne = (socket: { emit: IoSocket['emit']; disconnect: (close?: boolean) => unknown }, code: ErrorCode, message: string): void => {
    socket.emit('room:closed', { code, message });
    socket.disconnect(true);
  };

  const handlers = new Map<ClientEventName, (socket: IoSocket, payload: unknown) => Promise<object>>();
  const handle: SocketServer['handle'] = (event, handler) => {
    handlers.set(event, handler as (socket: IoSocket, payload: unknown) => Promise<object>);
  };
  const listen = (socket: IoSocket): void => {
    for (const [event, handler] of handlers) {
      (socket.on as (event: string, listener: (payload: unknown, ack?: unknown) => void) => void)(event, (payload, ack) => {
        const reply = typeof ack === 'function' ? (ack as (reply: unknown) => void) : () => {};
        const parsed = CLIENT_EVENT_SCHEMAS[event].safeParse(payload);
        if (!parsed.success) {
          const issue = parsed.error.issues[0];
          reply({ ok: false, error: { code: 'INVALID_BODY', message: `${issue?.path.join('.') || event}: ${issue?.message ?? 'invalid'}` } });
          return;
        }
        handler(socket, parsed.data).then(
          (result) => reply({ ok: true, ...result }),
          (error: unknown) => {
            const scenecast = error instanceof ScenecastError ? error : new ScenecastError('INTERNAL');
            if (!(error instanceof ScenecastError)) log.error({ err: error, event }, 'client event failed');
            reply({ ok: false, error: { code: scenecast.code, message: scenecast.message } });
          },
        );
      });
    }
  };

  io.on('connection', (socket) => {
    const { room, role, expiresAt } = socket.data;
    listen(socket);
    if (expiresAt !== null) {
      // A link that expires disconnects its sockets then (at most every 24 days: the timer's range).
      const expiry = setTimeout(() => closeOne(socket, 'TOKEN_EXPIRED', ERRORS.TOKEN_EXPIRED.message), Math.min(expiresAt - Date.now(), 2 ** 31 - 1));
      expiry.unref();
      socket.once('disconnect', () => clearTimeout(expiry));
    }
    metrics.connections.inc({ transport: 'socketio', role });
    void socket.join(ioRoom(room));
    socket.emit('room:joined', { room, role });
    options.onJoin?.(socket);
    announcePresence(room);
    socket.on('disconnect', () => {
      metrics.connections.dec({ transport: 'socketio', role });
      options.onLeave?.(socket);
      announcePresence(room);
    });
  });

  let closing: Promise<void> | null = null;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      for (const timer of pending.values()) clearTimeout(timer);
      pending.clear();
      io.disconnectSockets(true);
      // Not io.close(): that would also close the HTTP server, which Fastify owns.
      io.engine.close();
    })();
    return closing;
  };
  const closeWhere = async (room: string, which: (data: SocketData) => boolean, code: ErrorCode, message: string): Promise<number> => {
    const sockets = await io.local.in(ioRoom(room)).fetchSockets();
    const matching = sockets.filter((s) => which(s.data));
    for (const socket of matching) closeOne(socket, code, message);
    return matching.length;
  };

  return { io, upgradePath, handleUpgrade, handle, closeWhere, close };
}
