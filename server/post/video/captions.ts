/**
 * Captions of a timeline as cues, and those cues as an ASS script (burned by libass), WebVTT (the
 * captions.vtt route) and SRT (read by ffmpeg into the soft mov_text track). Pure functions.
 *
 * One layout for all three, so they agree to the frame and to the line break:
 *   - a cue shows from its shot's `start` for `shown` frames (timeline.ts: never two at once);
 *   - text is wrapped to the safe area (90% of the width): English at spaces, Chinese between any
 *     two characters, except that closing punctuation (，。！？、…) never starts a line and
 *     opening brackets (（《「“) never end one; a word longer than a line is cut;
 *   - at most 2 lines: a longer caption is first set smaller (44 px down to 36 px at 720p), and
 *     if it still needs more than 2 lines it is split into timed parts of 2 lines each, the
 *     shot's frames shared between parts by their length. (Shrinking further makes it unreadable;
 *     splitting alone would flash short parts for medium-length captions.)
 *   - two lines are balanced (the narrowest width that still gives two lines), not greedy.
 * Widths are estimated from a table measured on Noto Sans SC Medium with libass (units of the
 * ASS font size, which libass maps to the font's line height: a Han character is 0.69 of it).
 */
import { isMostlyChinese } from '../../../shared/post.js';
import type { Timeline } from '../../../shared/timeline.js';

/** Family name of the bundled font (fonts.ts finds its folder). */
export const CAPTION_FONT = 'Noto Sans SC Medium';

export interface CaptionLayout {
  /** Frame (and ASS PlayRes) size in pixels. */
  width: number;
  height: number;
  /** Font size in ASS units (pixels of line height); default 44 at 720p (6% of the height). */
  size: number;
  /** Smallest size a long caption is shrunk to before it is split; default 36 at 720p. */
  minSize: number;
  /** Left/right and bottom safe margins in pixels; default 5% of the width and of the height. */
  marginX: number;
  marginV: number;
  /** Lines per cue (default 2). */
  maxLines: number;
}

export function captionLayout(width = 1280, height = 720, overrides: Partial<CaptionLayout> = {}): CaptionLayout {
  return {
    width,
    height,
    size: Math.round((height * 44) / 720),
    minSize: Math.round((height * 36) / 720),
    marginX: Math.round(width * 0.05),
    marginV: Math.round(height * 0.05),
    maxLines: 2,
    ...overrides,
  };
}

export interface CaptionCue {
  /** Shot the caption belongs to. */
  shot: string;
  /** First frame shown, and the frame after the last one (frames of the finished video). */
  start: number;
  end: number;
  /** Lines as written (not escaped). */
  lines: string[];
  /** ASS font size of the cue. */
  size: number;
}

// ---------------------------------------------------------------------------------------------
// Measuring and wrapping

const WIDE = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}\p{Extended_Pictographic}\u2E80-\u2FFF\u3000-\u303F\u3190-\u31FF\uFE30-\uFE4F\uFF00-\uFF60\uFFE0-\uFFE6]/u;
/** May not start a line (closing punctuation, small kana, Latin closers after CJK). */
const NO_START = new Set([...'，。、．：；？！）］｝〕〉》」』】〙〗〟’”｠»…‥・ー～〜ヽヾぁぃぅぇぉっゃゅょゎァィゥェォッャュョヮヵヶ々,.!?;:)]}%']);
/** May not end a line (opening brackets). */
const NO_END = new Set([...'（［｛〔〈《「『【〘〖〝‘“｟«([{']);
const NARROW = new Set([...'iljtfrI.,;:!|\'`"()[]{}-']);
const BROAD = new Set([...'mwMW@%&']);
const SPACE = 0.16;

/** Estimated advance of one grapheme in units of the ASS font size (slightly generous). */
function advance(g: string): number {
  if (WIDE.test(g)) return 0.7;
  if (NARROW.has(g)) return 0.25;
  if (BROAD.has(g)) return 0.66;
  if (/^[A-Z]$/.test(g)) return 0.48;
  if (/^[a-z0-9]$/.test(g)) return 0.41;
  return 0.46;
}

