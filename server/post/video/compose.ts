/**
 * The finished video of a render, from its cached shot segments and what sits on top of them:
 *   1 plan     the timeline's clips (shots joined by cuts) and whether frames must be re-encoded:
 *              only for a transition other than a cut, or for burned captions
 *   2 captions the ASS script (burn, both) and the SRT for the mov_text track (soft, both)
 *   3 compose  one ffmpeg run: either the segments joined by stream copy (the fast path: a
 *              caption-only or audio-only edit re-encodes nothing), or decoded, laid out with their
 *              transitions (graph.ts), captions burned by libass and encoded with the segments'
 *              own H.264 settings; plus the audio as AAC cut or padded to the video's length, the
 *              soft caption track, and `moov` first (+faststart)
 *   4 check    ffmpeg wrote exactly `timeline.frames` frames; the file appears atomically at `out`
 * ffmpeg runs as a niced child process (run.ts); scratch files go to `workDir` and are removed.
 */
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { CaptionMode } from '../../../shared/post.js';
import type { Timeline } from '../../../shared/timeline.js';
import { captionCues, captionLanguage, captionLayout, toAss, toSrt } from './captions.js';
import { captionFontsDir, writeFontconfig } from './fonts.js';
import { clipsOf, videoGraph, type Clip } from './graph.js';
import { runFfmpeg } from './run.js';

export interface ComposeInput {
  /** One MP4 per shot, in the timeline's order, all of the same size, fps and H.264 settings. */
  segments: string[];
  timeline: Timeline;
  captions: CaptionMode;
  /** A finished audio file (WAV, m4a…) of the video's length, muxed as AAC; null: no audio track. */
  audio: string | null;
  /** The audio is already AAC at 48 kHz of exactly the video's length (the mixer's m4a): copied, not encoded again. */
  audioReady?: boolean;
  /** Frame size in pixels ([1280, 720] for final renders). */
  size: readonly [width: number, height: number];
  /** Frames per second of the segments (must be the timeline's). */
  fps: number;
  /** Folder for scratch files (lists, captions, graph); created if missing. */
  workDir: string;
  /** The finished MP4; written beside as `<out>.partial.mp4` and renamed when complete. */
  out: string;
  /** Folder with the caption font (default: the bundled Noto Sans SC Medium, fonts.ts). */
  fontsDir?: string;
  signal?: AbortSignal;
  /** Frames of the finished video written so far, and their total. */
  onProgress?: (frames: number, total: number) => void;
  /** x264 preset and CRF when re-encoding (defaults veryfast and 20, as the segment encoder's). */
  preset?: string;
  crf?: number;
}

export interface ComposeResult {
  file: string;
  seconds: number;
  frames: number;
  /** Whether the frames were decoded and encoded again (false: the fast path, stream copy). */
  reencoded: boolean;
}

export interface ComposePlan {
  clips: Clip[];
  burn: boolean;
  soft: boolean;
  /** Frames must be decoded and encoded (a transition other than a cut, or burned captions). */
  reencode: boolean;
}

/** What composing `input` takes (no file is touched). */
export function composePlan(input: Pick<ComposeInput, 'segments' | 'timeline' | 'captions'>): ComposePlan {
  const clips = clipsOf(input.timeline, input.segments);
  const cues = input.timeline.shots.some((s) => s.caption !== null);
  const burn = cues && (input.captions === 'burn' || input.captions === 'both');
  const soft = cues && (input.captions === 'soft' || input.captions === 'both');
  return { clips, burn, soft, reencode: burn || clips.length > 1 };
}

/** H.264 as server/render/ffmpeg.ts's SegmentEncoder writes it: yuv420p, High, a keyframe every 2 s. */
const h264 = (fps: number, preset: string, crf: number): string[] => [
  '-c:v', 'libx264', '-preset', preset, '-crf', String(crf), '-pix_fmt', 'yuv420p', '-profile:v', 'high',
  '-x264-params', `keyint=${Math.round(fps * 2)}:min-keyint=1:scenecut=0:rc-lookahead=2:sync-lookahead=0`,
  '-r', String(fps),
];

/** Sample rate of the AAC track. */
const AUDIO_RATE = 48_000;

