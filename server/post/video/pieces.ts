/**
 * The finished video as pieces that are encoded one by one and joined by stream copy, so that an
 * edit re-encodes only what it touches (a caption: the piece it is on; a transition: the pieces
 * of the two shots it joins) and a piece nothing is drawn on is the shot's cached segment itself.
 * Pure: plans, filter graphs and keys, no file is touched.
 *
 *     shot 0 | transition 0→1 | shot 1 | transition 1→2 | shot 2 …
 *
 *   - a shot piece: the shot's frames outside the overlaps of the transitions around it, faded in
 *     from and out to black by fade-black transitions, captions burned;
 *   - a transition piece (crossfade or slide over L frames): the last L frames of one shot and the
 *     first L of the next, mixed, with the caption of the incoming shot (a caption shows from its
 *     shot's start in the finished video):
 *       crossfade  B laid over A with an alpha fading in: 1/(L+1) … L/(L+1), every frame a mix;
 *       slides     A and B side by side (B to the right for slide-left, to the left for
 *                  slide-right) and a frame-wide window moving across by W/(L+1) a frame;
 *   - fade-black over L frames does not overlap: A's last ceil(L/2) frames fade to black (its last
 *     frame black), B's first floor(L/2) fade in (its first frame black).
 * Every piece is re-timed to frame n at n/fps (time base 1/fps), so libass and the encoder see
 * exact frame times and neither drops nor repeats a frame.
 */
import { createHash } from 'node:crypto';
import { OVERLAPPING, type TransitionType } from '../../../shared/post.js';
import type { Timeline, Transition } from '../../../shared/timeline.js';
import type { CaptionCue, CaptionLayout } from './captions.js';

/** Bump when what a piece looks like changes for the same inputs: old cached pieces are then unused. */
const PIECE_VERSION = 1;

/** Frames `from` (inclusive) to `to` (exclusive) of shot `shot`'s segment. */
export interface PieceSource {
  shot: number;
  from: number;
  to: number;
}

export type PieceOp =
  /** One shot's frames, the first `fadeIn` fading in from black, the last `fadeOut` out to black. */
  | { type: 'shot'; fadeIn: number; fadeOut: number }
  /** The tail of one shot into the head of the next. */
  | { type: Exclude<TransitionType, 'cut' | 'fade-black'>; frames: number };

export interface Piece {
  /** First frame of the finished video the piece is, and its length. */
  start: number;
  frames: number;
  /** One source for a shot piece; the outgoing then the incoming shot for a transition. */
  sources: PieceSource[];
  op: PieceOp;
  /** Captions burned on the piece, in frames from its start. */
  cues: CaptionCue[];
  /** The whole segment with nothing on it: joined as it is, never encoded. */
  copy: boolean;
}

const isOverlap = (t: Transition | null | undefined): t is Transition & { type: Exclude<TransitionType, 'cut' | 'fade-black'> } => !!t && OVERLAPPING.includes(t.type);

/** The pieces of `timeline`, in order; `cues` are the captions to burn (none: nothing burned). */
export function planPieces(timeline: Timeline, cues: readonly CaptionCue[]): Piece[] {
  const pieces: Piece[] = [];
  const add = (start: number, sources: PieceSource[], op: PieceOp) => {
    const frames = sources[0]!.to - sources[0]!.from;
    if (frames <= 0) return;
    const end = start + frames;
    const local = cues.filter((c) => c.start < end && c.end > start).map((c) => ({ ...c, start: Math.max(c.start, start) - start, end: Math.min(c.end, end) - start }));
    const [only] = sources;
    const copy = op.type === 'shot' && op.fadeIn === 0 && op.fadeOut === 0 && local.length === 0 && only!.from === 0 && only!.to === timeline.shots[only!.shot]!.frames;
    pieces.push({ start, frames, sources, op, cues: local, copy });
  };
  timeline.shots.forEach((shot, i) => {
    const before = timeline.shots[i - 1]?.into ?? null;
    const after = shot.into;
    const head = isOverlap(before) ? before.frames : 0;
    const tail = isOverlap(after) ? after.frames : 0;
    const fadeIn = before?.type === 'fade-black' && before.frames >= 2 ? Math.floor(before.frames / 2) : 0;
    const fadeOut = after?.type === 'fade-black' ? Math.ceil(after.frames / 2) : 0;
    add(shot.start + head, [{ shot: i, from: head, to: shot.frames - tail }], { type: 'shot', fadeIn, fadeOut });
    if (isOverlap(after) && tail > 0) {
      add(
        shot.start + shot.frames - tail,
        [
          { shot: i, from: shot.frames - tail, to: shot.frames },
          { shot: i + 1, from: 0, to: tail },
        ],
        { type: after.type, frames: tail },
      );
    }
  });
  return pieces;
}

