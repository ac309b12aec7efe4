import { describe, expect, it } from 'vitest';
import type { Verdict } from '../shared/moderation.js';
import { sharedEngine } from './helpers/engine.js';
import { PreviewRecorder } from './helpers/preview-recorder.js';
import { startServer } from './helpers/server.js';
import { connectSocket, nextEvent } from './helpers/socket-client.js';
import { connectYjs } from './helpers/yjs-client.js';

describe('one content policy', () => {
  it('is injected once and judges previews, renders and suggestions alike', async () => {
    const seen: string[] = [];
    // A classifier of our own: it refuses anything purple (the blocklist would not).
    const classifier = async (text: string): Promise<Verdict> => {
      seen.push(text);
      return /purple/i.test(text) ? { ok: false, reason: 'purple is not allowed here', term: 'purple' } : { ok: true };
    };
    const engine = await sharedEngine();
    const server = await startServer({}, undefined, { engine, moderation: classifier });
    const room = await server.createRoom({ scene: { fps: 8, shots: [{ id: 'a', prompt: 'a purple square grows', duration: 0.5 }, { id: 'b', prompt: 'a red ball moves left', duration: 0.5 }] } });
    const socket = connectSocket(server.url, room.tokens.viewer);
    const previews = new PreviewRecorder(socket);
    await nextEvent(socket, 'room:joined');
    // A room's previews start once it is loaded (someone opened its document).
    await connectYjs(server.wsUrl, room.room, room.tokens.viewer).synced;

    // Previews: the purple shot is refused with the classifier's reason, the other previewed.
    const refused = await previews.until(() => previews.states.find((s) => s.shot === 'a' && s.status === 'refused'), 30_000, 'refused preview');
    expect(refused).toMatchObject({ code: 'CONTENT_BLOCKED', reason: 'purple is not allowed here' });

    // Renders.
    const render = await fetch(`${server.url}/api/rooms/${room.room}/renders`, { method: 'POST', headers: { authorization: `Bearer ${room.tokens.editor}`, 'content-type': 'application/json' }, body: '{}' });
    expect(render.status).toBe(422);
    expect(await render.json()).toMatchObject({ error: { code: 'CONTENT_BLOCKED', message: 'Shot "a": purple is not allowed here' } });

    // Suggestions.
    const suggest = (text: string) =>
      fetch(`${server.url}/api/rooms/${room.room}/suggestions`, { method: 'POST', headers: { authorization: `Bearer ${room.tokens.overlay}`, 'content-type': 'application/json' }, body: JSON.stringify({ text }) });
    const blocked = await suggest('a purple star');
    expect(blocked.status).toBe(422);
    expect(await blocked.json()).toMatchObject({ error: { code: 'CONTENT_BLOCKED', message: 'Your suggestion: purple is not allowed here' } });
    expect((await suggest('a green star')).status).toBe(201);
    expect(seen.some((t) => t.includes('a purple star'))).toBe(true);
  }, 60_000);

  it('the default policy reads past the usual tricks and answers in the language of the text', async () => {
    const server = await startServer();
    const room = await server.createRoom();
    const suggest = async (text: string) => {
      const res = await fetch(`${server.url}/api/rooms/${room.room}/suggestions`, { method: 'POST', headers: { authorization: `Bearer ${room.tokens.editor}`, 'content-type': 'application/json' }, body: JSON.stringify({ text }) });
      return { status: res.status, body: (await res.json()) as { error?: { code: string; message: string } } };
    };
    const traditional = await suggest('一個殺人的場面');
    expect(traditional.status).toBe(422);
    expect(traditional.body.error!.message).toMatch(/[\u4e00-\u9fff]/);
    expect((await suggest('k\u200bill them all')).status).toBe(422);
    expect((await suggest('a film crew celebrates 杀青 on set')).status).toBe(201);
  });
});
