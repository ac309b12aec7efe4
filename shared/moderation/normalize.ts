/**
 * Folds text into the form the blocklists are matched against, so that the tricks people use to
 * slip a word past a filter (invisible characters, look-alike letters, full-width or decorated
 * letters, accents, traditional characters) all land on the same plain spelling.
 *
 * `fold(text)` runs, in order:
 *   1. NFKC's compatibility mappings: full-width, mathematical, circled and superscript letters
 *      become ASCII, CJK compatibility ideographs and Kangxi radicals the unified ideographs. The
 *      pass is NFKD (the same mappings, left decomposed) so that accents come apart for step 3;
 *   2. strip invisible characters: every format character (Unicode Cf: zero-width space, joiner
 *      and non-joiner, soft hyphen, word joiner, BOM, bidi marks and isolates, tags) and the
 *      fillers that render as nothing but are letters or symbols (Hangul fillers, braille blank);
 *   3. strip every combining mark (accents, strike-through and "Zalgo" noise, variation selectors);
 *   4. fold look-alike letters to Latin (CONFUSABLES below), before lowercasing because some
 *      capitals and their small letters pass for different Latin letters (Greek Η is h, η is n);
 *   5. lowercase;
 *   6. traditional → simplified Chinese with OpenCC's t → cn conversion (phrases, then
 *      characters), only when the text has a character it would change.
 * Pure ASCII text is only lowercased: every other step is the identity on it.
 *
 * Digits and symbols used for letters, and letters spaced out one by one, are read later, on the
 * token stream (english.ts): mapping them here would turn "4k" or "2 cubes" into words.
 *
 * Steps 2–4 and the counts for `languageOf` are one pass over UTF-16 code units, with each code
 * unit's class worked out by regular expression the first time it is seen and kept in a table
 * (Unicode property regexps cost ~50 ns a character; a table lookup almost nothing).
 */
import { ConverterFactory } from 'opencc-js/core';
import type { DictLike } from 'opencc-js/core';
import { to as openccTo } from 'opencc-js/preset/t2cn';

/**
 * Look-alike letters → the Latin letter they pass for. Cyrillic and Greek letters (capitals and
 * small letters), Latin small capitals and IPA letters, a few Latin letters with a built-in
 * stroke that NFKD does not split (ł, ø, đ), and Armenian letters that look Latin. Letters that
 * only look Latin in some fonts (Cyrillic л, Greek λ, π) are left alone. Accented forms need no
 * entry: step 3 has already stripped the accent (ё → е → e).
 */
export const CONFUSABLES: Readonly<Record<string, string>> = {
  // Cyrillic capitals
  А: 'a', В: 'b', Е: 'e', Н: 'h', І: 'i', Ј: 'j', К: 'k', М: 'm', О: 'o', Р: 'p', С: 'c', Ѕ: 's',
  Т: 't', Х: 'x', У: 'y', Ү: 'y', Ԛ: 'q', Ԝ: 'w', Ӏ: 'l', Ь: 'b',
  // Cyrillic small letters (н, т, м, к, в are small capitals of H, T, M, K, B)
  а: 'a', в: 'b', е: 'e', һ: 'h', і: 'i', ј: 'j', к: 'k', ӏ: 'l', м: 'm', н: 'h', о: 'o', п: 'n',
  р: 'p', с: 'c', т: 't', у: 'y', ү: 'y', х: 'x', ѕ: 's', ԁ: 'd', ԛ: 'q', ԝ: 'w', ѡ: 'w', ь: 'b',
  // Greek capitals
  Α: 'a', Β: 'b', Ε: 'e', Ζ: 'z', Η: 'h', Ι: 'i', Κ: 'k', Μ: 'm', Ν: 'n', Ο: 'o', Ρ: 'p', Τ: 't',
  Υ: 'y', Χ: 'x', Ϲ: 'c', Ϳ: 'j',
  // Greek small letters
  α: 'a', β: 'b', γ: 'y', ε: 'e', η: 'n', ι: 'i', κ: 'k', μ: 'u', ν: 'v', ο: 'o', ρ: 'p', ς: 's',
  τ: 't', υ: 'u', χ: 'x', ω: 'w', ϲ: 'c', ϳ: 'j', ϱ: 'p',
  // Latin small capitals and IPA letters
  ᴀ: 'a', ʙ: 'b', ᴄ: 'c', ᴅ: 'd', ᴇ: 'e', ɢ: 'g', ʜ: 'h', ɪ: 'i', ᴊ: 'j', ᴋ: 'k', ʟ: 'l', ᴍ: 'm',
  ɴ: 'n', ᴏ: 'o', ᴘ: 'p', ʀ: 'r', ꜱ: 's', ᴛ: 't', ᴜ: 'u', ᴠ: 'v', ᴡ: 'w', ʏ: 'y', ᴢ: 'z',
  ı: 'i', ȷ: 'j', ɑ: 'a', ɡ: 'g', ɩ: 'i', ɛ: 'e', ɾ: 'r', ʋ: 'v',
  // Latin letters with a stroke (no decomposition), and the sharp s
  ł: 'l', Ł: 'l', ø: 'o', Ø: 'o', đ: 'd', Đ: 'd', ħ: 'h', ŧ: 't', ƚ: 'l', ƀ: 'b', ß: 'ss',
  // Armenian
  օ: 'o', ս: 'u', հ: 'h', ո: 'n', ց: 'g',
};

