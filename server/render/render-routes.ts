/**
 * HTTP of renders: create (editor), status (any token of the room), cancel (editor), and the
 * video itself with Range requests (206), ETag and a fitting Content-Type.
 */
import type { Readable } from 'node:stream';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { ScenecastError } from '../../shared/errors.js';
import type { RenderInfo } from '../../shared/protocol.js';
import { readScene } from '../../shared/scene-doc.js';
import { validateScene, type Scene } from '../../shared/scene.js';
import type { AppContext } from '../app-context.js';
import { authorize } from '../http/request-auth.js';
import { parseOr } from '../http/room-routes.js';
import type { RenderJobs } from './render-jobs.js';

const CreateBody = z.object({ scene: z.record(z.string(), z.unknown()).optional(), preview: z.boolean().optional() }).strict();
const RoomParams = z.object({ room: z.string().min(1).max(64) });
const RenderParams = z.object({ id: z.string().regex(/^r[a-z0-9]{8,20}$/, 'not a render id') });

/**
 * An MP4 that never changes once written, with Range requests (206), If-Range, ETag (304) and a
 * download name: how renders and live replays are served.
 */
export async function sendVideo(
  request: FastifyRequest,
  reply: FastifyReply,
  video: { etag: string; filename: string; size: number; read: (range?: { start: number; end: number }) => Promise<Readable> },
): Promise<FastifyReply> {
  const { etag, size } = video;
  reply.header('Accept-Ranges', 'bytes').header('ETag', etag).header('Content-Type', 'video/mp4').header('Cache-Control', 'private, max-age=3600');
  reply.header('Content-Disposition', `inline; filename="${video.filename}"`);
  if (request.headers['if-none-match'] === etag) return reply.status(304).send();
  let range: { start: number; end: number } | null;
  try {
    const ifRange = request.headers['if-range'];
    range = ifRange && ifRange !== etag ? null : parseRange(request.headers.range, size);
  } catch (error) {
    reply.header('Content-Range', `bytes */${size}`);
    throw error;
  }
  if (!range) return reply.header('Content-Length', size).send(await video.read());
  return reply
    .status(206)
    .header('Content-Range', `bytes ${range.start}-${range.end}/${size}`)
    .header('Content-Length', range.end - range.start + 1)
    .send(await video.read(range));
}

/** Parses `Range: bytes=a-b` against a file of `size` bytes: null for the whole file. */
export function parseRange(header: string | undefined, size: number): { start: number; end: number } | null {
  if (!header) return null;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match || (match[1] === '' && match[2] === '')) throw new ScenecastError('RANGE_NOT_SATISFIABLE', `Unsupported range "${header}"`);
  let start: number;
  let end: number;
  if (match[1] === '') {
    start = Math.max(0, size - Number(match[2]));
    end = size - 1;
  } else {
    start = Number(match[1]);
    end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
  }
  if (start > end || start >= size) throw new ScenecastError('RANGE_NOT_SATISFIABLE', `Range ${header} is outside ${size} bytes`);
  return { start, end };
}

/** The render capability's HTTP (ENGINE_UNAVAILABLE where no engine runs anywhere). */
export const rendersPlugin: FastifyPluginAsync<{ ctx: AppContext }> = async (app, { ctx }) => {
  const renders = () => ctx.renders;
  const service = (): RenderJobs => {
    const s = renders();
    if (!s) throw new ScenecastError('ENGINE_UNAVAILABLE');
    return s;
  };

  async function findRender(request: FastifyRequest, roles?: ('editor' | 'viewer' | 'overlay')[]): Promise<RenderInfo> {
    const { id } = parseOr(RenderParams, request.params, 'INVALID_PARAMS');
    const record = await service().get(id);
    if (!record) throw new ScenecastError('RENDER_NOT_FOUND', `No render "${id}"`);
    await authorize(request, record.room, ctx, roles);
    return record;
  }

  app.post('/api/rooms/:room/renders', async (request, reply) => {
    const { room } = parseOr(RoomParams, request.params, 'INVALID_PARAMS');
    await authorize(request, room, ctx, ['editor']);
    const body = parseOr(CreateBody, request.body ?? {}, 'INVALID_BODY');
    let scene: Scene;
    if (body.scene) {
      const validated = validateScene(body.scene);
      if (!validated.ok) throw new ScenecastError(validated.issues[0]!.code, validated.issues[0]!.message, { issues: validated.issues });
      scene = validated.value;
    } else {
      const reading = await ctx.rooms.with(room, (loaded) => readScene(loaded.doc));
      const unknownTemplate = reading.metaIssues.find((issue) => issue.code === 'TEMPLATE_UNKNOWN');
      if (unknownTemplate) throw new ScenecastError('TEMPLATE_UNKNOWN', `The scene's template is unknown: ${unknownTemplate.message}`);
      const bad = reading.skipped[0];
      if (bad) throw new ScenecastError(bad.issues[0]!.code, `Shot ${bad.id ?? `#${bad.index + 1}`} cannot be rendered: ${bad.issues[0]!.message}`, { skipped: reading.skipped });
      scene = reading.scene;
    }
    try {
      const render = await service().create(room, scene, body.preview ? 'preview' : 'final');
      return await reply.status(202).send({ render });
    } catch (error) {
      const retryAfterS = (error as { retryAfterS?: number }).retryAfterS;
      if (retryAfterS !== undefined) reply.header('Retry-After', retryAfterS);
      throw error;
    }
  });

  app.get('/api/renders/:id', async (request) => findRender(request));

  // The room's latest render (`?status=done` for the latest finished clip): 200 {render} or {render: null}.
  app.get('/api/rooms/:room/renders/latest', async (request) => {
    const { room } = parseOr(RoomParams, request.params, 'INVALID_PARAMS');
    await authorize(request, room, ctx);
    const { status } = parseOr(z.object({ status: z.enum(['queued', 'running', 'done', 'failed', 'cancelled']).optional(), token: z.string().optional() }), request.query, 'INVALID_PARAMS');
    return { render: await service().latest(room, status) };
  });

  app.delete('/api/renders/:id', async (request) => {
    const record = await findRender(request, ['editor']);
    return (await service().cancel(record.id)) ?? record;
  });

  app.get('/api/renders/:id/captions.vtt', async (request, reply) => {
    const record = await findRender(request);
    if (record.status !== 'done') throw new ScenecastError(record.status === 'cancelled' ? 'RENDER_CANCELLED' : 'RENDER_NOT_READY', `The render is ${record.status}`);
    const captions = await service().captions(record.id);
    if (!captions) throw new ScenecastError('CAPTIONS_NOT_FOUND', 'This render has no captions');
    return reply.header('Content-Type', 'text/vtt; charset=utf-8').header('Cache-Control', 'private, max-age=3600').send(captions);
  });

  app.get('/api/renders/:id/video.mp4', async (request, reply) => {
    const record = await findRender(request);
    if (record.status !== 'done') {
      throw new ScenecastError(record.status === 'cancelled' ? 'RENDER_CANCELLED' : 'RENDER_NOT_READY', `The render is ${record.status}`);
    }
    const video = service().video(record.id);
    const size = await video.size();
    if (size === null) throw new ScenecastError('RENDER_NOT_FOUND', 'The video of this render was removed');
    // A render's file never changes once written: its id and size identify it.
    return sendVideo(request, reply, { etag: `"${record.id}-${size}"`, filename: `scenecast-${record.id}.mp4`, size, read: (range) => video.read(range) });
  });
};
