/**
 * What the editor's scene player needs to preview post-production without a render: the bundled
 * music beds, a shot's narration spoken in the scene's voice, and the room's uploaded audio.
 */
import { createReadStream } from 'node:fs';
import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { ScenecastError } from '../../shared/errors.js';
import { ASSET_ID_PATTERN, MUSIC_BEDS } from '../../shared/post.js';
import { readScene } from '../../shared/scene-doc.js';
import type { AppContext } from '../app-context.js';
import { authorize } from '../http/request-auth.js';
import { parseOr } from '../http/room-routes.js';
import type { RateLimiter } from '../ports/rate-limiter.js';
import type { AssetStore } from './audio/assets.js';
import { bedFile, isMusicBed } from './audio/beds.js';
import type { Narrator, VoiceSetting } from './audio/tts.js';

const AUDIO_TYPES: Record<string, string> = { mp3: 'audio/mpeg', aac: 'audio/aac', flac: 'audio/flac', vorbis: 'audio/ogg', opus: 'audio/ogg', alac: 'audio/mp4' };
const audioType = (codec: string): string => (codec.startsWith('pcm') ? 'audio/wav' : (AUDIO_TYPES[codec] ?? 'application/octet-stream'));

export interface PostRoutesOptions {
  ctx: AppContext;
  narrator: Narrator;
  assets: AssetStore;
  bedsDir: string;
  /** Narration previews per client (TTS costs a worker's time). */
  limiter: RateLimiter;
}

export const postPlugin: FastifyPluginAsync<PostRoutesOptions> = async (app, { ctx, narrator, assets, bedsDir, limiter }) => {
  app.get('/api/beds/:bed', async (request, reply) => {
    const { bed } = parseOr(z.object({ bed: z.string().regex(/^[a-z0-9-]{1,32}\.wav$/) }), request.params, 'INVALID_PARAMS');
    const id = bed.slice(0, -'.wav'.length);
    if (!isMusicBed(id)) throw new ScenecastError('NOT_FOUND', `No music bed "${id}" (${MUSIC_BEDS.map((b) => b.id).join(', ')})`);
    const file = await bedFile(id, bedsDir);
    return reply.header('Content-Type', 'audio/wav').header('Cache-Control', 'public, max-age=86400').send(createReadStream(file));
  });

  app.get('/api/rooms/:room/narration.wav', async (request, reply) => {
    const { room } = parseOr(z.object({ room: z.string().min(1).max(64) }), request.params, 'INVALID_PARAMS');
    const { shot } = parseOr(z.object({ shot: z.string().regex(/^[A-Za-z0-9_-]{1,32}$/), token: z.string().optional() }), request.query, 'INVALID_PARAMS');
    await authorize(request, room, ctx);
    const scene = await ctx.rooms.with(room, (loaded) => readScene(loaded.doc).scene);
    const narration = scene.shots.find((s) => s.id === shot)?.narration?.trim();
    if (!narration) throw new ScenecastError('NOT_FOUND', `Shot "${shot}" has no narration`);
    await ctx.policy.enforce(narration, `Shot "${shot}"`);
    const waitMs = await limiter.take(`${room}:${request.ip}`);
    if (waitMs > 0) {
      reply.header('Retry-After', Math.ceil(waitMs / 1000));
      throw new ScenecastError('RATE_LIMITED', `Too many narration previews; try again in ${Math.ceil(waitMs / 1000)} s`);
    }
    const spoken = await narrator.synthesize(narration, scene.voice as VoiceSetting);
    return reply.header('Content-Type', 'audio/wav').header('Cache-Control', 'private, max-age=600').send(createReadStream(spoken.file));
  });

  app.get('/api/rooms/:room/assets/:asset', async (request, reply) => {
    const { room, asset } = parseOr(z.object({ room: z.string().min(1).max(64), asset: z.string().regex(ASSET_ID_PATTERN) }), request.params, 'INVALID_PARAMS');
    await authorize(request, room, ctx);
    const record = await assets.get(room, asset);
    if (!record) throw new ScenecastError('ASSET_NOT_FOUND', `No asset "${asset}" in this room`);
    return reply.header('Content-Type', audioType(record.codec)).header('Cache-Control', 'private, max-age=3600').send(createReadStream(await assets.file(room, asset)));
  });
};
