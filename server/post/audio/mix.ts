/**
 * The soundtrack of a finished video: narrations placed at their shots, the music looped or cut
 * to the length (faded in and out), ducked under the narration, mixed and normalised to the
 * scene's loudness target (EBU R128 integrated loudness, true peak ≤ −1 dBTP).
 *
 * Stages (each an ffmpeg child, niced; every one after the first reads a short float WAV):
 *   1. premix: narrations and ducked music into one 32-bit float WAV, before any loudness change;
 *   2. measure: ffmpeg's `ebur128` (BS.1770 integrated loudness, true peak at 4x oversampling) of
 *      the premix. The loudness target is reached by one gain (what loudnorm's linear mode does).
 *      When that gain would lift the true peak above the aim (−1.5 dBTP), a fast lookahead limiter
 *      holds the sample peaks at −2.5 dBFS after it; what the limiter takes off the loudness is
 *      measured and added to the gain (at most 3 rounds, until within 0.3 LU). The loudness
 *      target is kept; the peaks give way (`limited`);
 *   3. render: the premix through that gain (and limiter), encoded;
 *   4. verify: ebur128 reads the file written (after the AAC encoder), which is what `loudness`
 *      reports; a miss (true peak above −1 dBTP, loudness off by more than 1 LU) is a warning.
 * With nothing to hear (no narration, no music) the result is digital silence of the right length
 * (no loudnorm: silence has no loudness), so the video always has an audio track.
 *
 * Output: AAC-LC 192 kb/s, 48 kHz stereo in an .m4a (mux it with `-c:a copy`); an `out` ending in
 * .wav gets 16-bit PCM instead.
 */
import { rename, rm } from 'node:fs/promises';
import type { LoudnessTarget } from '../../../shared/post.js';
import { runFfmpeg, SAFE_INPUT, type ToolOptions } from './tools.js';

export interface MixNarration {
  /** Where the shot starts in the finished video (s). */
  startS: number;
  /** How long the shot is on screen (s), for the "longer than the shot" warning. */
  shotSeconds: number;
  shotId: string;
  /** The narration's audio (any file ffmpeg reads; Narrator's WAVs). */
  file: string;
  /** Its length (s). */
  seconds: number;
}

export interface MixPlan {
  /** Length of the video (s); the soundtrack is exactly this long. */
  seconds: number;
  narrations: MixNarration[];
  /** A bed (beds.ts) or an asset's file; `volume` 0–1 is a linear gain on it. */
  music: { file: string; volume: number } | null;
  /** Lower the music while someone speaks. */
  duck: boolean;
  loudness: LoudnessTarget;
}

export interface Loudness {
  /** Integrated loudness of the file written (LUFS). */
  integrated: number;
  /** Its true peak (dBTP). */
  truePeak: number;
  /** The limiter held the peaks (the linear gain to the target would have passed the peak aim). */
  limited: boolean;
}

export interface MixResult {
  file: string;
  /** For render progress and the record: narrations that outlast their shot, and the like. */
  warnings: string[];
  /** Null for silence. */
  loudness: Loudness | null;
}

export const MIX_RATE = 48_000;
/** True peak aimed at (dBTP): 0.5 dB of headroom under the −1 dBTP limit for the AAC encoder and resampling. */
export const TRUE_PEAK_AIM = -1.5;
/** Sample-peak ceiling of the limiter when it is needed (dBFS); true peaks land a little above it. */
const LIMIT_DB = -2.5;
/** A fast limiter: it only shaves espeak-ng's peaks (a slow release would pull the speech around it down). */
const LIMIT_ATTACK_MS = 2;
const LIMIT_RELEASE_MS = 30;
/** Measurements through the limiter at most (each one ffmpeg run over the mix). */
const LIMIT_ROUNDS = 3;
/** Gap kept between one narration's end and the next one's start when they would overlap (s). */
const NARRATION_GAP = 0.15;

const num = (n: number) => String(Math.round(n * 10) / 10);

