/**
 * The scene script as JSON: one schema for HTTP bodies, the CLI, cache keys and the live Y.Doc
 * (see scene-doc.ts). Limits live here so server, client and engine agree on them.
 */
import { z } from 'zod';
import { CAMERA_MOVES } from './camera.js';
import type { ErrorCode } from './errors.js';
import { isTemplateId } from './templates.js';
import { ASSET_ID_PATTERN, CAPTION_MODES, LOUDNESS_TARGETS, MUSIC_BEDS, POST_DEFAULTS, POST_LIMITS, TRANSITIONS, VOICES } from './post.js';

export { CAMERA_MOVES, type CameraMove } from './camera.js';

export const LIMITS = {
  titleChars: 200,
  promptChars: 500,
  maxShots: 64,
  minDuration: 0.5,
  maxDuration: 10,
  minFps: 8,
  maxFps: 30,
  maxSeed: 0xffff_ffff,
} as const;

export const DEFAULTS = { title: 'Untitled scene', fps: 16, template: 'none', duration: 2, camera: 'static' } as const;

const seed = z.number().int().min(0).max(LIMITS.maxSeed);

export const ShotSchema = z.object({
  id: z.string().regex(/^[A-Za-z0-9_-]{1,32}$/),
  prompt: z.string().max(LIMITS.promptChars),
  duration: z.number().min(LIMITS.minDuration).max(LIMITS.maxDuration).default(DEFAULTS.duration),
  camera: z.enum(CAMERA_MOVES).default(DEFAULTS.camera),
  seed: seed.optional(),
  negative: z.string().max(LIMITS.promptChars).optional(),
  /** On-screen text (a subtitle or a title) during the shot. */
  caption: z.string().max(POST_LIMITS.captionChars).optional(),
  /** Spoken over the shot (offline text to speech, in the language it is written in). */
  narration: z.string().max(POST_LIMITS.narrationChars).optional(),
  /** Into the next shot (default a cut). */
  transition: z.object({ type: z.enum(TRANSITIONS), duration: z.number().min(0).max(POST_LIMITS.maxTransition) }).strict().optional(),
  /** The shot starts from the previous shot's last frames. */
  continue: z.boolean().optional(),
});

const isMusic = (id: string): boolean => id === 'none' || MUSIC_BEDS.some((b) => b.id === id) || ASSET_ID_PATTERN.test(id);
const voiceOf = (lang: 'en' | 'zh') =>
  z
    .string()
    .refine((id) => VOICES.some((v) => v.id === id && v.lang === lang), { message: `not a ${lang} voice`, params: { scenecast: 'SCENE_VOICE_UNKNOWN' } })
    .optional();

export const SceneSchema = z
  .object({
    title: z.string().max(LIMITS.titleChars).default(DEFAULTS.title),
    fps: z.number().int().min(LIMITS.minFps).max(LIMITS.maxFps).default(DEFAULTS.fps),
    template: z
      .string()
      .regex(/^[a-z0-9-]{1,40}$/)
      .refine(isTemplateId, { message: 'no template has this id', params: { scenecast: 'TEMPLATE_UNKNOWN' } })
      .default(DEFAULTS.template),
    seed: seed.default(0),
    shots: z.array(ShotSchema).max(LIMITS.maxShots).default([]),
    captions: z.enum(CAPTION_MODES).default(POST_DEFAULTS.captions),
    music: z.string().max(40).refine(isMusic, { message: 'not a music bed or an asset of the room', params: { scenecast: 'SCENE_MUSIC_UNKNOWN' } }).default(POST_DEFAULTS.music),
    musicVolume: z.number().min(0).max(1).default(POST_DEFAULTS.musicVolume),
    duck: z.boolean().default(POST_DEFAULTS.duck),
    loudness: z.union(LOUDNESS_TARGETS.map((v) => z.literal(v)) as [z.ZodLiteral<-14>, z.ZodLiteral<-16>, z.ZodLiteral<-23>]).default(POST_DEFAULTS.loudness),
    voice: z.object({ en: voiceOf('en'), zh: voiceOf('zh') }).strict().default({}),
  })
  .superRefine((scene, ctx) => {
    const seen = new Set<string>();
    scene.shots.forEach((shot, index) => {
      if (seen.has(shot.id)) {
        ctx.addIssue({
          code: 'custom',
          path: ['shots', index, 'id'],
          message: `shot id "${shot.id}" is used twice`,
          params: { scenecast: 'SHOT_ID_DUPLICATE' },
        });
      }
      seen.add(shot.id);
    });
  });

