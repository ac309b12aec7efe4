/**
 * Who may use a room: a correctly signed, unexpired token (tokens.ts) for a room that exists, of
 * the room's current link generation (rotating the links moves it on: every older token stops
 * working at once, on every node, since the generation is read from the shared directory). One
 * check for HTTP, the Yjs endpoint and Socket.IO.
 */
import { ScenecastError } from '../../shared/errors.js';
import type { RoomDirectory, RoomMeta } from '../ports/room-directory.js';
import type { TokenClaims, TokenSigner } from './tokens.js';

export const epochOf = (meta: RoomMeta): number => meta.epoch ?? 1;

export class RoomAccess {
  constructor(
    readonly tokens: TokenSigner,
    private readonly directory: RoomDirectory,
  ) {}

  /** The claims of `token` for `room` (any room when omitted); throws the coded reason it is refused. */
  async check(token: string | undefined | null, room?: string): Promise<TokenClaims & { meta: RoomMeta }> {
    const claims = room === undefined ? this.tokens.verify(token) : this.tokens.verifyFor(token, room);
    const meta = await this.directory.get(claims.room);
    if (!meta) throw new ScenecastError('ROOM_NOT_FOUND', `No room "${claims.room}"`);
    if (claims.epoch !== epochOf(meta)) throw new ScenecastError('TOKEN_REVOKED');
    return { ...claims, meta };
  }
}
