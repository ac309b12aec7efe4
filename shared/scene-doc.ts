/**
 * The scene inside a Y.Doc (DESIGN.md, "The scene document"):
 *   meta: Y.Map { title, fps, template, seed, captions?, music?, musicVolume?, duck?, loudness?, voice? }
 *   shots: Y.Array<Y.Map { id, prompt: Y.Text, duration, camera, seed?, negative?: Y.Text,
 *                          caption?: Y.Text, narration?: Y.Text, transition?: {type, duration}, continue? }>
 *   suggestions: Y.Array<{ id, text, author, at }>
 * Reading never throws: a shot that does not validate is skipped and reported with its codes.
 */
import * as Y from 'yjs';
import { DEFAULTS, LIMITS, SceneSchema, codeOfIssue, validateShot, type Scene, type SceneInput, type SceneIssue, type Shot, type ShotInput } from './scene.js';

export interface SkippedShot {
  index: number;
  id: string | null;
  issues: SceneIssue[];
}

export interface SceneReading {
  /** The valid part of the scene: meta (defaults where invalid) and every valid shot, in order. */
  scene: Scene;
  /** Shots left out, with why. */
  skipped: SkippedShot[];
  /** Problems with meta fields (their defaults were used). */
  metaIssues: SceneIssue[];
}

export { metaOf, shotsOf, suggestionStatusOf, suggestionsOf, SUGGESTION_LIMITS, type Suggestion, type SuggestionStatus } from './doc-layout.js';
import { metaOf, shotsOf } from './doc-layout.js';

const textValue = (value: unknown): unknown => (value instanceof Y.Text ? value.toString() : value);

const SHOT_KEYS = ['id', 'prompt', 'duration', 'camera', 'seed', 'negative', 'caption', 'narration', 'transition', 'continue'] as const;
const META_KEYS = ['title', 'fps', 'template', 'seed', 'captions', 'music', 'musicVolume', 'duck', 'loudness', 'voice'] as const;
/** Shot fields people type into together (Y.Text). */
export const SHOT_TEXT_FIELDS = ['prompt', 'negative', 'caption', 'narration'] as const;

/** The JSON form of one shot map, without validation. */
export function shotJson(map: Y.Map<unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of SHOT_KEYS) {
    const value = textValue(map.get(key));
    if (value !== undefined && value !== null) out[key] = value;
  }
  if (out.prompt === undefined) out.prompt = '';
  return out;
}

export function readScene(doc: Y.Doc): SceneReading {
  const meta = metaOf(doc);
  const metaIssues: SceneIssue[] = [];
  const stored = Object.fromEntries(META_KEYS.flatMap((key) => (meta.get(key) === undefined ? [] : [[key, meta.get(key)]])));
  const metaJson = SceneSchema.safeParse({ ...stored, shots: [] });
  let base: Scene;
  if (metaJson.success) {
    base = metaJson.data;
  } else {
    // Keep each valid field, fall back to its default otherwise.
    const fallback = SceneSchema.parse({});
    base = { ...fallback };
    for (const key of META_KEYS) {
      const one = SceneSchema.safeParse({ [key]: meta.get(key) ?? fallback[key] });
      if (one.success) (base as Record<string, unknown>)[key] = one.data[key];
      else {
        const code = one.error.issues[0] ? codeOfIssue(one.error.issues[0]) : 'SCENE_INVALID';
        metaIssues.push({ code, path: key, message: `${key}: ${one.error.issues[0]?.message ?? 'invalid value'}, default used` });
      }
    }
  }

  const shots: Shot[] = [];
  const skipped: SkippedShot[] = [];
  const ids = new Set<string>();
  shotsOf(doc).forEach((item, index) => {
    const json = item instanceof Y.Map ? shotJson(item) : {};
    const id = typeof json.id === 'string' ? json.id : null;
    if (index >= LIMITS.maxShots) {
      skipped.push({ index, id, issues: [{ code: 'SCENE_TOO_MANY_SHOTS', path: `shots.${index}`, message: `only ${LIMITS.maxShots} shots are allowed` }] });
      return;
    }
    const result = validateShot(json, index);
    if (!result.ok) {
      skipped.push({ index, id, issues: result.issues });
      return;
    }
    if (ids.has(result.value.id)) {
      skipped.push({ index, id, issues: [{ code: 'SHOT_ID_DUPLICATE', path: `shots.${index}.id`, message: `shot id "${result.value.id}" is used twice` }] });
      return;
    }
    ids.add(result.value.id);
    shots.push(result.value);
  });
  return { scene: { ...base, shots }, skipped, metaIssues };
}

/** A new shot map (prompt and negative as Y.Text so people can type into them together). */
export function shotMap(input: ShotInput): Y.Map<unknown> {
  const map = new Y.Map<unknown>();
  map.set('id', input.id);
  map.set('prompt', new Y.Text(input.prompt));
  map.set('duration', input.duration ?? DEFAULTS.duration);
  map.set('camera', input.camera ?? DEFAULTS.camera);
  if (input.seed !== undefined) map.set('seed', input.seed);
  if (input.negative !== undefined) map.set('negative', new Y.Text(input.negative));
  if (input.caption !== undefined) map.set('caption', new Y.Text(input.caption));
  if (input.narration !== undefined) map.set('narration', new Y.Text(input.narration));
  if (input.transition !== undefined) map.set('transition', { ...input.transition });
  if (input.continue !== undefined) map.set('continue', input.continue);
  return map;
}

/** Replaces the document's meta and shots with `scene` in one transaction. */
export function writeScene(doc: Y.Doc, input: SceneInput, origin: unknown = null): void {
  const scene = SceneSchema.parse(input);
  doc.transact(() => {
    const meta = metaOf(doc);
    meta.set('title', scene.title);
    meta.set('fps', scene.fps);
    meta.set('template', scene.template);
    meta.set('seed', scene.seed);
    meta.set('captions', scene.captions);
    meta.set('music', scene.music);
    meta.set('musicVolume', scene.musicVolume);
    meta.set('duck', scene.duck);
    meta.set('loudness', scene.loudness);
    meta.set('voice', { ...scene.voice });
    const shots = shotsOf(doc);
    if (shots.length > 0) shots.delete(0, shots.length);
    shots.insert(0, scene.shots.map(shotMap));
  }, origin);
}

/** Finds a shot map by id. */
export function findShot(doc: Y.Doc, id: string): Y.Map<unknown> | undefined {
  return shotsOf(doc).toArray().find((map) => map instanceof Y.Map && map.get('id') === id);
}
