/**
 * The music beds, synthesised (no recording is shipped): additive sines with envelopes, rendered
 * into a circular buffer of a whole number of bars, so a note still sounding at the end wraps
 * around to the start and the bed loops with no seam at all (the last sample leads into the first
 * as any sample leads into the next). Pure and deterministic (the shaker's noise is seeded).
 *
 *   calm    80 BPM, 16 bars (48 s): a slow chord pad, two bars a chord, a soft bass under it;
 *   bright 100 BPM, 16 bars (38.4 s): plucked eighth-note arpeggios over I–V–vi–IV, a quiet pad;
 *   pulse   90 BPM, 16 bars (42.7 s): a soft kick on 1 and 3, an offbeat shaker, an eighth-note bass.
 * Tempi are chosen so that a beat is a whole number of samples at 48 kHz.
 */
import type { MusicBedId } from '../../../shared/post.js';

export const BED_RATE = 48_000;

export interface BedSpec {
  bpm: number;
  bars: number;
  /** Beats per bar. */
  meter: number;
}

export const BED_SPECS: Record<MusicBedId, BedSpec> = {
  calm: { bpm: 80, bars: 16, meter: 4 },
  bright: { bpm: 100, bars: 16, meter: 4 },
  pulse: { bpm: 90, bars: 16, meter: 4 },
};

/** Seconds of one loop of the bed. */
export const bedSeconds = (id: MusicBedId): number => (BED_SPECS[id].bars * BED_SPECS[id].meter * 60) / BED_SPECS[id].bpm;

export interface Stereo {
  left: Float32Array;
  right: Float32Array;
  rate: number;
}

// Raised cosine from 0 to 1 over x in [0, 1], from a table (Math.cos per sample is most of the time otherwise).
const RISE = Float64Array.from({ length: 1025 }, (_, k) => 0.5 - 0.5 * Math.cos((Math.PI * k) / 1024));
const rise = (x: number): number => {
  const at = x * 1024;
  const k = Math.floor(at);
  return k >= 1024 ? 1 : RISE[k]! + (RISE[k + 1]! - RISE[k]!) * (at - k);
};

const hz = (midi: number) => 440 * 2 ** ((midi - 69) / 12);

class Loop {
  readonly left: Float32Array;
  readonly right: Float32Array;
  readonly beat: number;

  constructor(readonly spec: BedSpec) {
    this.beat = (60 / spec.bpm) * BED_RATE;
    const length = Math.round(this.beat * spec.meter * spec.bars);
    this.left = new Float32Array(length);
    this.right = new Float32Array(length);
  }

  get length(): number {
    return this.left.length;
  }

  /** Adds `sample(i)` (i from 0 to `samples`) at `start`, wrapping past the end; `pan` −1 left … 1 right. */
  add(start: number, samples: number, pan: number, sample: (i: number) => number): void {
    const angle = ((pan + 1) * Math.PI) / 4; // constant power
    const gl = Math.cos(angle);
    const gr = Math.sin(angle);
    const n = this.length;
    let at = ((Math.round(start) % n) + n) % n;
    for (let i = 0; i < samples; i++) {
      const v = sample(i);
      this.left[at]! += v * gl;
      this.right[at]! += v * gr;
      if (++at === n) at = 0;
    }
  }

  /** A note of a few sine partials (`[ratio, amplitude, decay per second or 0]`) under an attack/hold/release envelope. */
  note(options: { at: number; midi: number; amp: number; attack: number; hold: number; release: number; pan?: number; partials: [number, number, number][]; detune?: number }): void {
    const { at, midi, amp, attack, hold, release, pan = 0, partials, detune = 0 } = options;
    const a = Math.max(1, Math.round(attack * BED_RATE));
    const h = Math.round(hold * BED_RATE);
    const r = Math.max(1, Math.round(release * BED_RATE));
    const total = a + h + r;
    const f = hz(midi) * 2 ** (detune / 1200);
    // Each partial a rotating phasor (sin, cos), its decay folded into the rotation: no Math.sin per sample.
    const count = partials.length;
    const sin = new Float64Array(count);
    const cos = new Float64Array(count);
    const rs = new Float64Array(count);
    const rc = new Float64Array(count);
    partials.forEach(([ratio, level, decay], p) => {
      const step = (2 * Math.PI * f * ratio) / BED_RATE;
      const shrink = Math.exp(-decay / BED_RATE);
      cos[p] = level;
      rs[p] = Math.sin(step) * shrink;
      rc[p] = Math.cos(step) * shrink;
    });
    this.add(at, total, pan, (i) => {
      // Raised-cosine attack and release: no corner anywhere, so no click at a note's ends.
      const env = i < a ? rise(i / a) : i < a + h ? 1 : 1 - rise((i - a - h) / r);
      let v = 0;
      for (let p = 0; p < count; p++) {
        const s = sin[p]!;
        const c = cos[p]!;
        v += s;
        sin[p] = s * rc[p]! + c * rs[p]!;
        cos[p] = c * rc[p]! - s * rs[p]!;
      }
      return amp * env * v;
    });
  }

