/**
 * Where every shot lands in the finished video, in frames at the scene's fps (whole frames, so
 * video, captions and audio agree to the frame):
 *   - a crossfade or a slide into the next shot overlaps the two by its duration (the video is
 *     that much shorter); a fade through black does not overlap (the first shot fades out over
 *     the first half, the next fades in over the second); a cut is a cut;
 *   - an overlap is shortened so that no shot is overlapped for more than its own length (half of
 *     it on each side at most), and the render says so;
 *   - a shot's caption shows from its start until the next shot starts (never two at once).
 */
import { OVERLAPPING, type TransitionType } from './post.js';
import type { Scene } from './scene.js';

export interface Transition {
  type: TransitionType;
  /** Frames the transition lasts (overlap frames for crossfade and slides; fade out + fade in for fade-black). */
  frames: number;
}

export interface Placement {
  id: string;
  /** Frames of the shot's own segment. */
  frames: number;
  /** First frame of the shot in the finished video. */
  start: number;
  /** Frames the shot is the caption's owner for: from `start` to the next shot's start (or its end). */
  shown: number;
  caption: string | null;
  narration: string | null;
  /** Into the next shot (null for the last shot, or a cut). */
  into: Transition | null;
}

export interface Timeline {
  fps: number;
  shots: Placement[];
  /** Frames of the finished video. */
  frames: number;
  /** Said in render progress and kept on the record. */
  warnings: string[];
}

const text = (value: string | undefined): string | null => (value && value.trim() ? value.trim() : null);

/** `frames[i]`: the frame count of shot i's segment (from the shot cache or the engine). */
export function planTimeline(scene: Pick<Scene, 'fps' | 'shots'>, frames: readonly number[]): Timeline {
  const { fps } = scene;
  const warnings: string[] = [];
  const into: (Transition | null)[] = scene.shots.map((shot, i) => {
    const next = scene.shots[i + 1];
    const t = shot.transition;
    if (!next || !t || t.type === 'cut' || t.duration <= 0) return null;
    const wanted = Math.round(t.duration * fps);
    // At most half of each shot it joins, so a shot between two transitions keeps its middle.
    const most = Math.floor(Math.min(frames[i]!, frames[i + 1]!) / 2);
    const length = Math.max(0, Math.min(wanted, most));
    if (length < wanted) warnings.push(`The ${t.type} from shot "${shot.id}" into "${next.id}" was shortened to ${(length / fps).toFixed(2)} s (at most half of each shot)`);
    return length > 0 ? { type: t.type, frames: length } : null;
  });
  const shots: Placement[] = [];
  let start = 0;
  scene.shots.forEach((shot, i) => {
    const overlap = into[i] && OVERLAPPING.includes(into[i]!.type) ? into[i]!.frames : 0;
    shots.push({ id: shot.id, frames: frames[i]!, start, shown: frames[i]! - overlap, caption: text(shot.caption), narration: text(shot.narration), into: into[i] ?? null });
    start += frames[i]! - overlap;
  });
  const total = shots.length === 0 ? 0 : shots.at(-1)!.start + shots.at(-1)!.frames;
  return { fps, shots, frames: total, warnings };
}

/** Seconds of frame `frame` at the timeline's fps. */
export const secondsAt = (timeline: Pick<Timeline, 'fps'>, frame: number): number => frame / timeline.fps;
