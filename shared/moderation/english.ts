/**
 * English matching: whole words of the folded text (normalize.ts), looked up in a map of every
 * form of every entry, built once. Two readings recover what people spell to get past a word
 * filter, and each is confined so that ordinary text does not turn into words:
 * - digits and symbols for letters (k1ll, n4ked, p0rn, $ex) are read only inside a token that
 *   has a letter, and not in a number with a short unit (4k, 10s, 60fps, 1080p, 3d): "2 cubes",
 *   "10 seconds" and "4k" stay what they are;
 * - letters spaced out one by one (k i l l, k.i.l.l, k-i-l-l, k*i*l*l) are joined only across
 *   runs of at least three one-character pieces, so two words are never merged.
 */
import { ENGLISH, ENGLISH_ALLOWED, type EnglishEntry, type Inflection } from './lists.js';
import { fold } from './normalize.js';

// ---- forms ----------------------------------------------------------------------------------

/** Monosyllables ending consonant–vowel–consonant double it: stab → stabbed. Not w, x, y: sexed. */
const doubles = (w: string): boolean => /^[^aeiou]*[aeiou][^aeiouwxy]$/.test(w);
const consonantY = (w: string): boolean => /[^aeiou]y$/.test(w);

/** The regular forms of one word. */
export function inflect(word: string, rule: Inflection): string[] {
  const last = word.at(-1) ?? '';
  switch (rule) {
    case 's':
      if (/(?:s|x|z|ch|sh)$/.test(word)) return [`${word}es`];
      return [consonantY(word) ? `${word.slice(0, -1)}ies` : `${word}s`];
    case 'ed':
      if (last === 'e') return [`${word}d`];
      if (consonantY(word)) return [`${word.slice(0, -1)}ied`];
      return [doubles(word) ? `${word}${last}ed` : `${word}ed`];
    case 'ing': {
      const base = /[^e]e$/.test(word) ? word.slice(0, -1) : doubles(word) ? `${word}${last}` : word;
      return [`${base}ing`, `${base}ings`];
    }
    case 'er': {
      const agent = last === 'e' ? `${word}r` : consonantY(word) ? `${word.slice(0, -1)}ier` : doubles(word) ? `${word}${last}er` : `${word}er`;
      return [agent, `${agent}s`];
    }
  }
}

/** Every form of an entry (a phrase inflects its last word), folded and split into words. */
export function formsOf(entry: EnglishEntry): string[][] {
  const forms = [entry.stem, ...entry.also];
  const words = entry.stem.split(' ');
  const head = words.slice(0, -1);
  for (const rule of entry.inflect) for (const f of inflect(words.at(-1)!, rule)) forms.push([...head, f].join(' '));
  return [...new Set(forms)].map(wordsOf);
}

const wordsOf = (phrase: string): string[] => fold(phrase).match(/[a-z]+/g) ?? [];

// ---- index ----------------------------------------------------------------------------------

interface Phrase {
  words: readonly string[];
  /** null for an allowed phrase. */
  entry: EnglishEntry | null;
}

/** First word → the phrases (single words included) that start with it, longest first. */
const STARTS = new Map<string, Phrase[]>();
/** Single-word blocked forms, for readings that are not whole tokens (spaced-out letters). */
const WORDS = new Map<string, EnglishEntry>();
const add = (phrase: Phrase): void => {
  const first = phrase.words[0];
  if (first === undefined) return;
  const list = STARTS.get(first) ?? [];
  list.push(phrase);
  list.sort((a, b) => b.words.length - a.words.length);
  STARTS.set(first, list);
};
for (const entry of ENGLISH) {
  for (const words of formsOf(entry)) {
    add({ words, entry });
    if (words.length === 1) WORDS.set(words[0]!, entry);
  }
}
for (const allowed of ENGLISH_ALLOWED) add({ words: wordsOf(allowed), entry: null });

/** Every word of every phrase: a token's reading in here is the one matching uses. */
const VOCABULARY = new Set([...STARTS.values()].flat().flatMap((p) => p.words));
const LONGEST = Math.max(...[...WORDS.keys()].map((w) => w.length));

// ---- readings -------------------------------------------------------------------------------

