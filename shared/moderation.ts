/**
 * The content policy for prompts and audience suggestions: a bilingual blocklist (extend the
 * lists, or plug a stronger classifier into the server's moderation hook). English terms match
 * whole words (so "skill" is not "kill"); Chinese terms match anywhere in the text.
 */
export interface Verdict {
  ok: boolean;
  /** Why it was refused, in words for people. */
  reason?: string;
  /** The matched term. */
  term?: string;
}

export const BLOCKLIST: { en: readonly string[]; zh: readonly string[] } = {
  en: [
    'kill', 'killing', 'murder', 'blood', 'bloody', 'gore', 'gory', 'corpse', 'behead', 'torture', 'suicide',
    'nude', 'naked', 'nsfw', 'porn', 'porno', 'sex', 'sexual',
    'nazi', 'terrorist', 'bomb', 'massacre', 'genocide',
  ],
  zh: ['杀', '谋杀', '血腥', '流血', '尸体', '斩首', '酷刑', '自杀', '裸体', '裸露', '色情', '纳粹', '恐怖分子', '炸弹', '屠杀'],
};

const englishWords = (text: string): string[] => text.normalize('NFKC').toLowerCase().match(/[a-z]+/g) ?? [];

export function moderate(text: string, list = BLOCKLIST): Verdict {
  const words = new Set(englishWords(text));
  for (const term of list.en) {
    if (words.has(term)) return { ok: false, term, reason: `"${term}" is not allowed by the content policy` };
  }
  const normalized = text.normalize('NFKC');
  for (const term of list.zh) {
    if (normalized.includes(term)) return { ok: false, term, reason: `“${term}”违反内容政策 ("${term}" is not allowed by the content policy)` };
  }
  return { ok: true };
}