export type Shot = z.output<typeof ShotSchema>;
export type Scene = z.output<typeof SceneSchema>;
/** What callers may send: every field with a default may be left out. */
export type SceneInput = z.input<typeof SceneSchema>;
export type ShotInput = z.input<typeof ShotSchema>;

export interface SceneIssue {
  code: ErrorCode;
  /** JSON path, e.g. "shots.1.duration". */
  path: string;
  message: string;
}

const FIELD_CODES: Record<string, ErrorCode> = {
  title: 'SCENE_TITLE_INVALID',
  fps: 'SCENE_FPS_INVALID',
  template: 'SCENE_TEMPLATE_INVALID',
  id: 'SHOT_ID_INVALID',
  duration: 'SHOT_DURATION_OUT_OF_RANGE',
  camera: 'SHOT_CAMERA_UNKNOWN',
  negative: 'SHOT_NEGATIVE_INVALID',
  caption: 'SHOT_CAPTION_INVALID',
  narration: 'SHOT_NARRATION_INVALID',
  transition: 'SHOT_TRANSITION_INVALID',
  type: 'SHOT_TRANSITION_INVALID',
  continue: 'SHOT_INVALID',
  captions: 'SCENE_CAPTIONS_INVALID',
  music: 'SCENE_MUSIC_UNKNOWN',
  musicVolume: 'SCENE_MUSIC_VOLUME_INVALID',
  duck: 'SCENE_INVALID',
  loudness: 'SCENE_LOUDNESS_INVALID',
  voice: 'SCENE_VOICE_UNKNOWN',
};

/** Maps a zod issue to the registered code for the field it is about. */
export function codeOfIssue(issue: z.core.$ZodIssue): ErrorCode {
  const params = (issue as { params?: { scenecast?: ErrorCode } }).params;
  if (params?.scenecast) return params.scenecast;
  const path = issue.path;
  const field = path[path.length - 1];
  const inShot = path[0] === 'shots' && path.length >= 2;
  if (path.length === 1 && field === 'shots') return issue.code === 'too_big' ? 'SCENE_TOO_MANY_SHOTS' : 'SCENE_INVALID';
  if (field === 'prompt') return issue.code === 'too_big' ? 'SHOT_PROMPT_TOO_LONG' : 'SHOT_PROMPT_INVALID';
  if (field === 'seed') return inShot ? 'SHOT_SEED_INVALID' : 'SCENE_SEED_INVALID';
  if (typeof field === 'string' && FIELD_CODES[field]) return FIELD_CODES[field];
  return inShot ? 'SHOT_INVALID' : 'SCENE_INVALID';
}

function toIssues(error: z.ZodError, prefix: (string | number)[] = []): SceneIssue[] {
  return error.issues.map((issue) => {
    const path = [...prefix, ...issue.path].map(String).join('.');
    return { code: codeOfIssue({ ...issue, path: [...prefix, ...issue.path] } as z.core.$ZodIssue), path, message: `${path || 'scene'}: ${issue.message}` };
  });
}

export type Validated<T> = { ok: true; value: T } | { ok: false; issues: SceneIssue[] };

export function validateScene(input: unknown): Validated<Scene> {
  const result = SceneSchema.safeParse(input);
  return result.success ? { ok: true, value: result.data } : { ok: false, issues: toIssues(result.error) };
}

/** Validates one shot as it stands at `shots[index]` (paths and codes as in validateScene). */
export function validateShot(input: unknown, index: number): Validated<Shot> {
  const result = ShotSchema.safeParse(input);
  return result.success ? { ok: true, value: result.data } : { ok: false, issues: toIssues(result.error, ['shots', index]) };
}
