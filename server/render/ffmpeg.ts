/**
 * ffmpeg, run as a child process: raw RGB frames piped on stdin become an H.264 segment (never
 * one image file per frame), and segments are joined by stream copy.
 *
 * Which ffmpeg: FFMPEG_PATH, else the static build of @ffmpeg-installer/ffmpeg (libx264, installs
 * offline with `npm install`, encodes 720p at ~110 fps with -preset veryfast on this machine),
 * else `ffmpeg` on PATH.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, chmodSync, constants } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';

/** Niceness of ffmpeg children (0 normal … 19 lowest). */
const RENDER_NICENESS = 10;

let resolved: string | null = null;

export function ffmpegPath(): string {
  if (resolved) return resolved;
  if (process.env.FFMPEG_PATH) return (resolved = process.env.FFMPEG_PATH);
  try {
    const installed = (createRequire(import.meta.url)('@ffmpeg-installer/ffmpeg') as { path: string }).path;
    try {
      accessSync(installed, constants.X_OK);
    } catch {
      // npm 11 may skip the package's `chmod u+x` install script.
      chmodSync(installed, 0o755);
    }
    return (resolved = installed);
  } catch {
    return (resolved = 'ffmpeg');
  }
}

export interface SegmentOptions {
  width: number;
  height: number;
  fps: number;
  /** x264 preset (default veryfast: the best speed/size trade-off measured here). */
  preset?: string;
  /** Constant rate factor (default 20). */
  crf?: number;
}

function run(args: string[], stdin: 'pipe' | 'ignore'): { child: ChildProcess; done: Promise<void> } {
  const child = spawn(ffmpegPath(), ['-hide_banner', '-loglevel', 'error', '-nostdin', '-y', ...args], { stdio: [stdin, 'ignore', 'pipe'] });
  // Encoding is render work: below the server and the engine's previews in the CPU's eyes (x264
  // would otherwise take every core while someone types). Lowering one's own priority needs no rights.
  if (child.pid !== undefined) {
    try {
      os.setPriority(child.pid, RENDER_NICENESS);
    } catch {
      // not supported here: run at normal priority
    }
  }
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  const done = new Promise<void>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(`ffmpeg ${signal ? `killed by ${signal}` : `exited with ${code}`}: ${stderr.trim()}`));
    });
  });
  return { child, done };
}

/**
 * An H.264 (yuv420p, High profile) MP4 segment fed frame by frame. Every segment of a scene uses
 * the same settings, so segments can be joined without re-encoding.
 */
export class SegmentEncoder {
  readonly #child: ChildProcess;
  readonly #done: Promise<void>;
  #frames = 0;

  constructor(
    readonly file: string,
    private readonly options: SegmentOptions,
  ) {
    const { width, height, fps, preset = 'veryfast', crf = 20 } = options;
    const { child, done } = run(
      [
        '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${width}x${height}`, '-framerate', String(fps), '-i', 'pipe:0',
        '-an', '-c:v', 'libx264', '-preset', preset, '-crf', String(crf), '-pix_fmt', 'yuv420p', '-profile:v', 'high',
        '-x264-params', `keyint=${Math.round(fps * 2)}:min-keyint=1:scenecut=0:rc-lookahead=2:sync-lookahead=0`,
        '-r', String(fps), '-movflags', '+faststart', '-f', 'mp4', file,
      ],
      'pipe',
    );
    this.#child = child;
    this.#done = done;
    // Swallow EPIPE here; the exit code says what went wrong.
    child.stdin!.on('error', () => {});
  }

  get frames(): number {
    return this.#frames;
  }

  /** Writes one frame (HWC RGB bytes), waiting when ffmpeg is behind. */
  async write(rgb: Uint8Array): Promise<void> {
    if (rgb.length !== this.options.width * this.options.height * 3) throw new Error(`frame of ${rgb.length} bytes, expected ${this.options.width}x${this.options.height}x3`);
    this.#frames++;
    if (!this.#child.stdin!.write(rgb)) {
      await Promise.race([new Promise((resolve) => this.#child.stdin!.once('drain', resolve)), this.#done]);
    }
  }

  async finish(): Promise<void> {
    this.#child.stdin!.end();
    await this.#done;
  }

  /** Stops ffmpeg at once (the caller removes the file). */
  abort(): void {
    this.#child.kill('SIGKILL');
    this.#done.catch(() => {});
  }
}

/** Joins MP4 segments in order by stream copy, `moov` first (+faststart). */
export async function joinSegments(segments: string[], out: string, listFile: string): Promise<void> {
  const quote = (file: string) => `file '${file.replace(/'/g, "'\\''")}'`;
  await writeFile(listFile, `${segments.map(quote).join('\n')}\n`);
  await run(['-f', 'concat', '-safe', '0', '-i', listFile, '-c', 'copy', '-movflags', '+faststart', '-f', 'mp4', out], 'ignore').done;
}
