/**
 * Live mode against the real server, engine and clients: the stream goes on with consecutive
 * frames at the room's pace, follows a prompt change at a chunk boundary (the colour word changes
 * the colour of the frames; `live:state` says at which frame), pauses with nobody watching and
 * resumes, keeps the last good prompt when one is refused, obeys editors only, counts votes once
 * per client, puts the top suggestion on air, and saves the last seconds as an MP4.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { liveOf, livePromptText, readLive, votesOf } from '../shared/live.js';
import { sharedEngine } from './helpers/engine.js';
import { watchLive as watch } from './helpers/live-watch.js';
import { decodeAll, probe } from './helpers/media.js';
import { startServer, tempDir, within } from './helpers/server.js';
import { connectSocket, nextEvent, type ClientSocket } from './helpers/socket-client.js';
import { connectYjs, until } from './helpers/yjs-client.js';

async function setup(fps = 16) {
  const engine = await sharedEngine();
  const server = await startServer({}, undefined, { engine });
  const room = await server.createRoom({ scene: { fps, shots: [{ id: 'a', prompt: 'a green box', duration: 1 }] } });
  const editor = connectYjs(server.wsUrl, room.room, room.tokens.editor);
  await editor.synced;
  /** Sets the live fields as an editor's page does. */
  const setLive = (fields: Record<string, unknown>, prompt?: string) =>
    editor.doc.transact(() => {
      const map = liveOf(editor.doc);
      for (const [k, v] of Object.entries(fields)) map.set(k, v);
      if (prompt !== undefined) {
        const text = livePromptText(editor.doc);
        text.delete(0, text.length);
        text.insert(0, prompt);
      }
    });
  return { server, room, editor, setLive };
}


