/**
 * The address a request came from, the same way Fastify computes `request.ip` (TRUST_PROXY), for
 * the places Fastify does not see: WebSocket upgrades and Socket.IO handshakes.
 */
import type { IncomingMessage } from 'node:http';
import proxyAddr from '@fastify/proxy-addr';

export type AddressOf = (req: IncomingMessage) => string;

export function clientAddress(trustProxy: boolean | string): AddressOf {
  if (trustProxy === false) return (req) => req.socket.remoteAddress ?? 'unknown';
  const trust = trustProxy === true ? () => true : proxyAddr.compile(trustProxy.split(',').map((s) => s.trim()));
  return (req) => proxyAddr(req, trust);
}