/** When each narration starts: at its shot, or after the one before it when that one still speaks. */
export function placeNarrations(plan: Pick<MixPlan, 'seconds' | 'narrations'>): { placed: (MixNarration & { atS: number })[]; warnings: string[] } {
  const warnings: string[] = [];
  const placed: (MixNarration & { atS: number })[] = [];
  let free = 0;
  for (const n of [...plan.narrations].sort((a, b) => a.startS - b.startS)) {
    const atS = Math.max(n.startS, free);
    if (atS > n.startS + 0.05) warnings.push(`Narration of shot "${n.shotId}" starts ${num(atS - n.startS)} s late, after the narration before it`);
    if (atS >= plan.seconds - 0.05) {
      warnings.push(`Narration of shot "${n.shotId}" is left out: the video ends before it could start`);
      continue;
    }
    if (n.seconds > n.shotSeconds + 0.05) {
      const end = atS + n.seconds > plan.seconds + 0.01 ? 'the video ends before it does, so its end is cut' : 'it runs into the next shot';
      warnings.push(`Narration of shot "${n.shotId}" lasts ${num(n.seconds)} s, longer than the shot (${num(n.shotSeconds)} s): ${end}`);
    } else if (atS + n.seconds > plan.seconds + 0.01) {
      warnings.push(`Narration of shot "${n.shotId}" runs ${num(atS + n.seconds - plan.seconds)} s past the end of the video and is cut there`);
    }
    placed.push({ ...n, atS });
    free = atS + n.seconds + NARRATION_GAP;
  }
  return { placed, warnings };
}

interface Graph {
  inputs: string[];
  /** A filter graph ending in [mix]. */
  filter: string;
}

/** The mix as ffmpeg inputs and a filter graph (ends in the label [mix]), before loudness. */
export function mixGraph(plan: MixPlan, placed: (MixNarration & { atS: number })[]): Graph {
  const total = Math.round(plan.seconds * MIX_RATE);
  const stereo = `aresample=${MIX_RATE},aformat=sample_fmts=fltp:sample_rates=${MIX_RATE}:channel_layouts=stereo`;
  // Every branch is exactly `total` samples long, so amix never sees an input end (its gain would then jump).
  const fit = `apad=whole_len=${total},atrim=end_sample=${total}`;
  const inputs: string[] = [];
  const chains: string[] = [];
  placed.forEach((n, k) => {
    inputs.push(...SAFE_INPUT, '-i', n.file);
    const ms = (n.atS * 1000).toFixed(3);
    chains.push(`[${k}:a]${stereo},adelay=${ms}|${ms},${fit}[v${k}]`);
  });
  let voice: string | null = null;
  if (placed.length === 1) voice = 'v0';
  if (placed.length > 1) {
    // amix divides by its input count; the volume undoes that (the narrations never overlap).
    chains.push(`${placed.map((_, k) => `[v${k}]`).join('')}amix=inputs=${placed.length}:duration=first:dropout_transition=0,volume=${placed.length}[voice]`);
    voice = 'voice';
  }
  let bed: string | null = null;
  if (plan.music && plan.music.volume > 0) {
    const m = placed.length;
    inputs.push(...SAFE_INPUT, '-stream_loop', '-1', '-i', plan.music.file);
    const fadeIn = Math.min(0.5, plan.seconds / 4);
    const fadeOut = Math.min(2, plan.seconds / 4);
    chains.push(`[${m}:a]${stereo},${fit},volume=${plan.music.volume.toFixed(4)},afade=t=in:d=${fadeIn.toFixed(3)},afade=t=out:st=${(plan.seconds - fadeOut).toFixed(3)}:d=${fadeOut.toFixed(3)}[bed]`);
    bed = 'bed';
  }
  if (voice && bed && plan.duck) {
    // The narration keys a compressor on the music: about 10-14 dB less music while espeak-ng speaks.
    chains.push(`[${voice}]asplit=2[say][key]`, `[bed][key]sidechaincompress=threshold=0.02:ratio=8:attack=15:release=350:knee=2[ducked]`);
    voice = 'say';
    bed = 'ducked';
  }
  if (voice && bed) chains.push(`[${voice}][${bed}]amix=inputs=2:duration=first:dropout_transition=0,volume=2[mix]`);
  else chains.push(`[${(voice ?? bed)!}]anull[mix]`);
  return { inputs, filter: chains.join(';') };
}

/** Integrated loudness, loudness range and true peak of `file` (ffmpeg's ebur128 summary). */
export async function measureLoudness(file: string, options: ToolOptions & { filter?: string } = {}): Promise<{ integrated: number; lra: number; truePeak: number }> {
  const { filter, ...tool } = options;
  const chain = `${filter ? `${filter},` : ''}ebur128=peak=true`;
  const { stderr } = await runFfmpeg(['-nostats', '-loglevel', 'info', '-i', file, '-map', '0:a:0', '-af', chain, '-f', 'null', '-'], tool);
  const summary = stderr.slice(stderr.lastIndexOf('Summary:'));
  const read = (re: RegExp) => {
    const m = re.exec(summary);
    return m ? Number(m[1]) : Number.NaN;
  };
  return { integrated: read(/I:\s+(-?[\d.]+|-inf) LUFS/), lra: read(/LRA:\s+(-?[\d.]+) LU/), truePeak: read(/Peak:\s+(-?[\d.]+|-inf) dBFS/) };
}