/**
 * An option value for a filter inside a filter graph: escaped once for the filter's option parser
 * (`\` `'` `:`) and once for the graph's (`\` `'` `[` `]` `,` `;`).
 */
export const filterValue = (value: string): string => value.replace(/[\\':]/g, '\\$&').replace(/[\\'[\],;]/g, '\\$&');

export interface PieceGraphOptions {
  fps: number;
  size: readonly [width: number, height: number];
  /** Burn this ASS script (the piece's cues) with libass, fonts from `fontsDir`. */
  ass?: { file: string; fontsDir: string };
}

/** Filter graph (for -filter_complex_script) reading source k of `piece` from input k, writing `[v]`. */
export function pieceGraph(piece: Piece, options: PieceGraphOptions): string {
  const { fps } = options;
  const [width, height] = options.size;
  const retime = `settb=1/${fps},setpts=N`;
  const cut = (k: number) => `[${k}:v]${retime},trim=start_frame=${piece.sources[k]!.from}:end_frame=${piece.sources[k]!.to},setpts=PTS-STARTPTS`;
  const chains: string[] = [];
  const { op } = piece;
  if (op.type === 'shot') {
    const filters = [cut(0)];
    if (op.fadeIn > 0) filters.push(`fade=t=in:s=0:n=${op.fadeIn}`);
    if (op.fadeOut > 0) filters.push(`fade=t=out:s=${Math.max(0, piece.frames - op.fadeOut - 1)}:n=${op.fadeOut}`);
    chains.push(`${filters.join(',')}[p]`);
  } else if (op.type === 'crossfade') {
    const n = op.frames;
    // tpad + trim: the alpha of frame k is (k+1)/(n+1), not k/n (no overlapped frame is A alone).
    chains.push(`${cut(0)}[a]`);
    chains.push(`${cut(1)},format=yuva420p,tpad=start=1:start_mode=clone,fade=t=in:s=0:n=${n + 1}:alpha=1,trim=start_frame=1,setpts=PTS-STARTPTS[b]`);
    chains.push(`[a][b]overlay=x=0:y=0:shortest=1:format=yuv420,format=yuv420p[p]`);
  } else {
    const n = op.frames;
    chains.push(`${cut(0)}[a]`, `${cut(1)}[b]`);
    const [left, right, x] = op.type === 'slide-left' ? ['[a]', '[b]', `${width}*(n+1)/${n + 1}`] : ['[b]', '[a]', `${width}*(${n}-n)/${n + 1}`];
    chains.push(`${left}${right}hstack=inputs=2,crop=w=${width}:h=${height}:x=${x}:y=0[p]`);
  }
  const burn = options.ass ? `,ass=filename=${filterValue(options.ass.file)}:fontsdir=${filterValue(options.ass.fontsDir)}` : '';
  chains.push(`[p]${retime}${burn},format=yuv420p[v]`);
  return `${chains.join(';\n')}\n`;
}

export interface PieceKeyContext {
  /** The shot cache's key of every shot (what decides its frames). */
  shotKeys: readonly string[];
  fps: number;
  size: readonly [number, number];
  preset: string;
  crf: number;
  layout: CaptionLayout;
  /** What decides the glyphs (the font folder). */
  font: string;
}

/** Everything that decides a piece's pixels and packets, hashed: its key in the parts cache. */
export function pieceKey(piece: Piece, ctx: PieceKeyContext): string {
  const sources = piece.sources.map((s) => ({ shot: ctx.shotKeys[s.shot], from: s.from, to: s.to }));
  const cues = piece.cues.map((c) => ({ start: c.start, end: c.end, lines: c.lines, size: c.size }));
  const what = { v: PIECE_VERSION, fps: ctx.fps, size: ctx.size, preset: ctx.preset, crf: ctx.crf, layout: ctx.layout, font: ctx.font, op: piece.op, sources, cues };
  return `piece-${createHash('sha256').update(JSON.stringify(what)).digest('hex').slice(0, 40)}`;
}
