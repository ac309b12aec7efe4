import type { FastifyRequest } from 'fastify';
import { ScenecastError } from '../../shared/errors.js';
import type { Role } from '../../shared/protocol.js';
import type { RoomAccess } from '../auth/room-access.js';
import { tokenFrom } from '../auth/tokens.js';

/** Checks the request's token against `room` (and `roles` when given): signature, expiry, the room, its link generation. */
export async function authorize(request: FastifyRequest, room: string, deps: { access: RoomAccess }, roles?: readonly Role[]) {
  const query = new URLSearchParams(request.url.split('?')[1] ?? '');
  const claims = await deps.access.check(tokenFrom(request.headers, query), room);
  if (roles && !roles.includes(claims.role)) {
    throw new ScenecastError('ROLE_FORBIDDEN', `A ${claims.role} token may not do this; it needs: ${roles.join(' or ')}`);
  }
  return claims;
}
