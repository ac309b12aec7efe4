/**
 * Audience suggestions, one rule for every way in (HTTP and the socket event): rate-limited per
 * client address, room and role; judged by the content policy; appended to the room's document
 * (`suggestions`, origin server; the oldest go beyond 200) and announced to the room
 * (`suggestion`). Editors then accept one (it shows on the overlay), dismiss it, or turn it into
 * a shot.
 */
import { randomBytes } from 'node:crypto';
import { ScenecastError } from '../../shared/errors.js';
import type { Role } from '../../shared/protocol.js';
import { suggestionsOf, type Suggestion } from '../../shared/scene-doc.js';
import { ORIGIN } from '../collab/origins.js';
import type { RoomManager } from '../collab/room-manager.js';
import type { ContentPolicy } from '../policy/content-policy.js';
import type { RateLimiter } from '../ports/rate-limiter.js';
import type { RoomBroadcast } from '../ports/room-broadcast.js';

/** Suggestions kept in a room's document; older ones are dropped first. */
const MAX_KEPT = 200;

export interface SuggestionsOptions {
  rooms: RoomManager;
  policy: ContentPolicy;
  limiter: RateLimiter;
  events: RoomBroadcast;
}

/** A refusal of the rate limit, with how long to wait. */
export type RateLimited = ScenecastError & { retryAfterS: number };

export class Suggestions {
  constructor(private readonly o: SuggestionsOptions) {}

  /** Takes a suggestion from `role` at `address`; throws RATE_LIMITED (with retryAfterS) or CONTENT_BLOCKED. */
  async submit(room: string, from: { address: string; role: Role }, body: { text: string; author?: string | undefined }): Promise<Suggestion> {
    const waitMs = await this.o.limiter.take(`${room}:${from.address}:${from.role}`);
    if (waitMs > 0) {
      const seconds = Math.ceil(waitMs / 1000);
      throw Object.assign(new ScenecastError('RATE_LIMITED', `Too many suggestions from you; try again in ${seconds} s`), { retryAfterS: seconds });
    }
    await this.o.policy.enforce(`${body.text}\n${body.author ?? ''}`, 'Your suggestion');
    const suggestion: Suggestion = { id: `s${randomBytes(6).toString('hex')}`, text: body.text, author: body.author || 'anonymous', at: Date.now() };
    await this.o.rooms.with(room, (loaded) =>
      loaded.change((doc) => {
        const list = suggestionsOf(doc);
        list.push([suggestion]);
        if (list.length > MAX_KEPT) list.delete(0, list.length - MAX_KEPT);
      }, ORIGIN.server),
    );
    this.o.events.emit(room, 'suggestion', suggestion);
    return suggestion;
  }
}
