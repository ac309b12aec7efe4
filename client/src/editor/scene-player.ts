/**
 * "Play the whole scene": the shots' previews laid out on the render's own timeline
 * (shared/timeline.ts, in frames at the scene's fps: a crossfade or a slide overlaps two
 * shots by its length, a fade through black does not), with the transitions drawn between them,
 * each shot's caption over the picture the way the render burns it (bottom centre, inside the
 * title-safe area, wrapped), and the sound (scene-audio.ts): narration from the server's voice at
 * each shot's start, the music under it. A shot without a finished preview shows as a dark gap of
 * its duration. Reads the scene when play is pressed; nothing here writes the document.
 */
import type * as Y from 'yjs';
import { OVERLAPPING } from '../../../shared/post.js';
import { readScene } from '../../../shared/scene-doc.js';
import { planTimeline, type Placement, type Timeline } from '../../../shared/timeline.js';
import { assetUrl, bedUrl, narrationUrl } from '../lib/api.js';
import { h } from '../lib/dom.js';
import { setText } from '../lib/i18n.js';
import { isBed } from '../lib/post-doc.js';
import { everyFrame, type PreviewHub, type ShotPreview } from '../lib/previews.js';
import type { Signal } from '../lib/signal.js';
import { SceneAudio, type AudioPlan } from './scene-audio.js';

export interface ScenePlayerOptions {
  doc: Y.Doc;
  previews: PreviewHub;
  room: string;
  /** The page's token (narration and uploaded music are fetched with it). */
  token: Signal<string>;
}

interface Plan {
  timeline: Timeline;
  /** The finished preview of each placement, or null (a dark gap). */
  previews: (ShotPreview | null)[];
  /** Captions drawn over the picture (not when the scene turns them off). */
  captions: boolean;
  audio: AudioPlan;
}

export function createScenePlayer(options: ScenePlayerOptions): HTMLElement {
  const { doc, previews, room, token } = options;
  const canvas = h('canvas', { class: 'scene-canvas', aria: 'scenePlayerLabel', attrs: { width: 64, height: 36, role: 'img' } });
  const caption = h('div', { class: 'scene-caption', attrs: { 'aria-live': 'polite' } });
  caption.hidden = true;
  const stage = h('div', { class: 'scene-stage' }, canvas, caption);
  const status = h('span', { class: 'scene-status', attrs: { 'aria-live': 'polite' } });
  const button = h('button', { class: 'primary', t: 'playScene', attrs: { type: 'button', 'aria-pressed': 'false' } });
  const audio = new SceneAudio();
  let stop: (() => void) | null = null;

  const makePlan = (): Plan => {
    // The valid shots, as the render reads them (invalid ones are skipped there too).
    const { scene } = readScene(doc);
    const fps = scene.fps;
    const shown = scene.shots.map((shot) => {
      const preview = previews.get(shot.id);
      return preview.complete && preview.count > 0 ? preview : null;
    });
    const frames = scene.shots.map((shot, i) => {
      const preview = shown[i];
      return Math.max(1, Math.round(preview ? (preview.count / preview.fps) * fps : shot.duration * fps));
    });
    const timeline = planTimeline(scene, frames);
    const length = timeline.frames / fps;
    const spoken = timeline.shots.filter((p) => p.narration);
    const music = scene.music === 'none' ? null : { url: isBed(scene.music) ? bedUrl(scene.music) : assetUrl(room, scene.music, token.value), volume: scene.musicVolume, duck: scene.duck };
    return {
      timeline,
      previews: shown,
      captions: scene.captions !== 'off',
      audio: {
        length,
        music,
        narrations: spoken.map((p, i) => ({
          url: narrationUrl(room, p.id, token.value),
          at: p.start / fps,
          until: (spoken[i + 1]?.start ?? timeline.frames) / fps,
        })),
      },
    };
  };

  const showCaption = (text: string | null) => {
    if (caption.textContent !== (text ?? '')) caption.textContent = text ?? '';
    caption.hidden = !text;
  };

  const finish = () => {
    stop?.();
    stop = null;
    audio.stop();
    showCaption(null);
    setText(button, 'playScene');
    button.setAttribute('aria-pressed', 'false');
    status.textContent = '';
  };

  const play = () => {
    const plan = makePlan();
    const { timeline } = plan;
    if (timeline.shots.length === 0) return;
    setText(button, 'stopScene');
    button.setAttribute('aria-pressed', 'true');
    // The picture is as large as the largest preview (a frame of another size is scaled to it).
    const sized = plan.previews.filter((p): p is ShotPreview => !!p && p.width > 0);
    if (sized.length > 0) {
      canvas.width = Math.max(...sized.map((p) => p.width));
      canvas.height = Math.max(...sized.map((p) => p.height));
    }
    const startedAt = performance.now();
    audio.start(plan.audio, startedAt);
    let shown = -1;
    stop = everyFrame((now) => {
      // Fractional frames keep fades and slides smooth between the preview's frames.
      const at = ((now - startedAt) / 1000) * timeline.fps;
      if (at >= timeline.frames) {
        finish();
        return;
      }
      draw(canvas, plan, at);
      const owner = timeline.shots.findIndex((p) => at >= p.start && at < p.start + Math.max(p.shown, 1));
      showCaption(plan.captions && owner >= 0 ? timeline.shots[owner]!.caption : null);
      if (owner >= 0 && owner !== shown) {
        shown = owner;
        setText(status, 'playingShot', { n: owner + 1, total: timeline.shots.length });
      }
    });
  };

  button.addEventListener('click', () => (stop ? finish() : play()));
  window.addEventListener('pagehide', () => finish());
  return h(
    'section',
    { class: 'panel scene-player', attrs: { 'aria-labelledby': 'scene-player-heading' } },
    h('h2', { id: 'scene-player-heading', t: 'scenePreview' }),
    stage,
    h('div', { class: 'row' }, button, status),
  );
}