  /**
   * Scales the loop to an RMS of −21 dBFS (so the three beds sit at about the same loudness and
   * musicVolume means the same for each), its peak no higher than −3 dBFS.
   */
  normalise(): Stereo {
    let peak = 0;
    let sum = 0;
    for (let i = 0; i < this.length; i++) {
      const l = this.left[i]!;
      const r = this.right[i]!;
      peak = Math.max(peak, Math.abs(l), Math.abs(r));
      sum += l * l + r * r;
    }
    const rms = Math.sqrt(sum / (2 * this.length));
    const k = rms > 0 ? Math.min(10 ** (-21 / 20) / rms, 10 ** (-3 / 20) / peak) : 1;
    for (let i = 0; i < this.length; i++) {
      this.left[i]! *= k;
      this.right[i]! *= k;
    }
    return { left: this.left, right: this.right, rate: BED_RATE };
  }
}

// Soft timbres: a warm pad (two detuned copies make it breathe), a pluck whose upper partials fade first.
const PAD: [number, number, number][] = [[1, 1, 0], [2, 0.28, 0], [3, 0.08, 0]];
const PLUCK: [number, number, number][] = [[1, 1, 2.8], [2, 0.35, 5], [3, 0.12, 8], [4, 0.05, 12]];
const BASS: [number, number, number][] = [[1, 1, 1.5], [2, 0.18, 4]];

function pad(loop: Loop, at: number, beats: number, chord: number[], amp: number): void {
  const seconds = (beats * loop.beat) / BED_RATE;
  chord.forEach((midi, k) => {
    const pan = chord.length > 1 ? -0.5 + k / (chord.length - 1) : 0;
    for (const detune of [-4, 4]) {
      loop.note({ at, midi, amp: amp / 2, attack: Math.min(1.6, seconds / 3), hold: seconds - Math.min(1.6, seconds / 3), release: 2.2, pan: pan * (detune > 0 ? 1 : 0.6), partials: PAD, detune });
    }
  });
}

function calm(): Stereo {
  const loop = new Loop(BED_SPECS.calm);
  // Cmaj9 – Am7 – Fmaj7 – G6 – Em7 – Am7 – Dm9 – Gsus4, two bars each.
  const chords = [[48, 55, 59, 62, 64], [45, 52, 55, 60, 64], [41, 53, 57, 60, 64], [43, 55, 59, 62, 64], [40, 55, 59, 62, 67], [45, 55, 60, 64, 67], [38, 53, 57, 60, 64], [43, 55, 60, 62, 67]];
  chords.forEach(([bass, ...upper], i) => {
    const at = i * 8 * loop.beat;
    pad(loop, at, 8, upper, 0.16);
    loop.note({ at, midi: bass! - 12 + 12, amp: 0.22, attack: 0.8, hold: 4.6, release: 2.0, partials: [[1, 1, 0], [2, 0.15, 0]] });
  });
  // A high bell once a bar, the chord's fifth above, very soft.
  chords.forEach((chord, i) => {
    for (const bar of [0, 1]) loop.note({ at: (i * 8 + bar * 4 + 2) * loop.beat, midi: chord[3]! + 12, amp: 0.035, attack: 0.01, hold: 0, release: 2.5, pan: bar ? 0.5 : -0.5, partials: PLUCK });
  });
  return loop.normalise();
}

