/**
 * Post-production of a final render, on the shots' cached segments (so a caption, a transition
 * or the music changes without regenerating any shot):
 *   1 timeline   where each shot lands (overlaps, fades; timeline.ts)
 *   2 narration  each shot's narration spoken (offline TTS, cached by voice and text)
 *   3 music      a bundled bed or the room's uploaded file, looped to the length
 *   4 mix        narration placed, music ducked under it, normalised to the scene's loudness
 *   5 compose    transitions, captions burned and/or as a soft track, the mix muxed; moov first
 * Everything heavy runs in worker threads or child processes.
 */
import path from 'node:path';
import type { Scene } from '../../shared/scene.js';
import type { Finished, FinishInput } from '../render/render-scene.js';
import type { AssetStore } from './audio/assets.js';
import { bedFile, isMusicBed } from './audio/beds.js';
import { mixAudio, type MixPlan } from './audio/mix.js';
import type { Narrator, VoiceSetting } from './audio/tts.js';
import { planTimeline } from '../../shared/timeline.js';
import { toWebVtt } from './video/captions.js';
import { composeVideo } from './video/compose.js';

export interface PostProductionOptions {
  narrator: Narrator;
  /** Where the synthesised music beds are kept. */
  bedsDir: string;
  /** The rooms' uploaded audio (null: the CLI, which takes a music file instead). */
  assets: AssetStore | null;
  /** A music file that replaces the scene's music (the CLI's --music). */
  musicFile?: string;
}

export class PostProduction {
  constructor(private readonly o: PostProductionOptions) {}

  /** The render's `finish` stage (render-scene.ts). */
  readonly finish = async (input: FinishInput): Promise<Finished> => {
    const { scene, segments, frames, workDir, out } = input;
    // 1. Timeline.
    const timeline = planTimeline(scene, frames);
    const seconds = timeline.frames / scene.fps;
    // 2. Narration.
    const narrations: MixPlan['narrations'] = [];
    for (const shot of timeline.shots) {
      if (!shot.narration) continue;
      const spoken = await this.o.narrator.synthesize(shot.narration, scene.voice as VoiceSetting);
      narrations.push({ startS: shot.start / scene.fps, shotSeconds: shot.frames / scene.fps, shotId: shot.id, file: spoken.file, seconds: spoken.seconds });
    }
    // 3. Music.
    const music = await this.#music(scene, input.room);
    // 4. Mix.
    const audio = await mixAudio(
      { seconds, narrations, music: music ? { file: music, volume: scene.musicVolume } : null, duck: scene.duck, loudness: scene.loudness },
      path.join(workDir, 'mix.m4a'),
      input.signal ? { signal: input.signal } : {},
    );
    // 5. Compose.
    const composed = await composeVideo({
      segments,
      timeline,
      captions: scene.captions,
      audio: audio.file,
      audioReady: true,
      size: [1280, 720],
      fps: scene.fps,
      workDir,
      out,
      ...(input.signal ? { signal: input.signal } : {}),
    });
    const hasCaptions = timeline.shots.some((s) => s.caption !== null);
    return { frames: composed.frames, warnings: [...timeline.warnings, ...audio.warnings], captions: hasCaptions && scene.captions !== 'off' ? toWebVtt(timeline) : null };
  };

  async #music(scene: Pick<Scene, 'music'>, room: string | undefined): Promise<string | null> {
    if (this.o.musicFile) return this.o.musicFile;
    if (scene.music === 'none') return null;
    if (isMusicBed(scene.music)) return bedFile(scene.music, this.o.bedsDir);
    if (!this.o.assets || !room) return null;
    return this.o.assets.file(room, scene.music);
  }

  close(): Promise<void> {
    return this.o.narrator.close();
  }
}
