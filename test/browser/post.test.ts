/**
 * Post-production in the editor, in a real browser: a shot's caption, narration, transition and
 * "continues" set in the UI and stored; the read-only viewer; the scene's sound and captions panel;
 * the warning for a narration longer than its shot; the whole-scene player with captions,
 * transitions and sound; the overlay drawing a clip's captions.
 *
 * Some endpoints these pages use are new (the room's audio files, the bundled beds, spoken
 * narration): while the server answers "no such route" (NOT_FOUND) or 501 for one, the test
 * answers in its place, as DESIGN.md specifies; once the server has it, its own answer goes through.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Page, Request } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import type * as Y from 'yjs';
import type { RenderInfo } from '../../shared/protocol.js';
import type { Scene } from '../../shared/scene.js';
import { ffmpegPath } from '../../server/render/ffmpeg.js';
import { editorText, ensureClientBuilt, launchBrowser, openPage, pageDoc, screenshot, waitForPicture } from '../helpers/browser.js';
import { sharedEngine } from '../helpers/engine.js';
import { onCleanup, startServer, type TestServer } from '../helpers/server.js';

beforeAll(async () => {
  await Promise.all([ensureClientBuilt(), launchBrowser(), sharedEngine()]);
}, 120_000);

/** Long enough for a page to load, connect and sync, and for an edit to reach the server, on a busy machine. */
const SLOW = { timeout: 10_000 };

const server = async (): Promise<TestServer> => startServer({}, undefined, { engine: await sharedEngine() });

async function sceneOf(s: TestServer, room: string, token: string): Promise<Scene> {
  const res = await fetch(`${s.url}/api/rooms/${room}/scene`, { headers: { authorization: `Bearer ${token}` } });
  expect(res.status).toBe(200);
  return (await res.json()) as Scene;
}

/** A mono 16-bit PCM WAV of a sine tone. */
function wav(seconds: number, hz = 440, rate = 16_000): Buffer {
  const n = Math.round(seconds * rate);
  const b = Buffer.alloc(44 + n * 2);
  b.write('RIFF', 0);
  b.writeUInt32LE(36 + n * 2, 4);
  b.write('WAVEfmt ', 8);
  b.writeUInt32LE(16, 16);
  b.writeUInt16LE(1, 20);
  b.writeUInt16LE(1, 22);
  b.writeUInt32LE(rate, 24);
  b.writeUInt32LE(rate * 2, 28);
  b.writeUInt16LE(2, 32);
  b.writeUInt16LE(16, 34);
  b.write('data', 36);
  b.writeUInt32LE(n * 2, 40);
  for (let i = 0; i < n; i++) b.writeInt16LE(Math.round(Math.sin((2 * Math.PI * hz * i) / rate) * 8000), 44 + i * 2);
  return b;
}

/** Every request `page` makes whose URL matches `pattern`, as it is made (the server answers it). */
function requestsTo(page: Page, pattern: RegExp): Request[] {
  const seen: Request[] = [];
  page.on('request', (request) => {
    if (pattern.test(request.url())) seen.push(request);
  });
  return seen;
}


const shot = (page: Page, id: string) => page.locator(`li.shot[data-shot="${id}"]`);
const field = (page: Page, id: string, name: 'caption' | 'narration') => shot(page, id).locator(`.${name} .cm-content`);

/** Sets a control's value by script and fires its events (what a read-only page must not act on). */
const force = (page: Page, selector: string, value: string | boolean) =>
  page.locator(selector).first().evaluate((el, next) => {
    const control = el as HTMLInputElement | HTMLSelectElement;
    if (typeof next === 'boolean') (control as HTMLInputElement).checked = next;
    else control.value = next;
    control.dispatchEvent(new Event('input', { bubbles: true }));
    control.dispatchEvent(new Event('change', { bubbles: true }));
  }, value);

