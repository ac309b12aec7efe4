/**
 * The web client built by Vite (client/dist): the editor at `/`, the overlay at `/overlay/:room`,
 * hashed assets under `/assets/` (cached for a year, as their names change with their content).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import { ScenecastError } from '../../shared/errors.js';

export const CLIENT_DIST = path.resolve(import.meta.dirname, '..', '..', 'client', 'dist');

export async function staticRoutes(app: FastifyInstance, dist = CLIENT_DIST): Promise<void> {
  const built = existsSync(path.join(dist, 'index.html'));
  if (built) {
    await app.register(fastifyStatic, {
      root: dist,
      prefix: '/',
      index: false,
      wildcard: false,
      serve: true,
      setHeaders: (res, file) => {
        if (file.includes(`${path.sep}assets${path.sep}`)) res.header('Cache-Control', 'public, max-age=31536000, immutable');
      },
    });
  }
  const page = (name: string) => async (_request: unknown, reply: import('fastify').FastifyReply) => {
    if (!built) throw new ScenecastError('NOT_FOUND', 'The web client is not built: run `npm run build`');
    return reply.header('Cache-Control', 'no-cache').sendFile(name);
  };
  app.get('/', page('index.html'));
  app.get('/overlay/:room', page('overlay.html'));
}
