/**
 * Live mode (DESIGN.md, "Live mode"): the room's `live` map in the Y.Doc and what it means.
 *   live: Y.Map { on: boolean, prompt: Y.Text ≤ 500, source: 'editor' | 'suggestions', every: s,
 *                 pinned: suggestion id | null }                         (editors write these)
 *         Y.Map { onAir: {suggestion, text, author, since} | null, aired: suggestion ids }
 *                                                                        (the server writes these)
 *   votes: Y.Map<number>  votes per suggestion id (the server counts them, one per client)
 * Reading never throws: a field of the wrong type reads as its default.
 */
import * as Y from 'yjs';
import { SUGGESTION_LIMITS, suggestionStatusOf, suggestionsOf, type Suggestion, type SuggestionStatus } from './doc-layout.js';

export const LIVE_LIMITS = {
  promptChars: 500,
  /** Seconds between two suggestions on air (source = suggestions). */
  every: { min: 5, max: 600, default: 20 },
  /** Seconds of stream kept for an instant replay. */
  replaySeconds: 30,
  /** Suggestion ids remembered as aired. */
  airedKept: 200,
} as const;

export type LiveSource = 'editor' | 'suggestions';

export interface OnAir {
  suggestion: string;
  text: string;
  author: string;
  /** When it went on air (ms since the epoch). */
  since: number;
}

export interface LiveSettings {
  on: boolean;
  prompt: string;
  source: LiveSource;
  every: number;
  pinned: string | null;
  onAir: OnAir | null;
  aired: string[];
}

export const liveOf = (doc: Y.Doc): Y.Map<unknown> => doc.getMap('live');
export const votesOf = (doc: Y.Doc): Y.Map<number> => doc.getMap('votes');

const isOnAir = (v: unknown): v is OnAir =>
  typeof v === 'object' && v !== null && typeof (v as OnAir).suggestion === 'string' && typeof (v as OnAir).text === 'string' && typeof (v as OnAir).author === 'string' && typeof (v as OnAir).since === 'number';

/** What is on air as read from the document: bounded like a suggestion, whoever wrote it. */
const boundedOnAir = (v: OnAir): OnAir => ({ suggestion: v.suggestion.slice(0, 32), text: v.text.slice(0, LIVE_LIMITS.promptChars), author: v.author.slice(0, SUGGESTION_LIMITS.authorChars), since: v.since });

export function readLive(doc: Y.Doc): LiveSettings {
  const map = liveOf(doc);
  const prompt = map.get('prompt');
  const every = map.get('every');
  const pinned = map.get('pinned');
  const onAir = map.get('onAir');
  const aired = map.get('aired');
  return {
    on: map.get('on') === true,
    prompt: (prompt instanceof Y.Text ? prompt.toString() : typeof prompt === 'string' ? prompt : '').slice(0, LIVE_LIMITS.promptChars),
    source: map.get('source') === 'suggestions' ? 'suggestions' : 'editor',
    every: typeof every === 'number' && Number.isFinite(every) ? Math.min(LIVE_LIMITS.every.max, Math.max(LIVE_LIMITS.every.min, every)) : LIVE_LIMITS.every.default,
    pinned: typeof pinned === 'string' ? pinned : null,
    onAir: isOnAir(onAir) ? boundedOnAir(onAir) : null,
    aired: Array.isArray(aired) ? aired.filter((x): x is string => typeof x === 'string') : [],
  };
}

/** The live prompt's Y.Text, made when missing (editors' pages bind it to their input). */
export function livePromptText(doc: Y.Doc): Y.Text {
  const map = liveOf(doc);
  const current = map.get('prompt');
  if (current instanceof Y.Text) return current;
  const text = new Y.Text(typeof current === 'string' ? current : '');
  map.set('prompt', text);
  return text;
}

export interface QueueInput {
  suggestions: readonly Suggestion[];
  statuses: ReadonlyMap<string, SuggestionStatus>;
  votes: ReadonlyMap<string, number>;
  /** Suggestions already aired, and the one on air now: neither goes on air again. */
  aired: readonly string[];
  current?: string | undefined;
}

/** The pending suggestions in the order they go on air: most votes first, the oldest first among equals; dismissed and aired ones left out. */
export function suggestionQueue(input: QueueInput): Suggestion[] {
  const aired = new Set(input.aired);
  return input.suggestions
    .filter((s) => s.id !== input.current && !aired.has(s.id) && input.statuses.get(s.id) !== 'dismissed')
    .sort((a, b) => (input.votes.get(b.id) ?? 0) - (input.votes.get(a.id) ?? 0) || a.at - b.at);
}

/** The queue of a room's document (what the editor's live panel and the audience form list). */
export function queueOf(doc: Y.Doc): (Suggestion & { votes: number })[] {
  const live = readLive(doc);
  const votes = new Map(votesOf(doc).entries());
  return suggestionQueue({ suggestions: suggestionsOf(doc).toArray(), statuses: new Map(suggestionStatusOf(doc).entries()), votes, aired: live.aired, current: live.onAir?.suggestion }).map((s) => ({ ...s, votes: votes.get(s.id) ?? 0 }));
}
