/**
 * ffprobe and ffmpeg for checking videos: Debian's when installed, else the npm static builds.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { promisify } from 'node:util';
import { ffmpegPath } from '../../server/render/ffmpeg.js';

const run = promisify(execFile);

function ffprobePath(): string {
  if (process.env.FFPROBE_PATH) return process.env.FFPROBE_PATH;
  if (existsSync('/usr/bin/ffprobe')) return '/usr/bin/ffprobe';
  return (createRequire(import.meta.url)('@ffprobe-installer/ffprobe') as { path: string }).path;
}

export interface Probe {
  codec: string;
  pixFmt: string;
  width: number;
  height: number;
  fps: number;
  duration: number;
  frames: number;
  profile: string;
}

export async function probe(file: string): Promise<Probe> {
  const { stdout } = await run(ffprobePath(), ['-v', 'error', '-count_frames', '-select_streams', 'v:0', '-show_entries', 'stream=codec_name,pix_fmt,width,height,r_frame_rate,nb_read_frames,profile:format=duration', '-of', 'json', file]);
  const json = JSON.parse(stdout) as { streams: Record<string, string | number>[]; format: { duration: string } };
  const s = json.streams[0]!;
  const [num, den] = String(s.r_frame_rate).split('/').map(Number);
  return {
    codec: String(s.codec_name),
    pixFmt: String(s.pix_fmt),
    width: Number(s.width),
    height: Number(s.height),
    fps: num! / (den ?? 1),
    duration: Number(json.format.duration),
    frames: Number(s.nb_read_frames),
    profile: String(s.profile),
  };
}

/** Decodes every frame (fails on any decoding error) and returns how many there were. */
export async function decodeAll(file: string): Promise<number> {
  const ffmpeg = existsSync('/usr/bin/ffmpeg') ? '/usr/bin/ffmpeg' : ffmpegPath();
  const { stderr } = await run(ffmpeg, ['-v', 'error', '-xerror', '-i', file, '-f', 'null', '-'], { maxBuffer: 16 * 1024 * 1024 });
  if (stderr.trim()) throw new Error(`decoding errors: ${stderr}`);
  const info = await probe(file);
  return info.frames;
}

/** Top-level MP4 boxes in file order, e.g. ['ftyp', 'moov', 'mdat']. */
export function topLevelBoxes(data: Buffer): string[] {
  const boxes: string[] = [];
  let offset = 0;
  while (offset + 8 <= data.length) {
    let size = data.readUInt32BE(offset);
    const type = data.toString('latin1', offset + 4, offset + 8);
    if (size === 1) size = Number(data.readBigUInt64BE(offset + 8));
    if (size === 0) size = data.length - offset;
    boxes.push(type);
    if (size < 8) break;
    offset += size;
  }
  return boxes;
}
