/**
 * Audience suggestions: POST /api/rooms/:room/suggestions (overlay token; also editors), rate
 * limited per client, moderated like prompts. An accepted suggestion is appended to the room's
 * document (`suggestions`, origin server) and announced to the room (`suggestion`); editors then
 * accept (it shows on the overlay), dismiss it, or turn it into a shot.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { ScenecastError } from '../../shared/errors.js';
import { SUGGESTION_LIMITS, suggestionsOf, type Suggestion } from '../../shared/scene-doc.js';
import type { AppContext } from '../app-context.js';
import { ORIGIN } from '../collab/origins.js';
import { authorize } from '../http/request-auth.js';
import { parseOr } from '../http/room-routes.js';
import { ioRoom } from '../realtime/socket-server.js';
import type { RateLimiter } from '../ports/rate-limiter.js';

const Body = z
  .object({
    text: z.string().trim().min(1).max(SUGGESTION_LIMITS.textChars),
    author: z.string().trim().max(SUGGESTION_LIMITS.authorChars).optional(),
  })
  .strict();
const Params = z.object({ room: z.string().min(1).max(64) });

/** Suggestions kept in a room's document; older ones are dropped first. */
const MAX_KEPT = 200;

export function suggestionRoutes(app: FastifyInstance, ctx: AppContext, limiter: RateLimiter): void {
  app.post('/api/rooms/:room/suggestions', async (request, reply) => {
    const { room } = parseOr(Params, request.params, 'INVALID_PARAMS');
    const claims = await authorize(request, room, ctx, ['overlay', 'editor']);
    const body = Body.safeParse(request.body ?? {});
    if (!body.success) throw new ScenecastError('SUGGESTION_INVALID', body.error.issues[0]?.message ?? 'invalid suggestion');
    const waitMs = await limiter.take(`${room}:${request.ip}:${claims.role}`);
    if (waitMs > 0) {
      reply.header('Retry-After', Math.ceil(waitMs / 1000));
      throw new ScenecastError('RATE_LIMITED', `Too many suggestions from you; try again in ${Math.ceil(waitMs / 1000)} s`);
    }
    await ctx.policy.enforce(`${body.data.text}\n${body.data.author ?? ''}`, 'Your suggestion');
    const suggestion: Suggestion = {
      id: `s${randomBytes(6).toString('hex')}`,
      text: body.data.text,
      author: body.data.author || 'anonymous',
      at: Date.now(),
    };
    await ctx.rooms.with(room, (loaded) =>
      loaded.change((doc) => {
        const list = suggestionsOf(doc);
        list.push([suggestion]);
        if (list.length > MAX_KEPT) list.delete(0, list.length - MAX_KEPT);
      }, ORIGIN.server),
    );
    ctx.realtime.io.to(ioRoom(room)).emit('suggestion', suggestion);
    return reply.status(201).send({ suggestion });
  });
}