function bright(): Stereo {
  const loop = new Loop(BED_SPECS.bright);
  // D – A – Bm – G, a bar each, four times; the arpeggio climbs and falls over two octaves.
  const chords = [[62, 66, 69], [61, 64, 69], [59, 62, 66], [59, 62, 67]];
  const roots = [50, 45, 47, 43];
  const shape = [0, 1, 2, 3, 4, 3, 2, 1];
  for (let bar = 0; bar < loop.spec.bars; bar++) {
    const chord = chords[bar % 4]!;
    const tones = [chord[0]!, chord[1]!, chord[2]!, chord[0]! + 12, chord[1]! + 12];
    const at = bar * 4 * loop.beat;
    const lift = bar % 8 >= 4 ? 12 : 0; // the second half of each eight bars an octave up
    shape.forEach((step, k) => {
      loop.note({ at: at + (k * loop.beat) / 2, midi: tones[step]! + lift - 12, amp: 0.15 - (k % 2) * 0.03, attack: 0.004, hold: 0, release: 1.1, pan: k % 2 ? 0.35 : -0.35, partials: PLUCK });
    });
    for (const beat of [0, 2]) loop.note({ at: at + beat * loop.beat, midi: roots[bar % 4]!, amp: 0.22, attack: 0.01, hold: 0.2, release: 0.9, partials: BASS });
    pad(loop, at, 4, chord.map((m) => m - 12), 0.05);
  }
  return loop.normalise();
}

function pulse(): Stereo {
  const loop = new Loop(BED_SPECS.pulse);
  // Am – F – C – G, a bar each.
  const chords = [[57, 60, 64], [57, 60, 65], [55, 60, 64], [55, 59, 62]];
  const roots = [45, 41, 48, 43];
  let seed = 0x5eed;
  const noise = () => {
    // mulberry32
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 31 - 1;
  };
  for (let bar = 0; bar < loop.spec.bars; bar++) {
    const at = bar * 4 * loop.beat;
    const chord = chords[bar % 4]!;
    pad(loop, at, 4, chord.map((m) => m - 12), 0.07);
    for (let eighth = 0; eighth < 8; eighth++) {
      const t = at + (eighth * loop.beat) / 2;
      loop.note({ at: t, midi: roots[bar % 4]! - (eighth % 2 ? 0 : 12) + 12, amp: eighth % 2 ? 0.11 : 0.16, attack: 0.006, hold: 0.04, release: 0.22, partials: BASS });
      if (eighth % 2 === 1) {
        // Shaker: seeded noise, high-passed (one pole), 45 ms.
        const n = Math.round(0.045 * BED_RATE);
        let last = 0;
        let prev = 0;
        loop.add(t, n, eighth % 4 === 1 ? 0.3 : -0.3, (i) => {
          const x = noise();
          last = 0.85 * (last + x - prev);
          prev = x;
          const env = Math.sin((Math.PI * i) / n) * Math.exp((-6 * i) / n);
          return 0.05 * env * last;
        });
      }
    }
    for (const beat of [0, 2]) {
      // Soft kick: a sine falling from 90 to 48 Hz, 0.3 s.
      const n = Math.round(0.3 * BED_RATE);
      let phase = 0;
      loop.add(at + beat * loop.beat, n, 0, (i) => {
        const s = i / BED_RATE;
        phase += (2 * Math.PI * (48 + 42 * Math.exp(-s * 30))) / BED_RATE;
        const env = Math.min(1, i / 96) * Math.exp(-s * 11) * (1 - i / n);
        return 0.45 * env * Math.sin(phase);
      });
    }
  }
  return loop.normalise();
}

const MAKERS: Record<MusicBedId, () => Stereo> = { calm, bright, pulse };

export function synthBed(id: MusicBedId): Stereo {
  return MAKERS[id]();
}

/**
 * A 16-bit PCM WAV of `audio`. Layout (little-endian): "RIFF" size "WAVE", "fmt " 16: format 1,
 * channels 2, rate, byte rate, block align 4, 16 bits; "data" size, interleaved L R samples.
 */
export function encodeWav(audio: Stereo): Buffer {
  const frames = audio.left.length;
  const out = Buffer.alloc(44 + frames * 4);
  out.write('RIFF', 0, 'latin1');
  out.writeUInt32LE(36 + frames * 4, 4);
  out.write('WAVEfmt ', 8, 'latin1');
  out.writeUInt32LE(16, 16);
  out.writeUInt16LE(1, 20);
  out.writeUInt16LE(2, 22);
  out.writeUInt32LE(audio.rate, 24);
  out.writeUInt32LE(audio.rate * 4, 28);
  out.writeUInt16LE(4, 32);
  out.writeUInt16LE(16, 34);
  out.write('data', 36, 'latin1');
  out.writeUInt32LE(frames * 4, 40);
  const pcm = (v: number) => Math.max(-32768, Math.min(32767, Math.round(v * 32767)));
  for (let i = 0; i < frames; i++) {
    out.writeInt16LE(pcm(audio.left[i]!), 44 + i * 4);
    out.writeInt16LE(pcm(audio.right[i]!), 46 + i * 4);
  }
  return out;
}
