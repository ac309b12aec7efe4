/**
 * Post-production of a final render, on the shots' cached segments (so a caption, a transition
 * or the music changes without regenerating any shot). Begun when the render starts:
 *   1 timeline    where each shot lands (overlaps, fades; shared/timeline.ts)
 *   2 soundtrack  narration spoken, music looped and ducked, normalised (audio/soundtrack.ts):
 *                 needs no frame, so it is made while the engine generates; cached as a part
 *   3 pieces      each shot's piece and each transition's (video/pieces.ts) made as soon as its
 *                 shots are ready (video/piece-encoder.ts); a piece nothing is drawn on is the
 *                 segment itself, any other is cached as a part by what decides its pixels
 *   4 compose     the pieces joined by stream copy with the soundtrack and the soft captions
 *                 (video/compose.ts); moov first
 * Everything heavy runs in worker threads or niced child processes.
 */
import { rm } from 'node:fs/promises';
import type { Finished, PostPlan, PostRun, PostStage } from '../render/render-scene.js';
import type { ShotStore } from '../ports/shot-store.js';
import { planTimeline } from '../../shared/timeline.js';
import type { AssetStore } from './audio/assets.js';
import { prepareBeds } from './audio/beds.js';
import { makeSoundtrack, type Soundtrack } from './audio/soundtrack.js';
import type { Narrator } from './audio/tts.js';
import { toWebVtt } from './video/captions.js';
import { composeVideo } from './video/compose.js';
import { PieceEncoder } from './video/piece-encoder.js';

export interface PostProductionOptions {
  narrator: Narrator;
  /** Where the synthesised music beds are kept. */
  bedsDir: string;
  /** The rooms' uploaded audio (null: the CLI, which takes a music file instead). */
  assets: AssetStore | null;
  /** A music file that replaces the scene's music (the CLI's --music). */
  musicFile?: string;
  /** Where the pieces and soundtracks are kept (POST_CACHE_BYTES); none: everything is made for each render. */
  parts?: ShotStore;
  /** Folder with the caption font (default: the bundled one, video/fonts.ts). */
  fontsDir?: string;
}

export class PostProduction implements PostStage {
  constructor(private readonly o: PostProductionOptions) {}

  begin(plan: PostPlan): PostRun {
    const { scene, signal } = plan;
    // 1. Timeline.
    const timeline = planTimeline(scene, plan.frames);
    // 2. Soundtrack, started now (its failure comes out of finish).
    const soundtrack: Promise<Soundtrack> = makeSoundtrack(
      { narrator: this.o.narrator, bedsDir: this.o.bedsDir, assets: this.o.assets, ...(this.o.musicFile ? { musicFile: this.o.musicFile } : {}), ...(this.o.parts ? { parts: this.o.parts } : {}) },
      { scene, timeline, workDir: plan.workDir, signal, ...(plan.room ? { room: plan.room } : {}) },
    );
    soundtrack.catch(() => {});
    // 3. Pieces, each started when its shots are ready.
    const segments = new Map<number, string>();
    const pieces = new PieceEncoder({
      timeline,
      captions: scene.captions,
      size: [1280, 720],
      fps: scene.fps,
      segment: async (shot) => {
        const file = segments.get(shot);
        if (!file) throw new Error(`shot ${shot}'s segment was asked for before it was ready`);
        return file;
      },
      workDir: plan.workDir,
      signal,
      ...(this.o.fontsDir ? { fontsDir: this.o.fontsDir } : {}),
      ...(this.o.parts ? { cache: { store: this.o.parts, shotKeys: plan.keys, ...(plan.room ? { room: plan.room } : {}) } } : {}),
    });
    return {
      shotReady: (i, segment) => {
        segments.set(i, segment);
        pieces.start((shot) => segments.has(shot));
      },
      finish: async (files, out): Promise<Finished> => {
        files.forEach((file, i) => segments.set(i, file));
        const audio = await soundtrack;
        // 4. Compose.
        const composed = await composeVideo({
          segments: files,
          timeline,
          captions: scene.captions,
          audio: audio.file,
          audioReady: true,
          size: [1280, 720],
          fps: scene.fps,
          workDir: plan.workDir,
          out,
          pieces,
          signal,
        });
        const hasCaptions = timeline.shots.some((s) => s.caption !== null);
        return { frames: composed.frames, warnings: [...timeline.warnings, ...audio.warnings], captions: hasCaptions && scene.captions !== 'off' ? toWebVtt(timeline) : null };
      },
      close: async () => {
        await pieces.close();
        const audio = await soundtrack.catch(() => null);
        // Without a parts cache the mix was made for this render only.
        if (audio && !this.o.parts) await rm(audio.file, { force: true });
      },
    };
  }

  /** The bundled beds made ahead (MUSIC_BEDS_AT_START), so the first music change does not wait on synthesis. */
  prepare(): Promise<void> {
    return prepareBeds(this.o.bedsDir);
  }

  close(): Promise<void> {
    return this.o.narrator.close();
  }
}
