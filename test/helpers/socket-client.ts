import { io, type Socket } from 'socket.io-client';
import type { ClientToServerEvents, ServerToClientEvents } from '../../shared/protocol.js';
import { onCleanup } from './server.js';

export type ClientSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

export function connectSocket(url: string, token: string | undefined, options: { reconnection?: boolean } = {}): ClientSocket {
  const socket: ClientSocket = io(url, { auth: token === undefined ? {} : { token }, transports: ['websocket'], reconnection: options.reconnection ?? false, forceNew: true });
  onCleanup(() => void socket.disconnect());
  return socket;
}

/** Resolves with the payload of the next `event` for which `match` holds. */
export function nextEvent<E extends keyof ServerToClientEvents>(
  socket: ClientSocket,
  event: E,
  match: (...args: Parameters<ServerToClientEvents[E]>) => boolean = () => true,
  timeoutMs = 10_000,
): Promise<Parameters<ServerToClientEvents[E]>[0]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.off(event, handler as never);
      reject(new Error(`no ${String(event)} event`));
    }, timeoutMs);
    const handler = (...args: Parameters<ServerToClientEvents[E]>) => {
      if (!match(...args)) return;
      clearTimeout(timer);
      socket.off(event, handler as never);
      resolve(args[0]);
    };
    socket.on(event, handler as never);
  });
}

export function connectError(socket: ClientSocket): Promise<Error & { data?: { code?: string } }> {
  return new Promise((resolve) => socket.once('connect_error', (error) => resolve(error as Error & { data?: { code?: string } })));
}
