/**
 * What one client may put in its awareness state. The server is the authority: other pages put
 * these fields into the DOM (names as text, colours into style attributes), so a state is rebuilt
 * from a whitelist instead of passed through.
 *
 * Kept top-level keys, the ones the web client and y-codemirror.next read (client/src/editor/
 * presence.ts, shots.ts; y-codemirror.next's y-remote-selections.js); any other key is dropped,
 * so no client can hand other pages a field some later code might trust:
 *   user    {name, color, colorLight, role}, always there: role is the token's, whatever was sent;
 *           name a string without control or bidi characters, cut to 40 characters; color `#rrggbb`;
 *           colorLight `#rrggbb` or `#rrggbbaa` (the web client sends color + '33'). A field that
 *           fails its check is removed (y-codemirror.next then uses its defaults).
 *   shot    the id of the shot the client is in (the scene's shot id pattern) or null.
 *   cursor  y-codemirror.next's selection: null, or {anchor, head} as Yjs relative positions in
 *           their JSON form (rebuilt field by field: a malformed one would throw in every other
 *           editor's view update). Primitive values are kept: y-codemirror.next skips a cursor
 *           without `anchor` and `head`. (There is no `selection` key: y-codemirror.next keeps
 *           the selection in `cursor`.)
 * The size bound (the sent JSON) is checked by the relay before parsing.
 */
import type { Role } from '../../shared/protocol.js';

const COLOR = /^#[0-9a-fA-F]{6}$/;
const COLOR_LIGHT = /^#[0-9a-fA-F]{6}(?:[0-9a-fA-F]{2})?$/;
const SHOT_ID = /^[A-Za-z0-9_-]{1,32}$/;
/** C0/C1 controls, line/paragraph separators and the bidi embeddings, overrides and isolates. */
const CONTROL = /[\p{Cc}\u2028\u2029\u202A-\u202E\u2066-\u2069]/gu;
const NAME_CHARS = 40;

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * The state as others will see it: null for a removal, undefined when it is not a state at all
 * (not an object: dropped whole).
 */
export function sanitizeAwarenessState(state: unknown, role: Role): Json | null | undefined {
  if (state === null) return null;
  if (!isObject(state)) return undefined;
  const out: Json = { user: sanitizeUser(state.user, role) };
  if (state.shot === null || (typeof state.shot === 'string' && SHOT_ID.test(state.shot))) out.shot = state.shot;
  if ('cursor' in state) {
    const cursor = sanitizeCursor(state.cursor);
    if (cursor !== undefined) out.cursor = cursor;
  }
  return out;
}

function sanitizeUser(user: unknown, role: Role): Json {
  const out: Json = {};
  if (isObject(user)) {
    if (typeof user.name === 'string') out.name = [...user.name.replace(CONTROL, '')].slice(0, NAME_CHARS).join('');
    if (typeof user.color === 'string' && COLOR.test(user.color)) out.color = user.color;
    if (typeof user.colorLight === 'string' && COLOR_LIGHT.test(user.colorLight)) out.colorLight = user.colorLight;
  }
  out.role = role;
  return out;
}

function sanitizeCursor(cursor: unknown): unknown {
  if (cursor === null || ['number', 'string', 'boolean'].includes(typeof cursor)) return cursor;
  if (!isObject(cursor)) return undefined;
  const anchor = relativePosition(cursor.anchor);
  const head = relativePosition(cursor.head);
  return anchor && head ? { anchor, head } : undefined;
}

const isUint = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= 0;

/** A Yjs ID in JSON: {client, clock}. */
const id = (value: unknown): Json | null | undefined => {
  if (value === null) return null;
  return isObject(value) && isUint(value.client) && isUint(value.clock) ? { client: value.client, clock: value.clock } : undefined;
};

/** A Y.RelativePosition as JSON ({type, tname, item, assoc}, each optional); undefined when malformed. */
function relativePosition(value: unknown): Json | undefined {
  if (!isObject(value)) return undefined;
  const out: Json = {};
  for (const key of ['type', 'item'] as const) {
    if (!(key in value)) continue;
    const parsed = id(value[key]);
    if (parsed === undefined) return undefined;
    out[key] = parsed;
  }
  if ('tname' in value) {
    if (value.tname !== null && typeof value.tname !== 'string') return undefined;
    out.tname = value.tname;
  }
  if ('assoc' in value) {
    if (!Number.isSafeInteger(value.assoc)) return undefined;
    out.assoc = value.assoc;
  }
  return out;
}

/**
 * Tokens for incoming messages: `burst` at most, refilled at `perSecond`. Time in ms
 * (performance.now()).
 */
export class TokenBucket {
  #tokens: number;
  #at: number;

  constructor(
    readonly burst: number,
    readonly perSecond: number,
    now = performance.now(),
  ) {
    this.#tokens = burst;
    this.#at = now;
  }

  #refill(now: number): void {
    this.#tokens = Math.min(this.burst, this.#tokens + ((now - this.#at) * this.perSecond) / 1000);
    this.#at = now;
  }

  /** Takes a token if one is free. */
  take(now = performance.now()): boolean {
    this.#refill(now);
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }

  /** Milliseconds until a token is free (0: now). */
  waitMs(now = performance.now()): number {
    this.#refill(now);
    return this.#tokens >= 1 ? 0 : Math.ceil(((1 - this.#tokens) * 1000) / this.perSecond);
  }
}
