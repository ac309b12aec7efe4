/**
 * Awareness as this page renders it. Any peer, a viewer's stock y-websocket client included, can
 * publish any JSON as its state, and that state reaches the DOM: the presence list and the shot
 * avatars draw `user.color`, y-codemirror.next builds remote carets and selections as
 * `style="background-color: ${user.color}"` / `${user.colorLight}`, and calls
 * `Y.createAbsolutePositionFromRelativePosition` on `cursor.anchor` / `cursor.head`. So every state
 * is cleaned before anything reads it:
 *
 *   user   {name, color, colorLight, role}, dropped when not an object with a string name;
 *          name cut to NAME_CHARS (always rendered as text), color `#rrggbb` else NEUTRAL_COLOR,
 *          colorLight `#rrggbb` / `#rrggbbaa` else color + '33', role one of ROLES else 'viewer'
 *   shot   a string (at most SHOT_ID_CHARS), else dropped
 *   cursor {anchor, head} of relative positions inside a nested type (what y-codemirror.next
 *          publishes), else dropped: a malformed one makes its caret plugin throw
 *
 * Where: remote states are cleaned in place, in the awareness's own Map, by listeners registered
 * on the Awareness before the provider, the presence list or any CodeMirror field exists (this
 * module creates it; connection.ts hands it to the provider), so ours run first on every 'change'
 * and 'update'. applyAwarenessUpdate emits those in the same call that stores a remote state, so
 * no reader ever sees one we have not cleaned. (Our own state is written by presence.ts and
 * y-codemirror.next, and is left as they wrote it.) The alternative, handing y-codemirror.next a
 * filtered copy of the awareness, is the fragile one: the copy would have to mimic the members
 * y-codemirror uses today (`getStates`, `getLocalState`, `setLocalStateField`, `doc.clientID`,
 * `on`/`off`) and would miss the next one it uses, and every other reader (presence, shots) would
 * still hold the raw awareness. Cleaning the one Map leaves no raw copy to reach.
 */
import { Awareness } from 'y-protocols/awareness';
import type * as Y from 'yjs';
import { ROLES, type Role } from '../../../shared/protocol.js';

export interface PresenceUser {
  name: string;
  color: string;
  colorLight: string;
  role: Role;
}

export const NAME_CHARS = 40;
export const SHOT_ID_CHARS = 64;
/** Drawn for a peer whose colour is missing or not `#rrggbb`. */
export const NEUTRAL_COLOR = '#8b8d98';

const COLOR = /^#[0-9a-f]{6}$/i;
const COLOR_LIGHT = /^#[0-9a-f]{6}([0-9a-f]{2})?$/i;

type State = Record<string, unknown>;

const isObject = (value: unknown): value is State => typeof value === 'object' && value !== null && !Array.isArray(value);

/** The light variant of a colour (selection background): 20% alpha. */
export const lightOf = (color: string): string => `${color}33`;

export function cleanUser(value: unknown): PresenceUser | null {
  if (!isObject(value) || typeof value.name !== 'string') return null;
  const color = typeof value.color === 'string' && COLOR.test(value.color) ? value.color : NEUTRAL_COLOR;
  const colorLight = typeof value.colorLight === 'string' && COLOR_LIGHT.test(value.colorLight) ? value.colorLight : lightOf(color);
  const role = (ROLES as readonly unknown[]).includes(value.role) ? (value.role as Role) : 'viewer';
  return { name: value.name.slice(0, NAME_CHARS), color, colorLight, role };
}

interface IdJson {
  client: number;
  clock: number;
}

const cleanId = (value: unknown): IdJson | null | undefined => {
  if (value === null || value === undefined) return null;
  if (!isObject(value) || !Number.isSafeInteger(value.client) || !Number.isSafeInteger(value.clock)) return undefined;
  const client = value.client as number;
  const clock = value.clock as number;
  return client >= 0 && clock >= 0 ? { client, clock } : undefined;
};

/**
 * A relative position (Y.RelativePosition as JSON) in a nested type, or null. A root type
 * (`tname`) is refused: our texts are all nested, and Yjs would create a missing root type.
 */
function cleanPosition(value: unknown): { type: IdJson | null; tname: null; item: IdJson | null; assoc: number } | null {
  if (!isObject(value)) return null;
  if (value.tname !== null && value.tname !== undefined) return null;
  const item = cleanId(value.item);
  const type = cleanId(value.type);
  if (item === undefined || type === undefined || (item === null && type === null)) return null;
  const assoc = value.assoc === undefined ? 0 : value.assoc;
  if (!Number.isSafeInteger(assoc)) return null;
  return { type, tname: null, item, assoc: assoc as number };
}

/** A copy of `state` that is safe to render (see the header); fields it does not know are kept. */
export function cleanState(state: unknown): State {
  const out: State = isObject(state) ? { ...state } : {};
  const user = cleanUser(out.user);
  if (user) out.user = user;
  else delete out.user;
  if (typeof out.shot === 'string') out.shot = out.shot.slice(0, SHOT_ID_CHARS);
  else delete out.shot;
  if (out.cursor !== null && out.cursor !== undefined) {
    const cursor = isObject(out.cursor) ? out.cursor : {};
    const anchor = cleanPosition(cursor.anchor);
    const head = cleanPosition(cursor.head);
    if (anchor && head) out.cursor = { anchor, head };
    else delete out.cursor;
  }
  return out;
}

interface AwarenessChange {
  added: number[];
  updated: number[];
  removed: number[];
}

/** Cleans the states of `change`'s remote clients in place (in the awareness's Map). */
function cleanChanged(awareness: Awareness, { added, updated }: AwarenessChange): void {
  for (const id of [...added, ...updated]) {
    // Our own state is what presence.ts and y-codemirror.next wrote.
    if (id === awareness.clientID) continue;
    const state = awareness.states.get(id);
    if (state !== undefined) awareness.states.set(id, cleanState(state));
  }
}

/**
 * The page's Awareness, cleaning every state before anyone else hears of it. Create it before
 * anything else subscribes to it (pass it to the provider as `awareness`).
 */
export function createAwareness(doc: Y.Doc): Awareness {
  const awareness = new Awareness(doc);
  awareness.on('change', (change: AwarenessChange) => cleanChanged(awareness, change));
  awareness.on('update', (change: AwarenessChange) => cleanChanged(awareness, change));
  return awareness;
}