describe('a shot’s post-production', () => {
  it('an editor sets a caption, a narration and a crossfade on shot 1 in the UI; they are stored, co-edited, and read-only for a viewer', async () => {
    const s = await server();
    const room = await s.createRoom({
      scene: {
        fps: 8,
        shots: [
          { id: 'one', prompt: 'a red ball bounces on the grass', duration: 2 },
          { id: 'two', prompt: 'a blue box moves left', duration: 2 },
        ],
      },
    });
    const alice = await openPage(room.urls.editor, { user: { name: 'Alice', color: '#e5484d' } });
    const bob = await openPage(room.urls.editor, { user: { name: 'Bob', color: '#0090ff' } });
    const { page } = alice;
    await shot(page, 'one').waitFor();

    // The transition is into the next shot (none on the last); "continues" is from the previous one (none on the first).
    expect(await shot(page, 'one').locator('.transition').isVisible()).toBe(true);
    expect(await shot(page, 'two').locator('.transition').isVisible()).toBe(false);
    expect(await shot(page, 'one').locator('.continue').isVisible()).toBe(false);
    expect(await shot(page, 'two').locator('.continue').isVisible()).toBe(true);

    await field(page, 'one', 'narration').click();
    await page.keyboard.type('A ball bounces on the grass.');
    await shot(page, 'one').getByLabel('Transition into the next shot').selectOption('crossfade');
    const seconds = shot(page, 'one').getByLabel('Transition length (s)');
    await expect.poll(() => seconds.isDisabled(), SLOW).toBe(false);
    await seconds.fill('0.8');
    await seconds.press('Tab');
    await shot(page, 'two').getByLabel('Continues the previous shot').check();
    // One line: Enter adds no line break.
    await field(page, 'one', 'caption').click();
    await page.keyboard.type('Hello');
    await page.keyboard.press('Enter');
    await page.keyboard.type('there');

    await expect
      .poll(async () => (await sceneOf(s, room.room, room.tokens.editor)).shots, SLOW)
      .toEqual([
        { id: 'one', prompt: 'a red ball bounces on the grass', duration: 2, camera: 'static', caption: 'Hello there', narration: 'A ball bounces on the grass.', transition: { type: 'crossfade', duration: 0.8 } },
        { id: 'two', prompt: 'a blue box moves left', duration: 2, camera: 'static', continue: true },
      ]);

    // The other editor's page had no caption to show when it opened: it shows the one made since,
    // and both type into it at once without moving each other's caret.
    await expect.poll(() => editorText(field(bob.page, 'one', 'caption')), SLOW).toBe('Hello there');
    await field(bob.page, 'one', 'caption').click();
    await bob.page.keyboard.press('Home');
    await bob.page.keyboard.type('Big ');
    await expect.poll(() => editorText(field(page, 'one', 'caption')), SLOW).toBe('Big Hello there');
    // Alice's caret is still after "there", where she stopped typing.
    await page.keyboard.type(' again');
    await expect.poll(async () => (await sceneOf(s, room.room, room.tokens.editor)).shots[0]?.caption, SLOW).toBe('Big Hello there again');
    await expect.poll(() => editorText(field(bob.page, 'one', 'caption')), SLOW).toBe('Big Hello there again');
    const before = await sceneOf(s, room.room, room.tokens.editor);

    // A viewer sees all of it, read-only.
    const viewer = await openPage(room.urls.viewer);
    const v = viewer.page;
    await expect.poll(() => v.locator('.role-badge').innerText(), SLOW).toBe('Viewer');
    await expect.poll(() => editorText(field(v, 'one', 'caption')), SLOW).toBe('Big Hello there again');
    expect(await editorText(field(v, 'one', 'narration'))).toBe('A ball bounces on the grass.');
    expect(await field(v, 'one', 'caption').getAttribute('contenteditable')).toBe('false');
    expect(await field(v, 'one', 'narration').getAttribute('contenteditable')).toBe('false');
    const type = shot(v, 'one').getByLabel('Transition into the next shot');
    const length = shot(v, 'one').getByLabel('Transition length (s)');
    const continues = shot(v, 'two').getByLabel('Continues the previous shot');
    expect([await type.inputValue(), await length.inputValue(), await continues.isChecked()]).toEqual(['crossfade', '0.8', true]);
    expect([await type.isDisabled(), await length.isDisabled(), await continues.isDisabled()]).toEqual([true, true, true]);

    // Typing and scripted changes leave its document and the server as they were.
    await field(v, 'one', 'caption').click();
    await v.keyboard.type('XYZ');
    await field(v, 'one', 'narration').click();
    await v.keyboard.type('XYZ');
    await force(v, 'li.shot[data-shot="one"] select.transition-type', 'slide-left');
    await force(v, 'li.shot[data-shot="one"] input.transition-seconds', '1.5');
    await force(v, 'li.shot[data-shot="two"] .continue input', false);
    await force(v, 'li.shot[data-shot="one"] .continue input', true);
    expect(await editorText(field(v, 'one', 'caption'))).toBe('Big Hello there again');
    const read = (doc: unknown) =>
      (doc as Y.Doc)
        .getArray<Y.Map<unknown>>('shots')
        .toArray()
        .map((m) => [String(m.get('caption') ?? ''), String(m.get('narration') ?? ''), JSON.stringify(m.get('transition') ?? null), m.get('continue') ?? null]);
    expect(await (await pageDoc(v)).evaluate(read)).toEqual([
      ['Big Hello there again', 'A ball bounces on the grass.', '{"type":"crossfade","duration":0.8}', null],
      ['', '', 'null', true],
    ]);
    // An edit the editor makes afterwards still arrives: the viewer's changes, had there been any, would have too.
    await shot(page, 'one').getByLabel('Duration (s)').fill('3');
    await shot(page, 'one').getByLabel('Duration (s)').press('Tab');
    await expect.poll(async () => (await sceneOf(s, room.room, room.tokens.editor)).shots[0]?.duration, SLOW).toBe(3);
    await expect.poll(() => shot(v, 'one').getByLabel('Duration (s)').inputValue(), SLOW).toBe('3');
    const after = await sceneOf(s, room.room, room.tokens.editor);
    expect(after).toEqual({ ...before, shots: [{ ...before.shots[0]!, duration: 3 }, before.shots[1]!] });
    await screenshot(page, 'post-shot-editor', { fullPage: true });
    alice.expectNoErrors();
    bob.expectNoErrors();
    viewer.expectNoErrors();
  });

  it('warns when a narration will take longer to say than its shot lasts, and stops once the shot is long enough', async () => {
    const s = await server();
    const room = await s.createRoom({
      scene: {
        fps: 8,
        shots: [
          { id: 'en', prompt: 'a red ball', duration: 1 },
          { id: 'zh', prompt: '一个红色的球', duration: 2 },
        ],
      },
    });
    const editor = await openPage(room.urls.editor);
    const { page } = editor;
    const warning = shot(page, 'en').locator('.narration-warning');
    await field(page, 'en', 'narration').click();
    await page.keyboard.type('One second');
    // Two words: under a second.
    expect(await warning.isVisible()).toBe(false);
    await page.keyboard.type(' is far too short for all of the words in this narration about a ball');
    // 17 words at 2.7 words a second: about 6.3 s.
    await expect.poll(() => warning.isVisible(), SLOW).toBe(true);
    expect(await warning.innerText()).toBe('This narration takes about 6.3 s to say (an estimate), longer than the shot (1 s). The render reports the exact length.');
    expect(await field(page, 'en', 'narration').getAttribute('aria-describedby')).toBe(await warning.getAttribute('id'));

    await shot(page, 'en').getByLabel('Duration (s)').fill('6');
    await shot(page, 'en').getByLabel('Duration (s)').press('Tab');
    await expect.poll(() => warning.innerText(), SLOW).toContain('longer than the shot (6 s)');
    await shot(page, 'en').getByLabel('Duration (s)').fill('7');
    await shot(page, 'en').getByLabel('Duration (s)').press('Tab');
    await expect.poll(() => warning.isVisible(), SLOW).toBe(false);
    await expect.poll(async () => (await sceneOf(s, room.room, room.tokens.editor)).shots[0]?.duration, SLOW).toBe(7);

    // Chinese is counted by characters (4.5 a second): 18 characters are 4 s.
    const zhWarning = shot(page, 'zh').locator('.narration-warning');
    await field(page, 'zh', 'narration').click();
    await page.keyboard.insertText('一个红色的球在草地上慢慢地弹跳着前进');
    await expect.poll(() => zhWarning.isVisible(), SLOW).toBe(true);
    await page.locator('#lang').selectOption('zh');
    await expect.poll(() => zhWarning.innerText(), SLOW).toBe('这段旁白大约需要 4.0 秒读完（估计值），比镜头（2 秒）长。渲染时会给出准确时长。');
    await page.locator('#lang').selectOption('en');
    await shot(page, 'zh').getByLabel('Duration (s)').fill('4.5');
    await shot(page, 'zh').getByLabel('Duration (s)').press('Tab');
    await expect.poll(() => zhWarning.isVisible(), SLOW).toBe(false);
    editor.expectNoErrors();
  });
});

