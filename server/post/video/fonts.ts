/**
 * The caption font for libass: Noto Sans SC Medium (OFL) from @expo-google-fonts/noto-sans-sc,
 * which has Latin and the whole of simplified Chinese, so captions look the same on every
 * machine and Chinese is never drawn as boxes.
 *
 * libass is also given a fontconfig of its own (FONTCONFIG_FILE) that knows only that folder:
 * with the machine's configuration, the static ffmpeg's older fontconfig cannot use the system's
 * cache and rescans every system font on each run (27 s here with the Noto CJK collections), and
 * a caption's look would depend on what the machine has installed.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';

export const CAPTION_FONT_FILE = 'NotoSansSC_500Medium.ttf';

/** Folder holding the bundled caption font (give it to libass as `fontsdir`). */
export function captionFontsDir(): string {
  const pkg = createRequire(import.meta.url).resolve('@expo-google-fonts/noto-sans-sc/package.json');
  return path.join(path.dirname(pkg), '500Medium');
}

const xml = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/**
 * Writes `dir/fonts.conf`: fontconfig with `fontsDir` as its only font folder (so any font name
 * falls back to the caption font) and a cache shared by all renders in the OS temp folder.
 * Returns the file's path, for FONTCONFIG_FILE.
 */
export async function writeFontconfig(dir: string, fontsDir: string): Promise<string> {
  const cache = path.join(os.tmpdir(), 'scenecast-fontconfig');
  await mkdir(cache, { recursive: true });
  const file = path.join(dir, 'fonts.conf');
  await writeFile(
    file,
    `<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n<fontconfig>\n  <dir>${xml(path.resolve(fontsDir))}</dir>\n  <cachedir>${xml(cache)}</cachedir>\n</fontconfig>\n`,
  );
  return file;
}
