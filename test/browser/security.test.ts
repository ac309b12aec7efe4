/**
 * What a read-only participant can do to an editor's page, in a real browser: publish awareness
 * made to inject CSS (a colour that covers the page and fetches an outside URL, a false role),
 * and, from a viewer tab of the same browser, change the document behind its disabled controls.
 * Assertions are on what the editor's page renders and what the server stored, not on what was
 * relayed: the server may clean awareness too.
 */
import * as encoding from 'lib0/encoding';
import type { Page, WebSocketRoute } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { cleanState, NAME_CHARS, NEUTRAL_COLOR } from '../../client/src/lib/awareness.js';
import type { Scene } from '../../shared/scene.js';
import { findShot } from '../../shared/scene-doc.js';
import { ensureClientBuilt, launchBrowser, openPage, pageDoc } from '../helpers/browser.js';
import { sharedEngine } from '../helpers/engine.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { connectYjs, until } from '../helpers/yjs-client.js';

beforeAll(async () => {
  await Promise.all([ensureClientBuilt(), launchBrowser(), sharedEngine()]);
}, 120_000);

// With the engine, as in production: without one the page's render look-up answers 503 (a console error).
const server = async (): Promise<TestServer> => startServer({}, undefined, { engine: await sharedEngine() });

async function sceneOf(s: TestServer, room: string, token: string): Promise<Scene> {
  const res = await fetch(`${s.url}/api/rooms/${room}/scene`, { headers: { authorization: `Bearer ${token}` } });
  expect(res.status).toBe(200);
  return (await res.json()) as Scene;
}

/** Two animation frames: styles applied, layout and paint done (and any image fetch started). */
const settle = (page: Page) => page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))));

const INJECTED = 'red;position:fixed;inset:0;background:url(http://127.0.0.1:9/x)';
const HEX = /^#[0-9a-f]{6}$/i;

