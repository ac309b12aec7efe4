/**
 * Final renders from the editor in a real browser: progress by shot, a <video> that plays, the
 * download link, cache hits on a second render, cancel, and the clip on the overlay.
 */
import type { Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureClientBuilt, launchBrowser, openPage, screenshot } from '../helpers/browser.js';
import { sharedEngine } from '../helpers/engine.js';
import { startServer } from '../helpers/server.js';

beforeAll(async () => {
  await Promise.all([ensureClientBuilt(), launchBrowser(), sharedEngine()]);
}, 120_000);

const RENDER_TIMEOUT = 120_000;

/** Waits until the render panel shows a (new) video or an error; fails with the error's words. */
async function renderFinished(page: Page, previousSrc: string | null = null): Promise<void> {
  await page.waitForFunction(
    (previous) => {
      const video = document.querySelector('.render-panel video.render-video');
      return (video && video.getAttribute('src') !== previous) || document.querySelector('.render-panel .error:not([hidden])');
    },
    previousSrc,
    { timeout: RENDER_TIMEOUT },
  );
  const error = page.locator('.render-panel .error');
  expect(await error.isVisible() ? await error.innerText() : 'no error').toBe('no error');
}

describe('render', () => {
  it('renders the scene to a video that plays in the editor and loops on the overlay', { timeout: 240_000 }, async () => {
    const s = await startServer({}, undefined, { engine: await sharedEngine() });
    const room = await s.createRoom({
      scene: {
        fps: 8,
        shots: [
          { id: 'left', prompt: 'a red ball moves left', duration: 0.5 },
          { id: 'up', prompt: '一个黄色的三角形向上移动', duration: 0.5 },
        ],
      },
    });
    const editor = await openPage(room.urls.editor);
    const overlay = await openPage(room.urls.overlay, { viewport: { width: 1920, height: 1080 } });
    const { page } = editor;
    const panel = page.locator('.render-panel');
    const start = page.getByRole('button', { name: 'Render 720p video' });
    // The first render: every shot generated, none from the cache.
    await start.click();
    await expect.poll(() => start.isDisabled()).toBe(true);
    // The overlay shows a progress strip while it runs.
    await overlay.page.locator('.strip').waitFor({ state: 'visible', timeout: 30_000 });
    const video = panel.locator('video.render-video');
    await renderFinished(page);
    expect(await panel.locator('.render-shots li').evaluateAll((items) => items.map((li) => [li.getAttribute('data-shot'), li.textContent, li.classList.contains('cached')]))).toEqual([
      ['left', 'Shot left: 4 of 4 frames', false],
      ['up', 'Shot up: 4 of 4 frames', false],
    ]);
    expect(await panel.locator('progress.render-bar').evaluate((el) => (el as HTMLProgressElement).value)).toBe(1);
    expect(await panel.locator('.render-stage').innerText()).toMatch(/^Done: 1\.0 s, [\d.]+ KB$/);

    // The browser loads and plays the MP4 (H.264 over Range requests).
    await page.waitForFunction((el) => (el as HTMLVideoElement).readyState >= 2, await video.elementHandle(), { timeout: 20_000 });
    const duration = await video.evaluate((el) => (el as HTMLVideoElement).duration);
    expect(Math.abs(duration - 1)).toBeLessThanOrEqual(0.15);
    await video.evaluate((el) => {
      const v = el as HTMLVideoElement;
      v.muted = true;
      return v.play();
    });
    await page.waitForFunction((el) => (el as HTMLVideoElement).currentTime > 0.2, await video.elementHandle(), { timeout: 10_000 });
    expect(await video.evaluate((el) => [(el as HTMLVideoElement).videoWidth, (el as HTMLVideoElement).videoHeight])).toEqual([1280, 720]);

    const link = panel.getByRole('link', { name: 'Download MP4' });
    const href = (await link.getAttribute('href'))!;
    expect(href).toMatch(/^\/api\/renders\/r[a-z0-9]+\/video\.mp4\?token=/);
    const download = await fetch(`${s.url}${href}`);
    expect(download.status).toBe(200);
    expect(download.headers.get('content-type')).toBe('video/mp4');

    // The overlay loops the finished clip, muted, and the strip is gone.
    const clip = overlay.page.locator('video.clip');
    await overlay.page.waitForFunction((el) => (el as HTMLVideoElement).readyState >= 2 && !(el as HTMLVideoElement).paused, await clip.elementHandle(), { timeout: 20_000 });
    expect(await clip.evaluate((el) => [(el as HTMLVideoElement).muted, (el as HTMLVideoElement).loop])).toEqual([true, true]);
    expect(await overlay.page.locator('.strip').isHidden()).toBe(true);
    await screenshot(page, 'editor-render', { fullPage: true });
    await screenshot(overlay.page, 'overlay-clip', { omitBackground: true });

    // Rendering again without changes reuses both shots from the cache, and says so.
    const firstSrc = await video.getAttribute('src');
    await start.click();
    await renderFinished(page, firstSrc);
    expect(await video.getAttribute('src')).not.toBe(firstSrc);
    expect(await panel.locator('.render-shots li.cached .tag').allInnerTexts()).toEqual(['reused from cache', 'reused from cache']);

    // A render can be cancelled.
    await page.locator('li.shot[data-shot="left"] .prompt .cm-content').click();
    await page.keyboard.press('End');
    await page.keyboard.type(' fast');
    await expect.poll(async () => ((await (await fetch(`${s.url}/api/rooms/${room.room}/scene?token=${room.tokens.viewer}`)).json()) as { shots: { prompt: string }[] }).shots[0]?.prompt).toBe('a red ball moves left fast');
    await start.click();
    const cancel = page.getByRole('button', { name: 'Cancel render' });
    await cancel.click();
    await expect.poll(() => panel.locator('.render-stage').innerText(), { timeout: 30_000 }).toBe('The render was cancelled.');
    expect(await start.isDisabled()).toBe(false);
    editor.expectNoErrors();
    overlay.expectNoErrors();
  });
});
