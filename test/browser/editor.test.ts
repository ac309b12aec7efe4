/**
 * The editor in a real browser: two people typing into one prompt at once, presence, live
 * preview frames on the canvas, the language switch, and the read-only viewer link.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { Scene } from '../../shared/scene.js';
import { canvasInk, editorText, ensureClientBuilt, launchBrowser, openPage, screenshot, waitForPicture } from '../helpers/browser.js';
import { sharedEngine } from '../helpers/engine.js';
import { startServer, type TestServer } from '../helpers/server.js';

beforeAll(async () => {
  await Promise.all([ensureClientBuilt(), launchBrowser(), sharedEngine()]);
}, 120_000);

async function server(): Promise<TestServer> {
  return startServer({}, undefined, { engine: await sharedEngine() });
}

async function sceneOf(s: TestServer, room: string, token: string): Promise<Scene> {
  const res = await fetch(`${s.url}/api/rooms/${room}/scene`, { headers: { authorization: `Bearer ${token}` } });
  expect(res.status).toBe(200);
  return (await res.json()) as Scene;
}

const promptText = (page: import('playwright-core').Page, shot: string) => editorText(page.locator(`li.shot[data-shot="${shot}"] .prompt .cm-content`));

describe('editor', () => {
  it('two editors type into the same prompt at once, end with the same text, and see each other', async () => {
    const s = await server();
    const room = await s.createRoom({ scene: { fps: 8, shots: [{ id: 'one', prompt: '', duration: 1 }] } });
    const alice = await openPage(room.urls.editor, { user: { name: 'Alice', color: '#e5484d' } });
    const bob = await openPage(room.urls.editor, { user: { name: 'Bob', color: '#0090ff' } });
    const promptOf = (p: typeof alice) => p.page.locator('li.shot[data-shot="one"] .prompt .cm-content');
    await promptOf(alice).click();
    await promptOf(bob).click();

    // Presence: each sees the other by name, in the list and on the shot they are in.
    await expect.poll(() => alice.page.locator('.people .person:not(.self) .name').allInnerTexts()).toEqual(['Bob']);
    await expect.poll(() => bob.page.locator('.people .person:not(.self) .name').allInnerTexts()).toEqual(['Alice']);
    await expect.poll(() => alice.page.locator('li.shot[data-shot="one"] .others .avatar').allInnerTexts()).toEqual(['Bob']);
    await expect.poll(() => alice.page.locator('.people .person:not(.self) .where').innerText()).toBe('in Shot 1');

    // Both type at the same moment, keystroke by keystroke (Bob in Chinese).
    const a = 'red ball bounces ';
    const b = '蓝色的方块 ';
    await Promise.all([alice.page.keyboard.type(a, { delay: 15 }), bob.page.keyboard.type(b, { delay: 15 })]);

    const both = async () => [await promptText(alice.page, 'one'), await promptText(bob.page, 'one')];
    await expect.poll(async () => { const [x, y] = await both(); return x === y && x!.length === a.length + b.length ? 'same' : JSON.stringify([x, y]); }, { timeout: 10_000 }).toBe('same');
    const final = await promptText(alice.page, 'one');
    // Remote edits never moved the local caret: each person's words stay in one piece.
    expect(final).toContain(a.trim());
    expect(final).toContain(b.trim());
    await expect.poll(async () => (await sceneOf(s, room.room, room.tokens.viewer)).shots[0]?.prompt).toBe(final);

    // The remote caret of the other person is drawn with their name.
    await expect.poll(() => alice.page.locator('li.shot[data-shot="one"] .cm-ySelectionInfo').allInnerTexts()).toEqual(['Bob']);
    await screenshot(alice.page, 'editor-collab', { fullPage: true });
    alice.expectNoErrors();
    bob.expectNoErrors();
  });

  it('draws preview frames on the shot canvas within seconds of typing', async () => {
    const s = await server();
    const room = await s.createRoom({ scene: { fps: 8, shots: [{ id: 'p', prompt: '', duration: 1 }] } });
    const editor = await openPage(room.urls.editor);
    const { page } = editor;
    const canvas = page.locator('li.shot[data-shot="p"] canvas.preview-canvas');
    const badge = page.locator('li.shot[data-shot="p"] .badge');
    // An empty prompt gets no preview: the canvas is blank.
    await page.locator('li.shot[data-shot="p"]').waitFor();
    expect(await badge.getAttribute('data-status')).not.toBe('done');
    expect(await canvasInk(canvas)).toMatchObject({ lit: 0, contrast: 0 });

    await page.locator('li.shot[data-shot="p"] .prompt .cm-content').click();
    await page.keyboard.type('a red ball bounces on the grass');
    await waitForPicture(page, 'li.shot[data-shot="p"] canvas.preview-canvas', 15_000);
    await expect.poll(() => badge.getAttribute('data-status'), { timeout: 15_000 }).toBe('done');
    const ink = await canvasInk(canvas);
    expect(ink.width).toBeGreaterThan(1);
    expect(ink.lit).toBeGreaterThan(0.5);

    // A prompt the content policy refuses: the badge gives the reason, the old picture is dimmed.
    await page.keyboard.press('Control+a');
    await page.keyboard.type('a bloody ball');
    // Typed a key at a time: "a blood" is refused on its way to "a bloody", so wait for the reason of the whole word.
    await expect.poll(() => badge.innerText()).toMatch(/^Not previewed: The content policy does not allow this text\. \("bloody" is not allowed/);
    expect(await badge.getAttribute('data-status')).toBe('refused');
    expect(await page.locator('li.shot[data-shot="p"]').getAttribute('class')).toContain('stale');
    await page.keyboard.press('Control+a');
    await page.keyboard.type('a red ball bounces on the grass');
    await expect.poll(() => badge.getAttribute('data-status')).toBe('done');

    // "Play the whole scene" plays the shot's preview on the scene canvas.
    await page.getByRole('button', { name: 'Play the whole scene' }).click();
    await waitForPicture(page, 'canvas.scene-canvas', 5_000);

    // The language switch relabels the page in Chinese.
    await page.locator('#lang').selectOption('zh');
    await expect.poll(() => page.locator('button.add-shot').innerText()).toBe('添加镜头');
    expect(await page.locator('html').getAttribute('lang')).toBe('zh-CN');
    expect(await page.locator('li.shot[data-shot="p"] .prompt .cm-content').getAttribute('aria-label')).toBe('镜头 1 的提示词');
    await page.locator('#lang').selectOption('en');
    await screenshot(page, 'editor-preview', { fullPage: true });
    editor.expectNoErrors();
  });

  it('adds, reorders and removes shots, and sets duration and camera', async () => {
    const s = await server();
    const room = await s.createRoom({ scene: { fps: 8, shots: [{ id: 'first', prompt: 'a red ball', duration: 1 }] } });
    const editor = await openPage(room.urls.editor);
    const { page } = editor;
    await page.locator('li.shot').first().waitFor();
    await page.getByRole('button', { name: 'Add a shot' }).click();
    await expect.poll(() => page.locator('li.shot').count()).toBe(2);
    // The new shot's prompt has the focus: type into it.
    await page.keyboard.type('a blue box');
    const second = page.locator('li.shot').nth(1);
    const secondId = await second.getAttribute('data-shot');
    await second.getByLabel('Duration (s)').fill('0.5');
    await second.getByLabel('Duration (s)').press('Tab');
    await second.getByLabel('Camera').selectOption('zoom-in');
    await expect
      .poll(async () => (await sceneOf(s, room.room, room.tokens.editor)).shots.map((shot) => [shot.id, shot.prompt, shot.duration, shot.camera]))
      .toEqual([
        ['first', 'a red ball', 1, 'static'],
        [secondId, 'a blue box', 0.5, 'zoom-in'],
      ]);

    // Move shot 2 up with the keyboard; the focus stays on the moved shot (now first, so on "down").
    await page.getByRole('button', { name: 'Move shot 2 up' }).focus();
    await page.keyboard.press('Enter');
    await expect.poll(async () => (await sceneOf(s, room.room, room.tokens.editor)).shots.map((shot) => shot.id)).toEqual([secondId, 'first']);
    expect(await page.evaluate(() => document.activeElement?.getAttribute('aria-label'))).toBe('Move shot 1 down');
    expect(await editorText(page.locator('li.shot').first().locator('.prompt .cm-content'))).toBe('a blue box');

    await page.getByRole('button', { name: 'Remove shot 2' }).click();
    await expect.poll(async () => (await sceneOf(s, room.room, room.tokens.editor)).shots.map((shot) => shot.id)).toEqual([secondId]);
    editor.expectNoErrors();
  });

  it('creates a room from a template on the start screen, shares its links, and explains a bad link', async () => {
    const s = await server();
    const start = await openPage(`${s.url}/`);
    const { page, context } = start;
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: s.url });
    await page.getByLabel('Title').fill('Sunset test');
    await page.getByLabel('Template').selectOption('cinematic');
    expect(await page.locator('.start-form .muted').first().innerText()).toMatch(/sunset/i);
    await page.getByRole('button', { name: 'Create' }).click();
    await page.waitForURL(/\/\?room=[a-z0-9]+#token=/);
    const room = new URL(page.url()).searchParams.get('room')!;
    await expect.poll(() => page.getByLabel('Template').inputValue()).toBe('cinematic');
    expect(await page.getByLabel('Title').inputValue()).toBe('Sunset test');
    const scene = await sceneOf(s, room, new URLSearchParams(new URL(page.url()).hash.slice(1)).get('token')!);
    expect(scene).toMatchObject({ title: 'Sunset test', template: 'cinematic', shots: [{ id: 'shot-1', prompt: '' }] });

    // The creator sees all three links; the copy button puts one on the clipboard.
    const links = await page.locator('input.share-url').evaluateAll((inputs) => inputs.map((el) => [el.getAttribute('data-role'), (el as HTMLInputElement).value]));
    expect(links.map(([role]) => role)).toEqual(['editor', 'viewer', 'overlay']);
    const viewerUrl = links[1]![1]!;
    expect(viewerUrl).toMatch(new RegExp(`^${s.url}/\\?room=${room}#token=v2\\.${room}\\.viewer\\.`));
    expect(links[2]![1]).toMatch(new RegExp(`^${s.url}/overlay/${room}\\?token=`));
    await page.getByRole('button', { name: 'Copy the Viewers (watch only) link' }).click();
    await expect.poll(() => page.locator('.share-row .copied').nth(1).innerText()).toBe('Copied');
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(viewerUrl);

    // A link with a broken token says so in words.
    const bad = await openPage(`${s.url}/?room=${room}#token=not-a-token`);
    await expect.poll(() => bad.page.locator('.banner.error').innerText()).toMatch(/^This share link is not valid/);
    await bad.page.locator('#lang').selectOption('zh');
    expect(await bad.page.locator('.banner.error').innerText()).toMatch(/^这个分享链接无效/);
    start.expectNoErrors();
    bad.expectNoErrors();
  });

  it('a viewer link shows everything and edits nothing', async () => {
    const s = await server();
    const room = await s.createRoom({ title: 'Watch only', scene: { fps: 8, shots: [{ id: 'v', prompt: 'a blue box moves left', duration: 1, negative: 'grass' }] } });
    const viewer = await openPage(room.urls.viewer);
    const { page } = viewer;
    const content = page.locator('li.shot[data-shot="v"] .prompt .cm-content');
    await expect.poll(() => editorText(content)).toBe('a blue box moves left');
    await expect.poll(() => page.locator('.role-badge').innerText()).toBe('Viewer');
    expect(await page.locator('.banner.readonly').isVisible()).toBe(true);
    expect(await content.getAttribute('contenteditable')).toBe('false');

    // Typing into the prompt (and the negative prompt) changes nothing, here or on the server.
    await content.click();
    await page.keyboard.type('XYZ');
    await page.keyboard.press('Backspace');
    await page.locator('li.shot[data-shot="v"] .negative .cm-content').click();
    await page.keyboard.type('XYZ');
    expect(await editorText(content)).toBe('a blue box moves left');
    expect(await editorText(page.locator('li.shot[data-shot="v"] .negative .cm-content'))).toBe('grass');

    // Every control is disabled, and the editing buttons are not there.
    for (const label of ['Title', 'Template', 'Frames per second', 'Duration (s)', 'Camera']) {
      expect(await page.getByLabel(label, { exact: true }).isDisabled(), label).toBe(true);
    }
    for (const name of ['Add a shot', 'Render 720p video', 'Remove shot 1', 'Move shot 1 up']) {
      expect(await page.getByRole('button', { name }).count(), name).toBe(0);
    }
    // The preview still streams to viewers.
    await expect.poll(() => page.locator('li.shot[data-shot="v"] .badge').innerText(), { timeout: 30_000 }).toBe('Ready');
    await waitForPicture(page, 'li.shot[data-shot="v"] canvas.preview-canvas', 5_000);

    const scene = await sceneOf(s, room.room, room.tokens.editor);
    expect(scene.title).toBe('Watch only');
    expect(scene.shots).toEqual([{ id: 'v', prompt: 'a blue box moves left', duration: 1, camera: 'static', negative: 'grass' }]);
    await screenshot(page, 'viewer', { fullPage: true });
    viewer.expectNoErrors();
  });
});
