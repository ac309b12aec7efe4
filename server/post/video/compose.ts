/**
 * The finished video of a render, from its cached shot segments and what sits on top of them:
 *   1 pieces   the timeline cut into pieces (pieces.ts) and each made (piece-encoder.ts): a shot
 *              with nothing on it is its segment as it is; a shot with a burned caption or a
 *              fade, and every crossfade or slide, is encoded on its own (or found in the parts
 *              cache), so an edit re-encodes only the pieces it touches and none at all for soft
 *              captions, the audio or cuts
 *   2 captions the SRT for the mov_text track (soft, both)
 *   3 join     one ffmpeg run joining the pieces by stream copy (concat demuxer), with the audio
 *              (AAC, cut or padded to the video's length), the soft caption track, `moov` first
 *   4 check    ffmpeg wrote exactly `timeline.frames` frames; the file appears atomically at `out`
 * ffmpeg runs as niced child processes (run.ts); scratch files go to `workDir` and are removed.
 */
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { CaptionMode } from '../../../shared/post.js';
import type { Timeline } from '../../../shared/timeline.js';
import { captionLanguage, captionLayout, toSrt } from './captions.js';
import { PieceEncoder } from './piece-encoder.js';
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
  /** The pieces' maker, when it was started early (post-production starts it while shots are generated); else one is made here. */
  pieces?: PieceEncoder;
}

export interface ComposeResult {
  file: string;
  seconds: number;
  frames: number;
  /** Whether any frame differs from the segments' (false: the segments joined as they are). */
  reencoded: boolean;
  /** Pieces encoded for this video, and pieces found in the parts cache. */
  encoded: number;
  cached: number;
}

/** Sample rate of the AAC track. */
const AUDIO_RATE = 48_000;

const concatList = (files: readonly string[]): string => `${files.map((f) => `file '${path.resolve(f).replace(/'/g, "'\\''")}'`).join('\n')}\n`;

export async function composeVideo(input: ComposeInput): Promise<ComposeResult> {
  const { timeline, fps, signal } = input;
  if (timeline.fps !== fps) throw new Error(`the segments are at ${fps} fps, the timeline at ${timeline.fps}`);
  if (timeline.frames <= 0) throw new Error('the timeline has no frame');
  if (input.segments.length !== timeline.shots.length) throw new Error(`${input.segments.length} segments for ${timeline.shots.length} shots`);
  const workDir = path.resolve(input.workDir);
  const out = path.resolve(input.out);
  await mkdir(workDir, { recursive: true });
  // 1. Pieces.
  const pieces =
    input.pieces ??
    new PieceEncoder({
      timeline,
      captions: input.captions,
      size: input.size,
      fps,
      segment: async (shot) => input.segments[shot]!,
      workDir,
      ...(input.fontsDir ? { fontsDir: input.fontsDir } : {}),
      ...(input.preset ? { preset: input.preset } : {}),
      ...(input.crf !== undefined ? { crf: input.crf } : {}),
      ...(signal ? { signal } : {}),
    });
  const scratch: string[] = [];
  const write = async (name: string, text: string): Promise<string> => {
    const file = path.join(workDir, name);
    scratch.push(file);
    await writeFile(file, text);
    return file;
  };
  const partial = `${out}.partial.mp4`;
  try {
    const files = await pieces.files();
    const args = ['-f', 'concat', '-safe', '0', '-i', await write('pieces.txt', concatList(files))];
    let inputs = 1;
    const audioInput = input.audio ? inputs++ : -1;
    if (input.audio) args.push('-i', path.resolve(input.audio));
    // 2. Captions.
    const soft = (input.captions === 'soft' || input.captions === 'both') && timeline.shots.some((s) => s.caption !== null);
    const softInput = soft ? inputs++ : -1;
    if (soft) args.push('-f', 'srt', '-i', await write('captions.srt', toSrt(timeline, captionLayout(input.size[0], input.size[1]))));
    // 3. Join.
    args.push('-map', '0:v:0', '-c:v', 'copy');
    if (input.audio) {
      const samples = Math.round((timeline.frames * AUDIO_RATE) / fps);
      if (input.audioReady) args.push('-map', `${audioInput}:a:0`, '-c:a', 'copy');
      else args.push('-map', `${audioInput}:a:0`, '-af', `aresample=${AUDIO_RATE},apad=whole_len=${samples},atrim=end_sample=${samples}`, '-c:a', 'aac', '-b:a', '160k');
    }
    if (soft) args.push('-map', `${softInput}:s:0`, '-c:s', 'mov_text', '-metadata:s:s:0', `language=${captionLanguage(timeline) ?? 'und'}`);
    args.push('-max_muxing_queue_size', '4096', '-movflags', '+faststart', '-f', 'mp4', partial);
    const result = await runFfmpeg(args, {
      ...(signal ? { signal } : {}),
      onFrames: (frames) => input.onProgress?.(Math.min(frames, timeline.frames), timeline.frames),
    });
    // 4. Check.
    if (result.frames !== null && result.frames !== timeline.frames) {
      throw new Error(`composed ${result.frames} frames where the timeline has ${timeline.frames}: a segment is not as long as planned`);
    }
    await rename(partial, out);
    return { file: out, frames: timeline.frames, seconds: timeline.frames / fps, reencoded: pieces.reencodes, encoded: pieces.encoded, cached: pieces.cached };
  } finally {
    await pieces.close();
    await Promise.all([partial, ...scratch].map((file) => rm(file, { force: true })));
  }
}
