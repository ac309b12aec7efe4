/**
 * Live previews on the client. Per shot, the frames of its newest revision (`rev`): frames of an
 * older rev are dropped on arrival, and once a frame of a newer rev is decoded the older frames are
 * released, so a stale preview never reappears after a newer one. While a rev streams in, players
 * show its newest frame; once it is complete (`preview:state` done), they loop it at its fps.
 */
import type { PreviewFrame, PreviewState } from '../../../shared/protocol.js';

export class ShotPreview {
  /** Newest rev this shot has heard of (states or frames). */
  rev = 0;
  state: PreviewState | null = null;
  /** Rev of `frames`. */
  frameRev = 0;
  frames: (ImageBitmap | undefined)[] = [];
  count = 0;
  fps = 16;
  width = 0;
  height = 0;
  /** `frames` hold every frame of their rev (the server said done). */
  complete = false;
  /** Index of the frame that arrived last, and when (performance.now()). */
  latest = -1;
  latestAt = 0;
  /** Bumped on every change; players redraw when it moves. */
  version = 0;

  constructor(readonly shot: string) {}

  hasFrames(): boolean {
    return this.latest >= 0;
  }

  /** The frame to show at `now` (ms): the newest while streaming, else the loop position. */
  frameAt(now: number, loopStart: number): ImageBitmap | undefined {
    if (!this.hasFrames()) return undefined;
    if (!this.complete || this.count <= 1) return this.frames[this.latest];
    const index = Math.floor(((now - loopStart) * this.fps) / 1000) % this.count;
    return this.frames[index] ?? this.frames[this.latest];
  }

  /** Whole-scene playback: frame `index` of the complete preview, if any. */
  frame(index: number): ImageBitmap | undefined {
    return this.complete ? this.frames[index] : undefined;
  }

  release(): void {
    for (const frame of this.frames) frame?.close();
    this.frames = [];
    this.latest = -1;
  }
}

type Listener = (preview: ShotPreview) => void;

export class PreviewHub {
  readonly #shots = new Map<string, ShotPreview>();
  readonly #listeners = new Set<Listener>();
  /** The shot whose frame arrived last: the overlay shows it. */
  latestShot: ShotPreview | null = null;

  get(shot: string): ShotPreview {
    let preview = this.#shots.get(shot);
    if (!preview) {
      preview = new ShotPreview(shot);
      this.#shots.set(shot, preview);
    }
    return preview;
  }

  onChange(listener: Listener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #changed(preview: ShotPreview): void {
    preview.version++;
    for (const listener of this.#listeners) listener(preview);
  }

  state(state: PreviewState): void {
    const preview = this.get(state.shot);
    if (state.rev < preview.rev) return;
    preview.rev = state.rev;
    preview.state = state;
    if (state.status === 'done' && state.rev === preview.frameRev) preview.complete = true;
    this.#changed(preview);
  }

  async frame(frame: PreviewFrame): Promise<void> {
    const preview = this.get(frame.shot);
    // Frames of an older rev than the one on screen are stale. (A newer rev that was only
    // announced, queued, is not: its frames may never come, e.g. when it is cancelled.)
    if (frame.rev < preview.frameRev) return;
    const bitmap = await decode(frame.data);
    if (!bitmap) return;
    // Decoding is async: a newer rev may have won meanwhile.
    if (frame.rev < preview.frameRev) {
      bitmap.close();
      return;
    }
    const newRev = frame.rev > preview.frameRev;
    if (newRev) {
      preview.release();
      preview.frameRev = frame.rev;
      preview.complete = preview.state?.status === 'done' && preview.state.rev === frame.rev;
    }
    preview.rev = Math.max(preview.rev, frame.rev);
    preview.count = frame.count;
    preview.fps = frame.fps;
    preview.width = frame.width;
    preview.height = frame.height;
    preview.frames[frame.index]?.close();
    preview.frames[frame.index] = bitmap;
    // Decodes finish out of order: the newest frame is the highest index of the rev.
    if (newRev || frame.index > preview.latest) preview.latest = frame.index;
    preview.latestAt = performance.now();
    this.latestShot = preview;
    this.#changed(preview);
  }

  /** Forgets shots no longer in the scene. */
  retain(ids: Set<string>): void {
    for (const [id, preview] of this.#shots) {
      if (ids.has(id)) continue;
      preview.release();
      this.#shots.delete(id);
      if (this.latestShot === preview) this.latestShot = null;
    }
  }
}

async function decode(data: ArrayBuffer | Uint8Array): Promise<ImageBitmap | null> {
  try {
    return await createImageBitmap(new Blob([data as BlobPart], { type: 'image/jpeg' }));
  } catch {
    // A frame that does not decode is skipped; the next one replaces it.
    return null;
  }
}

// ---- drawing ---------------------------------------------------------------------------------

type Tick = (now: number) => void;
const ticks = new Set<Tick>();
let scheduled = false;

function loop(now: number): void {
  for (const tick of ticks) tick(now);
  if (ticks.size > 0) requestAnimationFrame(loop);
  else scheduled = false;
}

/** Runs `tick` on every animation frame until the returned function is called. */
export function everyFrame(tick: Tick): () => void {
  ticks.add(tick);
  if (!scheduled) {
    scheduled = true;
    requestAnimationFrame(loop);
  }
  return () => ticks.delete(tick);
}

/** Draws `bitmap` on `canvas`, resizing the canvas to the frame. */
export function drawFrame(canvas: HTMLCanvasElement, bitmap: ImageBitmap): void {
  if (canvas.width !== bitmap.width || canvas.height !== bitmap.height) {
    canvas.width = bitmap.width;
    canvas.height = bitmap.height;
  }
  canvas.getContext('2d')?.drawImage(bitmap, 0, 0);
}

/**
 * Shows one shot's preview on a canvas: `source()` picks the shot each frame (a fixed one in the
 * editor, the most recently streamed one on the overlay). Returns a stop function.
 */
export function playPreview(canvas: HTMLCanvasElement, source: () => ShotPreview | null | undefined): () => void {
  let drawn: ImageBitmap | undefined;
  let loopStart = performance.now();
  let loopRev = -1;
  return everyFrame((now) => {
    const preview = source();
    if (!preview) return;
    if (preview.complete && loopRev !== preview.frameRev) {
      loopRev = preview.frameRev;
      loopStart = now;
    }
    const bitmap = preview.frameAt(now, loopStart);
    if (!bitmap || bitmap === drawn) return;
    drawn = bitmap;
    drawFrame(canvas, bitmap);
  });
}