/** The picture at frame `at` (fractional) of the timeline. */
function draw(canvas: HTMLCanvasElement, plan: Plan, at: number): void {
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  const { shots } = plan.timeline;
  const { width, height } = canvas;
  ctx.globalAlpha = 1;
  ctx.fillStyle = '#000';
  ctx.fillRect(0, 0, width, height);
  // The newest shot that has started; during an overlap the one before it is still on screen.
  let i = -1;
  for (let k = 0; k < shots.length; k++) if (shots[k]!.start <= at) i = k;
  const current = shots[i];
  if (!current) return;
  const previous = shots[i - 1];
  const into = previous?.into;
  if (previous && into && OVERLAPPING.includes(into.type) && at < previous.start + previous.frames) {
    const p = Math.min(1, Math.max(0, (at - current.start) / into.frames));
    if (into.type === 'crossfade') {
      shot(ctx, plan, i - 1, at, 0, 1);
      shot(ctx, plan, i, at, 0, p);
    } else {
      // slide-left: the next shot comes in from the right and pushes this one out to the left.
      const sign = into.type === 'slide-left' ? -1 : 1;
      shot(ctx, plan, i - 1, at, sign * p * width, 1);
      shot(ctx, plan, i, at, sign * (p - 1) * width, 1);
    }
    return;
  }
  // Through black: out over the last half of the transition, in over the first half of the next shot.
  let alpha = 1;
  const local = at - current.start;
  if (current.into?.type === 'fade-black') alpha = Math.min(alpha, (current.frames - local) / (current.into.frames / 2));
  if (into?.type === 'fade-black') alpha = Math.min(alpha, local / (into.frames / 2));
  shot(ctx, plan, i, at, 0, Math.min(1, Math.max(0, alpha)));
}

/** Draws placement `i` as it is at frame `at`, moved by `x` pixels, at opacity `alpha`. */
function shot(ctx: CanvasRenderingContext2D, plan: Plan, i: number, at: number, x: number, alpha: number): void {
  const placement: Placement | undefined = plan.timeline.shots[i];
  const preview = plan.previews[i];
  if (!placement || !preview || alpha <= 0) return;
  const local = Math.max(0, Math.min(placement.frames - 1, at - placement.start));
  const index = Math.min(preview.count - 1, Math.floor((local * preview.fps) / plan.timeline.fps));
  const bitmap = preview.frame(index);
  if (!bitmap) return;
  ctx.globalAlpha = alpha;
  ctx.drawImage(bitmap, x, 0, ctx.canvas.width, ctx.canvas.height);
  ctx.globalAlpha = 1;
}
