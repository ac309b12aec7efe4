/**
 * Share links that end, in a real browser: links that expire, replacing a room's links (pages with
 * the old ones say so and stop reconnecting; the editor who replaced them keeps editing), deleting
 * a room, and an edit too large for the server. Token claims are read through the server's own
 * signer (the test servers' secret), never decoded by hand.
 */
import type { Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Scene } from '../../shared/scene.js';
import { TokenSigner } from '../../server/auth/tokens.js';
import { editorText, ensureClientBuilt, launchBrowser, openPage, screenshot, type PageOptions, type WatchedPage } from '../helpers/browser.js';
import { sharedEngine } from '../helpers/engine.js';
import { startServer, type TestServer } from '../helpers/server.js';

beforeAll(async () => {
  await Promise.all([ensureClientBuilt(), launchBrowser(), sharedEngine()]);
}, 120_000);

// With the engine, as in production: without one the page's render look-up answers 503 (a console error).
const server = async (overrides: Parameters<typeof startServer>[0] = {}): Promise<TestServer> => startServer(overrides, undefined, { engine: await sharedEngine() });
const signer = new TokenSigner('test-secret-0123456789abcdef');
const FULL_HD = { width: 1920, height: 1080 };

const sceneStatus = async (s: TestServer, room: string, token: string): Promise<number> =>
  (await fetch(`${s.url}/api/rooms/${room}/scene?token=${encodeURIComponent(token)}`)).status;

async function sceneOf(s: TestServer, room: string, token: string): Promise<Scene> {
  const res = await fetch(`${s.url}/api/rooms/${room}/scene`, { headers: { authorization: `Bearer ${token}` } });
  expect(res.status).toBe(200);
  return (await res.json()) as Scene;
}

/** A page that records every WebSocket it opens (Yjs and Socket.IO alike). */
async function watchedPage(url: string, options: PageOptions = {}): Promise<WatchedPage & { sockets: string[] }> {
  const sockets: string[] = [];
  const watched = await openPage(url, { ...options, beforeLoad: (page) => void page.on('websocket', (ws) => sockets.push(ws.url())) });
  return { ...watched, sockets };
}

/**
 * The page opens no WebSocket for `ms`. 3 s covers several retries of y-websocket (100 ms × 2^n,
 * at most 2.5 s apart) and Socket.IO's first reconnection (1 s ± 50 %): a page that still
 * reconnected would open one. Waiting for something *not* to happen needs a window of time.
 */
async function expectNoReconnect(sockets: string[], ms = 3000): Promise<void> {
  const before = sockets.length;
  await new Promise((resolve) => setTimeout(resolve, ms));
  expect(sockets.slice(before), 'WebSockets opened after the page was told it is over').toEqual([]);
}

const fragmentToken = (url: string): string => new URLSearchParams(new URL(url).hash.slice(1)).get('token')!;
const shareUrl = (page: Page, role: 'editor' | 'viewer' | 'overlay') => page.locator(`input.share-url[data-role="${role}"]`).inputValue();
const banner = (page: Page) => page.locator('.banner.error');

