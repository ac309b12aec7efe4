/**
 * One error shape for every HTTP failure: `{"error": {"code", "message", "details"?}}`.
 */
import type { FastifyError, FastifyInstance } from 'fastify';
import { ScenecastError, type ErrorCode } from '../../shared/errors.js';

const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'BODY_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'INVALID_BODY',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'INVALID_BODY',
  FST_ERR_VALIDATION: 'INVALID_BODY',
};

export function toScenecastError(error: unknown): ScenecastError {
  if (error instanceof ScenecastError) return error;
  const fastify = error as FastifyError;
  const code = fastify.code ? FASTIFY_CODES[fastify.code] : undefined;
  if (code) return new ScenecastError(code, fastify.message);
  if (error instanceof SyntaxError || fastify.statusCode === 400) return new ScenecastError('INVALID_BODY', fastify.message);
  return new ScenecastError('INTERNAL');
}

export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error, request, reply) => {
    const scenecast = toScenecastError(error);
    if (scenecast.code === 'INTERNAL') request.log.error({ err: error }, 'request failed');
    void reply.status(scenecast.status).send(scenecast.toBody());
  });
  app.setNotFoundHandler((request, reply) => {
    void reply.status(404).send(new ScenecastError('NOT_FOUND', `No route ${request.method} ${request.url.split('?')[0]}`).toBody());
  });
}