const segmenter = new Intl.Segmenter('und', { granularity: 'grapheme' });
const graphemes = (text: string): string[] => Array.from(segmenter.segment(text), (s) => s.segment);

interface Unit {
  text: string;
  width: number;
  /** A space separated it from the unit before (a line break there drops the space). */
  spaceBefore: boolean;
}

/** Control characters and line breaks become plain spaces: a caption's lines are ours to choose. */
export const normalizeCaption = (text: string): string =>
  text
    .replace(/[\u0000-\u001F\u007F\u0085\u2028\u2029]/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();

/** Unbreakable pieces: a Latin word (with its punctuation), one CJK character (with its punctuation). */
function units(text: string): Unit[] {
  const out: Unit[] = [];
  let space = false;
  for (const g of graphemes(text)) {
    if (g === ' ') {
      space = out.length > 0;
      continue;
    }
    const last = out.at(-1);
    const lastChar = last ? graphemes(last.text).at(-1)! : '';
    if (last && space && NO_START.has(g)) {
      // "word !": keep the space, but no break before the mark.
      last.text += ` ${g}`;
      last.width += SPACE + advance(g);
    } else if (last && !space && (NO_START.has(g) || NO_END.has(lastChar) || (!WIDE.test(g) && !WIDE.test(lastChar)))) {
      last.text += g;
      last.width += advance(g);
    } else {
      out.push({ text: g, width: advance(g), spaceBefore: space });
    }
    space = false;
  }
  return out;
}

/** Greedy lines no wider than `max` (font-size units); a unit wider than a line is cut. */
function greedy(list: Unit[], max: number): Unit[][] {
  const lines: Unit[][] = [];
  let line: Unit[] = [];
  let width = 0;
  const push = (unit: Unit) => {
    const gap = line.length > 0 && unit.spaceBefore ? SPACE : 0;
    if (line.length > 0 && width + gap + unit.width > max) {
      lines.push(line);
      line = [];
      width = 0;
      return push(unit);
    }
    if (line.length === 0 && unit.width > max) {
      // Cut a too-long word grapheme by grapheme.
      let piece: Unit = { text: '', width: 0, spaceBefore: unit.spaceBefore };
      for (const g of graphemes(unit.text)) {
        if (piece.text && piece.width + advance(g) > max) {
          lines.push([piece]);
          piece = { text: '', width: 0, spaceBefore: false };
        }
        piece.text += g;
        piece.width += advance(g);
      }
      line = [piece];
      width = piece.width;
      return;
    }
    line.push(unit);
    width += gap + unit.width;
  };
  for (const unit of list) push(unit);
  if (line.length > 0) lines.push(line);
  return lines;
}

const lineText = (line: Unit[]): string => line.map((u, i) => (i > 0 && u.spaceBefore ? ' ' : '') + u.text).join('');
const totalWidth = (list: Unit[]): number => list.reduce((sum, u, i) => sum + u.width + (i > 0 && u.spaceBefore ? SPACE : 0), 0);

/** The same number of lines as greedy wrapping gives, as even in width as they can be. */
function balanced(list: Unit[], max: number): Unit[][] {
  const lines = greedy(list, max);
  if (lines.length < 2) return lines;
  let lo = Math.min(max, Math.max(totalWidth(list) / lines.length, ...list.map((u) => u.width)));
  let hi = max;
  if (greedy(list, lo).length <= lines.length) return greedy(list, lo);
  for (let i = 0; i < 24; i++) {
    const mid = (lo + hi) / 2;
    if (greedy(list, mid).length <= lines.length) hi = mid;
    else lo = mid;
  }
  return greedy(list, hi);
}

/** `count` runs of units of about equal width, each fitting `maxLines` lines (else pairs of greedy lines). */
function split(list: Unit[], count: number, max: number, maxLines: number): Unit[][] {
  const target = totalWidth(list) / count;
  const parts: Unit[][] = [[]];
  let width = 0;
  for (const unit of list) {
    if (width >= target * parts.length && parts.length < count) parts.push([]);
    parts.at(-1)!.push(unit);
    width += unit.width + (unit.spaceBefore ? SPACE : 0);
  }
  if (parts.every((part) => greedy(part, max).length <= maxLines)) return parts;
  const lines = greedy(list, max);
  return Array.from({ length: Math.ceil(lines.length / maxLines) }, (_, i) => lines.slice(i * maxLines, (i + 1) * maxLines).flat());
}

export interface WrappedCaption {
  /** ASS font size chosen. */
  size: number;
  /** One or more parts (shown one after another), each of at most `maxLines` lines. */
  parts: string[][];
}

/** Lines (and parts) of one caption in `layout` (see the file's header for the rules). */
export function wrapCaption(text: string, layout: CaptionLayout = captionLayout()): WrappedCaption {
  const list = units(normalizeCaption(text));
  if (list.length === 0) return { size: layout.size, parts: [] };
  const room = layout.width - 2 * layout.marginX;
  for (let size = layout.size; ; size -= 2) {
    const lines = greedy(list, room / size);
    if (lines.length <= layout.maxLines) return { size, parts: [balanced(list, room / size).map(lineText)] };
    if (size - 2 < layout.minSize) {
      // Too long even when smaller: timed parts of about equal length, each balanced again.
      return { size, parts: split(list, Math.ceil(lines.length / layout.maxLines), room / size, layout.maxLines).map((part) => balanced(part, room / size).map(lineText)) };
    }
  }
}

/** The cues of a timeline: one per captioned shot, or several when a caption is split in parts. */
export function captionCues(timeline: Timeline, layout: CaptionLayout = captionLayout()): CaptionCue[] {
  const cues: CaptionCue[] = [];
  for (const shot of timeline.shots) {
    if (!shot.caption || shot.shown <= 0) continue;
    const { size, parts: wrapped } = wrapCaption(shot.caption, layout);
    // A part needs a frame at least: merge the last parts when the shot is too short for them.
    const parts = wrapped.slice(0, Math.max(1, shot.shown));
    if (parts.length < wrapped.length) parts[parts.length - 1] = [...parts.at(-1)!, ...wrapped.slice(parts.length).flat()];
    const weight = parts.map((lines) => graphemes(lines.join('')).length);
    const sum = weight.reduce((a, b) => a + b, 0);
    let done = 0;
    let start = shot.start;
    parts.forEach((lines, i) => {
      done += weight[i]!;
      const left = parts.length - 1 - i;
      const end = i === parts.length - 1 ? shot.start + shot.shown : Math.min(shot.start + shot.shown - left, Math.max(start + 1, shot.start + Math.round((shot.shown * done) / sum)));
      cues.push({ shot: shot.id, start, end, lines, size });
      start = end;
    });
  }
  return cues;
}

/** MP4 language of the caption track: ISO 639-2/B, as ffmpeg's mov muxer stores it. */
export function captionLanguage(timeline: Timeline): 'eng' | 'chi' | null {
  const text = timeline.shots.map((s) => s.caption ?? '').join(' ');
  if (!text.trim()) return null;
  return isMostlyChinese(text) ? 'chi' : 'eng';
}

// ---------------------------------------------------------------------------------------------
// Formats

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** hh:mm:ss.mmm (WebVTT) or hh:mm:ss,mmm (SRT) of a frame, to the millisecond. */
function clock(frame: number, fps: number, separator: '.' | ','): string {
  const ms = Math.round((frame * 1000) / fps);
  return `${pad(Math.floor(ms / 3_600_000))}:${pad(Math.floor(ms / 60_000) % 60)}:${pad(Math.floor(ms / 1000) % 60)}${separator}${pad(ms % 1000, 3)}`;
}

/**
 * h:mm:ss.cc for ASS. ASS has centiseconds, coarser than a frame can need, and libass shows an
 * event at video time t when start <= t < end: a cue edge is put halfway between the frame before
 * and the frame itself, so rounding never moves it onto a frame (fps <= 50).
 */
function assClock(frame: number, fps: number): string {
  const cs = frame <= 0 ? 0 : Math.round(((frame - 0.5) * 100) / fps);
  return `${Math.floor(cs / 360_000)}:${pad(Math.floor(cs / 6000) % 60)}:${pad(Math.floor(cs / 100) % 60)}.${pad(cs % 100)}`;
}

/**
 * Text for an ASS event: `{` and `}` are escaped (libass reads `\{` `\}` as the characters, so no
 * override tag can be written), and a backslash that would form `\N`, `\n` or `\h` becomes a
 * full-width one (ASS has no escape for the backslash itself).
 */
export const escapeAss = (text: string): string => text.replace(/\\(?=[Nnh])/g, '\uFF3C').replace(/[{}]/g, '\\$&');

/** WebVTT cue text: `&`, `<` and `>` as character references (so `-->` and tags cannot occur). */
export const escapeVtt = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * SRT cue text as ffmpeg's subrip decoder reads it into mov_text: it takes `<b>`-like tags and
 * `{\…}` blocks as markup and `\N` as a line break, and decodes no character references. A word
 * joiner (U+2060, invisible and zero-width) after each `<`, `{` and `\` keeps them text.
 */
export const escapeSrt = (text: string): string => text.replace(/[<{\\]/g, '$&\u2060');

export interface AssOptions {
  layout?: CaptionLayout;
  /** Font family named in the style (default CAPTION_FONT). */
  font?: string;
}

/** An ASS script (PlayRes = the layout's size) with every cue of the timeline, bottom centre. */
export function toAss(timeline: Timeline, options: AssOptions = {}): string {
  return assScript(captionCues(timeline, options.layout ?? captionLayout()), timeline.fps, options);
}

/** An ASS script of `cues` (frames at `fps`), bottom centre. */
export function assScript(cues: readonly CaptionCue[], fps: number, options: AssOptions = {}): string {
  const layout = options.layout ?? captionLayout();
  const font = (options.font ?? CAPTION_FONT).replace(/,/g, ' ');
  const outline = Math.max(1, Math.round((layout.size / 44) * 25) / 10);
  const shadow = Math.max(0.5, Math.round((layout.size / 44) * 10) / 10);
  const head = [
    '[Script Info]',
    '; scenecast captions',
    'ScriptType: v4.00+',
    `PlayResX: ${layout.width}`,
    `PlayResY: ${layout.height}`,
    // Our own line breaks (\N) only; libass still wraps at spaces if a line came out too wide.
    'WrapStyle: 0',
    'ScaledBorderAndShadow: yes',
    '',
    '[V4+ Styles]',
    'Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, Alignment, MarginL, MarginR, MarginV, Encoding',
    // White text, a near-black outline and a soft half-transparent shadow; bottom centre (2).
    `Style: Caption,${font},${layout.size},&H00FFFFFF,&H00FFFFFF,&H00101010,&H80000000,0,0,0,0,100,100,0,0,1,${outline},${shadow},2,${layout.marginX},${layout.marginX},${layout.marginV},1`,
    '',
    '[Events]',
    'Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text',
  ];
  const events = cues.map((cue) => {
    const size = cue.size === layout.size ? '' : `{\\fs${cue.size}}`;
    return `Dialogue: 0,${assClock(cue.start, fps)},${assClock(cue.end, fps)},Caption,,0,0,0,,${size}${cue.lines.map(escapeAss).join('\\N')}`;
  });
  return `${[...head, ...events].join('\n')}\n`;
}

/** WebVTT of the timeline's cues (times to the millisecond, hh:mm:ss.mmm). */
export function toWebVtt(timeline: Timeline, layout: CaptionLayout = captionLayout()): string {
  const cues = captionCues(timeline, layout).map((cue) => `${clock(cue.start, timeline.fps, '.')} --> ${clock(cue.end, timeline.fps, '.')}\n${cue.lines.map(escapeVtt).join('\n')}\n`);
  return ['WEBVTT\n', ...cues].join('\n');
}

/** SRT of the timeline's cues (for the mov_text track; see escapeSrt). */
export function toSrt(timeline: Timeline, layout: CaptionLayout = captionLayout()): string {
  return captionCues(timeline, layout)
    .map((cue, i) => `${i + 1}\n${clock(cue.start, timeline.fps, ',')} --> ${clock(cue.end, timeline.fps, ',')}\n${cue.lines.map(escapeSrt).join('\n')}\n`)
    .join('\n');
}
