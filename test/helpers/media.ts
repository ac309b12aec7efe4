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

// ---------------------------------------------------------------------------------------------
// Post-production video (test/post-video.test.ts)

export interface StreamInfo {
  type: string;
  codec: string;
  duration: number;
  language: string | null;
  width?: number;
  height?: number;
  pixFmt?: string;
  profile?: string;
  sampleRate?: number;
}

/** Every stream of a file, in order. */
export async function streams(file: string): Promise<StreamInfo[]> {
  const { stdout } = await run(ffprobePath(), ['-v', 'error', '-show_entries', 'stream=codec_type,codec_name,duration,width,height,pix_fmt,profile,sample_rate:stream_tags=language', '-of', 'json', file]);
  const json = JSON.parse(stdout) as { streams: { codec_type: string; codec_name: string; duration?: string; width?: number; height?: number; pix_fmt?: string; profile?: string; sample_rate?: string; tags?: { language?: string } }[] };
  return json.streams.map((s) => ({
    type: s.codec_type,
    codec: s.codec_name,
    duration: Number(s.duration),
    language: s.tags?.language ?? null,
    ...(s.width ? { width: s.width, height: s.height!, pixFmt: s.pix_fmt!, profile: s.profile! } : {}),
    ...(s.sample_rate ? { sampleRate: Number(s.sample_rate) } : {}),
  }));
}

/**
 * md5 of each video packet, stream copied (equal lists: the video was not re-encoded).
 * `withoutParameterSets`: SPS and PPS NAL units left out first, for a join by ffmpeg's concat
 * demuxer, which repeats them in-band at each segment's first keyframe.
 */
export async function packetHashes(file: string, options: { withoutParameterSets?: boolean } = {}): Promise<string[]> {
  const bsf = options.withoutParameterSets ? ['-bsf:v', 'filter_units=remove_types=7|8'] : [];
  const { stdout } = await run(ffmpegPath(), ['-v', 'error', '-i', file, '-map', '0:v', '-c', 'copy', ...bsf, '-f', 'framemd5', '-'], { maxBuffer: 64 * 1024 * 1024 });
  return stdout.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.split(',').at(-1)!.trim());
}

/** Frame `index` (from 0) of a video as RGB24 bytes, row by row. */
export async function frameRgb(file: string, index: number): Promise<Buffer> {
  const ffmpeg = existsSync('/usr/bin/ffmpeg') ? '/usr/bin/ffmpeg' : ffmpegPath();
  const { stdout } = await run(ffmpeg, ['-v', 'error', '-i', file, '-vf', `select=eq(n\\,${index})`, '-vsync', '0', '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'], { encoding: 'buffer', maxBuffer: 64 * 1024 * 1024 });
  if (stdout.length === 0) throw new Error(`${file} has no frame ${index}`);
  return stdout;
}

/**
 * A shot segment as the render writes it (SegmentEncoder: H.264 High, yuv420p, its GOP): `frames`
 * frames of a solid colour, with a small white square moving along the top so that no two
 * frames are alike.
 */
export async function writeSegment(file: string, options: { frames: number; fps: number; color: readonly [number, number, number]; size?: readonly [number, number] }): Promise<string> {
  const { SegmentEncoder } = await import('../../server/render/ffmpeg.js');
  const [width, height] = options.size ?? [1280, 720];
  const encoder = new SegmentEncoder(file, { width, height, fps: options.fps });
  for (let n = 0; n < options.frames; n++) {
    const rgb = Buffer.alloc(width * height * 3);
    for (let i = 0; i < width * height; i++) rgb.set(options.color, i * 3);
    for (let y = 16; y < 80; y++) for (let x = 16 + n * 48; x < 80 + n * 48 && x < width; x++) rgb.fill(255, (y * width + x) * 3, (y * width + x) * 3 + 3);
    await encoder.write(rgb);
  }
  await encoder.finish();
  return file;
}

/** A stereo 48 kHz WAV tone of `seconds`. */
export async function writeTone(file: string, seconds: number): Promise<string> {
  await run(ffmpegPath(), ['-v', 'error', '-y', '-f', 'lavfi', '-i', `sine=frequency=440:duration=${seconds}:sample_rate=48000`, '-ac', '2', file]);
  return file;
}

// ---- audio (post-production tests) ----

function ffmpegForChecks(): string {
  return existsSync('/usr/bin/ffmpeg') ? '/usr/bin/ffmpeg' : ffmpegPath();
}

export interface AudioProbe {
  codec: string;
  sampleRate: number;
  channels: number;
  duration: number;
  /** Every stream's codec_type, in order. */
  streams: string[];
}

/** The first audio stream of `file` and what other streams it has. */
export async function probeAudioStream(file: string): Promise<AudioProbe> {
  const { stdout } = await run(ffprobePath(), ['-v', 'error', '-show_entries', 'stream=codec_type,codec_name,sample_rate,channels:format=duration', '-of', 'json', file]);
  const json = JSON.parse(stdout) as { streams: { codec_type: string; codec_name: string; sample_rate?: string; channels?: number }[]; format: { duration: string } };
  const audio = json.streams.find((s) => s.codec_type === 'audio');
  if (!audio) throw new Error(`${file} has no audio stream`);
  return { codec: audio.codec_name, sampleRate: Number(audio.sample_rate), channels: Number(audio.channels), duration: Number(json.format.duration), streams: json.streams.map((s) => s.codec_type) };
}

/** EBU R128 figures of `file` from ffmpeg's ebur128 filter (its summary). */
export async function ebur128(file: string): Promise<{ integrated: number; truePeak: number }> {
  const { stderr } = await run(ffmpegForChecks(), ['-hide_banner', '-nostats', '-i', file, '-af', 'ebur128=peak=true:framelog=verbose', '-f', 'null', '-'], { maxBuffer: 16 * 1024 * 1024 });
  const summary = stderr.slice(stderr.lastIndexOf('Summary:'));
  const integrated = /I:\s+(-?[\d.]+) LUFS/.exec(summary);
  const peak = /True peak:\s+Peak:\s+(-?[\d.]+) dBFS/.exec(summary);
  if (!integrated || !peak) throw new Error(`no ebur128 summary for ${file}: ${summary.slice(0, 400)}`);
  return { integrated: Number(integrated[1]), truePeak: Number(peak[1]) };
}

/** `file` decoded to 32-bit float samples at `rate` Hz, interleaved (`channels` 1: a mono downmix). */
export async function decodeAudio(file: string, options: { rate?: number; channels?: 1 | 2 } = {}): Promise<Float32Array> {
  const { rate = 48_000, channels = 1 } = options;
  const { stdout } = await run(ffmpegForChecks(), ['-v', 'error', '-i', file, '-map', '0:a:0', '-ac', String(channels), '-ar', String(rate), '-f', 'f32le', '-'], { encoding: 'buffer', maxBuffer: 512 * 1024 * 1024 });
  const bytes = stdout as unknown as Buffer;
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
}

/** RMS level in dBFS of mono `samples` from `fromS` to `toS` (−Infinity for digital silence). */
export function rmsDb(samples: Float32Array, fromS: number, toS: number, rate = 48_000): number {
  const from = Math.max(0, Math.round(fromS * rate));
  const to = Math.min(samples.length, Math.round(toS * rate));
  let sum = 0;
  for (let i = from; i < to; i++) sum += samples[i]! * samples[i]!;
  return to > from ? 10 * Math.log10(sum / (to - from)) : Number.NaN;
}