// Traditional → simplified: OpenCC's t → cn chain (TSPhrases, then TSCharacters). Its Hong Kong
// and Taiwan variant steps are left out: they change 16 characters (衞, 著, 枱…), none of them in a
// blocked term, and each step is another pass over the text. NFKD has already done its
// compatibility-ideograph step.
const T2S_CHAIN = openccTo['cn'];
if (!T2S_CHAIN) throw new Error('opencc-js has no "cn" preset');
const t2s = ConverterFactory(...T2S_CHAIN);

/** Every character the conversion changes: text with none of them is already simplified. */
const TRADITIONAL: ReadonlySet<string> = (() => {
  const chars = new Set<string>();
  const entries = (dict: DictLike): (readonly string[])[] =>
    typeof dict === 'string' ? dict.split('|').map((e) => e.split(' ')) : dict.map((pair) => [...pair]);
  for (const group of T2S_CHAIN) {
    for (const dict of group) {
      for (const [src, dst] of entries(dict)) if (src && dst && src !== dst && src.length === 1) chars.add(src);
    }
  }
  return chars;
})();

// ---- character classes ------------------------------------------------------------------------

const INVISIBLE = /^[\p{Cf}\p{M}\u115F\u1160\u3164\uFFA0\u2800]$/u;
const HAN = /^\p{Script=Han}$/u;
/** What chinese.ts reads through: spaces, symbols and emoji, connector and dash punctuation, dots, quotes, slashes. */
const SEPARATOR = /^[\p{Z}\s\p{S}\p{Pc}\p{Pd}.·•・*'"/\\]$/u;

const KNOWN = 1;
const DROP = 2;
const IS_HAN = 4;
const IS_SEPARATOR = 8;
const CONFUSABLE = 16;
const IS_TRADITIONAL = 32;
const LATIN = 64;
const CLASS = new Uint8Array(0x10000);

function classify(c: string): number {
  const latin = /^[A-Za-z]$/.test(c) || CONFUSABLES[c] !== undefined;
  return KNOWN
    | (INVISIBLE.test(c) ? DROP : 0)
    | (HAN.test(c) ? IS_HAN : 0)
    | (SEPARATOR.test(c) ? IS_SEPARATOR : 0)
    | (CONFUSABLES[c] !== undefined ? CONFUSABLE : 0)
    | (TRADITIONAL.has(c) ? IS_TRADITIONAL : 0)
    | (latin ? LATIN : 0);
}

const ASTRAL_CLASS = new Map<string, number>();

/** The class of a code unit (lone surrogates: none), or of the astral character `pair`. */
function classOf(code: number, pair?: string): number {
  if (pair !== undefined) {
    let k = ASTRAL_CLASS.get(pair);
    if (k === undefined) {
      k = classify(pair);
      if (ASTRAL_CLASS.size < 4096) ASTRAL_CLASS.set(pair, k); // bounded: a text can hold a million distinct ones
    }
    return k;
  }
  let k = CLASS[code]!;
  if (k === 0) CLASS[code] = k = code >= 0xd800 && code < 0xe000 ? KNOWN : classify(String.fromCharCode(code));
  return k;
}

// ---- folding ------------------------------------------------------------------------------------

export interface Folded {
  /** The folded text. */
  text: string;
  /** Han characters in it. */
  han: number;
  /** Runs of Latin letters in it. */
  words: number;
}

const NON_ASCII = /[^\x00-\x7F]/;

/** Steps 1–6 of the header, and the counts `languageOf` needs. */
export function analyze(text: string): Folded {
  if (!NON_ASCII.test(text)) return { text: text.toLowerCase(), han: 0, words: 0 };
  const s = text.normalize('NFKD');
  let out = '';
  let from = 0;
  let han = 0;
  let words = 0;
  let inWord = false;
  let traditional = false;
  for (let i = 0; i < s.length; i++) {
    const code = s.charCodeAt(i);
    const astral = code >= 0xd800 && code < 0xdc00 && i + 1 < s.length ? s.slice(i, i + 2) : undefined;
    const k = classOf(code, astral);
    const width = astral === undefined ? 1 : 2;
    if (k & DROP) {
      out += s.slice(from, i);
      from = i + width;
    } else {
      if (k & CONFUSABLE) {
        out += s.slice(from, i) + CONFUSABLES[s[i]!]!;
        from = i + 1;
      }
      if (k & IS_HAN) han++;
      if (k & IS_TRADITIONAL) traditional = true;
      const latin = (k & LATIN) !== 0;
      if (latin && !inWord) words++;
      inWord = latin; // a dropped character leaves the word it sits in whole (k\u200Bill)
    }
    i += width - 1;
  }
  out += s.slice(from);
  const lower = out.toLowerCase();
  return { text: traditional ? t2s(lower) : lower, han, words };
}

/** The folded form of `text` (steps 1–6 of the header). */
export const fold = (text: string): string => analyze(text).text;

/**
 * The language a refusal is worded in: Chinese when the text has at least as many Han characters
 * as Latin words (a character carries about as much as a word), English otherwise.
 */
export const languageOf = (folded: Folded): 'en' | 'zh' => (folded.han > 0 && folded.han >= folded.words ? 'zh' : 'en');

/** Folded text without the separators chinese.ts reads through (杀 人, 裸_体, 炸*弹). */
export function withoutSeparators(folded: string): string {
  let out = '';
  let from = 0;
  for (let i = 0; i < folded.length; i++) {
    const code = folded.charCodeAt(i);
    const astral = code >= 0xd800 && code < 0xdc00 && i + 1 < folded.length ? folded.slice(i, i + 2) : undefined;
    const width = astral === undefined ? 1 : 2;
    if (classOf(code, astral) & IS_SEPARATOR) {
      out += folded.slice(from, i);
      from = i + width;
    }
    i += width - 1;
  }
  return from === 0 ? folded : out + folded.slice(from);
}
