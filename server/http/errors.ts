/**
 * One error shape for every HTTP failure: `{"error": {"code", "message", "details"?}}`, Fastify's
 * own failures included (routing errors come through `frameworkErrors`, the rest through the
 * error handler; anything unknown is INTERNAL).
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ScenecastError, type ErrorCode } from '../../shared/errors.js';

const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'BODY_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'INVALID_BODY',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'INVALID_BODY',
  FST_ERR_VALIDATION: 'INVALID_BODY',
  FST_ERR_BAD_URL: 'INVALID_PARAMS',
  FST_ERR_MAX_PARAM_LENGTH: 'INVALID_PARAMS',
};

/** Fastify's `frameworkErrors` option: errors raised while routing, before any handler runs. */
export function frameworkErrors(error: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  const scenecast = error.code === 'FST_ERR_MAX_PARAM_LENGTH' ? new ScenecastError('INVALID_PARAMS', 'A path parameter is longer than the server accepts') : toScenecastError(error);
  void reply.status(scenecast.status).send(scenecast.toBody());
}

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
