import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { findShot } from '../shared/scene-doc.js';
import { sharedEngine } from './helpers/engine.js';
import { PreviewRecorder } from './helpers/preview-recorder.js';
import { startServer } from './helpers/server.js';
import { connectSocket } from './helpers/socket-client.js';
import { connectYjs, until } from './helpers/yjs-client.js';

const scene = {
  fps: 12,
  shots: [
    { id: 'one', prompt: 'a red ball moves left', duration: 1 },
    { id: 'two', prompt: 'a blue square moves up', duration: 1 },
    { id: 'three', prompt: '一个白色的星星在夜空中旋转', duration: 1 },
  ],
};

async function setup() {
  const engine = await sharedEngine();
  const server = await startServer({}, undefined, { engine });
  const room = await server.createRoom({ scene });
  const editor = connectYjs(server.wsUrl, room.room, room.tokens.editor);
  await editor.synced;
  await until(editor.doc, (d) => findShot(d, 'three') !== undefined);
  const viewer = new PreviewRecorder(connectSocket(server.url, room.tokens.viewer));
  // Opening the room previews every shot once.
  for (const shot of ['one', 'two', 'three']) await viewer.done(shot);
  const prompt = (id: string) => findShot(editor.doc, id)!.get('prompt') as Y.Text;
  return { engine, server, room, editor, viewer, prompt };
}

describe('live previews', () => {
  it('streams every frame of the edited shot, in order, as valid JPEGs of the preview size', async () => {
    const { viewer, prompt } = await setup();
    const before = Math.max(...viewer.states.map((s) => s.rev));
    prompt('one').insert(prompt('one').length, ' quickly');
    const done = await viewer.done('one', before);
    const frames = viewer.framesOf('one', done.rev);
    expect(frames.length).toBe(12);
    expect(frames.map((f) => f.index)).toEqual([...Array(12).keys()]);
    for (const frame of frames) {
      expect(frame).toMatchObject({ shot: 'one', count: 12, fps: 12, width: 128, height: 72 });
      const meta = await sharp(frame.data).metadata();
      expect(meta).toMatchObject({ format: 'jpeg', width: 128, height: 72 });
    }
    const states = viewer.states.filter((s) => s.shot === 'one' && s.rev === done.rev).map((s) => s.status);
    expect(states).toEqual(['queued', 'generating', 'done']);
  });

  it('rapid edits: only the latest revision completes, earlier ones end cancelled', async () => {
    const { viewer, prompt, server, editor } = await setup();
    // A long shot, so that its preview takes longer than typing the next word, however fast the model is.
    findShot(editor.doc, 'two')!.set('duration', 10);
    await viewer.done('two', Math.max(...viewer.states.map((s) => s.rev)));
    const before = Math.max(...viewer.states.map((s) => s.rev));
    const words = [' and', ' a', ' green', ' star', ' bounces', ' slowly'];
    let newest = before;
    for (const word of words) {
      prompt('two').insert(prompt('two').length, word);
      // Each word is typed once the previous one's preview is generating: faster than a preview takes.
      const generating = await viewer.until(() => viewer.states.find((s) => s.shot === 'two' && s.rev > newest && s.status === 'generating'), 20_000, 'a newer generating revision');
      newest = generating.rev;
    }
    const revs = [...new Set(viewer.states.filter((s) => s.shot === 'two' && s.rev > before).map((s) => s.rev))];
    const last = Math.max(...revs);
    await viewer.until(() => viewer.finalState('two', last), 30_000, 'the last revision to end');
    for (const rev of revs) await viewer.until(() => viewer.finalState('two', rev), 30_000, `rev ${rev} to end`);
    expect(viewer.finalState('two', last)!.status, JSON.stringify(viewer.states.filter((s) => s.shot === 'two' && s.rev > before))).toBe('done');
    expect(revs.length).toBeGreaterThan(1);
    const ends = revs.filter((r) => r !== last).map((r) => viewer.finalState('two', r)!.status);
    expect(ends.every((s) => s === 'cancelled')).toBe(true);
    // A stale frame is never shown after a newer one: frame revisions never go back.
    const revsOfFrames = viewer.frames.filter((f) => f.shot === 'two' && f.rev > before).map((f) => f.rev);
    expect(revsOfFrames).toEqual([...revsOfFrames].sort((a, b) => a - b));
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/scenecast_preview_jobs_total\{outcome="cancelled"\} [1-9]/);
  });

  it('editing shot 2 of 3 regenerates shot 2 only', async () => {
    const { viewer, prompt } = await setup();
    const before = Math.max(...viewer.states.map((s) => s.rev));
    prompt('two').insert(0, 'now ');
    await viewer.done('two', before);
    const touched = new Set(viewer.states.filter((s) => s.rev > before).map((s) => s.shot));
    expect([...touched]).toEqual(['two']);
  });

  it('a late joiner receives the cached preview of every shot at once', async () => {
    const { server, room, viewer } = await setup();
    const late = new PreviewRecorder(connectSocket(server.url, room.tokens.overlay));
    for (const shot of ['one', 'two', 'three']) {
      const done = await late.done(shot);
      const expected = viewer.framesOf(shot, done.rev);
      const got = late.framesOf(shot, done.rev);
      expect(got.map((f) => f.index)).toEqual(expected.map((f) => f.index));
      expect(Buffer.from(got[0]!.data).equals(Buffer.from(expected[0]!.data))).toBe(true);
    }
  });

  it.each([
    ['English', 'a red ball covered in blood', 'blood'],
    ['Chinese', '一个红色的球和血腥的场面', '血腥'],
  ])('refuses a blocked %s prompt with its reason and generates nothing', async (_lang, text, term) => {
    const { viewer, prompt, editor } = await setup();
    const before = Math.max(...viewer.states.map((s) => s.rev));
    editor.doc.transact(() => {
      prompt('three').delete(0, prompt('three').length);
      prompt('three').insert(0, text);
    });
    const refused = await viewer.until(() => viewer.states.find((s) => s.shot === 'three' && s.rev > before && s.status === 'refused'), 10_000, 'refused');
    expect(refused.code).toBe('CONTENT_BLOCKED');
    expect(refused.reason).toContain(term);
    // Nothing was generated for it; a harmless edit elsewhere proves the pipeline kept going.
    prompt('one').insert(0, 'then ');
    await viewer.done('one', refused.rev);
    expect(viewer.frames.filter((f) => f.shot === 'three' && f.rev > before)).toEqual([]);
    expect(viewer.states.filter((s) => s.shot === 'three' && s.rev > before).map((s) => s.status)).toEqual(['refused']);
  });

  it('a late joiner also sees why a shot has no preview', async () => {
    const { viewer, prompt, editor, server, room } = await setup();
    const before = Math.max(...viewer.states.map((s) => s.rev));
    editor.doc.transact(() => prompt('two').insert(0, 'a bloody '));
    await viewer.until(() => viewer.states.find((s) => s.shot === 'two' && s.rev > before && s.status === 'refused'), 10_000, 'refused');
    const late = new PreviewRecorder(connectSocket(server.url, room.tokens.viewer));
    const refused = await late.until(() => late.states.find((s) => s.shot === 'two' && s.status === 'refused'), 10_000, 'replayed refusal');
    expect(refused.code).toBe('CONTENT_BLOCKED');
    // It came after the older complete preview of that shot, so the badge ends on the refusal.
    expect(late.states.filter((s) => s.shot === 'two').at(-1)!.status).toBe('refused');
  });

  it('skips invalid shots with a reason instead of failing', async () => {
    const { viewer, prompt, editor } = await setup();
    const before = Math.max(...viewer.states.map((s) => s.rev));
    editor.doc.transact(() => {
      prompt('one').delete(0, prompt('one').length);
      findShot(editor.doc, 'two')!.set('duration', 42);
    });
    const empty = await viewer.until(() => viewer.states.find((s) => s.shot === 'one' && s.rev > before && s.status === 'refused'), 10_000, 'empty refused');
    expect(empty.code).toBe('SHOT_PROMPT_EMPTY');
    const bad = await viewer.until(() => viewer.states.find((s) => s.shot === 'two' && s.rev > before && s.status === 'refused'), 10_000, 'duration refused');
    expect(bad.code).toBe('SHOT_DURATION_OUT_OF_RANGE');
  });
});

