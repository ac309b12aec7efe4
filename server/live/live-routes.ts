/**
 * The live capability's ways in: instant replays over HTTP (POST /api/rooms/:room/live/clips,
 * editor; GET …/live/clips/:id and …/video.mp4, any token of the room) and votes over the socket
 * (`suggestion:vote`, overlay or editor; one per client per suggestion, rate-limited).
 */
import { createHash } from 'node:crypto';
import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { ScenecastError } from '../../shared/errors.js';
import { readLive } from '../../shared/live.js';
import type { AppContext } from '../app-context.js';
import { authorize } from '../http/request-auth.js';
import { parseOr } from '../http/room-routes.js';
import type { RateLimiter } from '../ports/rate-limiter.js';
import { sendVideo } from '../render/render-routes.js';
import type { LiveClips } from './live-clips.js';
import type { LiveService } from './live-service.js';

const Room = z.object({ room: z.string().min(1).max(64) });
const Clip = z.object({ room: z.string().min(1).max(64), id: z.string().regex(/^c[0-9a-f]{16}$/) });
const MAY_VOTE = ['overlay', 'editor'] as const;

export interface LiveRoutesOptions {
  ctx: AppContext;
  live: LiveService;
  clips: LiveClips;
  votes: RateLimiter;
  /** Replays an editor may save (each one an ffmpeg run over 30 s of stream). */
  replays: RateLimiter;
}

export const livePlugin: FastifyPluginAsync<LiveRoutesOptions> = async (app, { ctx, live, clips, votes, replays }) => {
  app.post('/api/rooms/:room/live/clips', async (request, reply) => {
    const { room } = parseOr(Room, request.params, 'INVALID_PARAMS');
    await authorize(request, room, ctx, ['editor']);
    const waitMs = await replays.take(`${room}:${request.ip}`);
    if (waitMs > 0) {
      reply.header('Retry-After', Math.ceil(waitMs / 1000));
      throw new ScenecastError('RATE_LIMITED', `Too many replays; try again in ${Math.ceil(waitMs / 1000)} s`);
    }
    const on = await ctx.rooms.with(room, (loaded) => readLive(loaded.doc).on);
    const frames = live.replayFrames(room);
    if (frames.length === 0) throw new ScenecastError(on ? 'LIVE_NOTHING_TO_SAVE' : 'LIVE_OFF', on ? 'The live stream has sent no frame yet' : 'Live mode is off in this room: turn it on first');
    const { clip, done } = await clips.create(room, frames);
    done.catch((error: unknown) => ctx.log.error({ err: error, room }, 'a live replay failed'));
    return reply.status(202).send({ clip });
  });

  app.get('/api/rooms/:room/live/clips/:id', async (request) => {
    const { room, id } = parseOr(Clip, request.params, 'INVALID_PARAMS');
    await authorize(request, room, ctx);
    const clip = await clips.get(room, id);
    if (!clip) throw new ScenecastError('NOT_FOUND', `No replay "${id}" in this room`);
    return { clip };
  });

  app.get('/api/rooms/:room/live/clips/:id/video.mp4', async (request, reply) => {
    const { room, id } = parseOr(Clip, request.params, 'INVALID_PARAMS');
    await authorize(request, room, ctx);
    const clip = await clips.get(room, id);
    if (!clip) throw new ScenecastError('NOT_FOUND', `No replay "${id}" in this room`);
    if (clip.status !== 'done') throw new ScenecastError('RENDER_NOT_READY', `The replay is ${clip.status}`);
    const video = clips.video(room, id);
    const size = await video.size();
    if (size === null) throw new ScenecastError('NOT_FOUND', 'The video of this replay was removed');
    return sendVideo(request, reply, { etag: `"${id}-${size}"`, filename: `scenecast-replay-${id}.mp4`, size, read: (range) => video.read(range) });
  });

  ctx.realtime.handle('suggestion:vote', async (socket, payload) => {
    const { room, role } = socket.data;
    if (!(MAY_VOTE as readonly string[]).includes(role)) throw new ScenecastError('ROLE_FORBIDDEN', `A ${role} token may not vote`);
    const address = ctx.addressOf(socket.request);
    const waitMs = await votes.take(`${room}:${address}`);
    if (waitMs > 0) throw new ScenecastError('RATE_LIMITED', `Too many votes from you; try again in ${Math.ceil(waitMs / 1000)} s`);
    // A client is its address (a reconnect or a second tab is the same client), kept only as a hash.
    const voter = createHash('sha256').update(`${ctx.backends.secret}:${address}`).digest('base64url').slice(0, 16);
    return { votes: await live.vote(room, payload.id, voter) };
  });
};
