/**
 * From a scene's shot to what the engine generates: the template's style words, negative prompt,
 * camera and sampler settings applied, and a seed for shots without one. Also the shot's content
 * key: a hash of everything that decides its pixels, so an unchanged shot is never made twice.
 */
import { createHash } from 'node:crypto';
import type { Scene, Shot } from '../shared/scene.js';
import { templateById } from '../shared/templates.js';
import type { ProfileName } from './bundle/manifest.js';
import type { ShotSpec } from './pipeline/generate.js';
import { hash32 } from './pipeline/noise.js';

export interface ResolvedShot {
  spec: ShotSpec;
  steps?: number;
  guidance?: number;
}

/** A stable uint32 from the scene seed and the shot id (FNV-1a over the id, then mixed). */
export function shotSeed(sceneSeed: number, shotId: string): number {
  let h = 0x811c9dc5;
  for (const ch of Buffer.from(shotId, 'utf8')) h = Math.imul(h ^ ch, 0x01000193) >>> 0;
  return hash32((h ^ sceneSeed) >>> 0);
}

export function resolveShot(scene: Pick<Scene, 'fps' | 'template' | 'seed'>, shot: Shot, profile: ProfileName): ResolvedShot {
  const template = templateById(scene.template);
  const prompt = [shot.prompt.trim(), template.style].filter(Boolean).join(', ');
  const resolved: ResolvedShot = {
    spec: {
      prompt,
      negative: (shot.negative ?? '').trim() || template.negative,
      seed: shot.seed ?? shotSeed(scene.seed, shot.id),
      duration: shot.duration,
      fps: scene.fps,
      camera: shot.camera === 'static' && template.camera ? template.camera : shot.camera,
    },
  };
  if (profile === 'final') {
    if (template.sampler.steps !== undefined) resolved.steps = template.sampler.steps;
    if (template.sampler.guidance !== undefined) resolved.guidance = template.sampler.guidance;
  }
  return resolved;
}

/** Hash of everything that decides a shot's pixels under `profile` with bundle `bundleHash`. */
export function shotKey(bundleHash: string, resolved: ResolvedShot, profile: ProfileName): string {
  const { spec, steps, guidance } = resolved;
  const canonical = JSON.stringify([bundleHash, profile, spec.prompt, spec.negative, spec.seed, spec.duration, spec.fps, spec.camera, steps ?? null, guidance ?? null]);
  return createHash('sha256').update(canonical).digest('hex').slice(0, 32);
}

/**
 * The keys of a scene's shots with continuity: a shot that continues the one before (`continue`)
 * starts from that shot's last frames, so its key also holds the previous shot's (chained: an
 * edit of a shot reaches every shot that continues from it, directly or through others).
 */
export function chainKeys(keys: readonly string[], shots: readonly Pick<Shot, 'continue'>[]): string[] {
  const out: string[] = [];
  keys.forEach((key, i) => {
    out.push(i > 0 && shots[i]?.continue ? createHash('sha256').update(`${key}\u0000after\u0000${out[i - 1]}`).digest('hex').slice(0, 32) : key);
  });
  return out;
}

/**
 * Every shot of a scene resolved under `profile` with its content key, chained where a shot continues the one
 * before (chainKeys): what previews and renders both key their shots by.
 */
export function keyedShots<S extends Shot>(bundleHash: string, scene: Pick<Scene, 'fps' | 'template' | 'seed'> & { shots: readonly S[] }, profile: ProfileName): { shot: S; resolved: ResolvedShot; key: string }[] {
  const resolved = scene.shots.map((shot) => resolveShot(scene, shot, profile));
  const keys = chainKeys(resolved.map((r) => shotKey(bundleHash, r, profile)), scene.shots);
  return scene.shots.map((shot, i) => ({ shot, resolved: resolved[i]!, key: keys[i]! }));
}

/** The shot store key of a shot's last clean latents (what a shot that continues it starts from). */
export const tailKey = (key: string): string => `tail-${key}`;