describe('awareness from others is cleaned before it is rendered', () => {
  it('cleanState keeps what is safe and replaces the rest', () => {
    const relpos = { type: null, tname: null, item: { client: 7, clock: 3 }, assoc: 0 };
    expect(cleanState({ user: { name: 'Ann', color: '#12a594', colorLight: '#12a59433', role: 'editor' }, shot: 's1', cursor: { anchor: relpos, head: relpos }, extra: 1 })).toEqual({
      user: { name: 'Ann', color: '#12a594', colorLight: '#12a59433', role: 'editor' },
      shot: 's1',
      cursor: { anchor: relpos, head: relpos },
      extra: 1,
    });
    expect(cleanState({ user: { name: 'x'.repeat(100), color: INJECTED, colorLight: 'x;y', role: 'admin' }, shot: 42 })).toEqual({
      user: { name: 'x'.repeat(NAME_CHARS), color: NEUTRAL_COLOR, colorLight: `${NEUTRAL_COLOR}33`, role: 'viewer' },
    });
    // colorLight falls back to the (valid) colour; #rgb, rgb() and named colours are not accepted.
    expect(cleanState({ user: { name: 'B', color: '#0090ff', colorLight: 'rgb(0,0,0)' } }).user).toEqual({ name: 'B', color: '#0090ff', colorLight: '#0090ff33', role: 'viewer' });
    expect((cleanState({ user: { name: 'C', color: '#09f' } }).user as { color: string }).color).toBe(NEUTRAL_COLOR);
    expect((cleanState({ user: { name: 'D', color: 'red' } }).user as { color: string }).color).toBe(NEUTRAL_COLOR);
    // Not a person: no string name, or no object at all.
    expect(cleanState({ user: { name: { toString: 1 } } })).toEqual({});
    expect(cleanState(5)).toEqual({});
    expect(cleanState(null)).toEqual({});
    // Cursors y-codemirror.next could not resolve (or that would make Yjs create a root type) are dropped.
    for (const bad of [{ anchor: 5, head: 5 }, { anchor: relpos }, { anchor: { ...relpos, tname: 'x' }, head: relpos }, { anchor: { item: null, type: null }, head: relpos }, { anchor: { item: { client: -1, clock: 0 } }, head: relpos }, 'x']) {
      expect(cleanState({ cursor: bad }), JSON.stringify(bad)).toEqual({});
    }
    expect(cleanState({ cursor: null })).toEqual({ cursor: null });
  });

  it('a viewer that publishes a CSS colour and an editor role is drawn with a safe colour in the list, on the shot and as a caret, and makes the page fetch nothing', async () => {
    const s = await server();
    const room = await s.createRoom({ scene: { fps: 8, shots: [{ id: 'first', prompt: 'a red ball moves left on the grass', duration: 1 }, { id: 'second', prompt: 'a blue box', duration: 1 }] } });
    const outside: string[] = [];
    // The page's Yjs connection passes through the test, which can add messages of its own.
    const routes: WebSocketRoute[] = [];
    const editor = await openPage(room.urls.editor, {
      user: { name: 'Alice', color: '#e5484d' },
      beforeLoad: async (page) => {
        page.on('request', (request) => {
          if (new URL(request.url()).host === '127.0.0.1:9') outside.push(request.url());
        });
        await page.routeWebSocket(/\/yjs\//, (ws) => {
          ws.connectToServer();
          routes.push(ws);
        });
      },
    });
    const { page } = editor;
    await page.locator('li.shot[data-shot="first"] .prompt .cm-content').waitFor();

    // 1. A stock y-websocket client with the viewer token, a selection in the first prompt. The
    // server relays its state (as it came, or cleaned, once the server cleans awareness).
    const viewer = connectYjs(s.wsUrl, room.room, room.tokens.viewer);
    await viewer.synced;
    await until(viewer.doc, (doc) => findShot(doc, 'first') !== undefined, 10_000, 'the first shot');
    const prompt = findShot(viewer.doc, 'first')!.get('prompt') as Y.Text;
    const at = (from: number, to: number) => ({ anchor: Y.createRelativePositionFromTypeIndex(prompt, from), head: Y.createRelativePositionFromTypeIndex(prompt, to) });
    const injected = { user: { name: 'Editor', role: 'editor', color: INJECTED, colorLight: 'x;y' }, shot: 'first' };
    viewer.provider.awareness.setLocalState({ ...injected, cursor: at(2, 10) });

    // 2. The same state as it would come from a server that relays it untouched: sent straight into
    // the page's connection, under a client id of its own. The page alone has to make it safe.
    expect(routes).toHaveLength(1);
    const update = encoding.createEncoder();
    encoding.writeVarUint(update, 1); // one client
    encoding.writeVarUint(update, (viewer.doc.clientID + 1) % 2 ** 32);
    encoding.writeVarUint(update, 1); // its clock
    encoding.writeVarString(update, JSON.stringify({ ...injected, cursor: at(14, 18) }));
    const message = encoding.createEncoder();
    encoding.writeVarUint(message, 1); // y-websocket's messageAwareness
    encoding.writeVarUint8Array(message, encoding.toUint8Array(update));
    routes[0]!.send(Buffer.from(encoding.toUint8Array(message)));

    // Both show: in the list, as avatars on the shot, and as named carets.
    const person = page.locator('.people .person:not(.self)');
    await expect.poll(() => person.locator('.name').allInnerTexts()).toEqual(['Editor', 'Editor']);
    const avatar = page.locator('li.shot[data-shot="first"] .others .avatar');
    await expect.poll(() => avatar.allInnerTexts()).toEqual(['Editor', 'Editor']);
    const field = page.locator('li.shot[data-shot="first"] .prompt');
    await expect.poll(() => field.locator('.cm-ySelectionInfo').allTextContents()).toEqual(['Editor', 'Editor']);
    await settle(page);

    // No style attribute anywhere on the page carries what was injected.
    const styles = await page.evaluate(() => [...document.querySelectorAll('[style]')].map((el) => el.getAttribute('style') ?? ''));
    expect(styles.filter((style) => /url\(|position|inset|;\s*background\s*:/i.test(style))).toEqual([]);

    // The list's dots: a plain colour, not fixed, dot-sized; the avatars' colour is #rrggbb.
    for (const dot of await person.locator('.dot').all()) {
      expect(await dot.evaluate((el) => getComputedStyle(el).position)).not.toBe('fixed');
      expect(await dot.evaluate((el) => getComputedStyle(el).backgroundImage)).toBe('none');
      expect(await dot.evaluate((el) => getComputedStyle(el).backgroundColor)).toMatch(/^rgb\(\d+, \d+, \d+\)$/);
      const box = (await dot.boundingBox())!;
      expect(box.width).toBeLessThan(40);
      expect(box.height).toBeLessThan(40);
    }
    expect(await avatar.evaluateAll((els) => els.map((el) => (el as HTMLElement).style.getPropertyValue('--c').trim()))).toEqual([expect.stringMatching(HEX), expect.stringMatching(HEX)]);

    // y-codemirror.next's carets and selection marks: only a colour in their style.
    const carets = await field.locator('.cm-ySelectionCaret').all();
    expect(carets).toHaveLength(2);
    for (const caret of carets) {
      expect(await caret.getAttribute('style')).toMatch(/^background-color: #[0-9a-f]{6}; border-color: #[0-9a-f]{6}$/i);
      expect(await caret.evaluate((el) => getComputedStyle(el).position)).toBe('relative');
    }
    const marks = await field.locator('.cm-ySelection').evaluateAll((els) => els.map((el) => el.getAttribute('style')));
    expect(marks.length).toBeGreaterThanOrEqual(2);
    for (const mark of marks) expect(mark).toMatch(/^background-color: (#[0-9a-f]{6}([0-9a-f]{2})?|rgba?\([\d., ]+\));?$/i);

    expect(outside).toEqual([]);
    editor.expectNoErrors();
  });
});

describe('tabs do not relay edits for each other', () => {
  it('a viewer tab next to an editor tab of the same room changes nothing there or on the server, whatever it does to its page', async () => {
    const s = await server();
    const room = await s.createRoom({
      title: 'Kept',
      scene: {
        fps: 8,
        template: 'none',
        shots: [
          { id: 'a', prompt: 'a red ball', duration: 1 },
          { id: 'b', prompt: 'a blue box', duration: 2, negative: 'grass' },
        ],
      },
    });
    const res = await fetch(`${s.url}/api/rooms/${room.room}/suggestions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${room.tokens.overlay}`, 'content-type': 'application/json' },
      body: JSON.stringify({ text: 'a green ball bounces', author: 'chat' }),
    });
    expect(res.status).toBe(201);
    const before = await sceneOf(s, room.room, room.tokens.editor);

    // One browser context: same origin and storage, so BroadcastChannel would connect the two tabs.
    const editor = await openPage(room.urls.editor);
    const viewer = await openPage(room.urls.viewer, { context: editor.context });
    for (const { page } of [editor, viewer]) {
      await expect.poll(() => page.locator('li.shot').count()).toBe(2);
      await page.locator('li.suggestion').waitFor({ state: 'attached' });
    }
    await expect.poll(() => viewer.page.locator('.role-badge').innerText()).toBe('Viewer');
    await expect.poll(() => editor.page.locator('.role-badge').innerText()).toBe('Editor');

    // Every control of the viewer page, disabled or hidden as they are, driven by script.
    const changeTo = (selector: string, value: string | null) =>
      viewer.page.locator(selector).first().evaluate((el, next) => {
        const control = el as HTMLInputElement | HTMLSelectElement;
        control.value = next ?? ([...(control as HTMLSelectElement).options].find((o) => !o.selected)?.value ?? '');
        control.dispatchEvent(new Event('input', { bubbles: true }));
        control.dispatchEvent(new Event('change', { bubbles: true }));
      }, value);
    await changeTo('input.title-input', 'Hijacked');
    await changeTo('.scene-settings input[type="number"]', '24');
    await changeTo('.scene-settings select', null);
    await changeTo('li.shot[data-shot="a"] input[type="number"]', '3');
    await changeTo('li.shot[data-shot="a"] select', 'zoom-in');
    const click = (selector: string) => viewer.page.locator(selector).first().evaluate((el) => (el as HTMLElement).click());
    await click('li.suggestion button:nth-of-type(1)'); // accept
    await click('li.suggestion button:nth-of-type(2)'); // dismiss
    await click('li.suggestion button:nth-of-type(3)'); // make a shot
    await click('li.shot[data-shot="a"] .shot-fields > button.link'); // add a negative prompt
    await click('li.shot[data-shot="b"] .negative-box button.link'); // remove the negative prompt
    await click('li.shot[data-shot="b"] .shot-head button.icon'); // move up
    await click('li.shot[data-shot="b"] .shot-head button.danger'); // remove
    await click('button.add-shot');

    // The viewer's own document did not change.
    const viewerDoc = await pageDoc(viewer.page);
    const read = (doc: unknown) => {
      const d = doc as Y.Doc;
      return {
        title: d.getMap('meta').get('title'),
        fps: d.getMap('meta').get('fps'),
        template: d.getMap('meta').get('template'),
        shots: d.getArray<Y.Map<unknown>>('shots').toArray().map((shot) => [shot.get('id'), shot.get('duration'), shot.get('camera') ?? 'static', shot.has('negative')]),
        statuses: d.getMap('suggestionStatus').toJSON(),
      };
    };
    const original = { title: 'Kept', fps: 8, template: 'none', shots: [['a', 1, 'static', false], ['b', 2, 'static', true]], statuses: {} };
    expect(await viewerDoc.evaluate(read)).toEqual(original);

    // Now change the viewer's document behind the page's back: only the BroadcastChannel could carry that to the editor tab.
    await viewerDoc.evaluate((doc) => {
      const d = doc as Y.Doc;
      d.transact(() => {
        d.getMap('meta').set('title', 'Direct');
        d.getArray('shots').delete(0, 1);
      });
    });
    expect((await viewerDoc.evaluate(read)).title).toBe('Direct');

    // A change the editor makes afterwards is stored and reaches the viewer; the viewer's never reach the editor.
    const fps = editor.page.getByLabel('Frames per second', { exact: true });
    await fps.fill('12');
    await fps.press('Tab');
    await expect.poll(async () => (await sceneOf(s, room.room, room.tokens.editor)).fps).toBe(12);
    await expect.poll(() => viewerDoc.evaluate((doc) => (doc as Y.Doc).getMap('meta').get('fps'))).toBe(12);
    const editorDoc = await pageDoc(editor.page);
    expect(await editorDoc.evaluate(read)).toEqual({ ...original, fps: 12 });
    expect(await editor.page.locator('input.title-input').inputValue()).toBe('Kept');
    expect(await editor.page.locator('li.shot').evaluateAll((els) => els.map((el) => el.getAttribute('data-shot')))).toEqual(['a', 'b']);
    expect(await editor.page.locator('li.suggestion').getAttribute('data-status')).toBe('new');

    const after = await sceneOf(s, room.room, room.tokens.editor);
    expect(after).toEqual({ ...before, fps: 12 });
    editor.expectNoErrors();
    viewer.expectNoErrors();
  });
});
