/**
 * Schemas of the client → server events (shared/protocol.ts `ClientToServerEvents`): the server
 * checks every payload against its schema before a handler sees it.
 */
import { z } from 'zod';
import { SUGGESTION_LIMITS } from './doc-layout.js';
import type { ClientToServerEvents } from './protocol.js';

export const SuggestionBody = z
  .object({
    text: z.string().trim().min(1).max(SUGGESTION_LIMITS.textChars),
    author: z.string().trim().max(SUGGESTION_LIMITS.authorChars).optional(),
  })
  .strict();

export const VoteBody = z.object({ id: z.string().regex(/^s[0-9a-f]{12}$/) }).strict();

export const CLIENT_EVENT_SCHEMAS = {
  'suggestion:submit': SuggestionBody,
  'suggestion:vote': VoteBody,
} as const satisfies Record<keyof ClientToServerEvents, z.ZodType>;