describe('the scene’s sound and captions', () => {
  it('the audio panel’s choices land in the scene, uploads are sent as the file itself, and a viewer changes nothing', async () => {
    const s = await server();
    const room = await s.createRoom({ scene: { fps: 8, shots: [{ id: 'a', prompt: 'a red ball', duration: 1 }] } });
    const uploads: { type: string; auth: string; bytes: number }[] = [];
    const editor = await openPage(room.urls.editor, {
      beforeLoad: async (page) => {
        // Intercepted (a request's body is only readable so) and sent on to the server as it is.
        await page.route(/\/api\/rooms\/[^/]+\/assets$/, async (route, request) => {
          if (request.method() === 'POST') uploads.push({ type: request.headers()['content-type'] ?? '', auth: request.headers()['authorization'] ?? '', bytes: request.postDataBuffer()?.length ?? 0 });
          await route.continue().catch(() => {}); // the page may be closing
        });
      },
    });
    const { page } = editor;
    const panel = page.locator('.audio-panel');
    await panel.waitFor();
    // Defaults until someone chooses.
    expect(await panel.getByLabel('Music', { exact: true }).inputValue()).toBe('none');
    expect(await panel.getByLabel('Captions', { exact: true }).inputValue()).toBe('both');
    expect(await panel.getByLabel('Loudness target').inputValue()).toBe('-14');
    expect(await panel.getByLabel('Lower the music under narration').isChecked()).toBe(true);
    expect(await panel.getByLabel('Music', { exact: true }).locator('option').allInnerTexts()).toEqual(['No music', 'Calm pad', 'Bright arpeggio', 'Soft pulse']);

    await panel.getByLabel('Music', { exact: true }).selectOption('bright');
    await panel.getByLabel('Captions', { exact: true }).selectOption('soft');
    await panel.getByLabel('Loudness target').selectOption('-23');
    await panel.getByLabel('Lower the music under narration').uncheck();
    await force(page, '.audio-panel input[type="range"]', '0.6');
    await panel.getByLabel('Voice for English narration').selectOption('en-gb');
    await panel.getByLabel('Voice for Chinese narration').selectOption('cmn+f3');
    await expect
      .poll(async () => {
        const { captions, music, musicVolume, duck, loudness, voice } = await sceneOf(s, room.room, room.tokens.editor);
        return { captions, music, musicVolume, duck, loudness, voice };
      }, SLOW)
      .toEqual({ captions: 'soft', music: 'bright', musicVolume: 0.6, duck: false, loudness: -23, voice: { en: 'en-gb', zh: 'cmn+f3' } });
    expect(await panel.locator('.volume-value').innerText()).toBe('60 %');

    // "Listen" plays the bed from the server.
    const bedRequest = page.waitForRequest((request) => new URL(request.url()).pathname === '/api/beds/calm.wav');
    await panel.getByRole('button', { name: 'Listen to Calm pad' }).click();
    await bedRequest;

    // An upload is the file itself with its type; a file that is not audio is refused in words.
    await panel.locator('input[type="file"]').setInputFiles({ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('not a song') });
    await expect.poll(() => panel.locator('.upload-error').innerText(), SLOW).toMatch(/^That file is not audio the server can read\./);
    await panel.locator('input[type="file"]').setInputFiles({ name: 'theme.wav', mimeType: 'audio/wav', buffer: wav(0.5) });
    await expect.poll(() => panel.locator('.upload-status').innerText(), SLOW).toMatch(/^Uploaded .+: it is now the music of the scene\.$/);
    expect(await panel.locator('.upload-error').innerText()).toBe('');
    expect(uploads).toEqual([
      { type: 'text/plain', auth: `Bearer ${room.tokens.editor}`, bytes: 10 },
      { type: 'audio/wav', auth: `Bearer ${room.tokens.editor}`, bytes: wav(0.5).length },
    ]);
    const music = (await sceneOf(s, room.room, room.tokens.editor)).music;
    expect(music).toMatch(/^asset-[a-z0-9]{12}$/);
    await expect.poll(() => panel.getByLabel('Music', { exact: true }).inputValue(), SLOW).toBe(music);
    expect(await panel.getByLabel('Music', { exact: true }).locator('optgroup[label="Uploaded to this room"] option').count()).toBe(1);
    await screenshot(page, 'post-audio-panel', { fullPage: true });

    // A viewer: every control disabled, no upload button, and scripted changes change nothing.
    const before = await sceneOf(s, room.room, room.tokens.editor);
    const viewer = await openPage(room.urls.viewer);
    const v = viewer.page;
    const vPanel = v.locator('.audio-panel');
    await expect.poll(() => v.locator('.role-badge').innerText(), SLOW).toBe('Viewer');
    await expect.poll(() => vPanel.getByLabel('Captions', { exact: true }).inputValue(), SLOW).toBe('soft');
    for (const label of ['Music', 'Music volume', 'Lower the music under narration', 'Captions', 'Loudness target', 'Voice for English narration', 'Voice for Chinese narration']) {
      expect(await vPanel.getByLabel(label, { exact: true }).isDisabled(), label).toBe(true);
    }
    expect(await vPanel.getByRole('button', { name: 'Upload an audio file…' }).count()).toBe(0);
    const selects = '.audio-panel select';
    await force(v, `${selects} >> nth=0`, 'calm');
    await force(v, `${selects} >> nth=1`, 'off');
    await force(v, `${selects} >> nth=2`, '-14');
    await force(v, `${selects} >> nth=3`, 'en-us');
    await force(v, '.audio-panel input[type="range"]', '0.1');
    await force(v, '.audio-panel input[type="checkbox"]', true);
    await v.locator('.audio-panel input[type="file"]').setInputFiles({ name: 'x.wav', mimeType: 'audio/wav', buffer: wav(0.2) });
    const meta = await (await pageDoc(v)).evaluate((doc) => (doc as Y.Doc).getMap('meta').toJSON());
    expect(meta).toMatchObject({ music, captions: 'soft', loudness: -23, duck: false, musicVolume: 0.6, voice: { en: 'en-gb', zh: 'cmn+f3' } });
    expect(uploads).toHaveLength(2);
    expect(await sceneOf(s, room.room, room.tokens.editor)).toEqual(before);
    // The refused upload is the one error the browser logs (its 415 answer).
    expect(editor.errors.splice(0)).toEqual([expect.stringMatching(/^console\.error: Failed to load resource: the server responded with a status of 415 .*\/assets\)$/)]);
    editor.expectNoErrors();
    viewer.expectNoErrors();
  });
});