/** Digits and symbols that stand for letters; 1 and | are read both ways (k1ll, b1ood). */
const LEET: Readonly<Record<string, readonly string[]>> = {
  '0': ['o'], '1': ['i', 'l'], '3': ['e'], '4': ['a'], '5': ['s'], '7': ['t'], '8': ['b'], '9': ['g'],
  '@': ['a'], '$': ['s'], '€': ['e'], '!': ['i'], '|': ['l', 'i'],
};
/** A number with a short unit (4k, 10s, 60fps, 1080p, 3d, 2x): a quantity, never leetspeak. */
const QUANTITY = /^\d+[a-z]{1,3}$/;
const LETTERS = /^[a-z]+$/;
const HAS_LETTER = /[a-z]/;

/** The letter spellings of a token with digits or symbols in it. */
function deleet(token: string): string[] {
  const chars = [...token];
  // Past three two-way characters, read them all one way or all the other (2 readings, not 2^n).
  if (chars.filter((c) => (LEET[c]?.length ?? 0) > 1).length > 3) {
    return [0, 1].map((k) => chars.map((c) => { const o = LEET[c]; return o ? o[Math.min(k, o.length - 1)]! : c; }).join(''));
  }
  let out = [''];
  for (const c of chars) {
    const options = LEET[c] ?? [c];
    out = out.flatMap((s) => options.map((o) => s + o));
  }
  return out;
}

/** What a token may spell: itself if it is all letters; its letter readings if it has a letter. */
function readings(token: string): string[] {
  if (LETTERS.test(token)) return [token];
  if (!HAS_LETTER.test(token) || QUANTITY.test(token)) return [];
  const found = new Set(deleet(token));
  // Digits or symbols on the edges may be decoration, not letters: 2kill, kill99, @kill.
  const core = token.replace(/^[^a-z]+|[^a-z]+$/g, '');
  if (core !== token && core !== '') for (const r of deleet(core)) found.add(r);
  return [...found];
}

/** The reading phrase matching uses: a blocked form first, then any listed word, else the first. */
function canonical(options: readonly string[]): string {
  return options.find((r) => WORDS.has(r)) ?? options.find((r) => VOCABULARY.has(r)) ?? options[0] ?? '';
}

// ---- matching -------------------------------------------------------------------------------

export interface EnglishMatch {
  entry: EnglishEntry;
  /** The form found, as normalised words ("killers", "dead bodies"). */
  form: string;
}

const TOKEN = /[a-z0-9@$€]+(?:[!|][a-z0-9@$€]+)*/g;
/**
 * At least three one-character pieces, each separated by one to three separators (spaces, dots,
 * hyphens and dashes, underscores, asterisks, slashes, bullets, |, !, +, ~).
 */
const SPACED = /(?<![a-z0-9@$€])[a-z0-9@$€](?:[ \t.\-_*·•~/|!+\u2010-\u2015\u2212]{1,3}[a-z0-9@$€]){2,}(?![a-z0-9@$€])/g;
const PIECES = /[a-z0-9@$€]/g;

/** The first blocked English form in folded text, or null. */
export function matchEnglish(folded: string): EnglishMatch | null {
  const tokens = folded.match(TOKEN) ?? [];
  const words: string[] = []; // each token's reading, worked out when first needed
  const word = (k: number): string | undefined => {
    if (k >= tokens.length) return undefined;
    return (words[k] ??= canonical(readings(tokens[k]!)));
  };
  // Left to right, the longest phrase starting at each word wins; an allowed one is skipped whole.
  for (let i = 0; i < tokens.length; ) {
    const phrase = STARTS.get(word(i)!)?.find((p) => p.words.every((w, k) => word(i + k) === w));
    if (!phrase) i += 1;
    else if (phrase.entry === null) i += phrase.words.length;
    else return { entry: phrase.entry, form: phrase.words.join(' ') };
  }
  return matchSpaced(folded);
}

/** Blocked words spelled out one character at a time, anywhere inside the run (a k i l l e r). */
function matchSpaced(folded: string): EnglishMatch | null {
  for (const [run] of folded.matchAll(SPACED)) {
    const chars = run.match(PIECES)?.join('') ?? '';
    if ((chars.match(/[a-z]/g)?.length ?? 0) < 2) continue;
    for (const spelled of LETTERS.test(chars) ? [chars] : deleet(chars)) {
      for (let i = 0; i + 3 <= spelled.length; i++) {
        for (let j = Math.min(spelled.length, i + LONGEST); j >= i + 3; j--) {
          const form = spelled.slice(i, j);
          const entry = WORDS.get(form);
          if (entry) return { entry, form };
        }
      }
    }
  }
  return null;
}
