/**
 * Audience suggestions over HTTP (POST /api/rooms/:room/suggestions) and over the socket
 * (`suggestion:submit`): overlay or editor tokens; the rules are suggestions.ts's.
 */
import type { FastifyPluginAsync } from 'fastify';
import { SuggestionBody } from '../../shared/client-events.js';
import { ScenecastError } from '../../shared/errors.js';
import type { AppContext } from '../app-context.js';
import { authorize } from '../http/request-auth.js';
import { parseOr } from '../http/room-routes.js';
import type { Suggestions } from './suggestions.js';
import { z } from 'zod';

const Params = z.object({ room: z.string().min(1).max(64) });
const MAY_SUGGEST = ['overlay', 'editor'] as const;

/** The suggestions capability: its HTTP route and its socket event. */
export const suggestionsPlugin: FastifyPluginAsync<{ ctx: AppContext; suggestions: Suggestions }> = async (app, { ctx, suggestions }) => {
  app.post('/api/rooms/:room/suggestions', async (request, reply) => {
    const { room } = parseOr(Params, request.params, 'INVALID_PARAMS');
    const claims = await authorize(request, room, ctx, MAY_SUGGEST);
    const body = SuggestionBody.safeParse(request.body ?? {});
    if (!body.success) throw new ScenecastError('SUGGESTION_INVALID', body.error.issues[0]?.message ?? 'invalid suggestion');
    try {
      const suggestion = await suggestions.submit(room, { address: request.ip, role: claims.role }, body.data);
      return await reply.status(201).send({ suggestion });
    } catch (error) {
      const retryAfterS = (error as { retryAfterS?: number }).retryAfterS;
      if (retryAfterS !== undefined) reply.header('Retry-After', retryAfterS);
      throw error;
    }
  });

  ctx.realtime.handle('suggestion:submit', async (socket, payload) => {
    const { room, role } = socket.data;
    if (!(MAY_SUGGEST as readonly string[]).includes(role)) throw new ScenecastError('ROLE_FORBIDDEN', `A ${role} token may not suggest`);
    const suggestion = await suggestions.submit(room, { address: ctx.addressOf(socket.request), role }, payload);
    return { suggestion };
  });
};
