/**
 * The last seconds of a room's live stream, as the JPEG frames that went out, and an instant
 * replay made of them: an MP4 (H.264, 1280x720 by Lanczos scaling, `moov` first) written by a
 * niced ffmpeg child fed the JPEGs on its stdin.
 */
import { spawn } from 'node:child_process';
import { rename, rm } from 'node:fs/promises';
import os from 'node:os';
import type { LiveFrame } from '../../shared/protocol.js';
import { ffmpegPath } from '../render/ffmpeg.js';

export class ReplayBuffer {
  #frames: LiveFrame[] = [];

  constructor(private readonly seconds: number) {}

  push(frame: LiveFrame): void {
    this.#frames.push(frame);
    const keep = Math.ceil(this.seconds * frame.fps);
    if (this.#frames.length > keep * 1.25) this.#frames = this.#frames.slice(-keep);
  }

  /** The frames of the last `seconds` (by the stream's fps), oldest first. */
  last(): LiveFrame[] {
    const fps = this.#frames.at(-1)?.fps ?? 16;
    return this.#frames.slice(-Math.ceil(this.seconds * fps));
  }

  clear(): void {
    this.#frames = [];
  }
}

/** Writes `frames` (one fps) as an MP4 at `out`; resolves with its frame count. */
export async function writeReplay(frames: readonly LiveFrame[], out: string, size: readonly [number, number] = [1280, 720]): Promise<number> {
  if (frames.length === 0) throw new Error('no frames');
  const fps = frames[0]!.fps;
  const partial = `${out}.partial.mp4`;
  const args = ['-hide_banner', '-loglevel', 'error', '-f', 'image2pipe', '-c:v', 'mjpeg', '-framerate', String(fps), '-i', 'pipe:0',
    '-vf', `scale=${size[0]}:${size[1]}:flags=lanczos,format=yuv420p`, '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '20', '-r', String(fps),
    '-movflags', '+faststart', '-f', 'mp4', '-y', partial];
  await new Promise<void>((resolve, reject) => {
    const child = spawn(ffmpegPath(), args, { stdio: ['pipe', 'ignore', 'pipe'] });
    try {
      if (child.pid !== undefined) os.setPriority(child.pid, 10);
    } catch {
      // not permitted: it runs at normal priority
    }
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`ffmpeg exited with ${code}: ${stderr.trim()}`))));
    child.stdin.on('error', () => {});
    (async () => {
      for (const frame of frames) if (!child.stdin.write(frame.data)) await new Promise((r) => child.stdin.once('drain', r));
      child.stdin.end();
    })().catch(reject);
  }).catch(async (error: unknown) => {
    await rm(partial, { force: true });
    throw error;
  });
  await rename(partial, out);
  return frames.length;
}
