/**
 * The soundtrack of a finished video, from what the scene says and not from any frame, so it is
 * made while the engine still generates shots:
 *   1 key      a hash of everything that decides the sound (each narration's speech key, where it
 *              starts and how long its shot is on screen; the music's identity and volume; duck;
 *              the loudness target; the video's length)
 *   2 cache    the parts cache holds finished soundtracks under that key, with their warnings
 *              (a caption or a transition that keeps the length changes nothing here)
 *   3 speak    each shot's narration (Narrator: offline TTS, its own cache)
 *   4 mix      placed, ducked and normalised (mix.ts), then put in the parts cache
 */
import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { Scene } from '../../../shared/scene.js';
import type { Timeline } from '../../../shared/timeline.js';
import { ScenecastError } from '../../../shared/errors.js';
import type { ShotStore } from '../../ports/shot-store.js';
import type { AssetStore } from './assets.js';
import { bedFile, bedName, isMusicBed } from './beds.js';
import { mixAudio, type MixPlan } from './mix.js';
import type { Narrator, VoiceSetting } from './tts.js';

/** Bump when the mix changes for the same inputs (mix.ts): cached soundtracks are then unused. */
const MIX_VERSION = 1;

export interface SoundtrackSources {
  narrator: Narrator;
  bedsDir: string;
  /** The rooms' uploaded audio (null: the CLI). */
  assets: AssetStore | null;
  /** A music file in place of the scene's music (the CLI's --music). */
  musicFile?: string;
  /** Where soundtracks are kept by key (none: each is mixed into workDir). */
  parts?: ShotStore;
}

export interface SoundtrackRequest {
  scene: Pick<Scene, 'music' | 'musicVolume' | 'duck' | 'loudness' | 'voice'>;
  timeline: Timeline;
  workDir: string;
  room?: string;
  signal?: AbortSignal;
}

export interface Soundtrack {
  /** AAC in MP4 at 48 kHz of exactly the video's length (mux with `-c:a copy`). */
  file: string;
  warnings: string[];
  /** Found in the parts cache. */
  cached: boolean;
}

/** Where the music comes from: its file (made or found when asked for) and what identifies its sound. */
interface MusicSource {
  id: string;
  file: () => Promise<string>;
}

async function musicSource(sources: SoundtrackSources, music: string, room: string | undefined): Promise<MusicSource | null> {
  if (sources.musicFile) {
    const file = path.resolve(sources.musicFile);
    const { size, mtimeMs } = await stat(file);
    return { id: `file:${file}:${size}:${mtimeMs}`, file: async () => file };
  }
  if (music === 'none') return null;
  if (isMusicBed(music)) return { id: bedName(music), file: () => bedFile(music, sources.bedsDir) };
  const assets = sources.assets;
  if (!assets || !room) return null;
  // An asset never changes once uploaded: its id is its sound. It must still be there.
  if (!(await assets.get(room, music))) throw new ScenecastError('ASSET_NOT_FOUND', `No asset "${music}" in this room: choose other music`);
  return { id: `asset:${room}:${music}`, file: () => assets.file(room, music) };
}

export async function makeSoundtrack(sources: SoundtrackSources, request: SoundtrackRequest): Promise<Soundtrack> {
  const { scene, timeline, signal } = request;
  const seconds = timeline.frames / timeline.fps;
  const voice = scene.voice as VoiceSetting;
  // 1. Key.
  const spoken = timeline.shots.flatMap((shot) => {
    const key = shot.narration ? sources.narrator.key(shot.narration, voice) : null;
    return key && shot.narration ? [{ key, text: shot.narration, shotId: shot.id, startS: shot.start / timeline.fps, shotSeconds: shot.frames / timeline.fps }] : [];
  });
  const music = await musicSource(sources, scene.music, request.room);
  const what = {
    v: MIX_VERSION,
    seconds,
    narrations: spoken.map(({ key, shotId, startS, shotSeconds }) => ({ key, shotId, startS, shotSeconds })),
    music: music && scene.musicVolume > 0 ? { id: music.id, volume: scene.musicVolume } : null,
    duck: scene.duck,
    loudness: scene.loudness,
  };
  const key = `mix-${createHash('sha256').update(JSON.stringify(what)).digest('hex').slice(0, 40)}`;
  // 2. Cache.
  const parts = sources.parts;
  if (parts) {
    const hit = await parts.get(key, request.room);
    const file = hit ? await parts.segment(key) : null;
    if (hit && file) return { file, warnings: hit.notes ?? [], cached: true };
  }
  // 3. Speak.
  const narrations: MixPlan['narrations'] = [];
  for (const n of spoken) {
    if (signal?.aborted) throw signal.reason;
    const said = await sources.narrator.synthesize(n.text, voice);
    narrations.push({ startS: n.startS, shotSeconds: n.shotSeconds, shotId: n.shotId, file: said.file, seconds: said.seconds });
  }
  // 4. Mix.
  const out = parts ? await parts.scratch() : path.join(request.workDir, 'mix.m4a');
  const plan: MixPlan = { seconds, narrations, music: what.music && music ? { file: await music.file(), volume: what.music.volume } : null, duck: scene.duck, loudness: scene.loudness };
  const mixed = await mixAudio(plan, out, signal ? { signal } : {});
  if (!parts) return { file: mixed.file, warnings: mixed.warnings, cached: false };
  await parts.put(key, mixed.file, timeline.frames, request.room, mixed.warnings);
  const file = await parts.segment(key);
  if (!file) throw new Error('a soundtrack left the parts cache as soon as it was put there (POST_CACHE_BYTES is too small)');
  return { file, warnings: mixed.warnings, cached: false };
}
