/**
 * The bundle's prompt reader (DESIGN.md, "Prompt reading"): before tokenising, free phrasing is
 * mapped to the words the model knows, from the lexicon the bundle brings (`reader.json` beside
 * its manifest):
 *   1 camera   camera phrases ("the camera pans left", "zoom in slowly", 镜头推进, 向左摇) set the
 *              shot's camera move and leave the text
 *   2 phrases  multi-word and Chinese phrases, longest first (升起 → 向上移动, zooms across → moves)
 *   3 words    each English word the model does not know: the lexicon's synonym, or the synonym of
 *              its base form (plurals, -ing, -ed, -s, -ies), in the word's own form where the synonym
 *              is a verb (float → move, floats → moves, floating → moving); Chinese characters are
 *              read as they are
 *   4 ignored  what is still unknown leaves the reading and is listed, so people see it
 *   5 grammar  the lexicon's rewrites put what the words became into the model's phrasing ("the
 *              meadow" → "on the grass"; an article whose noun was ignored goes: "past a car" → ""),
 *              and a / an agree with the word after them
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
  /** Regular expressions (case-insensitive) on the reading → what replaces them: the model's phrasing of what the
   * words became (applied in order, after the words). */
  rewrite?: { pattern: string; to: string }[];
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

/** How an English word is inflected: a verb's synonym is put in the same form. */
type Form = 'base' | 's' | 'ing' | 'ed';

/** Base forms to try for an English word, most likely first, each with the form the word had. */
function baseForms(word: string): [string, Form][] {
  const forms: [string, Form][] = [];
  if (word.endsWith('ies') && word.length > 4) forms.push([`${word.slice(0, -3)}y`, 's']);
  if (word.endsWith('es') && word.length > 3) forms.push([word.slice(0, -2), 's']);
  if (word.endsWith('s') && word.length > 2) forms.push([word.slice(0, -1), 's']);
  if (word.endsWith('ing') && word.length > 4) {
    const stem = word.slice(0, -3);
    forms.push([stem, 'ing'], [`${stem}e`, 'ing']);
    if (stem.length > 2 && stem.at(-1) === stem.at(-2)) forms.push([stem.slice(0, -1), 'ing']); // spinning → spin
  }
  if (word.endsWith('ed') && word.length > 3) {
    const stem = word.slice(0, -2);
    forms.push([stem, 'ed'], [`${stem}e`, 'ed'], [word.slice(0, -1), 'ed']);
    if (stem.length > 2 && stem.at(-1) === stem.at(-2)) forms.push([stem.slice(0, -1), 'ed']);
  }
  return forms;
}

/** A word written as it stands in the lexicon: a plural or third-person -s, an -ing form, or a base form. */
function formOf(word: string): Form {
  if (word.endsWith('ing') && word.length > 4) return 'ing';
  return word.endsWith('s') ? 's' : 'base';
}

const vowelSound = (word: string) => /^[aeiou]/.test(word);

export class PromptReader {
  readonly #vocab: Set<string>;
  readonly #words: Map<string, string>;
  /** Every phrase in one pattern, longest first: one pass, so what a phrase reads as is not read again. */
  readonly #phrases: { re: RegExp; to: Map<string, string> } | null;
  readonly #camera: { re: RegExp; move: CameraMove }[];
  readonly #rewrite: { re: RegExp; to: string }[];
  /** The model's verbs in their third-person form → their base and -ing forms (moves → move, moving). */
  readonly #verbs = new Map<string, { base: string; ing: string }>();

  constructor(lexicon: ReaderLexicon, vocab: readonly string[]) {
    this.#vocab = new Set(vocab);
    this.#words = new Map(Object.entries(lexicon.words));
    for (const word of vocab) {
      const verb = this.#verbForms(word);
      if (verb) this.#verbs.set(word, verb);
    }
    this.#rewrite = (lexicon.rewrite ?? []).map((r) => ({ re: new RegExp(r.pattern, 'gi'), to: r.to }));
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
    // 5. Grammar: the model's phrasing, then a / an before the word that follows.
    let joined = out.join('');
    for (const { re, to } of this.#rewrite) joined = joined.replace(re, to);
    joined = joined.replace(/\b(an?)(\s+)([a-z]+)/g, (_, article: string, space: string, next: string) => {
      const agreed = vowelSound(next) ? 'an' : 'a';
      return `${this.#vocab.has(agreed) ? agreed : article}${space}${next}`;
    });
    const reading = joined
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
    if (direct !== undefined) return this.#inflect(direct, formOf(word));
    for (const [base, form] of baseForms(word)) {
      if (this.#vocab.has(base)) return base;
      const mapped = this.#words.get(base);
      if (mapped !== undefined) return this.#inflect(mapped, form);
    }
    return null;
  }

  /** A synonym that starts with one of the model's verbs, put in the form the word had (a past stays -s). */
  #inflect(target: string, form: Form): string {
    const space = target.indexOf(' ');
    const head = space < 0 ? target : target.slice(0, space);
    const verb = this.#verbs.get(head);
    if (verb === undefined || form === 's' || form === 'ed') return target;
    return (form === 'base' ? verb.base : verb.ing) + (space < 0 ? '' : target.slice(space));
  }

  /** A word of the vocabulary that is a verb's third-person form, with its base and -ing forms also in it. */
  #verbForms(word: string): { base: string; ing: string } | null {
    if (!/^[a-z]+s$/.test(word)) return null;
    for (const base of word.endsWith('es') ? [word.slice(0, -1), word.slice(0, -2)] : [word.slice(0, -1)]) {
      if (!this.#vocab.has(base)) continue;
      const stem = base.endsWith('e') ? base.slice(0, -1) : base;
      const ing = [`${stem}ing`, `${base}ing`, `${base}${base.at(-1)}ing`].find((w) => this.#vocab.has(w));
      if (ing) return { base, ing };
    }
    return null;
  }
}
