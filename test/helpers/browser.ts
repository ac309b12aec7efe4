/**
 * Browser tests: Debian's headless Chromium driven by playwright-core, against the built web
 * client (client/dist) served by a real server. One browser per test file (`launchBrowser` in a
 * beforeAll, closed by the afterAll it registers); each page records console errors and page
 * errors, and `expectNoErrors` fails the test on any.
 */
import { spawnSync } from 'node:child_process';
import { mkdir, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type JSHandle, type Locator, type Page } from 'playwright-core';
import { afterAll, expect } from 'vitest';
import { onCleanup } from './server.js';

const root = path.resolve(import.meta.dirname, '..', '..');
export const ARTIFACTS = path.join(root, 'test-artifacts');

/** Found (or installed) by the global set-up, test/setup/global-setup.ts. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

/**
 * Builds client/dist when it is missing or older than client/ (what `npm test` does in pretest),
 * so a single browser test file can run alone. Test files run in parallel workers: a lock
 * directory keeps two of them from building (and emptying dist) at once.
 */
export async function ensureClientBuilt(): Promise<void> {
  const lock = path.join(os.tmpdir(), 'scenecast-client-build.lock');
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      await mkdir(lock);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      // A lock left by a killed run is stale after two minutes.
      const age = Date.now() - (await stat(lock).then((s) => s.mtimeMs, () => Date.now()));
      if (age > 120_000) await rm(lock, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error(`waited too long for ${lock}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  try {
    const result = spawnSync(process.execPath, [path.join(root, 'scripts', 'build-client-if-stale.mjs')], { cwd: root, encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`building the client failed:\n${result.stdout}\n${result.stderr}`);
  } finally {
    await rm(lock, { recursive: true, force: true });
  }
}

let browser: Promise<Browser> | null = null;

afterAll(async () => {
  const open = browser;
  browser = null;
  if (open) await (await open).close();
});

/** The file's browser (launched once, closed after all its tests). */
export function launchBrowser(): Promise<Browser> {
  browser ??= chromium.launch({ executablePath: CHROMIUM, args: ARGS });
  return browser;
}

export interface WatchedPage {
  context: BrowserContext;
  page: Page;
  /** Console errors and uncaught page errors seen so far. */
  errors: string[];
  expectNoErrors(): void;
}

export interface PageOptions {
  viewport?: { width: number; height: number };
  /** Name and colour the editor publishes in awareness (stored before the page loads). */
  user?: { name: string; color: string };
  locale?: string;
  /**
   * Open the page in this context (another page's: same origin and storage, so tabs of one
   * browser) instead of a fresh one; `viewport`, `locale` and `user` then come from that context.
   */
  context?: BrowserContext;
  /** Runs before the page loads (routes, request listeners). */
  beforeLoad?: (page: Page) => Promise<void> | void;
}

/** A page in a fresh context (its own storage), or in `options.context`; closed after the current test. */
export async function openPage(url: string, options: PageOptions = {}): Promise<WatchedPage> {
  const shared = options.context;
  const context =
    shared ??
    (await (await launchBrowser()).newContext({
      viewport: options.viewport ?? { width: 1400, height: 1000 },
      locale: options.locale ?? 'en-US',
    }));
  if (!shared) onCleanup(() => context.close());
  if (options.user && !shared) {
    await context.addInitScript((user) => localStorage.setItem('scenecast:user', JSON.stringify(user)), options.user);
  }
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`console.error: ${message.text()} (${message.location().url})`);
  });
  page.on('pageerror', (error) => errors.push(`page error: ${error.stack ?? error.message}`));
  await options.beforeLoad?.(page);
  await page.goto(url);
  return {
    context,
    page,
    errors,
    expectNoErrors: () => expect(errors, `browser errors on ${url}`).toEqual([]),
  };
}

export async function screenshot(page: Page, name: string, options: { omitBackground?: boolean; fullPage?: boolean } = {}): Promise<Buffer> {
  await mkdir(ARTIFACTS, { recursive: true });
  return page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), ...options });
}

export interface CanvasInk {
  width: number;
  height: number;
  /** Share of pixels that are not (near) black. */
  lit: number;
  /** Spread of the luminance (max - min, 0…255). */
  contrast: number;
}

/** What a canvas shows: a blank one has lit 0 and contrast 0. */
export function canvasInk(canvas: Locator): Promise<CanvasInk> {
  return canvas.evaluate((el) => {
    const c = el as HTMLCanvasElement;
    const data = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    let lit = 0;
    let min = 255;
    let max = 0;
    for (let i = 0; i < data.length; i += 4) {
      const y = 0.299 * data[i]! + 0.587 * data[i + 1]! + 0.114 * data[i + 2]!;
      if (data[i + 3]! > 0 && y > 16) lit++;
      min = Math.min(min, y);
      max = Math.max(max, y);
    }
    return { width: c.width, height: c.height, lit: lit / (data.length / 4), contrast: max - min };
  });
}

/** Waits until the canvas shows a picture (not blank, not one flat colour). */
export async function waitForPicture(page: Page, selector: string, timeout = 15_000): Promise<void> {
  await page.waitForFunction(
    (sel) => {
      const c = document.querySelector(sel) as HTMLCanvasElement | null;
      if (!c) return false;
      const data = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      let min = 255;
      let max = 0;
      let lit = 0;
      for (let i = 0; i < data.length; i += 4) {
        const y = 0.299 * data[i]! + 0.587 * data[i + 1]! + 0.114 * data[i + 2]!;
        if (data[i + 3]! > 0 && y > 16) lit++;
        min = Math.min(min, y);
        max = Math.max(max, y);
      }
      return lit / (data.length / 4) > 0.5 && max - min > 20;
    },
    selector,
    { timeout, polling: 100 },
  );
}

/**
 * The text of a CodeMirror field as its document holds it: without the widgets drawn inside
 * (remote carets with names, the placeholder, caret buffers).
 */
export function editorText(content: Locator): Promise<string> {
  return content.evaluate((el) =>
    [...el.querySelectorAll('.cm-line')]
      .map((line) => {
        const copy = line.cloneNode(true) as HTMLElement;
        copy.querySelectorAll('.cm-ySelectionCaret, .cm-widgetBuffer, .cm-placeholder').forEach((node) => node.remove());
        return (copy.textContent ?? '').replace(/\u2060/g, '');
      })
      .join('\n'),
  );
}

/**
 * The page's Y.Doc, for tests that change it the way only a script could. The client ships no
 * test hook (client/dist is what `npm start` serves too): the doc is reached like from devtools,
 * through the first CodeMirror field (its view, y-codemirror.next's sync plugin, its Y.Text). Those
 * are internals of @codemirror/view and y-codemirror.next; if an upgrade moves them this fails
 * saying so, rather than letting a test pass without having touched the doc.
 */
export async function pageDoc(page: Page): Promise<JSHandle> {
  const handle = await page.evaluateHandle(() => {
    type Plugin = { value?: { conf?: { ytext?: { doc?: unknown } } } };
    const content = document.querySelector('.cm-content') as (Element & { cmTile?: { root?: { view?: { plugins?: Plugin[] } } } }) | null;
    for (const plugin of content?.cmTile?.root?.view?.plugins ?? []) {
      const doc = plugin.value?.conf?.ytext?.doc;
      if (doc) return doc;
    }
    return null;
  });
  if (!(await handle.evaluate((doc) => doc !== null && typeof (doc as { transact?: unknown }).transact === 'function'))) {
    throw new Error('pageDoc: no Y.Doc behind the first .cm-content (did @codemirror/view or y-codemirror.next change their internals?)');
  }
  return handle;
}
