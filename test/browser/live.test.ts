/**
 * The editor's live panel in a real browser: an editor turns the stream on and types its prompt;
 * the overlay plays it with that prompt; a viewer's panel changes nothing; the queue shows the
 * audience's votes; the instant replay button gives a link to an MP4.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { liveOf, readLive, votesOf } from '../../shared/live.js';
import { ensureClientBuilt, launchBrowser, openPage, screenshot, waitForPicture } from '../helpers/browser.js';
import { sharedEngine } from '../helpers/engine.js';
import { startServer } from '../helpers/server.js';
import { connectSocket, nextEvent } from '../helpers/socket-client.js';
import { connectYjs, until } from '../helpers/yjs-client.js';

beforeAll(async () => {
  await Promise.all([ensureClientBuilt(), launchBrowser(), sharedEngine()]);
}, 120_000);

const SLOW = { timeout: 20_000 };

describe('the live panel', () => {
  it('turns the stream on with a typed prompt, shows the queue with votes, saves a replay, and is read-only for a viewer', async () => {
    const s = await startServer({}, undefined, { engine: await sharedEngine() });
    const room = await s.createRoom({ scene: { fps: 16, shots: [{ id: 'a', prompt: 'a green box', duration: 1 }] } });
    const editor = await openPage(room.urls.editor);
    const { page } = editor;
    const panel = page.locator('.live-panel');
    await panel.waitFor();
    const overlay = await openPage(`${room.urls.overlay}&pos=tl&size=640`, { viewport: { width: 1920, height: 1080 } });

    await panel.locator('.live-prompt .cm-content').click();
    await page.keyboard.type('a blue ball moves left on the grass');
    await panel.getByLabel('Live stream on').check();
    const doc = connectYjs(s.wsUrl, room.room, room.tokens.viewer);
    await doc.synced;
    await until(doc.doc, (d) => readLive(d).on && readLive(d).prompt === 'a blue ball moves left on the grass', 10_000, 'the live fields in the document');
    await waitForPicture(overlay.page, 'canvas.stream', 20_000);
    await expect.poll(() => overlay.page.locator('.stream-tile .on-air .prompt').innerText(), SLOW).toBe('a blue ball moves left on the grass');
    await expect.poll(() => panel.locator('.live-status').getAttribute('data-status'), SLOW).toBe('live');

    // Audience suggestions and votes show in the queue, top-voted first.
    const audience = connectSocket(s.url, room.tokens.overlay);
    await nextEvent(audience, 'room:joined');
    const suggest = (text: string) => new Promise<string>((resolve, reject) => audience.emit('suggestion:submit', { text, author: 'fan' }, (r) => (r.ok ? resolve(r.suggestion.id) : reject(new Error(r.error.code)))));
    const first = await suggest('a red ball moves up');
    const second = await suggest('a white star at night');
    await new Promise((resolve) => audience.emit('suggestion:vote', { id: second }, resolve));
    await expect.poll(() => panel.locator('.live-queue li').evaluateAll((items) => items.map((li) => [li.getAttribute('data-suggestion'), li.querySelector('.votes')?.textContent])), SLOW).toEqual([
      [second, '1'],
      [first, '0'],
    ]);
    await panel.getByLabel('Prompt from').selectOption('suggestions');
    await expect.poll(() => overlay.page.locator('.stream-tile .on-air .prompt').innerText(), SLOW).toBe('a white star at night');
    await expect.poll(() => panel.locator('.on-air').innerText(), SLOW).toBe('a white star at night — fan');

    // An instant replay: a link to the MP4.
    await panel.getByRole('button', { name: 'Save the last 30 s' }).click();
    const link = panel.locator('.live-replay a');
    await link.waitFor(SLOW);
    const href = await link.getAttribute('href');
    const video = await fetch(new URL(href!, s.url));
    expect(video.status).toBe(200);
    expect(video.headers.get('content-type')).toBe('video/mp4');
    await screenshot(page, 'editor-live-panel', { fullPage: true });

    // A viewer's panel: disabled, and scripted changes write nothing.
    const viewer = await openPage(room.urls.viewer);
    const vPanel = viewer.page.locator('.live-panel');
    await expect.poll(() => vPanel.getByLabel('Live stream on').isDisabled(), SLOW).toBe(true);
    await vPanel.getByLabel('Live stream on').evaluate((el) => {
      (el as HTMLInputElement).checked = false;
      el.dispatchEvent(new Event('change', { bubbles: true }));
    });
    await new Promise((r) => setTimeout(r, 500));
    expect(liveOf(doc.doc).get('on')).toBe(true);
    audience.disconnect();
    editor.expectNoErrors();
    overlay.expectNoErrors();
  }, 120_000);

  it('the audience page (overlay with audience=1) suggests a prompt and votes once for it', async () => {
    const s = await startServer({}, undefined, { engine: await sharedEngine() });
    const room = await s.createRoom({ scene: { fps: 16, shots: [{ id: 'a', prompt: 'a green box', duration: 1 }] } });
    const audience = await openPage(`${room.urls.overlay}&audience=1`);
    const { page } = audience;
    // What the model will read of it shows as it is typed.
    await page.getByPlaceholder('Suggest what the stream shows').pressSequentially('a violet star twirls');
    await expect.poll(() => page.locator('.audience .reading .read-as').innerText(), SLOW).toBe('The model reads: a purple star spins');
    await page.getByPlaceholder('Suggest what the stream shows').fill('a purple star spins');
    await page.getByPlaceholder('Your name').fill('kim');
    await page.getByRole('button', { name: 'Suggest' }).click();
    await expect.poll(() => page.locator('.audience-message').innerText(), SLOW).toBe('Thanks! Your suggestion is in the queue.');
    const item = page.locator('.vote-item').first();
    await expect.poll(() => item.locator('.text').innerText(), SLOW).toBe('a purple star spins');
    expect(await item.locator('.votes').innerText()).toBe('0');
    await item.getByRole('button', { name: 'Vote' }).click();
    await expect.poll(() => item.locator('.votes').innerText(), SLOW).toBe('1');
    expect(await item.getByRole('button', { name: 'Vote' }).isDisabled()).toBe(true);
    // Counted in the document, once.
    const doc = connectYjs(s.wsUrl, room.room, room.tokens.viewer);
    await doc.synced;
    const id = await item.getAttribute('data-suggestion');
    await until(doc.doc, (d) => votesOf(d).get(id!) === 1, 10_000, 'the vote in the document');
    await screenshot(page, 'overlay-audience');
    audience.expectNoErrors();
  }, 60_000);
});
