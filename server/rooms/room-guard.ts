/**
 * Carries out room control events on this node (room-control.ts): after a rotation, connections
 * of an older link generation are closed (4401 TOKEN_REVOKED; Socket.IO: `room:closed`, then a
 * disconnect); after a deletion every connection of the room is closed (4404 ROOM_DELETED), the
 * room leaves memory without being written again, and its previews are forgotten. Since pub/sub
 * can miss a message, the directory entries of the rooms loaded here are also checked every
 * `checkMs`. Idempotent: an event may arrive twice (published here and heard back from Redis).
 */
import type { FastifyBaseLogger } from 'fastify';
import { ERRORS } from '../../shared/errors.js';
import { CLOSE } from '../../shared/protocol.js';
import { epochOf } from '../auth/room-access.js';
import { reasonText, type CollabEndpoint } from '../collab/endpoint.js';
import type { RoomManager } from '../collab/room-manager.js';
import type { SocketServer } from '../realtime/socket-server.js';
import type { RoomDirectory } from '../ports/room-directory.js';
import type { RoomControl, RoomControlEvent } from '../ports/room-control.js';

export interface RoomGuardOptions {
  control: RoomControl;
  directory: RoomDirectory;
  rooms: RoomManager;
  collab: CollabEndpoint;
  realtime: SocketServer;
  /** Forgets what the previews keep of a deleted room. */
  forgetPreviews?: (room: string) => Promise<void>;
  log: FastifyBaseLogger;
  /** How often loaded rooms are checked against the directory (ms, default 15 s). */
  checkMs?: number;
}

export class RoomGuard {
  readonly #unsubscribe: () => void;
  readonly #timer: NodeJS.Timeout;

  constructor(private readonly options: RoomGuardOptions) {
    this.#unsubscribe = options.control.subscribe((event) => void this.apply(event).catch((error: unknown) => options.log.warn({ err: error, event }, 'room control event failed')));
    this.#timer = setInterval(() => void this.#check(), options.checkMs ?? 15_000);
    this.#timer.unref();
  }

  /** Carries out one event on this node; resolves when done. */
  async apply(event: RoomControlEvent): Promise<void> {
    const { collab, realtime, rooms } = this.options;
    if (event.type === 'revoked') {
      const older = (peer: { epoch: number }) => peer.epoch < event.epoch;
      collab.closeWhere(event.room, older, CLOSE.BAD_TOKEN, reasonText('TOKEN_REVOKED', 'the links of this room were replaced'));
      await realtime.closeWhere(event.room, older, 'TOKEN_REVOKED', ERRORS.TOKEN_REVOKED.message);
      return;
    }
    const all = () => true;
    collab.closeWhere(event.room, all, CLOSE.UNKNOWN_ROOM, reasonText('ROOM_DELETED', 'the room was deleted'));
    await realtime.closeWhere(event.room, all, 'ROOM_DELETED', ERRORS.ROOM_DELETED.message);
    await this.options.forgetPreviews?.(event.room);
    await rooms.discard(event.room, CLOSE.UNKNOWN_ROOM, reasonText('ROOM_DELETED', 'the room was deleted'));
  }

  /** A missed event still takes effect: loaded rooms that are gone or rotated are handled now. */
  async #check(): Promise<void> {
    for (const room of this.options.rooms.loadedIds) {
      try {
        const meta = await this.options.directory.get(room);
        if (!meta) await this.apply({ type: 'deleted', room });
        else if (epochOf(meta) > 1) await this.apply({ type: 'revoked', room, epoch: epochOf(meta) });
      } catch {
        // the directory cannot be read right now: try again next time
      }
    }
  }

  close(): void {
    this.#unsubscribe();
    clearInterval(this.#timer);
  }
}
