/**
 * HTTP of a room's audio assets (uploaded music):
 *   POST /api/rooms/:room/assets (editor): the body is the file itself (Content-Type audio/* or
 *     application/octet-stream; `?name=` names it) or multipart/form-data with one `file` field;
 *     streamed to a temporary file (never held in memory), stopped at `maxBytes` (413
 *     ASSET_TOO_LARGE), probed (415 ASSET_NOT_AUDIO), stored: 201 {asset}.
 *   GET /api/rooms/:room/assets (any token of the room): 200 {assets}.
 * Inside this plugin every request body reaches the handler as the raw stream (the app's JSON and
 * text parsers and its 256 KiB body limit do not apply here); the handler decides what it accepts.
 */
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { ScenecastError } from '../../../shared/errors.js';
import type { AppContext } from '../../app-context.js';
import { authorize } from '../../http/request-auth.js';
import { parseOr } from '../../http/room-routes.js';
import type { AssetStore } from './assets.js';
import { boundaryOf, MultipartFile } from './multipart.js';

const RoomParams = z.object({ room: z.string().min(1).max(64) });
const UploadQuery = z.object({ name: z.string().max(200).optional(), token: z.string().optional() });

/** Headroom for the multipart framing around the file (headers, boundaries, small fields). */
const MULTIPART_OVERHEAD = 80 * 1024;

const size = (bytes: number) => (bytes >= 1024 * 1024 ? `${Math.round((bytes / (1024 * 1024)) * 10) / 10} MiB` : `${Math.round(bytes / 1024)} KiB`);
const tooLarge = (maxBytes: number) => new ScenecastError('ASSET_TOO_LARGE', `The audio file is larger than the ${size(maxBytes)} the server accepts`, { maxBytes });

/**
 * Streams `body` through `stages` into `file`. Not `pipeline(body, …)`: that destroys the request
 * on a failure (ASSET_TOO_LARGE), and with it the socket the refusal should go out on.
 */
async function receive(body: Readable, stages: Transform[], file: string): Promise<void> {
  const [head, ...rest] = stages as [Transform, ...Transform[]];
  const done = pipeline([head, ...rest, createWriteStream(file)]);
  const cut = () => {
    if (!body.readableEnded) head.destroy(new Error('the upload was cut off'));
  };
  body.once('error', (error) => head.destroy(error)).once('close', cut);
  body.pipe(head);
  try {
    await done;
  } finally {
    body.unpipe(head);
    body.off('close', cut);
  }
}

/** Passes bytes through until more than `maxBytes` went by, then fails with ASSET_TOO_LARGE. */
class ByteLimit extends Transform {
  #bytes = 0;
  constructor(private readonly maxBytes: number) {
    super();
  }
  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#bytes += chunk.length;
    if (this.#bytes > this.maxBytes) return callback(tooLarge(this.maxBytes));
    callback(null, chunk);
  }
  get bytes(): number {
    return this.#bytes;
  }
}

export interface AssetsPluginOptions {
  ctx: AppContext;
  assets: AssetStore;
  /** Largest accepted audio file in bytes. */
  maxBytes: number;
}

export const assetsPlugin: FastifyPluginAsync<AssetsPluginOptions> = async (app, { ctx, assets, maxBytes }) => {
  // Encapsulated: only this plugin's routes take bodies as streams.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, payload, done) => done(null, payload));

  app.post('/api/rooms/:room/assets', async (request, reply) => {
    const source = request.raw;
    try {
      const { room } = parseOr(RoomParams, request.params, 'INVALID_PARAMS');
      await authorize(request, room, ctx, ['editor']);
      const { name } = parseOr(UploadQuery, request.query, 'INVALID_PARAMS');
      const type = (request.headers['content-type'] ?? '').toLowerCase();
      const boundary = boundaryOf(request.headers['content-type']);
      const raw = /^audio\/[a-z0-9.+-]+\s*(;|$)/.test(type) || /^application\/octet-stream\s*(;|$)/.test(type);
      if (!boundary && !raw) {
        throw new ScenecastError('ASSET_NOT_AUDIO', 'Send the audio file itself (Content-Type audio/* or application/octet-stream) or multipart/form-data with a "file" field');
      }
      const declared = Number(request.headers['content-length']);
      if (Number.isFinite(declared) && declared > maxBytes + (boundary ? MULTIPART_OVERHEAD : 0)) throw tooLarge(maxBytes);

      const tmp = await assets.scratch();
      try {
        const multipart = boundary ? new MultipartFile(boundary, 'file') : null;
        const body = request.body as Readable;
        const limit = new ByteLimit(maxBytes);
        await receive(body, multipart ? [multipart, limit] : [limit], tmp);
        if (limit.bytes === 0) throw new ScenecastError('ASSET_NOT_AUDIO', 'The file is empty');
        const asset = await assets.put(room, tmp, multipart?.filename ?? name);
        return await reply.status(201).send({ asset });
      } finally {
        await rm(tmp, { force: true }); // moved into the store when put succeeded
      }
    } catch (error) {
      // Refused before the whole body was read: say so, read no more of it, and end the connection after the answer.
      if (!source.readableEnded) {
        reply.header('connection', 'close');
        source.resume();
      }
      throw error;
    }
  });

  app.get('/api/rooms/:room/assets', async (request) => {
    const { room } = parseOr(RoomParams, request.params, 'INVALID_PARAMS');
    await authorize(request, room, ctx);
    return { assets: await assets.list(room) };
  });
};
