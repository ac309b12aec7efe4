/**
 * The content policy for prompts, audience suggestions, captions and narration: a bilingual
 * blocklist matched on normalised text (plug a stronger classifier into the server's moderation
 * hook for more). In order:
 *   1. fold the text (moderation/normalize.ts): invisible characters out, NFKC compatibility
 *      forms, accents and combining noise out, Cyrillic and Greek look-alikes to Latin,
 *      lowercase, traditional Chinese to simplified;
 *   2. English (moderation/english.ts): whole words and their inflections, also when spelled
 *      with digits for letters or spaced out letter by letter; allowed phrases ("killer whale")
 *      are skipped;
 *   3. Chinese (moderation/chinese.ts): terms anywhere in the text, Aho–Corasick, with allowed
 *      phrases (杀青, 杀毒软件, 秒杀) skipped.
 * The lists and every decision on them are in moderation/lists.ts. Pure and synchronous; the
 * indexes are built once at module load. Server only: the lists and the OpenCC tables would
 * only weigh down the web client.
 */
import { matchChinese } from './moderation/chinese.js';
import { matchEnglish } from './moderation/english.js';
import { CATEGORY_NAMES, type Category } from './moderation/lists.js';
import { analyze, languageOf } from './moderation/normalize.js';

export type { Category } from './moderation/lists.js';
export { fold } from './moderation/normalize.js';

export interface Verdict {
  ok: boolean;
  /** Why it was refused, in words for people, in the language of the text. */
  reason?: string;
  /** The list entry that matched ("kill" for "k1llers"; "杀" for "殺"). */
  term?: string;
  /** What matched, as normalised text ("killers"). */
  match?: string;
  category?: Category;
  /** The language of the text, which the reason is written in (`moderate` always sets it). */
  lang?: 'en' | 'zh';
}

export function moderate(text: string): Verdict {
  const folded = analyze(text);
  const lang = languageOf(folded);
  // The text's own language first, so that the refusal names a term in it; Chinese terms all
  // have a Han character, so text without one skips them.
  const zh = (): Found | null => (folded.han > 0 ? chinese(folded.text) : null);
  const found = lang === 'zh' ? zh() ?? english(folded.text) : english(folded.text) ?? zh();
  if (!found) return { ok: true, lang };
  const name = CATEGORY_NAMES[found.category];
  const reason = lang === 'zh'
    ? `“${found.match}”违反内容政策（${name.zh}）("${found.match}" is not allowed by the content policy: ${name.en})`
    : `"${found.match}" is not allowed by the content policy (${name.en})`;
  return { ok: false, reason, ...found, lang };
}

interface Found {
  term: string;
  match: string;
  category: Category;
}

function english(folded: string): Found | null {
  const m = matchEnglish(folded);
  return m && { term: m.entry.stem, match: m.form, category: m.entry.category };
}

function chinese(folded: string): Found | null {
  const m = matchChinese(folded);
  return m && { term: m.entry.term, match: m.form, category: m.entry.category };
}
