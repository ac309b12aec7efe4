/**
 * Where the parts of the scene live in a room's Y.Doc (DESIGN.md, "The scene document"), without
 * validation: pages that only read (the overlay) import this and not the schema.
 */
import type * as Y from 'yjs';

export const metaOf = (doc: Y.Doc): Y.Map<unknown> => doc.getMap('meta');
export const shotsOf = (doc: Y.Doc): Y.Array<Y.Map<unknown>> => doc.getArray('shots');
export const suggestionsOf = (doc: Y.Doc): Y.Array<Suggestion> => doc.getArray('suggestions');
/** Editors' decisions on suggestions, by suggestion id: 'accepted' ones show on the overlay. */
export const suggestionStatusOf = (doc: Y.Doc): Y.Map<SuggestionStatus> => doc.getMap('suggestionStatus');

export type SuggestionStatus = 'accepted' | 'dismissed';

export const SUGGESTION_LIMITS = { textChars: 200, authorChars: 40 } as const;

export interface Suggestion {
  id: string;
  text: string;
  author: string;
  at: number;
}

