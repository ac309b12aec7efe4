/**
 * The overlay page in a real browser: transparent outside the player, live frames, and audience
 * suggestions that appear in the editor and, once an editor accepts them, on the overlay.
 */
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Scene } from '../../shared/scene.js';
import { editorText, ensureClientBuilt, launchBrowser, openPage, screenshot, waitForPicture } from '../helpers/browser.js';
import { sharedEngine } from '../helpers/engine.js';
import { startServer } from '../helpers/server.js';
import { connectYjs } from '../helpers/yjs-client.js';
import { liveOf, livePromptText } from '../../shared/live.js';

beforeAll(async () => {
  await Promise.all([ensureClientBuilt(), launchBrowser(), sharedEngine()]);
}, 120_000);

const FULL_HD = { width: 1920, height: 1080 };

describe('overlay', () => {
  it('is transparent outside the player, streams frames, and shows suggestions once accepted', async () => {
    const s = await startServer({}, undefined, { engine: await sharedEngine() });
    const room = await s.createRoom({ scene: { fps: 8, shots: [{ id: 'o', prompt: 'a yellow triangle moves up on the grass', duration: 1 }] } });
    const overlay = await openPage(`${room.urls.overlay}&pos=tl&size=640`, { viewport: FULL_HD });
    const { page } = overlay;

    // Frames of the shot being worked on are drawn.
    await waitForPicture(page, 'canvas.live', 20_000);

    // Transparent everywhere but the player (top left, 640 px wide).
    const png = await screenshot(page, 'overlay', { omitBackground: true });
    const { data, info } = await sharp(png).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height]).toEqual([1920, 1080]);
    const alpha = (x: number, y: number) => data[(y * info.width + x) * 4 + 3]!;
    const box = (await page.locator('.stack').boundingBox())!;
    expect(box.x).toBeLessThan(100);
    expect(box.y).toBeLessThan(100);
    expect(Math.round(box.width)).toBe(640);
    // Inside the live tile: opaque.
    expect(alpha(Math.round(box.x + box.width / 2), Math.round(box.y + 40))).toBe(255);
    // Outside the player and its shadow: every pixel fully transparent.
    const margin = 40;
    let opaque = 0;
    for (let y = 0; y < info.height; y += 2) {
      for (let x = 0; x < info.width; x += 2) {
        const inside = x >= box.x - margin && x <= box.x + box.width + margin && y >= box.y - margin && y <= box.y + box.height + margin;
        if (!inside && alpha(x, y) !== 0) opaque++;
      }
    }
    expect(opaque).toBe(0);
    expect(await page.evaluate(() => [getComputedStyle(document.documentElement).backgroundColor, getComputedStyle(document.body).backgroundColor])).toEqual(['rgba(0, 0, 0, 0)', 'rgba(0, 0, 0, 0)']);

    // An audience suggestion (overlay token) shows in the editor, not yet on the overlay.
    const editor = await openPage(room.urls.editor);
    const suggest = async (text: string, author: string) => {
      const res = await fetch(`${s.url}/api/rooms/${room.room}/suggestions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${room.tokens.overlay}`, 'content-type': 'application/json' },
        body: JSON.stringify({ text, author }),
      });
      expect(res.status).toBe(201);
      return ((await res.json()) as { suggestion: { id: string } }).suggestion.id;
    };
    const first = await suggest('a green ball bounces', 'chat42');
    const item = editor.page.locator(`li.suggestion[data-suggestion="${first}"]`);
    await expect.poll(() => item.locator('.text').innerText()).toBe('a green ball bounces');
    expect(await item.innerText()).toContain('chat42');
    expect(await page.locator('.chat-item').count()).toBe(0);

    // Accepted in the editor: it appears on the overlay.
    await item.getByRole('button', { name: 'Accept' }).click();
    const onOverlay = page.locator(`.chat-item[data-suggestion="${first}"]`);
    await onOverlay.waitFor({ timeout: 10_000 });
    expect(await onOverlay.innerText()).toMatch(/chat42\s*a green ball bounces/);

    // "Make a shot": one click adds a shot with the suggestion as its prompt and accepts it.
    const second = await suggest('一个红色的球在草地上弹跳', '观众');
    const secondItem = editor.page.locator(`li.suggestion[data-suggestion="${second}"]`);
    await secondItem.waitFor();
    await secondItem.getByRole('button', { name: 'Make a shot' }).click();
    await page.locator(`.chat-item[data-suggestion="${second}"]`).waitFor({ timeout: 10_000 });
    await expect.poll(() => editor.page.locator('li.shot').count()).toBe(2);
    expect(await editorText(editor.page.locator('li.shot').nth(1).locator('.prompt .cm-content'))).toBe('一个红色的球在草地上弹跳');
    const scene = (await (await fetch(`${s.url}/api/rooms/${room.room}/scene?token=${room.tokens.overlay}`)).json()) as Scene;
    expect(scene.shots.map((shot) => shot.prompt)).toEqual(['a yellow triangle moves up on the grass', '一个红色的球在草地上弹跳']);
    // Newest accepted first.
    expect(await page.locator('.chat-item').evaluateAll((items) => items.map((el) => el.getAttribute('data-suggestion')))).toEqual([second, first]);

    // Dismissed suggestions stay off the overlay.
    const third = await suggest('a purple square', 'someone');
    const thirdItem = editor.page.locator(`li.suggestion[data-suggestion="${third}"]`);
    await thirdItem.getByRole('button', { name: 'Dismiss' }).click();
    await expect.poll(() => thirdItem.getAttribute('data-status')).toBe('dismissed');
    expect(await page.locator(`.chat-item[data-suggestion="${third}"]`).count()).toBe(0);

    // The overlay follows the shot being worked on: the new shot's preview streams there.
    const newShot = await editor.page.locator('li.shot').nth(1).getAttribute('data-shot');
    await expect.poll(() => page.locator('figure.live-tile').getAttribute('data-shot'), { timeout: 20_000 }).toBe(newShot);
    await screenshot(page, 'overlay-suggestions', { omitBackground: true });
    await screenshot(editor.page, 'editor-suggestions', { fullPage: true });
    overlay.expectNoErrors();
    editor.expectNoErrors();
  });

  it('plays the live stream at a steady pace with the prompt on air and who suggested it: the picture moves', async () => {
    const s = await startServer({}, undefined, { engine: await sharedEngine() });
    const room = await s.createRoom({ scene: { fps: 16, shots: [{ id: 'o', prompt: 'a green box', duration: 1 }] } });
    const overlay = await openPage(`${room.urls.overlay}&pos=tl&size=640`, { viewport: FULL_HD });
    const { page } = overlay;
    const editor = connectYjs(s.wsUrl, room.room, room.tokens.editor);
    await editor.synced;
    editor.doc.transact(() => {
      liveOf(editor.doc).set('on', true);
      livePromptText(editor.doc).insert(0, 'a red ball moves right quickly on the grass');
    });
    await waitForPicture(page, 'canvas.stream', 20_000);
    await expect.poll(() => page.locator('.stream-tile .on-air .prompt').innerText(), { timeout: 20_000 }).toBe('a red ball moves right quickly on the grass');
    expect(await page.locator('figure.live-tile').isHidden()).toBe(true);
    // Moving: frames keep being drawn (their numbers go up) and two screenshots a second apart differ.
    const seqA = Number(await page.locator('canvas.stream').getAttribute('data-seq'));
    const shotA = await page.locator('canvas.stream').screenshot();
    await new Promise((r) => setTimeout(r, 1000));
    const seqB = Number(await page.locator('canvas.stream').getAttribute('data-seq'));
    const shotB = await page.locator('canvas.stream').screenshot();
    expect(seqB - seqA).toBeGreaterThanOrEqual(8);
    expect(Buffer.compare(shotA, shotB)).not.toBe(0);
    const a = await sharp(shotA).raw().toBuffer();
    const b = await sharp(shotB).raw().toBuffer();
    let diff = 0;
    for (let i = 0; i < a.length; i++) diff += Math.abs(a[i]! - b[i]!);
    expect(diff / a.length).toBeGreaterThan(0.5);
    await screenshot(page, 'overlay-live', { omitBackground: true });
    // Turned off: the stream tile goes.
    liveOf(editor.doc).set('on', false);
    await expect.poll(() => page.locator('figure.stream-tile').isHidden(), { timeout: 10_000 }).toBe(true);
    overlay.expectNoErrors();
  });
});