const poll = async <T>(what: string, probeFn: () => T | undefined | null | false, ms = 20_000): Promise<T> => {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = probeFn();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

/** Mean colour of the pixels that differ most from the frame's median (the object), as [r, g, b]. */
async function objectColour(jpeg: Uint8Array): Promise<[number, number, number]> {
  const { data, info } = await sharp(jpeg).raw().toBuffer({ resolveWithObject: true });
  const px: [number, number, number][] = [];
  for (let i = 0; i < data.length; i += info.channels) px.push([data[i]!, data[i + 1]!, data[i + 2]!]);
  const channel = (c: 0 | 1 | 2) => px.map((p) => p[c]).sort((a, b) => a - b)[px.length >> 1]!;
  const median: [number, number, number] = [channel(0), channel(1), channel(2)];
  const far = px.map((p) => ({ p, d: Math.abs(p[0] - median[0]) + Math.abs(p[1] - median[1]) + Math.abs(p[2] - median[2]) })).sort((a, b) => b.d - a.d).slice(0, Math.max(20, px.length >> 5));
  const sum = far.reduce<[number, number, number]>((s, { p }) => [s[0] + p[0], s[1] + p[1], s[2] + p[2]], [0, 0, 0]);
  return [sum[0] / far.length, sum[1] / far.length, sum[2] / far.length];
}

describe('live mode', () => {
  it('streams consecutive frames at the room’s pace for 10 s, follows a prompt change at a chunk boundary, and saves the last seconds as an MP4', async () => {
    const { server, room, setLive } = await setup();
    const viewer = watch(server.url, room.tokens.viewer);
    await nextEvent(viewer.socket, 'room:joined');
    setLive({ on: true, source: 'editor' }, 'a red ball moves right on the grass');
    await poll('the first live frame', () => viewer.frames.length > 0);
    const first = viewer.states.find((s) => s.status === 'live');
    expect(first).toMatchObject({ status: 'live', prompt: 'a red ball moves right on the grass', fps: 16 });
    await poll('5 s of stream', () => viewer.frames.length >= 80, 30_000);

    // A prompt change: accepted as a new revision, first shown at frame `appliedAt`, continuing the same sequence.
    const redRev = viewer.frames.at(-1)!.rev;
    const changedAt = viewer.frames.length;
    setLive({}, 'a blue ball moves right on the grass');
    const applied = await poll('the new revision', () => viewer.states.find((s) => s.status === 'live' && s.rev > redRev && s.appliedAt !== undefined));
    expect(applied.prompt).toBe('a blue ball moves right on the grass');
    await poll('10 s of stream', () => viewer.frames.length >= 160, 30_000);
    const seqs = viewer.frames.map((f) => f.seq);
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => seqs[0]! + i));
    const firstBlue = viewer.frames.find((f) => f.seq === applied.appliedAt)!;
    expect(firstBlue.rev).toBe(applied.rev);
    expect(viewer.frames.filter((f) => f.seq < applied.appliedAt!).every((f) => f.rev < applied.rev)).toBe(true);
    expect(viewer.frames.filter((f) => f.seq >= applied.appliedAt!).every((f) => f.rev === applied.rev)).toBe(true);
    expect(viewer.frames.indexOf(firstBlue)).toBeGreaterThanOrEqual(changedAt);
    // The colour word changed the colour: red before, blue a second after.
    const red = await objectColour(viewer.frames[changedAt - 1]!.data);
    const blue = await objectColour(viewer.frames.at(-1)!.data);
    expect(red[0] - red[2]).toBeGreaterThan(blue[0] - blue[2] + 20);
    // Paced: never faster than real time (16 fps: 160 frames take at least ~9.5 s).
    const span = (viewer.frames.at(-1)!.at - viewer.frames[0]!.at) / 1000;
    expect(span).toBeGreaterThan((viewer.frames.length - 1) / 16 - 0.5);

    // An instant replay: the last 30 s seen (here all of it), as an MP4 that decodes whole.
    const api = (p: string, init: RequestInit = {}) => fetch(`${server.url}${p}`, { ...init, headers: { authorization: `Bearer ${room.tokens.editor}` } });
    expect((await fetch(`${server.url}/api/rooms/${room.room}/live/clips`, { method: 'POST', headers: { authorization: `Bearer ${room.tokens.viewer}` } })).status).toBe(403);
    const res = await api(`/api/rooms/${room.room}/live/clips`, { method: 'POST' });
    expect(res.status).toBe(202);
    const { clip } = (await res.json()) as { clip: { id: string; status: string; frames: number } };
    expect(clip.status).toBe('encoding');
    expect(clip.frames).toBeGreaterThanOrEqual(160);
    // Replays are rate-limited per editor (each is an ffmpeg run): a burst of three, then 429.
    const more = [await api(`/api/rooms/${room.room}/live/clips`, { method: 'POST' }), await api(`/api/rooms/${room.room}/live/clips`, { method: 'POST' })];
    expect(more.map((r) => r.status)).toEqual([202, 202]);
    const limited = await api(`/api/rooms/${room.room}/live/clips`, { method: 'POST' });
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(((await limited.json()) as { error: { code: string } }).error.code).toBe('RATE_LIMITED');
    const done = await within('the replay', 60_000, (async () => {
      for (;;) {
        const body = (await (await api(`/api/rooms/${room.room}/live/clips/${clip.id}`)).json()) as { clip: { status: string; url: string } };
        if (body.clip.status !== 'encoding') return body.clip;
        await new Promise((r) => setTimeout(r, 100));
      }
    })());
    expect(done.status).toBe('done');
    const file = path.join(await tempDir(), 'replay.mp4');
    const video = await fetch(`${server.url}${done.url}?token=${room.tokens.viewer}`);
    expect(video.status).toBe(200);
    await writeFile(file, Buffer.from(await video.arrayBuffer()));
    const info = await probe(file);
    expect(info).toMatchObject({ width: 1280, height: 720, codec: 'h264' });
    expect(await decodeAll(file)).toBe(clip.frames);
    viewer.socket.disconnect();
  }, 120_000);

  it('pauses with nobody watching and resumes where it was; a refused prompt keeps the last good one; a viewer cannot steer', async () => {
    const { server, room, setLive } = await setup();
    setLive({ on: true }, 'a yellow box moves left');
    const a = watch(server.url, room.tokens.overlay);
    await poll('frames', () => a.frames.length >= 10);
    a.socket.disconnect();
    const lastSeq = a.frames.at(-1)!.seq;
    // Nobody: it pauses (a socket that comes back is told so, then sees frames again).
    await new Promise((r) => setTimeout(r, 1500));
    const b = watch(server.url, room.tokens.viewer);
    const joined = await nextEvent(b.socket, 'live:state');
    expect(['paused', 'live', 'starting']).toContain(joined.status);
    expect(a.states.some((s) => s.status === 'paused') || joined.status === 'paused').toBe(true);
    await poll('resumed frames', () => b.frames.length >= 4, 10_000);
    // It went on from where it was, not from frame 0, and not much further (it paused).
    expect(b.frames[0]!.seq).toBeGreaterThan(lastSeq);
    expect(b.frames[0]!.seq).toBeLessThan(lastSeq + 30);

    // A refused prompt: said so, and the stream goes on with the last good revision.
    const rev = b.frames.at(-1)!.rev;
    setLive({}, 'k1ll them all');
    const refused = await poll('the refusal', () => b.states.find((s) => s.status === 'refused'));
    expect(refused).toMatchObject({ code: 'CONTENT_BLOCKED', prompt: 'a yellow box moves left' });
    const after = b.frames.length;
    await poll('more frames', () => b.frames.length >= after + 8);
    expect(b.frames.slice(after).every((f) => f.rev === rev)).toBe(true);

    // A viewer's document edits are dropped: it cannot stop or steer the stream.
    const viewerDoc = connectYjs(server.wsUrl, room.room, room.tokens.viewer);
    await viewerDoc.synced;
    liveOf(viewerDoc.doc).set('on', false);
    livePromptText(viewerDoc.doc).insert(0, 'a blue ball ');
    const count = b.frames.length;
    await poll('frames after the viewer’s try', () => b.frames.length >= count + 16);
    expect(b.states.some((s) => s.status === 'stopped')).toBe(false);
    expect(b.frames.slice(count).every((f) => f.rev === rev)).toBe(true);

    // An editor turns it off: stopped.
    setLive({ on: false });
    await poll('stopped', () => b.states.find((s) => s.status === 'stopped'));
    b.socket.disconnect();
  }, 120_000);

  it('the audience votes once per client; with source = suggestions the top suggestion goes on air, who suggested it is shown, and an editor can pin it', async () => {
    const { server, room, editor, setLive } = await setup();
    const overlay = watch(server.url, room.tokens.overlay);
    await nextEvent(overlay.socket, 'room:joined');
    const suggest = (text: string, author: string) =>
      new Promise<string>((resolve, reject) => overlay.socket.emit('suggestion:submit', { text, author }, (reply) => (reply.ok ? resolve(reply.suggestion.id) : reject(new Error(reply.error.code)))));
    const vote = (socket: ClientSocket, id: string) => new Promise<{ ok: boolean; votes?: number; code?: string }>((resolve) => socket.emit('suggestion:vote', { id }, (reply) => resolve(reply.ok ? { ok: true, votes: reply.votes } : { ok: false, code: reply.error.code })));
    const first = await suggest('a red ball moves up', 'ann');
    const second = await suggest('a white star at night', 'bo');
    expect(await vote(overlay.socket, second)).toEqual({ ok: true, votes: 1 });
    expect(await vote(overlay.socket, second)).toEqual({ ok: false, code: 'VOTE_REPEATED' });
    expect(await vote(overlay.socket, 's000000000000')).toEqual({ ok: false, code: 'SUGGESTION_NOT_FOUND' });
    const viewer = connectSocket(server.url, room.tokens.viewer);
    await nextEvent(viewer, 'room:joined');
    expect(await vote(viewer, first)).toEqual({ ok: false, code: 'ROLE_FORBIDDEN' });
    await until(editor.doc, (d) => votesOf(d).get(second) === 1);

    setLive({ on: true, source: 'suggestions', every: 5 }, 'a green box');
    const onAir = await poll('the top suggestion on air', () => overlay.states.find((s) => s.status === 'live' && s.prompt === 'a white star at night'));
    expect(onAir.author).toBe('bo');
    await until(editor.doc, (d) => (liveOf(d).get('onAir') as { suggestion?: string } | undefined)?.suggestion === second);
    // Pinned, it stays past its turn; unpinned, the next one takes over.
    setLive({ pinned: second });
    await new Promise((r) => setTimeout(r, 5500));
    expect(overlay.states.some((s) => s.prompt === 'a red ball moves up')).toBe(false);
    setLive({ pinned: null });
    const next = await poll('the next suggestion', () => overlay.states.find((s) => s.status === 'live' && s.prompt === 'a red ball moves up'), 10_000);
    expect(next.author).toBe('ann');
    // Editors take control back.
    setLive({ source: 'editor' });
    await poll('the editors’ prompt', () => overlay.states.find((s) => s.status === 'live' && s.prompt === 'a green box'), 10_000);
    overlay.socket.disconnect();
    viewer.disconnect();
  }, 120_000);

  it('reads what is on air bounded like a suggestion, whoever wrote it into the document', () => {
    const doc = new Y.Doc();
    liveOf(doc).set('onAir', { suggestion: 's000000000001', text: 'x'.repeat(2000), author: 'y'.repeat(500), since: 1 });
    const { onAir } = readLive(doc);
    expect(onAir?.text).toHaveLength(500);
    expect(onAir?.author).toHaveLength(40);
    liveOf(doc).set('onAir', { text: 'no id' });
    expect(readLive(doc).onAir).toBeNull();
  });
});
