import type { InjectOptions } from 'fastify';
import { describe, expect, it } from 'vitest';
import { ERRORS } from '../shared/errors.js';
import { startServer } from './helpers/server.js';

/** Every error body is exactly `{error: {code, message, details?}}` with a registered code. */
function expectErrorShape(body: unknown, code: string): void {
  expect(body).toEqual({ error: expect.objectContaining({ code, message: expect.any(String) }) });
  const error = (body as { error: Record<string, unknown> }).error;
  expect(Object.keys(error).every((k) => ['code', 'message', 'details'].includes(k))).toBe(true);
  expect(Object.hasOwn(ERRORS, error.code as string)).toBe(true);
}

describe('the error contract', () => {
  it('answers Fastify’s own failures in the one error shape', async () => {
    const server = await startServer();
    const { app } = server;
    const room = await server.createRoom();
    const auth = { authorization: `Bearer ${room.tokens.editor}` };
    const cases: { request: InjectOptions; status: number; code: string }[] = [
      { request: { method: 'GET', url: `/api/rooms/${'a'.repeat(200)}/scene` }, status: 400, code: 'INVALID_PARAMS' },
      { request: { method: 'GET', url: `/api/renders/${'r'.repeat(300)}` }, status: 400, code: 'INVALID_PARAMS' },
      { request: { method: 'GET', url: '/api/rooms/%E0%A4%A/scene' }, status: 400, code: 'INVALID_PARAMS' },
      { request: { method: 'GET', url: '/%E0%A4%A' }, status: 400, code: 'INVALID_PARAMS' },
      { request: { method: 'POST', url: '/api/rooms', payload: '{bad', headers: { 'content-type': 'application/json' } }, status: 400, code: 'INVALID_BODY' },
      { request: { method: 'POST', url: '/api/rooms', payload: '', headers: { 'content-type': 'application/json' } }, status: 400, code: 'INVALID_BODY' },
      { request: { method: 'POST', url: '/api/rooms', payload: 'a=1', headers: { 'content-type': 'application/x-www-form-urlencoded' } }, status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
      { request: { method: 'POST', url: '/api/rooms', payload: `"${'x'.repeat(300_000)}"`, headers: { 'content-type': 'application/json' } }, status: 413, code: 'BODY_TOO_LARGE' },
      { request: { method: 'PUT', url: '/api/rooms' }, status: 404, code: 'NOT_FOUND' },
      { request: { method: 'GET', url: '/api/nothing-here' }, status: 404, code: 'NOT_FOUND' },
      { request: { method: 'GET', url: `/api/rooms/${room.room}/scene` }, status: 401, code: 'TOKEN_MISSING' },
      { request: { method: 'GET', url: `/api/rooms/${room.room}/scene`, headers: { authorization: 'Bearer nope' } }, status: 401, code: 'TOKEN_INVALID' },
      { request: { method: 'POST', url: `/api/rooms/${room.room}/renders`, payload: { bogus: 1 }, headers: auth }, status: 400, code: 'INVALID_BODY' },
    ];
    for (const { request, status, code } of cases) {
      const res = await app.inject(request);
      expect(res.statusCode, `${request.method} ${String(request.url).slice(0, 60)}`).toBe(status);
      expectErrorShape(res.json(), code);
    }
  });

  it('refuses an unknown template id with 400 TEMPLATE_UNKNOWN instead of using the default', async () => {
    const server = await startServer();
    const created = await server.app.inject({ method: 'POST', url: '/api/rooms', payload: { scene: { template: 'no-such-template', shots: [{ id: 'a', prompt: 'a red circle' }] } } });
    expect(created.statusCode).toBe(400);
    expectErrorShape(created.json(), 'TEMPLATE_UNKNOWN');

    const room = await server.createRoom({ scene: { template: 'cinematic', shots: [{ id: 'a', prompt: 'a red circle' }] } });
    const render = await server.app.inject({
      method: 'POST',
      url: `/api/rooms/${room.room}/renders`,
      headers: { authorization: `Bearer ${room.tokens.editor}` },
      payload: { scene: { template: 'neon-nights', shots: [{ id: 'a', prompt: 'a red circle' }] } },
    });
    expect(render.statusCode).toBe(400);
    expectErrorShape(render.json(), 'TEMPLATE_UNKNOWN');
    // A known one is accepted.
    const known = await server.app.inject({ method: 'POST', url: '/api/rooms', payload: { scene: { template: 'neon-night', shots: [] } } });
    expect(known.statusCode).toBe(201);
  });
});
