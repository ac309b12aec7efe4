import type { FastifyRequest } from 'fastify';
import { ScenecastError } from '../../shared/errors.js';
import type { Role } from '../../shared/protocol.js';
import { tokenFrom, type TokenClaims, type TokenSigner } from '../auth/tokens.js';
import type { RoomDirectory } from '../rooms/directory.js';

/** Checks the request's token against `room` (and `roles` when given) and that the room exists. */
export async function authorize(
  request: FastifyRequest,
  room: string,
  deps: { tokens: TokenSigner; directory: RoomDirectory },
  roles?: readonly Role[],
): Promise<TokenClaims> {
  const query = new URLSearchParams(request.url.split('?')[1] ?? '');
  const claims = deps.tokens.verifyFor(tokenFrom(request.headers, query), room);
  if (roles && !roles.includes(claims.role)) {
    throw new ScenecastError('ROLE_FORBIDDEN', `A ${claims.role} token may not do this; it needs: ${roles.join(' or ')}`);
  }
  if (!(await deps.directory.get(room))) throw new ScenecastError('ROOM_NOT_FOUND', `No room "${room}"`);
  return claims;
}
