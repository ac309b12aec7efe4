/**
 * The ffmpeg filter graph that lays the shots of a timeline end to end with their transitions,
 * frame-exactly, on the decoded frames (the static ffmpeg predates `xfade`). Pure: text only.
 *
 * Shots joined by cuts are read as one clip (one concat-demuxer input, nothing to do between them);
 * clips are cut into pieces by frame number and the pieces concatenated:
 *
 *     clip 0 body | transition 0→1 | clip 1 body | transition 1→2 | …
 *
 *   - crossfade over L frames: B's first L frames laid over A's last L with an alpha fading in
 *     (1/(L+1) … L/(L+1): every overlapped frame is a mix, then B alone);
 *   - slide-left / slide-right over L frames: A's last L and B's first L side by side (B to the
 *     right for slide-left, to the left for slide-right) and a 1280-wide window moving across them
 *     by W/(L+1) a frame: B pushes A out;
 *   - fade-black over L frames, no overlap: A's last ceil(L/2) frames fade to black (its last frame
 *     is black), B's first floor(L/2) fade in from black (its first frame is black).
 * Every clip and the joined result are re-timed to frame n at n/fps (time base 1/fps), so a frame's
 * time is exact for libass and the encoder neither drops nor repeats a frame.
 */
import { OVERLAPPING } from '../../../shared/post.js';
import type { Timeline, Transition } from '../../../shared/timeline.js';

/** Shots joined by cuts, read as one input. */
export interface Clip {
  /** Segment files in order (one: read directly; several: through a concat list). */
  segments: string[];
  /** Frames of the clip (the sum of its shots' frames). */
  frames: number;
  /** Transition into the next clip (never a cut; null for the last clip). */
  into: Transition | null;
}

const isOverlap = (t: Transition | null | undefined): t is Transition => !!t && OVERLAPPING.includes(t.type);

/** The clips of a timeline whose shot i is `segments[i]`. */
export function clipsOf(timeline: Timeline, segments: readonly string[]): Clip[] {
  if (segments.length !== timeline.shots.length) throw new Error(`${segments.length} segments for ${timeline.shots.length} shots`);
  const clips: Clip[] = [];
  let current: Clip | null = null;
  timeline.shots.forEach((shot, i) => {
    current ??= { segments: [], frames: 0, into: null };
    current.segments.push(segments[i]!);
    current.frames += shot.frames;
    if (shot.into && shot.into.type !== 'cut' && shot.into.frames > 0) current.into = shot.into;
    if (current.into || i === timeline.shots.length - 1) {
      clips.push(current);
      current = null;
    }
  });
  return clips;
}

/**
 * An option value for a filter inside a filter graph: escaped once for the filter's option parser
 * (`\` `'` `:`) and once for the graph's (`\` `'` `[` `]` `,` `;`).
 */
export const filterValue = (value: string): string => value.replace(/[\\':]/g, '\\$&').replace(/[\\'[\],;]/g, '\\$&');

export interface GraphOptions {
  fps: number;
  size: readonly [width: number, height: number];
  /** Burn this ASS script with libass, fonts from `fontsDir`. */
  ass?: { file: string; fontsDir: string };
}

/** Filter graph (for -filter_complex_script) reading clip i from input i, writing `[v]`. */
export function videoGraph(clips: readonly Clip[], options: GraphOptions): string {
  const { fps } = options;
  const [width, height] = options.size;
  const retime = `settb=1/${fps},setpts=N`;
  const chains: string[] = [];
  const order: string[] = [];
  clips.forEach((clip, i) => {
    const before = clips[i - 1]?.into ?? null;
    const after = clip.into;
    const head = isOverlap(before) ? before.frames : 0;
    const tail = isOverlap(after) ? after.frames : 0;
    const filters = [retime];
    if (before?.type === 'fade-black' && before.frames >= 2) filters.push(`fade=t=in:s=0:n=${Math.floor(before.frames / 2)}`);
    if (after?.type === 'fade-black') {
      const out = Math.ceil(after.frames / 2);
      filters.push(`fade=t=out:s=${clip.frames - out - 1}:n=${out}`);
    }
    const pieces: [name: string, from: number, to: number][] = [];
    if (head > 0) pieces.push(['head', 0, head]);
    if (clip.frames - head - tail > 0) pieces.push(['body', head, clip.frames - tail]);
    if (tail > 0) pieces.push(['tail', clip.frames - tail, clip.frames]);
    const split = pieces.length > 1 ? `,split=${pieces.length}` : '';
    chains.push(`[${i}:v]${filters.join(',')}${split}${pieces.map(([name]) => `[c${i}${name}]`).join('')}`);
    for (const [name, from, to] of pieces) chains.push(`[c${i}${name}]trim=start_frame=${from}:end_frame=${to},setpts=PTS-STARTPTS[p${i}${name}]`);
    if (pieces.some(([name]) => name === 'body')) order.push(`[p${i}body]`);
    if (!isOverlap(after)) return;
    const a = `[p${i}tail]`;
    const b = `[p${i + 1}head]`;
    const n = after.frames;
    if (after.type === 'crossfade') {
      // tpad + trim: the alpha of frame k is (k+1)/(n+1), not k/n (no overlapped frame is A alone).
      chains.push(`${b}format=yuva420p,tpad=start=1:start_mode=clone,fade=t=in:s=0:n=${n + 1}:alpha=1,trim=start_frame=1,setpts=PTS-STARTPTS[f${i}]`);
      chains.push(`${a}[f${i}]overlay=x=0:y=0:shortest=1:format=yuv420,format=yuv420p[t${i}]`);
    } else {
      const [left, right, x] = after.type === 'slide-left' ? [a, b, `${width}*(n+1)/${n + 1}`] : [b, a, `${width}*(${n}-n)/${n + 1}`];
      chains.push(`${left}${right}hstack=inputs=2,crop=w=${width}:h=${height}:x=${x}:y=0[t${i}]`);
    }
    order.push(`[t${i}]`);
  });
  const burn = options.ass ? `,ass=filename=${filterValue(options.ass.file)}:fontsdir=${filterValue(options.ass.fontsDir)}` : '';
  const joined = order.length > 1 ? `${order.join('')}concat=n=${order.length}:v=1:a=0,${retime}` : `${order[0]}${retime}`;
  chains.push(`${joined}${burn},format=yuv420p[v]`);
  return `${chains.join(';\n')}\n`;
}
