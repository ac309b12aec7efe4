import { describe, expect, it } from 'vitest';
import { suggestionsOf } from '../shared/scene-doc.js';
import { startServer } from './helpers/server.js';
import { connectSocket, nextEvent } from './helpers/socket-client.js';
import { connectYjs, until } from './helpers/yjs-client.js';

describe('audience suggestions', () => {
  it('are moderated, rate-limited per client, stored in the document and announced to the room', async () => {
    const server = await startServer({ suggestions: { burst: 2, perMinute: 1 } });
    const room = await server.createRoom();
    const editorDoc = connectYjs(server.wsUrl, room.room, room.tokens.editor);
    await editorDoc.synced;
    const editorSocket = connectSocket(server.url, room.tokens.editor);
    await nextEvent(editorSocket, 'room:joined');
    const post = (body: unknown, token = room.tokens.overlay) =>
      fetch(`${server.url}/api/rooms/${room.room}/suggestions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify(body) });

    const announced = nextEvent(editorSocket, 'suggestion');
    const res = await post({ text: '  a purple star spins at night ', author: 'viewer42' });
    expect(res.status).toBe(201);
    const { suggestion } = await res.json();
    expect(suggestion).toMatchObject({ text: 'a purple star spins at night', author: 'viewer42' });
    expect(await announced).toEqual(suggestion);
    await until(editorDoc.doc, (d) => suggestionsOf(d).length === 1);
    expect(suggestionsOf(editorDoc.doc).get(0)).toEqual(suggestion);

    const blocked = await post({ text: '一个血腥的场面' });
    expect(blocked.status).toBe(422);
    expect((await blocked.json()).error.code).toBe('CONTENT_BLOCKED');
    // Two allowed in a burst (one used, one blocked above counts too), then 429 with Retry-After.
    const limited = await post({ text: 'a green ball' });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await limited.json()).error.code).toBe('RATE_LIMITED');

    expect((await post({ text: '' })).status).toBe(400);
    const viewer = await post({ text: 'hello' }, room.tokens.viewer);
    expect(viewer.status).toBe(403);
    expect(suggestionsOf(editorDoc.doc).length).toBe(1);
  });

  it('lists the templates', async () => {
    const server = await startServer();
    const { templates } = await (await fetch(`${server.url}/api/templates`)).json();
    expect(templates.map((t: { id: string }) => t.id)).toEqual(expect.arrayContaining(['none', 'cinematic', 'neon-night', 'product-showcase']));
    expect(templates[1].name.zh).toBeTruthy();
  });
});

describe('client → server events', () => {
  it('takes a suggestion over the socket: schema-checked, role-checked, judged, acknowledged with a code', async () => {
    const server = await startServer({ suggestions: { burst: 5, perMinute: 1 } });
    const room = await server.createRoom();
    const overlay = connectSocket(server.url, room.tokens.overlay);
    const viewer = connectSocket(server.url, room.tokens.viewer);
    await Promise.all([nextEvent(overlay, 'room:joined'), nextEvent(viewer, 'room:joined')]);
    const submit = (socket: typeof overlay, payload: unknown) =>
      new Promise<unknown>((resolve) => (socket.emit as (event: string, payload: unknown, ack: (reply: unknown) => void) => void)('suggestion:submit', payload, resolve));

    const announced = nextEvent(viewer, 'suggestion');
    const ok = (await submit(overlay, { text: ' a green star spins ', author: 'ada' })) as { ok: true; suggestion: { text: string; author: string } };
    expect(ok).toMatchObject({ ok: true, suggestion: { text: 'a green star spins', author: 'ada' } });
    expect(await announced).toEqual(ok.suggestion);
    expect(await submit(overlay, { text: '' })).toMatchObject({ ok: false, error: { code: 'INVALID_BODY' } });
    expect(await submit(overlay, { text: 'fine', extra: 1 })).toMatchObject({ ok: false, error: { code: 'INVALID_BODY' } });
    expect(await submit(viewer, { text: 'hello' })).toMatchObject({ ok: false, error: { code: 'ROLE_FORBIDDEN' } });
    expect(await submit(overlay, { text: 'k1ll them all' })).toMatchObject({ ok: false, error: { code: 'CONTENT_BLOCKED' } });
  });
});
