import { describe, expect, it } from 'vitest';
import type { CreateRoomResponse, RenderInfo } from '../shared/protocol.js';
import type { SceneInput } from '../shared/scene.js';
import { loadConfig } from '../server/config.js';
import { sharedEngine } from './helpers/engine.js';
import { startServer, type TestServer } from './helpers/server.js';
import { connectSocket, nextEvent } from './helpers/socket-client.js';

const defaults = loadConfig({}).render;

/** A long scene: four shots of 3 s at 8 fps (24 final frames each). */
const long: SceneInput = {
  fps: 8,
  seed: 3,
  shots: ['a', 'b', 'c', 'd'].map((id, i) => ({ id, prompt: ['a red ball moves left', 'a blue square moves up', 'a green star spins', 'a white circle grows'][i]!, duration: 3 })),
};
const short: SceneInput = { fps: 8, seed: 4, shots: [{ id: 'x', prompt: 'a yellow triangle moves right', duration: 0.5 }] };

async function postRender(server: TestServer, room: CreateRoomResponse, body: object = {}): Promise<Response> {
  return fetch(`${server.url}/api/rooms/${room.room}/renders`, {
    method: 'POST',
    headers: { authorization: `Bearer ${room.tokens.editor}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

async function cancel(server: TestServer, room: CreateRoomResponse, id: string): Promise<void> {
  await fetch(`${server.url}/api/renders/${id}`, { method: 'DELETE', headers: { authorization: `Bearer ${room.tokens.editor}` } });
}

describe('render limits', () => {
  it('refuses a render of more frames than MAX_RENDER_FRAMES with 422 RENDER_TOO_LONG', async () => {
    const server = await startServer({ render: { ...defaults, maxFrames: 2400 } }, undefined, { engine: await sharedEngine() });
    const room = await server.createRoom();
    // Valid as a scene (64 shots of 10 s at 30 fps: 19,200 frames), too long for one render.
    const huge = { fps: 30, shots: Array.from({ length: 64 }, (_, i) => ({ id: `s${i}`, prompt: 'a red ball moves left', duration: 10 })) };
    const res = await postRender(server, room, { scene: huge });
    expect(res.status).toBe(422);
    const body = (await res.json()) as { error: { code: string; message: string; details: unknown } };
    expect(body.error.code).toBe('RENDER_TOO_LONG');
    expect(body.error.message).toMatch(/19200 frames.*at most 2400/);
    expect(body.error.details).toEqual({ frames: 19200, maxFrames: 2400 });
  });

  it('one running render per room and a short queue (429 with Retry-After), a bounded global queue, and rooms served shot by shot in turn', async () => {
    const engine = await sharedEngine();
    const server = await startServer({ render: { ...defaults, parallel: 1, roomQueue: 1, queueMax: 4, concurrency: 4 } }, undefined, { engine });
    const a = await server.createRoom({ scene: long });
    const b = await server.createRoom({ scene: short });
    const socketA = connectSocket(server.url, a.tokens.viewer);
    const socketB = connectSocket(server.url, b.tokens.viewer);
    await Promise.all([nextEvent(socketA, 'room:joined'), nextEvent(socketB, 'room:joined')]);

    // Room A: its long render runs, one more waits, a third is refused.
    const firstShot = nextEvent(socketA, 'render:progress', (p) => p.shot === 'a' && p.done > 0, 60_000);
    const running = ((await (await postRender(server, a)).json()) as { render: RenderInfo }).render;
    const waiting = await postRender(server, a);
    expect(waiting.status).toBe(202);
    const refused = await postRender(server, a);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(5);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('RENDER_QUEUE_FULL');

    // Room B's short render, asked for while A is on its first shot, is done before A's second shot is.
    await firstShot;
    const aDone: string[] = [];
    socketA.on('render:progress', (p) => {
      if (p.shot && p.done === p.total && !aDone.includes(p.shot)) aDone.push(p.shot);
    });
    const bRes = await postRender(server, b);
    expect(bRes.status).toBe(202);
    const bRender = ((await bRes.json()) as { render: RenderInfo }).render;
    await nextEvent(socketB, 'render:done', (d) => d.id === bRender.id, 60_000);
    expect(aDone.length).toBeLessThanOrEqual(1);
    const aNow = (await (await fetch(`${server.url}/api/renders/${running.id}?token=${a.tokens.viewer}`)).json()) as RenderInfo;
    expect(aNow.status).toBe('running');

    // The whole service holds at most 4: A's two, then two more rooms; a fifth room is refused.
    const c = await server.createRoom({ scene: long });
    const d = await server.createRoom({ scene: long });
    const e = await server.createRoom({ scene: short });
    const cRes = await postRender(server, c);
    const dRes = await postRender(server, d);
    expect([cRes.status, dRes.status]).toEqual([202, 202]);
    const eRes = await postRender(server, e);
    expect(eRes.status).toBe(429);
    expect(((await eRes.json()) as { error: { code: string; message: string } }).error.message).toMatch(/service has 4 renders waiting/);

    for (const [room, res] of [[c, cRes], [d, dRes]] as const) await cancel(server, room, ((await res.json()) as { render: RenderInfo }).render.id);
    const waitingId = ((await waiting.json()) as { render: RenderInfo }).render.id;
    await cancel(server, a, waitingId);
    await cancel(server, a, running.id);
    // Cancelled renders no longer count: room E may render now.
    expect((await postRender(server, e)).status).toBe(202);
  }, 180_000);
});
