/**
 * Share links. Editors and viewers: `/?room=ROOM#token=TOKEN` (the token stays in the fragment, so
 * it never reaches server logs or Referer headers). The overlay: `/overlay/ROOM?token=TOKEN&pos=…`.
 * Editor links made by this app may carry `&viewer=…&overlay=…` in the fragment as well, so every
 * editor can hand out the read-only links (the server only gives them to the room's creator).
 */
import type { Role } from '../../../shared/protocol.js';
import { ROOM_ID_PATTERN } from '../../../shared/protocol.js';
import { safeStorage } from './i18n.js';

export interface RoomLink {
  room: string;
  token: string;
  /** Read-only tokens known to this editor (fragment or local storage). */
  known: Partial<Record<Role, string>>;
}

export function parseEditorLocation(loc: { search: string; hash: string }): RoomLink | null {
  const room = new URLSearchParams(loc.search).get('room');
  const fragment = new URLSearchParams(loc.hash.replace(/^#/, ''));
  const token = fragment.get('token');
  if (!room || !token || !ROOM_ID_PATTERN.test(room)) return null;
  const known: Partial<Record<Role, string>> = { ...storedTokens(room) };
  const viewer = fragment.get('viewer');
  const overlay = fragment.get('overlay');
  if (viewer) known.viewer = viewer;
  if (overlay) known.overlay = overlay;
  return { room, token, known };
}

/** Turns a pasted share link into where to go: a same-origin path, or null if it is not one. */
export function linkTarget(input: string, origin: string): string | null {
  let url: URL;
  try {
    url = new URL(input.trim(), origin);
  } catch {
    return null;
  }
  const overlay = /^\/overlay\/([a-z0-9]{8,32})\/?$/.exec(url.pathname);
  if (overlay && url.searchParams.get('token')) return `/overlay/${overlay[1]}${url.search}`;
  if (parseEditorLocation(url)) return `/${url.search}${url.hash}`;
  return null;
}

export function editorLink(origin: string, room: string, token: string, extra: Partial<Record<Role, string>> = {}): string {
  const fragment = new URLSearchParams({ token });
  if (extra.viewer) fragment.set('viewer', extra.viewer);
  if (extra.overlay) fragment.set('overlay', extra.overlay);
  return `${origin}/?room=${room}#${fragment.toString()}`;
}

export const viewerLink = (origin: string, room: string, token: string): string => `${origin}/?room=${room}#token=${encodeURIComponent(token)}`;

export const overlayLink = (origin: string, room: string, token: string): string =>
  `${origin}/overlay/${room}?token=${encodeURIComponent(token)}&pos=br&size=480`;

const storageKey = (room: string) => `scenecast:tokens:${room}`;

export function rememberTokens(room: string, tokens: Partial<Record<Role, string>>): void {
  safeStorage()?.setItem(storageKey(room), JSON.stringify({ ...storedTokens(room), ...tokens }));
}

/** A deleted room's tokens are of no use to anyone. */
export function forgetTokens(room: string): void {
  safeStorage()?.removeItem(storageKey(room));
}

function storedTokens(room: string): Partial<Record<Role, string>> {
  try {
    const raw = safeStorage()?.getItem(storageKey(room));
    return raw ? (JSON.parse(raw) as Partial<Record<Role, string>>) : {};
  } catch {
    return {};
  }
}