const concatList = (files: readonly string[]): string => `${files.map((f) => `file '${path.resolve(f).replace(/'/g, "'\\''")}'`).join('\n')}\n`;

export async function composeVideo(input: ComposeInput): Promise<ComposeResult> {
  const { timeline, fps, signal } = input;
  if (timeline.fps !== fps) throw new Error(`the segments are at ${fps} fps, the timeline at ${timeline.fps}`);
  if (timeline.frames <= 0) throw new Error('the timeline has no frame');
  // 1. Plan.
  const plan = composePlan(input);
  const workDir = path.resolve(input.workDir);
  const out = path.resolve(input.out);
  await mkdir(workDir, { recursive: true });
  const scratch: string[] = [];
  const write = async (name: string, text: string): Promise<string> => {
    const file = path.join(workDir, name);
    scratch.push(file);
    await writeFile(file, text);
    return file;
  };
  const partial = `${out}.partial.mp4`;
  try {
    const args: string[] = [];
    const env: Record<string, string> = {};
    // Video inputs: every segment as one stream-copied list, or one input per clip.
    const clips: Clip[] = plan.reencode ? plan.clips : [{ segments: input.segments, frames: timeline.frames, into: null }];
    for (const [i, clip] of clips.entries()) {
      if (clip.segments.length === 1) args.push('-i', path.resolve(clip.segments[0]!));
      else args.push('-f', 'concat', '-safe', '0', '-i', await write(`clip-${i}.txt`, concatList(clip.segments)));
    }
    let inputs = clips.length;
    const audioInput = input.audio ? inputs++ : -1;
    if (input.audio) args.push('-i', path.resolve(input.audio));
    // 2. Captions.
    const layout = captionLayout(input.size[0], input.size[1]);
    const softInput = plan.soft ? inputs++ : -1;
    if (plan.soft) args.push('-f', 'srt', '-i', await write('captions.srt', toSrt(timeline, layout)));
    let graph: string | null = null;
    if (plan.reencode) {
      let ass: { file: string; fontsDir: string } | undefined;
      if (plan.burn && captionCues(timeline, layout).length > 0) {
        const fontsDir = path.resolve(input.fontsDir ?? captionFontsDir());
        ass = { file: await write('captions.ass', toAss(timeline, { layout })), fontsDir };
        const conf = await writeFontconfig(workDir, fontsDir);
        scratch.push(conf);
        env.FONTCONFIG_FILE = conf;
      }
      graph = await write('video.graph', videoGraph(clips, { fps, size: input.size, ...(ass ? { ass } : {}) }));
    }
    // 3. Compose.
    if (graph) args.push('-filter_complex_script', graph, '-map', '[v]', ...h264(fps, input.preset ?? 'veryfast', input.crf ?? 20));
    else args.push('-map', '0:v:0', '-c:v', 'copy');
    if (input.audio) {
      const samples = Math.round((timeline.frames * AUDIO_RATE) / fps);
      if (input.audioReady) args.push('-map', `${audioInput}:a:0`, '-c:a', 'copy');
      else args.push('-map', `${audioInput}:a:0`, '-af', `aresample=${AUDIO_RATE},apad=whole_len=${samples},atrim=end_sample=${samples}`, '-c:a', 'aac', '-b:a', '160k');
    }
    if (plan.soft) args.push('-map', `${softInput}:s:0`, '-c:s', 'mov_text', '-metadata:s:s:0', `language=${captionLanguage(timeline) ?? 'und'}`);
    args.push('-max_muxing_queue_size', '4096', '-movflags', '+faststart', '-f', 'mp4', partial);
    const result = await runFfmpeg(args, {
      env,
      ...(signal ? { signal } : {}),
      onFrames: (frames) => input.onProgress?.(Math.min(frames, timeline.frames), timeline.frames),
    });
    // 4. Check.
    if (result.frames !== null && result.frames !== timeline.frames) {
      throw new Error(`composed ${result.frames} frames where the timeline has ${timeline.frames}: a segment is not as long as planned`);
    }
    await rename(partial, out);
    return { file: out, frames: timeline.frames, seconds: timeline.frames / fps, reencoded: plan.reencode };
  } finally {
    await Promise.all([partial, ...scratch].map((file) => rm(file, { force: true })));
  }
}
