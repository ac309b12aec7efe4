/**
 * "Play the whole scene": the complete preview of each shot in scene order, each for its own
 * number of frames at its fps; a shot without a preview yet shows as a dark gap of its duration.
 */
import type * as Y from 'yjs';
import { DEFAULTS } from '../../../shared/scene.js';
import { metaOf, shotsOf } from '../../../shared/scene-doc.js';
import { h } from '../lib/dom.js';
import { setText } from '../lib/i18n.js';
import { drawFrame, everyFrame, type PreviewHub } from '../lib/previews.js';

interface Step {
  shot: string;
  frames: number;
  fps: number;
}

export function createScenePlayer(doc: Y.Doc, previews: PreviewHub): HTMLElement {
  const canvas = h('canvas', { class: 'scene-canvas', aria: 'scenePlayerLabel', attrs: { width: 64, height: 36, role: 'img' } });
  const status = h('span', { class: 'scene-status', attrs: { 'aria-live': 'polite' } });
  const button = h('button', { class: 'primary', t: 'playScene', attrs: { type: 'button', 'aria-pressed': 'false' } });
  let stop: (() => void) | null = null;

  const steps = (): Step[] => {
    const fps = Number(metaOf(doc).get('fps') ?? DEFAULTS.fps);
    return shotsOf(doc)
      .toArray()
      .map((map) => {
        const shot = String(map.get('id') ?? '');
        const preview = previews.get(shot);
        const duration = Number(map.get('duration') ?? DEFAULTS.duration);
        return preview.complete && preview.count > 0
          ? { shot, frames: preview.count, fps: preview.fps }
          : { shot, frames: Math.max(1, Math.round(duration * fps)), fps };
      });
  };

  const finish = () => {
    stop?.();
    stop = null;
    setText(button, 'playScene');
    button.setAttribute('aria-pressed', 'false');
    status.textContent = '';
  };

  const play = () => {
    const plan = steps();
    if (plan.length === 0) return;
    setText(button, 'stopScene');
    button.setAttribute('aria-pressed', 'true');
    let step = 0;
    let stepStart = performance.now();
    let shown = -1;
    stop = everyFrame((now) => {
      let current = plan[step];
      let index = current ? Math.floor(((now - stepStart) * current.fps) / 1000) : 0;
      while (current && index >= current.frames) {
        stepStart += (current.frames * 1000) / current.fps;
        step++;
        current = plan[step];
        index = current ? Math.floor(((now - stepStart) * current.fps) / 1000) : 0;
      }
      if (!current) {
        finish();
        return;
      }
      if (shown !== step) {
        shown = step;
        setText(status, 'playingShot', { n: step + 1, total: plan.length });
      }
      const bitmap = previews.get(current.shot).frame(index);
      if (bitmap) drawFrame(canvas, bitmap);
      else canvas.getContext('2d')?.clearRect(0, 0, canvas.width, canvas.height);
    });
  };

  button.addEventListener('click', () => (stop ? finish() : play()));
  return h('section', { class: 'panel scene-player', attrs: { 'aria-labelledby': 'scene-player-heading' } }, h('h2', { id: 'scene-player-heading', t: 'scenePreview' }), canvas, h('div', { class: 'row' }, button, status));
}
