import type { Role } from '../../shared/protocol.js';

/**
 * Transaction origins: who made a change to a room's Y.Doc. User edits carry their connection
 * (a Peer) as origin; the others use these markers. Only user edits feed the preview debounce.
 */
export const ORIGIN = {
  /** Replaying stored updates while loading. */
  persistence: Symbol('persistence'),
  /** The server itself (suggestions, scene written through HTTP). */
  server: Symbol('server'),
  /** An update another server process stored (scale-out): already durable, only fanned out here. */
  remote: Symbol('remote'),
} as const;

/** What a room needs from a connection, whatever the transport. */
export interface Peer {
  readonly label: string;
  /** The role of the connection's token (what others are shown, whatever the client claims). */
  readonly role: Role;
  readonly canWrite: boolean;
  send(data: Uint8Array): void;
  close(code: number, reason: string): void;
}

export const isPeer = (origin: unknown): origin is Peer =>
  typeof origin === 'object' && origin !== null && 'send' in origin && 'canWrite' in origin;
