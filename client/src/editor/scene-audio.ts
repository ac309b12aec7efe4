/**
 * The sound of the whole-scene preview, on WebAudio: each shot's narration (spoken by the server)
 * from the shot's start, cut where the next narration starts; the music under it, looped, at the
 * scene's volume and, with ducking on, lowered while a narration speaks. Sounds the server does
 * not give (404 while a shot has no narration, or before the endpoints exist) are left out: the
 * preview then plays with less sound or none, and says nothing.
 */

export interface AudioPlan {
  /** Seconds of the whole scene. */
  length: number;
  music: { url: string; volume: number; duck: boolean } | null;
  /** In scene order; `at` and `until` in seconds of the scene (`until`: the next narration's start, or the end). */
  narrations: { url: string; at: number; until: number }[];
}

/** Music gain under a narration, relative to its volume (about −10 dB). */
const DUCKED = 0.3;
/** Seconds the music takes to go down before a narration, and back up after it. */
const DUCK_DOWN = 0.25;
const DUCK_UP = 0.5;

interface Run {
  /** AudioContext time of the scene's second 0 (set once the context runs). */
  t0: number;
  abort: AbortController;
  sources: AudioBufferSourceNode[];
  music: GainNode;
  voice: GainNode;
  /** Where narration sounds, in context time: the music ducks under these. */
  spoken: [number, number][];
}

export class SceneAudio {
  #context: AudioContext | null = null;
  #run: Run | null = null;

  /**
   * Starts the plan's sound, as if the scene started `startedAt` (performance.now() ms). Call it
   * from the click that starts the preview: browsers let a page make sound after a user gesture.
   */
  start(plan: AudioPlan, startedAt: number): void {
    this.stop();
    if (!plan.music && plan.narrations.length === 0) return;
    let context: AudioContext;
    try {
      context = this.#context ??= new AudioContext();
    } catch {
      return; // no WebAudio here: a silent preview
    }
    const run: Run = { t0: 0, abort: new AbortController(), sources: [], music: context.createGain(), voice: context.createGain(), spoken: [] };
    this.#run = run;
    run.music.gain.value = plan.music ? plan.music.volume : 0;
    run.music.connect(context.destination);
    run.voice.connect(context.destination);
    const ready = context.resume().then(() => {
      run.t0 = context.currentTime - (performance.now() - startedAt) / 1000;
    });
    const live = () => this.#run === run && !run.abort.signal.aborted;

    if (plan.music) {
      const { url, volume, duck } = plan.music;
      void Promise.all([load(context, url, run.abort.signal), ready]).then(([buffer]) => {
        if (!buffer || !live()) return;
        const source = context.createBufferSource();
        source.buffer = buffer;
        source.loop = true;
        source.connect(run.music);
        const now = context.currentTime;
        const into = Math.max(0, now - run.t0);
        if (into >= plan.length) return;
        source.start(now, into % buffer.duration);
        source.stop(run.t0 + plan.length);
        run.sources.push(source);
        if (duck) this.#duck(run, volume);
      });
    }
    for (const narration of plan.narrations) {
      void Promise.all([load(context, narration.url, run.abort.signal), ready]).then(([buffer]) => {
        if (!buffer || !live()) return;
        const when = run.t0 + narration.at;
        const end = Math.min(run.t0 + narration.until, when + buffer.duration);
        const now = context.currentTime;
        // Arrived late: join it where it is by now (or not at all, once it would be over).
        if (end <= now) return;
        const source = context.createBufferSource();
        source.buffer = buffer;
        source.connect(run.voice);
        source.start(Math.max(when, now), Math.max(0, now - when));
        source.stop(end);
        run.sources.push(source);
        run.spoken.push([Math.max(when, now), end]);
        if (plan.music?.duck) this.#duck(run, plan.music.volume);
      });
    }
  }

  stop(): void {
    const run = this.#run;
    this.#run = null;
    if (!run) return;
    run.abort.abort();
    for (const source of run.sources) {
      try {
        source.stop();
      } catch {
        // never started, or already stopped
      }
    }
    run.music.disconnect();
    run.voice.disconnect();
    void this.#context?.suspend().catch(() => {});
  }

  /** The music's gain envelope, made again from every narration known so far (they decode in any order). */
  #duck(run: Run, volume: number): void {
    const gain = run.music.gain;
    const spans = [...run.spoken].sort((a, b) => a[0] - b[0]);
    // Narrations close together keep the music down in between.
    const merged: [number, number][] = [];
    for (const [from, to] of spans) {
      const last = merged.at(-1);
      if (last && from - last[1] < DUCK_DOWN + DUCK_UP) last[1] = Math.max(last[1], to);
      else merged.push([from, to]);
    }
    gain.cancelScheduledValues(0);
    gain.setValueAtTime(volume, 0);
    for (const [from, to] of merged) {
      gain.setValueAtTime(volume, Math.max(0, from - DUCK_DOWN));
      gain.linearRampToValueAtTime(volume * DUCKED, from);
      gain.setValueAtTime(volume * DUCKED, to);
      gain.linearRampToValueAtTime(volume, to + DUCK_UP);
    }
  }
}

async function load(context: AudioContext, url: string, signal: AbortSignal): Promise<AudioBuffer | null> {
  try {
    const res = await fetch(url, { signal });
    if (!res.ok) return null;
    return await context.decodeAudioData(await res.arrayBuffer());
  } catch {
    return null;
  }
}
