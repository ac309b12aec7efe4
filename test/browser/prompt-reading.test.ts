/**
 * Under each prompt the editor shows, as people type, how the model reads it, the words it does
 * not understand and the camera move its words ask for (or that the camera chosen for the shot wins).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureClientBuilt, launchBrowser, openPage } from '../helpers/browser.js';
import { sharedEngine } from '../helpers/engine.js';
import { startServer } from '../helpers/server.js';

beforeAll(async () => {
  await Promise.all([ensureClientBuilt(), launchBrowser(), sharedEngine()]);
}, 120_000);

describe('prompt reading in the editor', () => {
  it('shows the reading, the ignored words and the camera of the words as the prompt is typed', async () => {
    const s = await startServer({}, undefined, { engine: await sharedEngine() });
    const room = await s.createRoom({ scene: { shots: [{ id: 'a', prompt: '', duration: 1 }] } });
    const { page, expectNoErrors } = await openPage(room.urls.editor);
    const shot = page.locator('li.shot[data-shot="a"]');
    await shot.locator('.prompt .cm-content').click();
    await page.keyboard.type('A crimson orb wanders past a car, the camera pans left');
    const reading = shot.locator('.reading');
    await expect.poll(() => reading.locator('.read-as').innerText(), { timeout: 10_000 }).toBe('The model reads: a red ball moves');
    expect(await reading.locator('.ignored').innerText()).toBe('Not understood: past, car');
    expect(await reading.locator('.read-camera').innerText()).toBe('Camera from the words: Pan left');
    // A camera chosen for the shot wins, and the reading says so.
    await shot.locator('select.edit-control[id^="camera"]').selectOption('zoom-in');
    await expect.poll(() => reading.locator('.read-camera').innerText(), { timeout: 10_000 }).toBe('Camera: Zoom in, as chosen (the words ask for Pan left)');
    expectNoErrors();
  });
});