describe('the whole-scene player', () => {
  it('draws each shot’s caption over its preview, crossfades into the next shot, and speaks the narration over the music', { timeout: 60_000 }, async () => {
    const s = await server();
    const room = await s.createRoom({
      scene: {
        fps: 8,
        shots: [
          { id: 'a', prompt: 'a red ball bounces on the grass', duration: 3 },
          { id: 'b', prompt: 'a blue box moves left', duration: 3 },
        ],
      },
    });
    let narrations: Request[] = [];
    let beds: Request[] = [];
    const editor = await openPage(room.urls.editor, {
      beforeLoad: async (page) => {
        narrations = requestsTo(page, /\/api\/rooms\/[^/]+\/narration\.wav\?/);
        beds = requestsTo(page, /\/api\/beds\/[a-z]+\.wav$/);
      },
    });
    const { page } = editor;
    await field(page, 'a', 'caption').click();
    await page.keyboard.type('A red ball on the grass');
    await field(page, 'b', 'caption').click();
    await page.keyboard.type('一个蓝色的方块');
    await field(page, 'a', 'narration').click();
    await page.keyboard.type('Look at it bounce.');
    await shot(page, 'a').getByLabel('Transition into the next shot').selectOption('crossfade');
    await page.locator('.audio-panel').getByLabel('Music', { exact: true }).selectOption('calm');
    await expect.poll(async () => (await sceneOf(s, room.room, room.tokens.editor)).shots.map((x) => [x.caption, x.transition?.type]), SLOW).toEqual([
      ['A red ball on the grass', 'crossfade'],
      ['一个蓝色的方块', undefined],
    ]);
    for (const id of ['a', 'b']) await expect.poll(() => shot(page, id).locator('.badge').getAttribute('data-status'), { timeout: 30_000 }).toBe('done');

    const caption = page.locator('.scene-player .scene-caption');
    expect(await caption.isVisible()).toBe(false);
    await page.getByRole('button', { name: 'Play the whole scene' }).click();
    // Shot 1: its picture with its caption, bottom centre, inside the picture's title-safe area.
    await expect.poll(() => caption.isVisible(), SLOW).toBe(true);
    expect(await caption.innerText()).toBe('A red ball on the grass');
    await waitForPicture(page, 'canvas.scene-canvas', 3_000);
    const picture = (await page.locator('canvas.scene-canvas').boundingBox())!;
    const box = (await caption.boundingBox())!;
    expect(box.x).toBeGreaterThanOrEqual(picture.x + picture.width * 0.1 - 1);
    expect(box.x + box.width).toBeLessThanOrEqual(picture.x + picture.width * 0.9 + 1);
    expect(box.y + box.height).toBeLessThanOrEqual(picture.y + picture.height * 0.9 + 1);
    expect(box.y).toBeGreaterThan(picture.y + picture.height / 2);
    expect(await caption.evaluate((el) => getComputedStyle(el).textAlign)).toBe('center');
    await screenshot(page, 'post-player-caption');
    // The narration of shot 1 (and only of shot 1: shot 2 has none) and the music bed, fetched at play.
    expect(narrations.map((r) => Object.fromEntries(new URL(r.url()).searchParams))).toEqual([{ shot: 'a', token: room.tokens.editor }]);
    expect(beds.map((r) => new URL(r.url()).pathname)).toEqual(['/api/beds/calm.wav']);

    // Then shot 2's caption (never two at once), then the end.
    await expect.poll(() => caption.innerText(), { timeout: 8_000 }).toBe('一个蓝色的方块');
    await expect.poll(() => page.locator('.scene-player .scene-status').innerText(), SLOW).toBe('Shot 2 of 2');
    await expect.poll(() => caption.isVisible(), { timeout: 8_000 }).toBe(false);
    await expect.poll(() => page.locator('.scene-player button').innerText(), SLOW).toBe('Play the whole scene');
    expect(await page.locator('.banner.error').isVisible()).toBe(false);
    editor.expectNoErrors();
  });

  it('shows no caption when the scene turns captions off, and plays silently where the server has no sound', async () => {
    const s = await server();
    const room = await s.createRoom({ scene: { fps: 8, captions: 'off', shots: [{ id: 'a', prompt: 'a red ball', duration: 1, caption: 'Hidden', narration: 'Hello.' }] } });
    const editor = await openPage(room.urls.editor, {
      // Sound the server cannot make: the player goes on without it.
      beforeLoad: async (page) => {
        await page.route(/\/narration\.wav\?/, (route) => route.fulfill({ status: 200, contentType: 'audio/wav', body: 'not a wav' }));
      },
    });
    const { page } = editor;
    await expect.poll(() => editorText(field(page, 'a', 'caption')), SLOW).toBe('Hidden');
    await page.getByRole('button', { name: 'Play the whole scene' }).click();
    await expect.poll(() => page.locator('.scene-player .scene-status').innerText(), SLOW).toBe('Shot 1 of 1');
    expect(await page.locator('.scene-player .scene-caption').isVisible()).toBe(false);
    await expect.poll(() => page.locator('.scene-player button').innerText(), { timeout: 5_000 }).toBe('Play the whole scene');
    editor.expectNoErrors();
  });
});

