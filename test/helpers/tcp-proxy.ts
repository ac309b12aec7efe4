/**
 * A TCP proxy that a test can cut: every connection through it is destroyed and new ones are
 * refused until it is restored (a Redis outage as the nodes see it, without touching the Redis
 * that other tests share).
 */
import net from 'node:net';
import { onCleanup } from './server.js';

export interface Proxy {
  port: number;
  url: string;
  cut(): void;
  restore(): void;
  /**
   * Cuts the moment a client sends bytes that contain `marker`, before they reach the server: the
   * command that carried them is in flight when the connection drops (its reply never comes).
   * Resolves once it cut.
   */
  cutWhenSent(marker: string): Promise<void>;
}

export async function startProxy(targetHost: string, targetPort: number): Promise<Proxy> {
  const sockets = new Set<net.Socket>();
  let open = true;
  let trigger: { marker: Buffer; fire: () => void } | null = null;
  const cut = () => {
    open = false;
    for (const s of sockets) s.destroy();
  };
  const server = net.createServer((client) => {
    if (!open) {
      client.destroy();
      return;
    }
    const upstream = net.connect(targetPort, targetHost);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {});
    }
    client.on('data', (chunk: Buffer) => {
      if (trigger && chunk.includes(trigger.marker)) {
        const { fire } = trigger;
        trigger = null;
        cut();
        fire();
        return;
      }
      if (!upstream.write(chunk)) client.pause();
    });
    upstream.on('drain', () => client.resume());
    upstream.pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  onCleanup(() => {
    for (const s of sockets) s.destroy();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    cut,
    restore() {
      open = true;
    },
    cutWhenSent(marker) {
      return new Promise<void>((resolve) => {
        trigger = { marker: Buffer.from(marker), fire: resolve };
      });
    },
  };
}
