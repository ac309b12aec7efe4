/**
 * The bundle's prompt reader (DESIGN.md, "Prompt reading"): before tokenising, free phrasing is
 * mapped to the words the model knows, from the lexicon the bundle brings (`reader.json` beside
 * its manifest):
 *   1 camera   camera phrases ("the camera pans left", "zoom in slowly", 镜头推进, 向左摇) set the
 *              shot's camera move and leave the text
 *   2 phrases  multi-word and Chinese phrases, longest first (升起 → 向上移动, zooms across → moves)
 *   3 words    each English word the model does not know: the lexicon's synonym, or the synonym of
 *              its base form (plurals, -ing, -ed, -s, -ies); Chinese characters are read as they are
 *   4 ignored  what is still unknown leaves the reading and is listed, so people see it
 * A prompt made only of known words reads as itself (normalised: NFKC, lower case).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { CAMERA_MOVES, type CameraMove } from '../../shared/camera.js';

export interface ReaderLexicon {
  version: number;
  /** English words (base forms) → what the model reads for them ('' drops a filler word). */
  words: Record<string, string>;
  /** Phrases of either language → what the model reads (matched on word boundaries in English). */
  phrases: Record<string, string>;
  /** Regular expressions (case-insensitive, on the normalised text) → camera moves. */
  camera: { pattern: string; move: CameraMove }[];
  /** The model's own caption phrases: read as they are (no phrase or camera pattern rewrites them). */
  keep?: string[];
}

export interface Reading {
  reading: string;
  /** Words the model does not know and that nothing maps, in order, once each. */
  ignored: string[];
  /** The camera move the prompt's words ask for, or null. */
  camera: CameraMove | null;
}

const WORD = /[a-z]+|[\u3400-\u4dbf\u4e00-\u9fff]|[^a-z\u3400-\u4dbf\u4e00-\u9fff]+/g;
const isLatin = (token: string) => /^[a-z]+$/.test(token);
const isCjk = (token: string) => /^[\u3400-\u4dbf\u4e00-\u9fff]$/.test(token);
const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Base forms to try for an English word, most likely first. */
function baseForms(word: string): string[] {
  const forms: string[] = [];
  if (word.endsWith('ies') && word.length > 4) forms.push(`${word.slice(0, -3)}y`);
  if (word.endsWith('es') && word.length > 3) forms.push(word.slice(0, -2));
  if (word.endsWith('s') && word.length > 2) forms.push(word.slice(0, -1));
  if (word.endsWith('ing') && word.length > 4) {
    const stem = word.slice(0, -3);
    forms.push(stem, `${stem}e`);
    if (stem.length > 2 && stem.at(-1) === stem.at(-2)) forms.push(stem.slice(0, -1)); // spinning → spin
  }
  if (word.endsWith('ed') && word.length > 3) {
    const stem = word.slice(0, -2);
    forms.push(stem, `${stem}e`, word.slice(0, -1));
    if (stem.length > 2 && stem.at(-1) === stem.at(-2)) forms.push(stem.slice(0, -1));
  }
  return forms;
}

export class PromptReader {
  readonly #vocab: Set<string>;
  readonly #words: Map<string, string>;
  /** Every phrase in one pattern, longest first: one pass, so what a phrase reads as is not read again. */
  readonly #phrases: { re: RegExp; to: Map<string, string> } | null;
  readonly #camera: { re: RegExp; move: CameraMove }[];

  constructor(lexicon: ReaderLexicon, vocab: readonly string[]) {
    this.#vocab = new Set(vocab);
    this.#words = new Map(Object.entries(lexicon.words));
    // A caption phrase of the model's is read as itself: it goes in with the phrases (longest first, leftmost
    // first), so a phrase that would start inside it or overlap it never matches there.
    const keep = new Map((lexicon.keep ?? []).map((k) => [k.normalize('NFKC').toLowerCase(), k.normalize('NFKC').toLowerCase()]));
    const phrases = [...Object.entries(lexicon.phrases).filter(([from]) => !keep.has(from)), ...keep].sort((a, b) => b[0].length - a[0].length);
    this.#phrases = phrases.length === 0 ? null : {
      re: new RegExp(phrases.map(([from]) => (/[a-z]/.test(from) ? `\\b${escape(from)}\\b` : escape(from))).join('|'), 'g'),
      to: new Map(phrases),
    };
    this.#camera = lexicon.camera.map((c) => {
      if (!CAMERA_MOVES.includes(c.move)) throw new Error(`reader.json: unknown camera move "${c.move}"`);
      return { re: new RegExp(c.pattern, 'gi'), move: c.move };
    });
  }

  /** The bundle's reader (`reader.json` beside the manifest), or null when it has none. */
  static async load(dir: string, vocab: readonly string[]): Promise<{ reader: PromptReader; text: string } | null> {
    let text: string;
    try {
      text = await readFile(path.join(dir, 'reader.json'), 'utf8');
    } catch {
      return null;
    }
    return { reader: new PromptReader(JSON.parse(text) as ReaderLexicon, vocab), text };
  }

  read(prompt: string): Reading {
    let text = prompt.normalize('NFKC').toLowerCase();
    // 1. Camera.
    let camera: CameraMove | null = null;
    for (const { re, move } of this.#camera) {
      re.lastIndex = 0;
      if (re.test(text)) {
        camera ??= move;
        text = text.replace(re, ' ');
      }
    }
    // 2. Phrases.
    if (this.#phrases) {
      const { re, to } = this.#phrases;
      text = text.replace(re, (found) => ` ${to.get(found)!} `);
    }
    // 3–4. Words.
    const ignored: string[] = [];
    const out: string[] = [];
    for (const token of text.match(WORD) ?? []) {
      if (!isLatin(token) && !isCjk(token)) {
        out.push(token);
        continue;
      }
      if (this.#vocab.has(token)) {
        out.push(token);
        continue;
      }
      const mapped = isLatin(token) ? this.#map(token) : null;
      if (mapped !== null) {
        out.push(mapped);
        continue;
      }
      if (!ignored.includes(token)) ignored.push(token);
    }
    const reading = out
      .join('')
      .replace(/\s+/g, ' ')
      .replace(/\s+([,.;!?，。])/g, '$1')
      // Chinese is read a character at a time: no spaces beside it (a phrase's reading was spaced out).
      .replace(/\s+(?=[\u3400-\u4dbf\u4e00-\u9fff，。])|(?<=[\u3400-\u4dbf\u4e00-\u9fff，。])\s+/g, '')
      .replace(/^[\s,，]+|[\s,，]+$/g, '')
      .trim();
    return { reading, ignored, camera };
  }

  /** What an unknown English word reads as, or null. */
  #map(word: string): string | null {
    const direct = this.#words.get(word);
    if (direct !== undefined) return direct;
    for (const base of baseForms(word)) {
      if (this.#vocab.has(base)) return base;
      const mapped = this.#words.get(base);
      if (mapped !== undefined) return mapped;
    }
    return null;
  }
}