describe('the overlay', () => {
  it('draws the captions of the clip it plays, from the clip’s WebVTT track', { timeout: 60_000 }, async () => {
    const s = await server();
    const room = await s.createRoom({ scene: { fps: 8, captions: 'soft', shots: [{ id: 'a', prompt: 'a red ball', duration: 3, caption: 'Hello from the clip' }] } });
    // A finished render of the room, as the server will describe one, with a real video and captions.
    const dir = await mkdtemp(path.join(os.tmpdir(), 'scenecast-post-'));
    onCleanup(() => rm(dir, { recursive: true, force: true }));
    const file = path.join(dir, 'clip.mp4');
    await promisify(execFile)(ffmpegPath(), ['-v', 'error', '-f', 'lavfi', '-i', 'color=c=0x3060a0:s=320x180:r=8:d=3', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-movflags', '+faststart', file]);
    const mp4 = await readFile(file);
    const id = 'render-post-test';
    const scene = await sceneOf(s, room.room, room.tokens.editor);
    const render: RenderInfo = {
      id,
      room: room.room,
      status: 'done',
      stage: 'done',
      profile: 'final',
      createdAt: new Date().toISOString(),
      startedAt: new Date().toISOString(),
      finishedAt: new Date().toISOString(),
      scene,
      shots: [],
      timings: { generate: 0, upscale: 0, encode: 0, join: 0, total: 0 },
      url: `/api/renders/${id}/video.mp4`,
      bytes: mp4.length,
      seconds: 3,
      error: null,
      warnings: [],
      captionsUrl: `/api/renders/${id}/captions.vtt`,
    };
    const captionRequests: string[] = [];
    const overlay = await openPage(room.urls.overlay, {
      viewport: { width: 1920, height: 1080 },
      beforeLoad: async (page) => {
        await page.route(/\/renders\/latest\?status=done/, (route) => route.fulfill({ status: 200, json: { render } }));
        await page.route(new RegExp(`/api/renders/${id}/video\\.mp4`), (route) => route.fulfill({ status: 200, contentType: 'video/mp4', body: mp4 }));
        await page.route(new RegExp(`/api/renders/${id}/captions\\.vtt`), (route, request) => {
          captionRequests.push(request.url());
          return route.fulfill({ status: 200, contentType: 'text/vtt', body: 'WEBVTT\n\n00:00:00.000 --> 00:00:05.000\nHello from the clip\n' });
        });
      },
    });
    const { page } = overlay;
    await page.locator('figure.clip-tile').waitFor({ state: 'visible', timeout: 15_000 });
    const track = page.locator('video.clip track');
    expect(await track.getAttribute('kind')).toBe('captions');
    expect(await track.getAttribute('default')).toBe('');
    expect(await track.getAttribute('src')).toBe(`/api/renders/${id}/captions.vtt?token=${encodeURIComponent(room.tokens.overlay)}`);
    const cue = page.locator('.clip-tile .clip-caption');
    await expect.poll(() => cue.isVisible(), { timeout: 15_000 }).toBe(true);
    expect(await cue.innerText()).toBe('Hello from the clip');
    // Drawn by the overlay (the browser's own rendering of the track stays hidden), large enough to read on stream.
    expect(await track.evaluate((el) => (el as HTMLTrackElement).track.mode)).toBe('hidden');
    expect(Number.parseFloat(await cue.evaluate((el) => getComputedStyle(el).fontSize))).toBeGreaterThanOrEqual(18);
    expect(captionRequests).toHaveLength(1);
    await screenshot(page, 'post-overlay-captions', { omitBackground: true });
    overlay.expectNoErrors();
  });
});
