/**
 * ffmpeg and ffprobe as niced child processes for the audio side of post-production, with their
 * output captured (loudnorm and ebur128 report on stderr, ffprobe on stdout). The ffmpeg binary is
 * server/render/ffmpeg.ts's; ffprobe is FFPROBE_PATH, else @ffprobe-installer/ffprobe, else PATH.
 */
import { spawn } from 'node:child_process';
import { accessSync, chmodSync, constants } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { ffmpegPath } from '../../render/ffmpeg.js';

/** Same niceness as render encoding: post-production is render work. */
const NICENESS = 10;

/** Demuxers an uploaded or bundled audio file may be read with: no playlists (hls, concat), images or devices. */
export const AUDIO_DEMUXERS = 'wav,mp3,aac,flac,ogg,mov,mp4,m4a,matroska,webm,aiff,caf,w64';

/** Input options for a file people sent: only local files, only audio containers. */
export const SAFE_INPUT = ['-protocol_whitelist', 'file,pipe', '-format_whitelist', AUDIO_DEMUXERS] as const;

let probe: string | null = null;

export function ffprobePath(): string {
  if (probe) return probe;
  if (process.env.FFPROBE_PATH) return (probe = process.env.FFPROBE_PATH);
  try {
    const installed = (createRequire(import.meta.url)('@ffprobe-installer/ffprobe') as { path: string }).path;
    try {
      accessSync(installed, constants.X_OK);
    } catch {
      chmodSync(installed, 0o755); // npm 11 may skip the package's install script
    }
    return (probe = installed);
  } catch {
    return (probe = 'ffprobe');
  }
}

export interface ToolOptions {
  /** Kills the child after this many ms (default 120 000). */
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface ToolResult {
  stdout: string;
  /** The last 256 KiB of stderr. */
  stderr: string;
}

export class ToolError extends Error {
  constructor(
    message: string,
    readonly code: number | null,
    readonly stderr: string,
  ) {
    super(message);
    this.name = 'ToolError';
  }
}

const KEEP = 256 * 1024;

/** Runs `bin args` niced; resolves with its output when it exits 0, else rejects with a ToolError. */
export function runTool(bin: string, args: readonly string[], options: ToolOptions = {}): Promise<ToolResult> {
  const { timeoutMs = 120_000, signal } = options;
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    if (child.pid !== undefined) {
      try {
        os.setPriority(child.pid, NICENESS);
      } catch {
        // not supported here: normal priority
      }
    }
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      if (stdout.length > 4 * KEEP) child.kill('SIGKILL'); // a probe never says this much
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-KEEP)));
    let why: string | null = null;
    const kill = (reason: string) => {
      why = reason;
      child.kill('SIGKILL');
    };
    const timer = setTimeout(() => kill(`timed out after ${timeoutMs} ms`), timeoutMs);
    const onAbort = () => kill('aborted');
    signal?.addEventListener('abort', onAbort, { once: true });
    child.once('error', (error) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      reject(error);
    });
    child.once('close', (code, sig) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      if (why === 'aborted' && signal) return reject(signal.reason);
      if (code === 0) return resolve({ stdout, stderr });
      const name = bin.split('/').pop();
      const tail = stderr.trim().split('\n').slice(-6).join('\n');
      reject(new ToolError(`${name} ${why ?? (sig ? `killed by ${sig}` : `exited with ${code}`)}: ${tail}`, code, stderr));
    });
  });
}

/** ffmpeg with `-hide_banner -nostdin -y` and the given args (set -loglevel in them when stderr matters). */
export function runFfmpeg(args: readonly string[], options?: ToolOptions): Promise<ToolResult> {
  return runTool(ffmpegPath(), ['-hide_banner', '-nostdin', '-y', ...args], options);
}

export function runFfprobe(args: readonly string[], options?: ToolOptions): Promise<ToolResult> {
  return runTool(ffprobePath(), ['-hide_banner', ...args], options);
}
