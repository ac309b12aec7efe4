/**
 * The camera stage: a move applied geometrically to each decoded base frame, as a crop window
 * that travels or scales with the normalised shot time τ ∈ [0,1]. Pans look through a window
 * zoomed by PAN_ZOOM so the frame never shows an edge; zooms scale by up to ZOOM.
 */
import type { CameraMove } from '../../shared/scene.js';
import { sampleWindow, type FloatImage } from './image.js';

const ZOOM = 1.35;
const PAN_ZOOM = 1.25;

/** The crop window at time τ: its top-left corner and size, in units of the frame. */
export function cameraWindow(move: CameraMove, tau: number): { x: number; y: number; w: number; h: number } {
  const t = Math.min(1, Math.max(0, tau));
  let scale = 1;
  let cx = 0.5;
  let cy = 0.5;
  const travel = (1 - 1 / PAN_ZOOM) / 2; // how far the centre may move each way
  switch (move) {
    case 'static':
      break;
    case 'zoom-in':
      scale = 1 + (ZOOM - 1) * t;
      break;
    case 'zoom-out':
      scale = ZOOM - (ZOOM - 1) * t;
      break;
    case 'pan-left':
      scale = PAN_ZOOM;
      cx = 0.5 + travel * (1 - 2 * t);
      break;
    case 'pan-right':
      scale = PAN_ZOOM;
      cx = 0.5 - travel * (1 - 2 * t);
      break;
    case 'pan-up':
      scale = PAN_ZOOM;
      cy = 0.5 + travel * (1 - 2 * t);
      break;
    case 'pan-down':
      scale = PAN_ZOOM;
      cy = 0.5 - travel * (1 - 2 * t);
      break;
  }
  const w = 1 / scale;
  return { x: cx - w / 2, y: cy - w / 2, w, h: w };
}

export function applyCamera(frame: FloatImage, move: CameraMove, tau: number): FloatImage {
  if (move === 'static') return frame;
  const win = cameraWindow(move, tau);
  return sampleWindow(frame, win.x, win.y, win.w, win.h, frame.width, frame.height);
}