describe('share links that end', () => {
  it('an editor picks an expiry: the viewer and overlay links shown expire then (the editor link never), work until then, and a page with an expired link says so and stops', { timeout: 60_000 }, async () => {
    const s = await server();
    const room = await s.createRoom({ scene: { fps: 8, shots: [{ id: 'e', prompt: 'a red ball', duration: 1 }] } });
    const editor = await openPage(room.urls.editor);
    const { page } = editor;
    await expect.poll(() => page.locator('.role-badge').innerText()).toBe('Editor');
    const never = await shareUrl(page, 'viewer');
    expect(signer.verify(fragmentToken(never)).expiresAt).toBeNull();

    const expiry = page.getByLabel('Viewer and overlay links expire');
    await expiry.selectOption({ label: 'After 1 day' });
    const asked = Date.now();
    await expect.poll(() => shareUrl(page, 'viewer')).not.toBe(never);
    const viewerToken = fragmentToken(await shareUrl(page, 'viewer'));
    const overlayToken = new URL(await shareUrl(page, 'overlay')).searchParams.get('token')!;
    for (const token of [viewerToken, overlayToken]) {
      const { expiresAt } = signer.verify(token);
      expect(expiresAt! - asked).toBeGreaterThan(24 * 3_600_000 - 60_000);
      expect(expiresAt! - asked).toBeLessThan(24 * 3_600_000 + 60_000);
      expect(await sceneStatus(s, room.room, token)).toBe(200);
    }
    expect(signer.verify(fragmentToken(await shareUrl(page, 'editor'))).expiresAt).toBeNull();
    // When they stop is shown, in words and in a machine-readable time.
    const note = page.locator('.share-expiry-note');
    expect(await note.innerText()).toMatch(/^These viewer and overlay links stop working on .+\.$/);
    expect(Math.abs(Date.parse((await note.locator('time').getAttribute('datetime'))!) - (asked + 24 * 3_600_000))).toBeLessThan(60_000);
    // Back to "never": links without an expiry again.
    await expiry.selectOption({ label: 'Never' });
    await expect.poll(() => shareUrl(page, 'viewer')).toBe(never);
    expect(await note.isVisible()).toBe(false);

    // A viewer link that expires in about seven seconds: the open page says it expired and stays down.
    const res = await fetch(`${s.url}/api/rooms/${room.room}/links?expiresInHours=0.002`, { headers: { authorization: `Bearer ${room.tokens.editor}` } });
    expect(res.status).toBe(200);
    const { urls } = (await res.json()) as { urls: { viewer: string } };
    const viewer = await watchedPage(urls.viewer);
    await expect.poll(() => editorText(viewer.page.locator('li.shot[data-shot="e"] .prompt .cm-content'))).toBe('a red ball');
    await expect.poll(() => banner(viewer.page).innerText(), { timeout: 15_000 }).toBe('This link has expired. Ask an editor for a new link.');
    expect(await viewer.page.locator('.room-ended h1').innerText()).toBe('Link expired');
    await expectNoReconnect(viewer.sockets);
    editor.expectNoErrors();
    viewer.expectNoErrors();
  });

  it('replacing the links disconnects every page with the old ones for good, while the editor who did it keeps editing (also what was typed meanwhile) under the new link', { timeout: 60_000 }, async () => {
    const s = await server();
    const room = await s.createRoom({ scene: { fps: 8, shots: [{ id: 'r', prompt: 'a red ball', duration: 1 }] } });
    const editor = await watchedPage(room.urls.editor);
    const viewer = await watchedPage(room.urls.viewer);
    const overlay = await watchedPage(room.urls.overlay, { viewport: FULL_HD });
    const { page } = editor;
    const prompt = page.locator('li.shot[data-shot="r"] .prompt .cm-content');
    await expect.poll(() => editorText(prompt)).toBe('a red ball');
    await expect.poll(() => viewer.page.locator('.role-badge').innerText()).toBe('Viewer');
    await expect.poll(() => editorText(viewer.page.locator('li.shot[data-shot="r"] .prompt .cm-content'))).toBe('a red ball');
    await expect.poll(() => page.locator('.counts').innerText()).toMatch(/overlays: 1/);

    // Hold the rotation request until something was typed: that edit happens while the page is
    // between its old and new connection and has to arrive all the same.
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    await page.route('**/api/rooms/*/links/rotate', async (route) => {
      await held;
      await route.continue();
    });

    // A confirm step that says what happens.
    await page.getByRole('button', { name: 'Replace links' }).click();
    expect(await page.locator('.share-panel .confirm').innerText()).toMatch(/disconnected/);
    await screenshot(page, 'share-replace-confirm', { fullPage: true });
    await page.getByRole('button', { name: 'Yes, replace the links' }).click();
    await prompt.click();
    await page.keyboard.press('End');
    await page.keyboard.type(' bounces');
    release();

    // The page moved to the new editor link (fragment) and keeps its connection.
    await page.waitForFunction((old) => new URLSearchParams(location.hash.slice(1)).get('token') !== old, room.tokens.editor);
    const newEditor = fragmentToken(page.url());
    expect(signer.verify(newEditor).epoch).toBe(2);
    await expect.poll(() => page.locator('.conn').innerText(), { timeout: 5_000 }).toBe('Connected');
    await expect.poll(async () => (await sceneOf(s, room.room, newEditor)).shots[0]?.prompt, { timeout: 5_000 }).toBe('a red ball bounces');
    // Edits after the switch are stored too.
    await page.keyboard.type(' high');
    await expect.poll(async () => (await sceneOf(s, room.room, newEditor)).shots[0]?.prompt).toBe('a red ball bounces high');
    expect(await banner(page).isVisible()).toBe(false);
    // It shows the new links; the old editor link is refused.
    const newViewerUrl = await shareUrl(page, 'viewer');
    expect(fragmentToken(newViewerUrl)).not.toBe(room.tokens.viewer);
    expect(fragmentToken(await shareUrl(page, 'editor'))).toBe(newEditor);
    expect(await sceneStatus(s, room.room, room.tokens.editor)).toBe(401);

    // The page that had the old viewer link says so, and stops.
    const replaced = 'The links of this room were replaced. Ask an editor for the new link.';
    await expect.poll(() => banner(viewer.page).innerText(), { timeout: 5_000 }).toBe(replaced);
    await screenshot(viewer.page, 'viewer-links-replaced');
    await expectNoReconnect(viewer.sockets);
    // So does one opened with the old link afterwards.
    const late = await watchedPage(room.urls.viewer);
    await expect.poll(() => banner(late.page).innerText()).toBe(replaced);
    await expectNoReconnect(late.sockets);
    // The overlay hides its tiles and shows a small, unalarming notice.
    const notice = overlay.page.locator('.overlay-notice');
    await expect.poll(() => notice.innerText(), { timeout: 5_000 }).toBe(replaced);
    await screenshot(overlay.page, 'overlay-links-replaced', { omitBackground: true });
    expect(await overlay.page.locator('.stack').isVisible()).toBe(false);
    expect(await overlay.page.locator('.overlay-error').isVisible()).toBe(false);
    expect(Number.parseFloat(await notice.evaluate((el) => getComputedStyle(el).fontSize))).toBeLessThanOrEqual(14);
    await expectNoReconnect(overlay.sockets, 0);

    // The new viewer link works and sees the edits.
    const fresh = await openPage(newViewerUrl);
    await expect.poll(() => editorText(fresh.page.locator('li.shot[data-shot="r"] .prompt .cm-content'))).toBe('a red ball bounces high');
    await expect.poll(() => fresh.page.locator('.role-badge').innerText()).toBe('Viewer');
    // The editor page still has the one pair of connections it opened on load plus the pair of the switch.
    expect(editor.sockets).toHaveLength(4);
    for (const p of [editor, viewer, late, overlay, fresh]) p.expectNoErrors();
  });

  it('deleting the room (after a confirm step) ends it for everyone: a "room deleted" screen here, the message in their language elsewhere, nothing reconnects', { timeout: 60_000 }, async () => {
    const s = await server();
    const room = await s.createRoom({ scene: { fps: 8, shots: [{ id: 'd', prompt: 'a blue box', duration: 1 }] } });
    const editor = await watchedPage(room.urls.editor);
    const viewer = await watchedPage(room.urls.viewer, { locale: 'zh-CN' });
    const { page } = editor;
    await expect.poll(() => page.locator('.role-badge').innerText()).toBe('Editor');
    await expect.poll(() => viewer.page.locator('.role-badge').innerText()).toBe('观看者');

    await page.getByRole('button', { name: 'Delete room' }).click();
    expect(await page.locator('.share-panel .confirm').innerText()).toMatch(/cannot be undone/);
    // Cancel first: nothing happens.
    await page.getByRole('button', { name: 'Cancel' }).click();
    expect(await page.locator('.share-panel .confirm').count()).toBe(0);
    expect(await sceneStatus(s, room.room, room.tokens.editor)).toBe(200);
    await page.getByRole('button', { name: 'Delete room' }).click();
    await page.getByRole('button', { name: 'Delete the room for good' }).click();

    const ended = page.locator('.room-ended');
    await expect.poll(() => ended.locator('h1').innerText(), { timeout: 5_000 }).toBe('Room deleted');
    await screenshot(page, 'room-deleted');
    expect(await banner(page).innerText()).toBe('This room was deleted. Its scene and links are gone.');
    expect(await page.locator('li.shot').count()).toBe(0);
    expect(await sceneStatus(s, room.room, room.tokens.editor)).toBe(404);

    await expect.poll(() => banner(viewer.page).innerText(), { timeout: 5_000 }).toBe('这个房间已被删除，场景和链接都已不存在。');
    expect(await viewer.page.locator('.room-ended h1').innerText()).toBe('房间已删除');
    await expectNoReconnect(viewer.sockets);
    await expectNoReconnect(editor.sockets, 0);
    editor.expectNoErrors();
    viewer.expectNoErrors();
  });

  it('an edit the server refuses as too large (4413) says it was not saved and is not sent again', { timeout: 60_000 }, async () => {
    // Five long prompts make about 2.8 KB of document; one more long prompt passes the cap.
    const long = (i: number) => ({ id: `long${i}`, prompt: `shot ${i} ${'a red ball bounces on the grass '.repeat(14)}`.trim(), duration: 1 });
    const s = await server({ maxDocBytes: 3100 });
    const room = await s.createRoom({ scene: { fps: 8, shots: [{ id: 'big', prompt: '', duration: 1 }, ...[0, 1, 2, 3, 4].map(long)] } });
    const editor = await watchedPage(room.urls.editor);
    const { page } = editor;
    const prompt = page.locator('li.shot[data-shot="big"] .prompt .cm-content');
    await expect.poll(() => page.locator('li.shot').count()).toBe(6);
    await expect.poll(() => page.locator('.role-badge').innerText()).toBe('Editor');
    await prompt.click();
    await page.keyboard.insertText('a blue box '.repeat(43));
    expect((await editorText(prompt)).length).toBeGreaterThan(450);

    await expect.poll(() => banner(page).innerText(), { timeout: 5_000 }).toBe('Your last edit was not saved: the scene is too large. Reload the page to continue.');
    await screenshot(page, 'doc-too-large', { fullPage: true });
    await expectNoReconnect(editor.sockets);
    expect((await sceneOf(s, room.room, room.tokens.editor)).shots[0]?.prompt).toBe('');
    // The scene stays readable (to copy from) but not editable; a button reloads.
    expect(await prompt.getAttribute('contenteditable')).toBe('false');
    await Promise.all([page.waitForEvent('load'), page.getByRole('button', { name: 'Reload' }).click()]);
    await expect.poll(() => page.locator('li.shot').count()).toBe(6);
    expect(await editorText(page.locator('li.shot[data-shot="big"] .prompt .cm-content'))).toBe('');
    expect(await banner(page).isVisible()).toBe(false);
    // The refused update made the server log a warning, not the page an error.
    editor.expectNoErrors();
  });
});
