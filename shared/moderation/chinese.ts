/**
 * Chinese matching: the blocked terms and the allowed phrases of lists.ts in one Aho–Corasick
 * automaton, searched over the folded (simplified) text with separators taken out (spaces,
 * symbols and emoji, dashes, dots, quotes, slashes), so that 杀 人, 裸_体 or 炸*弹 read as the
 * words they spell. Sentence punctuation (，。！？、；：) stays: it
 * keeps the end of one sentence from joining the start of the next into a term.
 */
import { CHINESE, CHINESE_ALLOWED, type ChineseEntry } from './lists.js';
import { AhoCorasick } from './matcher.js';
import { fold, withoutSeparators } from './normalize.js';

type Pattern = { entry: ChineseEntry } | { entry: null };

const AUTOMATON = new AhoCorasick<Pattern>([
  ...CHINESE.map((entry) => [withoutSeparators(fold(entry.term)), { entry }] as const),
  ...CHINESE_ALLOWED.map((phrase) => [withoutSeparators(fold(phrase)), { entry: null }] as const),
]);

export interface ChineseMatch {
  entry: ChineseEntry;
  /** The term as found in the normalised text. */
  form: string;
}

/** The first blocked Chinese term in folded text, or null. */
export function matchChinese(folded: string): ChineseMatch | null {
  const stream = withoutSeparators(folded);
  const hits = AUTOMATON.search(stream);
  if (hits.length === 0) return null;
  // Left to right, the longest phrase starting at each place wins; an allowed one is skipped
  // whole, and what starts inside it is no match (lists.ts, CHINESE_ALLOWED).
  hits.sort((a, b) => a.start - b.start || b.end - a.end);
  let skipTo = 0;
  for (const hit of hits) {
    if (hit.start < skipTo) continue;
    if (hit.value.entry === null) skipTo = hit.end;
    else return { entry: hit.value.entry, form: stream.slice(hit.start, hit.end) };
  }
  return null;
}
