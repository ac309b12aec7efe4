/**
 * Plays a room's live stream (`live:frame`) on a canvas at a steady pace: frames are decoded as
 * they arrive (createImageBitmap) and drawn from a small jitter buffer, so frames that come in
 * bursts still go on screen one per 1/fps. The buffer holds about `jitterMs` (default 150 ms, under
 * 200): the picture runs that far behind the stream; when frames stop the last one stays, and
 * when more than twice the buffer piles up the oldest are skipped, so a late picture catches up.
 */
import type { LiveFrame } from '../../../shared/protocol.js';

export class LivePlayer {
  readonly #canvas: HTMLCanvasElement;
  readonly #jitterMs: number;
  #queue: { seq: number; bitmap: ImageBitmap }[] = [];
  #fps = 16;
  #timer: number | null = null;
  #started = false;
  /** Frames drawn, and the seq of the last one (tests and the page read them). */
  drawn = 0;
  lastSeq = -1;

  constructor(canvas: HTMLCanvasElement, options: { jitterMs?: number } = {}) {
    this.#canvas = canvas;
    this.#jitterMs = options.jitterMs ?? 150;
  }

  async push(frame: LiveFrame): Promise<void> {
    this.#fps = frame.fps;
    const bitmap = await createImageBitmap(new Blob([frame.data as Uint8Array<ArrayBuffer>], { type: 'image/jpeg' }));
    if (frame.seq <= this.lastSeq) return bitmap.close();
    this.#queue.push({ seq: frame.seq, bitmap });
    const buffered = Math.max(1, Math.round((this.#jitterMs * this.#fps) / 1000));
    while (this.#queue.length > buffered * 2) this.#queue.shift()!.bitmap.close();
    if (!this.#started && this.#queue.length >= buffered) {
      this.#started = true;
      this.#tick();
    }
  }

  #tick(): void {
    const next = this.#queue.shift();
    if (next) {
      const ctx = this.#canvas.getContext('2d');
      if (this.#canvas.width !== next.bitmap.width || this.#canvas.height !== next.bitmap.height) {
        this.#canvas.width = next.bitmap.width;
        this.#canvas.height = next.bitmap.height;
      }
      ctx?.drawImage(next.bitmap, 0, 0);
      next.bitmap.close();
      this.drawn++;
      this.lastSeq = next.seq;
      this.#canvas.dataset.seq = String(next.seq);
    } else this.#started = false; // ran dry: wait for the buffer to fill again
    if (this.#started) this.#timer = window.setTimeout(() => this.#tick(), 1000 / this.#fps);
    else this.#timer = null;
  }

  stop(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.#started = false;
    for (const item of this.#queue.splice(0)) item.bitmap.close();
  }
}