describe('previews of shots that continue', () => {
  it('a shot that continues the one before starts where its preview ends, and is previewed again when that shot changes', async () => {
    const engine = await sharedEngine();
    const server = await startServer({}, undefined, { engine });
    const room = await server.createRoom({
      scene: {
        fps: 8,
        seed: 4,
        shots: [
          { id: 'a', prompt: 'a blue ball moves right on the grass', duration: 1 },
          // b and c are the same shot (same seed), but b continues a and c does not.
          { id: 'b', prompt: 'a ball moves left', duration: 1, seed: 11, continue: true },
          { id: 'c', prompt: 'a ball moves left', duration: 1, seed: 11 },
        ],
      },
    });
    const editor = connectYjs(server.wsUrl, room.room, room.tokens.editor);
    await editor.synced;
    await until(editor.doc, (d) => findShot(d, 'c') !== undefined);
    const viewer = new PreviewRecorder(connectSocket(server.url, room.tokens.viewer));
    const first = Object.fromEntries(await Promise.all(['a', 'b', 'c'].map(async (id) => [id, await viewer.done(id)] as const)));
    const raw = (jpeg: Uint8Array) => sharp(jpeg).raw().toBuffer();
    const diff = (x: Buffer, y: Buffer) => x.reduce((sum, v, i) => sum + Math.abs(v - y[i]!), 0) / x.length;
    const frames = (id: string, rev: number) => viewer.framesOf(id, rev).sort((x, y) => x.index - y.index);
    const lastOfA = await raw(frames('a', first.a!.rev).at(-1)!.data);
    const b0 = await raw(frames('b', first.b!.rev)[0]!.data);
    const c0 = await raw(frames('c', first.c!.rev)[0]!.data);
    // b starts from a's last frames; c, the same shot after a cut, does not.
    expect(diff(b0, lastOfA)).toBeLessThan(diff(c0, lastOfA));
    // a changes: b, unchanged itself, is previewed again from a's new last frames; c is not.
    const before = Math.max(...viewer.states.map((s) => s.rev));
    const prompt = findShot(editor.doc, 'a')!.get('prompt') as Y.Text;
    prompt.delete(0, 'a blue'.length);
    prompt.insert(0, 'a yellow');
    const a2 = await viewer.done('a', before);
    const b2 = await viewer.done('b', before);
    expect(b2.rev).toBeGreaterThan(first.b!.rev);
    const lastOfA2 = await raw(frames('a', a2.rev).at(-1)!.data);
    expect(diff(await raw(frames('b', b2.rev)[0]!.data), lastOfA2)).toBeLessThan(diff(b0, lastOfA2));
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(viewer.states.some((s) => s.shot === 'c' && s.rev > before)).toBe(false);
  }, 60_000);
});
