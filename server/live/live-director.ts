/**
 * What goes on air in a live room, read from its document at each chunk boundary (pure):
 *   - source `editor`: the live prompt, as the editors type it;
 *   - source `suggestions`: the suggestion on air (`live.onAir`); every `every` seconds the
 *     pending suggestion with the most votes (the oldest first among equals) takes over, unless
 *     an editor pinned the one on air. An editor skips by clearing `onAir` (the next one goes on
 *     at once) and takes control back by setting the source to `editor`. With no suggestion
 *     pending the one on air stays; with none ever aired, the live prompt is used.
 * Dismissed suggestions and aired ones never go on air (again).
 */
import { LIVE_LIMITS, suggestionQueue, type LiveSettings, type OnAir } from '../../shared/live.js';
import type { Suggestion, SuggestionStatus } from '../../shared/doc-layout.js';
import type { OnAirPrompt } from '../ports/live-store.js';

export interface Direction {
  onAir: OnAirPrompt;
  /** A suggestion to put on air now (the server writes it into `live.onAir` and `live.aired`). */
  next: OnAir | null;
}

export interface DirectorInput {
  live: LiveSettings;
  suggestions: readonly Suggestion[];
  statuses: ReadonlyMap<string, SuggestionStatus>;
  votes: ReadonlyMap<string, number>;
  now: number;
}

export function direct(input: DirectorInput): Direction {
  const { live, now } = input;
  const editors: OnAirPrompt = { prompt: live.prompt.trim() };
  if (live.source === 'editor') return { onAir: editors, next: null };
  const current = live.onAir;
  const pinned = current !== null && live.pinned === current.suggestion;
  const due = current === null || (!pinned && now - current.since >= live.every * 1000);
  if (due) {
    const [top] = suggestionQueue({ ...input, aired: live.aired, current: current?.suggestion });
    if (top) {
      const next: OnAir = { suggestion: top.id, text: top.text.slice(0, LIVE_LIMITS.promptChars), author: top.author, since: now };
      return { onAir: { prompt: next.text, author: next.author, suggestion: next.suggestion }, next };
    }
  }
  if (current) return { onAir: { prompt: current.text, author: current.author, suggestion: current.suggestion }, next: null };
  return { onAir: editors, next: null };
}
