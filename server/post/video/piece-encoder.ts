/**
 * Makes the pieces of a finished video (pieces.ts): a piece with nothing on it is its shot's
 * segment; any other is looked up in the parts cache by its key, or encoded (one ffmpeg child at
 * a time, niced, with the segments' own H.264 settings so the pieces join by stream copy) and
 * put there. Pieces can be started while the render still generates shots: `start` makes those
 * whose shots are all there, `files` waits for all of them.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { CaptionMode } from '../../../shared/post.js';
import type { Timeline } from '../../../shared/timeline.js';
import type { ShotStore } from '../../ports/shot-store.js';
import { assScript, captionCues, captionLayout, type CaptionLayout } from './captions.js';
import { captionFontsDir, writeFontconfig } from './fonts.js';
import { pieceGraph, pieceKey, planPieces, type Piece } from './pieces.js';
import { runFfmpeg } from './run.js';

export interface PieceEncoderOptions {
  timeline: Timeline;
  captions: CaptionMode;
  /** Frame size in pixels ([1280, 720] for final renders). */
  size: readonly [width: number, height: number];
  fps: number;
  /** Shot i's segment (asked for only when a piece needs it). */
  segment: (shot: number) => Promise<string>;
  /** Folder for scratch files (captions, graphs, uncached pieces); created if missing. */
  workDir: string;
  /** Folder with the caption font (default: the bundled Noto Sans SC Medium, fonts.ts). */
  fontsDir?: string;
  /** x264 preset and CRF (defaults veryfast and 20, as the segment encoder's). */
  preset?: string;
  crf?: number;
  /** Where pieces are kept, by the shots' keys (none: every piece is encoded into workDir). */
  cache?: { store: ShotStore; shotKeys: readonly string[]; room?: string };
  signal?: AbortSignal;
}

/** H.264 as server/render/ffmpeg.ts's SegmentEncoder writes it: yuv420p, High, a keyframe every 2 s. */
export const h264 = (fps: number, preset: string, crf: number): string[] => [
  '-c:v', 'libx264', '-preset', preset, '-crf', String(crf), '-pix_fmt', 'yuv420p', '-profile:v', 'high',
  '-x264-params', `keyint=${Math.round(fps * 2)}:min-keyint=1:scenecut=0:rc-lookahead=2:sync-lookahead=0`,
  '-r', String(fps),
];

export class PieceEncoder {
  readonly pieces: Piece[];
  readonly layout: CaptionLayout;
  /** Pieces encoded by this encoder, and found in the cache. */
  encoded = 0;
  cached = 0;
  readonly #o: PieceEncoderOptions;
  readonly #fontsDir: string;
  readonly #made = new Map<number, Promise<string>>();
  /** Encodes run one after another (each ffmpeg uses every core). */
  #line: Promise<unknown> = Promise.resolve();
  #fontconfig: Promise<string> | null = null;
  readonly #scratch: string[] = [];

  constructor(options: PieceEncoderOptions) {
    this.#o = options;
    this.layout = captionLayout(options.size[0], options.size[1]);
    this.#fontsDir = path.resolve(options.fontsDir ?? captionFontsDir());
    const burn = options.captions === 'burn' || options.captions === 'both';
    this.pieces = planPieces(options.timeline, burn ? captionCues(options.timeline, this.layout) : []);
  }

  /** Whether any frame differs from the segments' (a piece to encode or found encoded). */
  get reencodes(): boolean {
    return this.pieces.some((p) => !p.copy);
  }

  /** Starts every piece whose shots are all ready (errors come out of `files`). */
  start(ready: (shot: number) => boolean): void {
    this.pieces.forEach((piece, i) => {
      if (!piece.copy && !this.#made.has(i) && piece.sources.every((s) => ready(s.shot))) this.file(i).catch(() => {});
    });
  }

  /** Piece i's file (the segment, the cached piece, or one encoded now). */
  file(i: number): Promise<string> {
    let made = this.#made.get(i);
    if (!made) {
      made = this.#make(i);
      this.#made.set(i, made);
    }
    return made;
  }

  /** Every piece's file, in order. */
  files(): Promise<string[]> {
    return Promise.all(this.pieces.map((_, i) => this.file(i)));
  }

  /** Removes the scratch files (uncached pieces are used by the caller before this). */
  async close(): Promise<void> {
    await Promise.all(this.#scratch.map((file) => rm(file, { force: true })));
  }

  async #make(i: number): Promise<string> {
    const piece = this.pieces[i]!;
    if (piece.copy) return this.#o.segment(piece.sources[0]!.shot);
    const cache = this.#o.cache;
    const key = cache
      ? pieceKey(piece, { shotKeys: cache.shotKeys, fps: this.#o.fps, size: this.#o.size, preset: this.#preset, crf: this.#crf, layout: this.layout, font: this.#fontsDir })
      : null;
    if (cache && key && (await cache.store.get(key, cache.room))) {
      const file = await cache.store.segment(key);
      if (file) {
        this.cached++;
        return file;
      }
    }
    const run = this.#line.then(() => this.#encode(i, piece, key));
    this.#line = run.catch(() => {});
    return run;
  }

  get #preset(): string {
    return this.#o.preset ?? 'veryfast';
  }

  get #crf(): number {
    return this.#o.crf ?? 20;
  }

  async #encode(i: number, piece: Piece, key: string | null): Promise<string> {
    const { fps, signal, cache } = this.#o;
    if (signal?.aborted) throw signal.reason;
    const workDir = path.resolve(this.#o.workDir);
    await mkdir(workDir, { recursive: true });
    const write = async (name: string, text: string) => {
      const file = path.join(workDir, name);
      this.#scratch.push(file);
      await writeFile(file, text);
      return file;
    };
    const args: string[] = [];
    for (const source of piece.sources) args.push('-i', path.resolve(await this.#o.segment(source.shot)));
    const env: Record<string, string> = {};
    let ass: { file: string; fontsDir: string } | undefined;
    if (piece.cues.length > 0) {
      ass = { file: await write(`piece-${i}.ass`, assScript(piece.cues, fps, { layout: this.layout })), fontsDir: this.#fontsDir };
      this.#fontconfig ??= writeFontconfig(workDir, this.#fontsDir).then((file) => (this.#scratch.push(file), file));
      env.FONTCONFIG_FILE = await this.#fontconfig;
    }
    const graph = await write(`piece-${i}.graph`, pieceGraph(piece, { fps, size: this.#o.size, ...(ass ? { ass } : {}) }));
    const out = cache && key ? await cache.store.scratch() : path.join(workDir, `piece-${i}.mp4`);
    if (!cache) this.#scratch.push(out);
    try {
      const result = await runFfmpeg([...args, '-filter_complex_script', graph, '-map', '[v]', ...h264(fps, this.#preset, this.#crf), '-an', '-f', 'mp4', out], { env, ...(signal ? { signal } : {}) });
      if (result.frames !== null && result.frames !== piece.frames) {
        const shots = piece.sources.map((s) => `"${this.#o.timeline.shots[s.shot]!.id}"`).join(' into ');
        throw new Error(`the piece of shot ${shots} came out ${result.frames} frames where the timeline has ${piece.frames}: a segment is not as long as planned`);
      }
      this.encoded++;
      if (!cache || !key) return out;
      await cache.store.put(key, out, piece.frames, cache.room);
      const file = await cache.store.segment(key);
      if (!file) throw new Error('a piece left the parts cache as soon as it was put there (POST_CACHE_BYTES is too small)');
      return file;
    } catch (error) {
      await rm(out, { force: true });
      throw error;
    }
  }
}
