import { describe, expect, it } from 'vitest';
import { startServer } from './helpers/server.js';

describe('HTTP: rooms', () => {
  it('creates a room with tokens and share links, and serves its scene to any token of the room', async () => {
    const server = await startServer();
    const res = await fetch(`${server.url}/api/rooms`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ title: '我的场景', scene: { fps: 24, shots: [{ id: 'opening', prompt: 'a yellow ball grows', camera: 'zoom-in' }] } }),
    });
    expect(res.status).toBe(201);
    const created = await res.json();
    expect(created.room).toMatch(/^[a-z0-9]{14}$/);
    expect(Object.keys(created.tokens).sort()).toEqual(['editor', 'overlay', 'viewer']);
    expect(created.urls.overlay).toBe(`${server.url}/overlay/${created.room}?token=${encodeURIComponent(created.tokens.overlay)}`);
    expect(created.urls.editor).toContain(`room=${created.room}`);

    for (const role of ['editor', 'viewer', 'overlay']) {
      const scene = await fetch(`${server.url}/api/rooms/${created.room}/scene`, { headers: { authorization: `Bearer ${created.tokens[role]}` } });
      expect(scene.status).toBe(200);
      const body = await scene.json();
      expect(body).toMatchObject({ title: '我的场景', fps: 24, template: 'none', shots: [{ id: 'opening', prompt: 'a yellow ball grows', duration: 2, camera: 'zoom-in' }], skipped: [] });
      expect(Number.isInteger(body.seed)).toBe(true);
    }
  });

  it('gives editors, and only editors, the share links of every role', async () => {
    const server = await startServer();
    const created = await server.createRoom();
    const links = await fetch(`${server.url}/api/rooms/${created.room}/links`, { headers: { authorization: `Bearer ${created.tokens.editor}` } });
    expect(links.status).toBe(200);
    expect(await links.json()).toEqual(created);
    const viewer = await fetch(`${server.url}/api/rooms/${created.room}/links`, { headers: { authorization: `Bearer ${created.tokens.viewer}` } });
    expect(viewer.status).toBe(403);
  });

  it('limits how many rooms one client creates', async () => {
    const server = await startServer({ roomCreation: { burst: 2, perMinute: 1 } });
    await server.createRoom();
    await server.createRoom();
    const third = await fetch(`${server.url}/api/rooms`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(third.status).toBe(429);
    expect((await third.json()).error.code).toBe('RATE_LIMITED');
    expect(Number(third.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('a new room without a scene starts with one empty shot', async () => {
    const server = await startServer();
    const created = await server.createRoom();
    const scene = await (await fetch(`${server.url}/api/rooms/${created.room}/scene?token=${created.tokens.viewer}`)).json();
    expect(scene.shots).toEqual([{ id: 'shot-1', prompt: '', duration: 2, camera: 'static' }]);
  });

  it.each([
    [{ scene: { shots: [{ id: 'a', prompt: 'x', duration: 30 }] } }, 400, 'SHOT_DURATION_OUT_OF_RANGE'],
    [{ scene: { shots: [{ id: 'a', prompt: 'x', camera: 'spin' }] } }, 400, 'SHOT_CAMERA_UNKNOWN'],
    [{ scene: { shots: [{ id: 'a', prompt: 'x' }, { id: 'a', prompt: 'y' }] } }, 400, 'SHOT_ID_DUPLICATE'],
    [{ scene: { shots: [{ id: 'a', prompt: 'p'.repeat(501) }] } }, 400, 'SHOT_PROMPT_TOO_LONG'],
    [{ title: 5 }, 400, 'INVALID_BODY'],
    [{ unexpected: true }, 400, 'INVALID_BODY'],
  ])('rejects %j with %i %s', async (body, status, code) => {
    const server = await startServer();
    const res = await fetch(`${server.url}/api/rooms`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect(res.status).toBe(status);
    const error = (await res.json()).error;
    expect(error.code).toBe(code);
    expect(typeof error.message).toBe('string');
  });

  it('answers bad JSON, wrong media types, bad tokens and unknown routes with coded errors', async () => {
    const server = await startServer();
    const post = (body: string, type = 'application/json') => fetch(`${server.url}/api/rooms`, { method: 'POST', headers: { 'content-type': type }, body });
    expect((await (await post('{"title":')).json()).error.code).toBe('INVALID_BODY');
    const media = await post('title=x', 'application/x-www-form-urlencoded');
    expect(media.status).toBe(415);
    expect((await media.json()).error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    const big = await post(JSON.stringify({ title: 'x'.repeat(300 * 1024) }));
    expect(big.status).toBe(413);
    expect((await big.json()).error.code).toBe('BODY_TOO_LARGE');

    const a = await server.createRoom();
    const b = await server.createRoom();
    const scene = (room: string, token?: string) => fetch(`${server.url}/api/rooms/${room}/scene${token ? `?token=${encodeURIComponent(token)}` : ''}`);
    expect(await (await scene(a.room)).json()).toEqual({ error: { code: 'TOKEN_MISSING', message: 'A token is required' } });
    expect((await scene(a.room, 'v1.nope')).status).toBe(401);
    const wrong = await scene(a.room, b.tokens.editor);
    expect(wrong.status).toBe(403);
    expect((await wrong.json()).error.code).toBe('TOKEN_WRONG_ROOM');
    const missing = await fetch(`${server.url}/api/nothing`);
    expect(missing.status).toBe(404);
    expect((await missing.json()).error.code).toBe('NOT_FOUND');
  });

  it('reports health and Prometheus metrics', async () => {
    const server = await startServer();
    const health = await fetch(`${server.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok', checks: { storage: { ok: true } } });
    const metrics = await fetch(`${server.url}/metrics`);
    expect(metrics.headers.get('content-type')).toContain('text/plain');
    const text = await metrics.text();
    for (const name of ['scenecast_connections', 'scenecast_rooms_loaded', 'scenecast_yjs_updates_total', 'scenecast_persist_seconds_bucket', 'scenecast_process_resident_memory_bytes']) {
      expect(text).toContain(name);
    }
  });
});
