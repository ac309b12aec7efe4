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
