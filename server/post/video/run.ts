/**
 * ffmpeg for the video side of post-production: a niced child process (render work, like the
 * segment encoder of server/render/ffmpeg.ts, whose binary it uses), never blocking the event
 * loop, with its progress read from `-progress pipe:1` (key=value lines: `frame=N` … `progress=end`).
 */
import { spawn } from 'node:child_process';
import os from 'node:os';
import { ffmpegPath } from '../../render/ffmpeg.js';

/** Same niceness as render encoding (server/render/ffmpeg.ts). */
const NICENESS = 10;

export interface FfmpegOptions {
  /** Extra environment of the child (e.g. FONTCONFIG_FILE for libass). */
  env?: Record<string, string>;
  /** Kills ffmpeg; the promise rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Frames written so far, as ffmpeg reports them (about twice a second). */
  onFrames?: (frames: number) => void;
}

export interface FfmpegResult {
  /** Video frames written (ffmpeg's last `frame=` report), null when it reported none. */
  frames: number | null;
}

/** Runs ffmpeg with `args` (after its quiet, non-interactive flags); rejects with its stderr's end on failure. */
export function runFfmpeg(args: readonly string[], options: FfmpegOptions = {}): Promise<FfmpegResult> {
  const { signal } = options;
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const child = spawn(ffmpegPath(), ['-hide_banner', '-loglevel', 'error', '-nostdin', '-nostats', '-progress', 'pipe:1', '-y', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...options.env },
    });
    if (child.pid !== undefined) {
      try {
        os.setPriority(child.pid, NICENESS);
      } catch {
        // not supported here: normal priority
      }
    }
    let frames: number | null = null;
    let pending = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      const lines = (pending + chunk).split('\n');
      pending = lines.pop()!;
      for (const line of lines) {
        const match = /^frame=\s*(\d+)/.exec(line);
        if (match) {
          frames = Number(match[1]);
          options.onFrames?.(frames);
        }
      }
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-4000)));
    const abort = () => child.kill('SIGKILL');
    signal?.addEventListener('abort', abort, { once: true });
    child.once('error', (error) => {
      signal?.removeEventListener('abort', abort);
      reject(error);
    });
    child.once('close', (code, killed) => {
      signal?.removeEventListener('abort', abort);
      if (signal?.aborted) reject(signal.reason);
      else if (code === 0) resolve({ frames });
      else reject(new Error(`ffmpeg ${killed ? `killed by ${killed}` : `exited with ${code}`}: ${stderr.trim()}`));
    });
  });
}
