import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { ScenecastError } from '../../shared/errors.js';
import type { CreateRoomRequest } from '../../shared/protocol.js';
import { readScene } from '../../shared/scene-doc.js';
import { LIMITS, type SceneInput } from '../../shared/scene.js';
import type { AppContext } from '../app-context.js';
import { createRoom, shareLinks } from '../rooms/create-room.js';
import { deleteRoom } from '../rooms/delete-room.js';
import type { RateLimiter } from '../ports/rate-limiter.js';
import { authorize } from './request-auth.js';

const CreateRoomBody = z
  .object({
    title: z.string().max(LIMITS.titleChars).optional(),
    scene: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();

const RoomParams = z.object({ room: z.string().min(1).max(64) });

/** Viewer and overlay links that stop working after this many hours (a year at most). */
const expiresInHours = z.coerce.number().positive().max(24 * 366).optional();
const LinksQuery = z.object({ expiresInHours, token: z.string().optional() });
const RotateBody = z.object({ expiresInHours }).strict();
const expiryOf = (hours: number | undefined): number | null => (hours === undefined ? null : Date.now() + hours * 3_600_000);

export function parseOr<T>(schema: z.ZodType<T>, value: unknown, code: 'INVALID_BODY' | 'INVALID_PARAMS'): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const where = issue?.path.length ? `${issue.path.join('.')}: ` : '';
  throw new ScenecastError(code, `${where}${issue?.message ?? 'invalid'}`, { issues: result.error.issues });
}

/** Where share links point: PUBLIC_URL, else the host the request came to. */
function baseUrl(request: FastifyRequest, configured: string | undefined): string {
  if (configured) return configured;
  return `${request.protocol}://${request.host}`;
}

/** The rooms capability's HTTP: create, scene, links (rotate, expiring), delete. */
export const roomsPlugin: FastifyPluginAsync<{ ctx: AppContext; limiter: RateLimiter }> = async (app, { ctx, limiter }) => {
  app.post('/api/rooms', async (request, reply) => {
    const body = parseOr(CreateRoomBody, request.body ?? {}, 'INVALID_BODY');
    const waitMs = await limiter.take(request.ip);
    if (waitMs > 0) {
      reply.header('Retry-After', Math.ceil(waitMs / 1000));
      throw new ScenecastError('RATE_LIMITED', `Too many new rooms from you; try again in ${Math.ceil(waitMs / 1000)} s`);
    }
    const created = await createRoom(body as CreateRoomRequest & { scene?: SceneInput }, baseUrl(request, ctx.config.publicUrl), { directory: ctx.backends.directory, store: ctx.backends.documents, tokens: ctx.tokens });
    request.log.info({ room: created.room }, 'room created');
    return reply.status(201).send(created);
  });

  // Editors may share every kind of link of their room; viewer and overlay links may expire.
  app.get('/api/rooms/:room/links', async (request) => {
    const { room } = parseOr(RoomParams, request.params, 'INVALID_PARAMS');
    const claims = await authorize(request, room, ctx, ['editor']);
    const { expiresInHours } = parseOr(LinksQuery, request.query, 'INVALID_PARAMS');
    return shareLinks(room, baseUrl(request, ctx.config.publicUrl), ctx.tokens, { epoch: claims.epoch, expiresAt: expiryOf(expiresInHours) });
  });

  // New links for the room: every older token of it stops working at once, on every node.
  app.post('/api/rooms/:room/links/rotate', async (request) => {
    const { room } = parseOr(RoomParams, request.params, 'INVALID_PARAMS');
    await authorize(request, room, ctx, ['editor']);
    const { expiresInHours } = parseOr(RotateBody, request.body ?? {}, 'INVALID_BODY');
    const epoch = await ctx.backends.directory.rotate(room);
    if (epoch === null) throw new ScenecastError('ROOM_NOT_FOUND', `No room "${room}"`);
    ctx.backends.control.publish({ type: 'revoked', room, epoch });
    await ctx.guard.apply({ type: 'revoked', room, epoch });
    request.log.info({ room, epoch }, 'room links rotated');
    return shareLinks(room, baseUrl(request, ctx.config.publicUrl), ctx.tokens, { epoch, expiresAt: expiryOf(expiresInHours) });
  });

  // The room and everything of it, on every node (delete-room.ts).
  app.delete('/api/rooms/:room', async (request, reply) => {
    const { room } = parseOr(RoomParams, request.params, 'INVALID_PARAMS');
    await authorize(request, room, ctx, ['editor']);
    await deleteRoom(room, { directory: ctx.backends.directory, control: ctx.backends.control, store: ctx.backends.documents, guard: ctx.guard, renders: ctx.renders, assets: ctx.assets });
    request.log.info({ room }, 'room deleted');
    return reply.status(204).send();
  });

  app.get('/api/rooms/:room/scene', async (request) => {
    const { room } = parseOr(RoomParams, request.params, 'INVALID_PARAMS');
    await authorize(request, room, ctx);
    return ctx.rooms.with(room, (loaded) => {
      const reading = readScene(loaded.doc);
      return { ...reading.scene, skipped: reading.skipped };
    });
  });
};
