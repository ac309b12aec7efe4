/**
 * A bare WebSocket speaking bytes to the Yjs endpoint, for protocol-level tests.
 */
import { once } from 'node:events';
import { WebSocket } from 'ws';
import { onCleanup } from './server.js';

export interface RawSocket {
  ws: WebSocket;
  messages: Uint8Array[];
  closed: Promise<{ code: number; reason: string }>;
  /** Resolves with the next message for which `match` holds. */
  next(match?: (data: Uint8Array) => boolean, timeoutMs?: number): Promise<Uint8Array>;
}

export async function openRaw(url: string, headers: Record<string, string> = {}): Promise<RawSocket> {
  const ws = new WebSocket(url, { headers });
  const messages: Uint8Array[] = [];
  const waiters: { match: (d: Uint8Array) => boolean; resolve: (d: Uint8Array) => void }[] = [];
  ws.on('message', (data: Buffer) => {
    const bytes = new Uint8Array(data);
    messages.push(bytes);
    for (const waiter of [...waiters]) {
      if (waiter.match(bytes)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(bytes);
      }
    }
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() }));
  });
  ws.on('error', () => {});
  onCleanup(() => ws.terminate());
  await Promise.race([once(ws, 'open'), closed]);
  return {
    ws,
    messages,
    closed,
    next(match = () => true, timeoutMs = 5000) {
      const seen = messages.find(match);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no matching message')), timeoutMs);
        waiters.push({ match, resolve: (d) => (clearTimeout(timer), resolve(d)) });
      });
    },
  };
}
