/**
 * Reading the post-production fields of the scene document as the editor's controls show them:
 * a stored value that is not valid reads as its default (the schema reports it; the controls
 * never fail on it).
 */
import { ASSET_ID_PATTERN, MUSIC_BEDS, POST_LIMITS, TRANSITIONS, VOICES, type TransitionType } from '../../../shared/post.js';

export interface StoredTransition {
  type: TransitionType;
  duration: number;
}

/** A shot's `transition`, if it is a valid one (anything else reads as a cut). */
export function storedTransition(value: unknown): StoredTransition | null {
  if (!value || typeof value !== 'object') return null;
  const { type, duration } = value as { type?: unknown; duration?: unknown };
  if (!(TRANSITIONS as readonly unknown[]).includes(type) || typeof duration !== 'number' || !(duration >= 0 && duration <= POST_LIMITS.maxTransition)) return null;
  return { type: type as TransitionType, duration };
}

/** `meta.music` values the schema accepts: none, a bundled bed or an uploaded asset of the room. */
export const isMusic = (id: string): boolean => id === 'none' || isBed(id) || ASSET_ID_PATTERN.test(id);
export const isBed = (id: string): boolean => MUSIC_BEDS.some((bed) => bed.id === id);

/** A voice id of `lang`, or null. */
export const voiceOf = (lang: 'en' | 'zh', id: unknown): string | null => (VOICES.some((v) => v.id === id && v.lang === lang) ? (id as string) : null);