function encoder(out: string): string[] {
  return out.toLowerCase().endsWith('.wav')
    ? ['-c:a', 'pcm_s16le', '-f', 'wav']
    : ['-c:a', 'aac', '-b:a', '192k', '-movflags', '+faststart', '-f', 'mp4'];
}

/** Writes `out` through a temporary name, so a file at `out` is always whole. */
async function write(out: string, args: (tmp: string) => string[], options?: ToolOptions): Promise<void> {
  const tmp = `${out}.${process.pid}.${Date.now()}.tmp`;
  try {
    await runFfmpeg(['-loglevel', 'error', '-nostats', ...args(tmp)], options);
    await rename(tmp, out);
  } finally {
    await rm(tmp, { force: true });
  }
}

export async function mixAudio(plan: MixPlan, out: string, options: ToolOptions = {}): Promise<MixResult> {
  if (!(plan.seconds > 0) || !Number.isFinite(plan.seconds)) throw new Error(`a soundtrack of ${plan.seconds} s`);
  const { placed, warnings } = placeNarrations(plan);
  const music = plan.music && plan.music.volume > 0 ? plan.music : null;
  const length = plan.seconds.toFixed(6);
  const silence = (tmp: string) => ['-f', 'lavfi', '-i', `anullsrc=r=${MIX_RATE}:cl=stereo`, '-t', length, ...encoder(out), tmp];

  if (placed.length === 0 && !music) {
    await write(out, silence, options);
    return { file: out, warnings, loudness: null };
  }

  // 1. Premix.
  const graph = mixGraph({ ...plan, music }, placed);
  const target = plan.loudness;
  const premix = `${out}.${process.pid}.${Date.now()}.premix.wav`;
  try {
    await runFfmpeg(['-loglevel', 'error', '-nostats', ...graph.inputs, '-filter_complex', `${graph.filter};[mix]anull[out]`, '-map', '[out]', '-t', length, '-c:a', 'pcm_f32le', '-f', 'wav', premix], options);
    // 2. Measure (again through the limiter, when it is needed, until the loudness is within 0.3 LU).
    const measure = (chain: string) => measureLoudness(premix, { ...options, filter: chain });
    const first = await measure('');
    if (!Number.isFinite(first.integrated) || first.integrated < -69) {
      // Narration files that hold only silence: nothing to normalise.
      await write(out, silence, options);
      return { file: out, warnings, loudness: null };
    }
    let gain = target - first.integrated;
    let chain = `volume=${gain.toFixed(2)}dB`;
    const limited = first.truePeak + gain > TRUE_PEAK_AIM;
    if (limited) {
      // The gain to the target first, then the limiter; what the limiter takes off the loudness is
      // measured and added to the gain (two or three rounds).
      for (let round = 0; round < LIMIT_ROUNDS; round++) {
        chain = `volume=${gain.toFixed(2)}dB,alimiter=limit=${(10 ** (LIMIT_DB / 20)).toFixed(4)}:level=false:attack=${LIMIT_ATTACK_MS}:release=${LIMIT_RELEASE_MS}`;
        const miss = target - (await measure(chain)).integrated;
        if (Math.abs(miss) <= 0.3) break;
        gain += miss;
      }
    }
    // 3. Render.
    await write(out, (tmp) => ['-i', premix, '-af', `${chain},aresample=${MIX_RATE}`, '-t', length, '-ar', String(MIX_RATE), '-ac', '2', ...encoder(out), tmp], options);
  // 3. Verify what was written.
    const check = await measureLoudness(out, options);
    warnings.push(...loudnessWarnings(check, target));
    return { file: out, warnings, loudness: { integrated: check.integrated, truePeak: check.truePeak, limited } };
  } finally {
    await rm(premix, { force: true });
  }
}

/** What a soundtrack measured as `check` says against its target. */
export function loudnessWarnings(check: { integrated: number; truePeak: number }, target: LoudnessTarget): string[] {
  const warnings: string[] = [];
  if (check.truePeak > -1) warnings.push(`The soundtrack's true peak is ${check.truePeak.toFixed(1)} dBTP, above −1 dBTP`);
  if (Math.abs(check.integrated - target) > 1) warnings.push(`The soundtrack's loudness is ${check.integrated.toFixed(1)} LUFS, not the ${target} LUFS asked for`);
  return warnings;
}
