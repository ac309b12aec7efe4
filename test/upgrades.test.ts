import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { CLOSE } from '../shared/protocol.js';
import { openRaw } from './helpers/raw-ws.js';
import { startServer, within } from './helpers/server.js';
import { connectError, connectSocket, nextEvent } from './helpers/socket-client.js';

interface RawAnswer {
  status: number;
  body: string;
  /** The server closed the connection after answering. */
  ended: boolean;
}

/** Sends a bare WebSocket upgrade request for `path` and reads what comes back until the server closes. */
function rawUpgrade(port: number, path: string): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let data = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (data += chunk));
    socket.on('error', reject);
    socket.on('connect', () =>
      socket.write(
        `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
      ),
    );
    socket.on('end', () => {
      const [head = '', body = ''] = data.split('\r\n\r\n');
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0);
      socket.destroy();
      resolve({ status, body, ended: true });
    });
  });
}

describe('WebSocket upgrades', () => {
  it('answers every upgrade it does not serve with an HTTP error and closes the socket', async () => {
    const server = await startServer();
    const port = Number(new URL(server.url).port);
    const answers = await within(
      '300 unserved upgrades answered',
      20_000,
      Promise.all(Array.from({ length: 300 }, (_, i) => rawUpgrade(port, i % 2 ? `/nope/${i}` : `/ws?x=${i}`))),
    );
    for (const answer of answers) {
      expect(answer).toMatchObject({ status: 404, ended: true });
      expect(JSON.parse(answer.body)).toEqual({ error: { code: 'UPGRADE_NOT_SERVED', message: expect.stringMatching(/^No WebSocket endpoint at \//) } });
    }
    // Nothing is left open on the server side once the clients have gone.
    await within(
      'server sockets closed',
      5000,
      (async () => {
        for (;;) {
          const open = await new Promise<number>((resolve, reject) => server.app.server.getConnections((e, n) => (e ? reject(e) : resolve(n))));
          if (open === 0) return;
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      })(),
    );
  });

  it('answers a malformed percent-encoding in the room path with 400, without an unhandled rejection', async () => {
    const server = await startServer();
    const room = await server.createRoom();
    const port = Number(new URL(server.url).port);
    const answer = await within('malformed path answered', 5000, rawUpgrade(port, `/yjs/%E0%A4%A?token=${room.tokens.editor}`));
    expect(answer.status).toBe(400);
    expect(JSON.parse(answer.body).error.code).toBe('INVALID_PARAMS');
    // The endpoint still serves well-formed requests.
    const ok = await openRaw(`${server.wsUrl}/yjs/${room.room}?token=${room.tokens.editor}`);
    await ok.next();
  });

  it('caps connections per client address: 4429 for Yjs, 429 for Socket.IO, and frees the slot on close', async () => {
    const server = await startServer({ maxConnectionsPerIp: 4 });
    const room = await server.createRoom();
    const url = `${server.wsUrl}/yjs/${room.room}?token=${room.tokens.editor}`;
    const open = await Promise.all(Array.from({ length: 3 }, () => openRaw(url)));
    await Promise.all(open.map((c) => c.next()));
    const socket = connectSocket(server.url, room.tokens.viewer);
    await nextEvent(socket, 'room:joined');

    // Yjs and Socket.IO share the limit: the fifth connection of either kind is refused.
    const refused = await openRaw(url);
    const closed = await refused.closed;
    expect(closed.code).toBe(CLOSE.TOO_MANY_CONNECTIONS);
    expect(closed.reason).toMatch(/^TOO_MANY_CONNECTIONS: at most 4 connections per address/);
    const port = Number(new URL(server.url).port);
    const sio = await rawUpgrade(port, '/socket.io/?EIO=4&transport=websocket');
    expect(sio.status).toBe(429);
    expect(JSON.parse(sio.body).error.code).toBe('TOO_MANY_CONNECTIONS');
    const second = connectSocket(server.url, room.tokens.viewer);
    expect((await connectError(second)).message).toMatch(/websocket error/);

    // One leaves: a new one is let in.
    open[0]!.ws.close();
    await open[0]!.closed;
    const again = await openRaw(url);
    await again.next();
    expect(again.ws.readyState).toBe(again.ws.OPEN);
  });
});
