/**
 * The one owner of the HTTP server's `upgrade` event. Each WebSocket endpoint registers the path
 * prefix it serves; every other upgrade is answered with an HTTP error (a JSON body in the error
 * shape) and its socket destroyed. Without this an upgrade nobody serves is never answered nor
 * closed, and its socket stays in CLOSE-WAIT after the client goes: one client could exhaust the
 * file descriptors.
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { ScenecastError, type ErrorCode } from '../../shared/errors.js';

export type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer, url: URL) => void;

/** Writes an HTTP error response on a raw socket (before any upgrade) and destroys the socket. */
export function refuseUpgrade(socket: Duplex, code: ErrorCode, message?: string, headers: Record<string, string | number> = {}): void {
  const error = new ScenecastError(code, message);
  const body = JSON.stringify(error.toBody());
  const lines = [
    `HTTP/1.1 ${error.status} ${STATUS_TEXT[error.status] ?? 'Error'}`,
    'Connection: close',
    'Content-Type: application/json; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(body)}`,
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
  ];
  if (socket.writable) socket.end(`${lines.join('\r\n')}\r\n\r\n${body}`);
  // end() flushes then closes; destroy soon after in case the peer never reads.
  setTimeout(() => socket.destroy(), 1000).unref();
}

const STATUS_TEXT: Record<number, string> = { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 429: 'Too Many Requests', 503: 'Service Unavailable' };

export class UpgradeRouter {
  readonly #routes: { prefix: string; handler: UpgradeHandler }[] = [];
  #server: Server | null = null;
  #closed = false;

  /** Serves upgrades whose path starts with `prefix` (e.g. `/yjs/`). */
  route(prefix: string, handler: UpgradeHandler): void {
    this.#routes.push({ prefix, handler });
  }

  attach(server: Server): void {
    this.#server = server;
    server.on('upgrade', this.#onUpgrade);
  }

  #onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    // A socket error before or after the upgrade must never become an uncaught exception.
    socket.on('error', () => socket.destroy());
    if (this.#closed) {
      refuseUpgrade(socket, 'SHUTTING_DOWN');
      return;
    }
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
    } catch {
      refuseUpgrade(socket, 'INVALID_PARAMS', 'The request path is not a valid URL');
      return;
    }
    const route = this.#routes.find((r) => url.pathname.startsWith(r.prefix));
    if (!route) {
      refuseUpgrade(socket, 'UPGRADE_NOT_SERVED', `No WebSocket endpoint at ${url.pathname.slice(0, 100)}`);
      return;
    }
    try {
      route.handler(req, socket, head, url);
    } catch (error) {
      refuseUpgrade(socket, error instanceof ScenecastError ? error.code : 'INTERNAL');
    }
  };

  /** Refuses every further upgrade (503); idempotent. */
  close(): void {
    this.#closed = true;
  }

  detach(): void {
    this.#server?.off('upgrade', this.#onUpgrade);
  }
}
