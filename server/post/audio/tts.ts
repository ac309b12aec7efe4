/**
 * Narration: offline text to speech in English and Mandarin (espeak-ng, WASM, in a worker thread:
 * tts-worker.ts), WAVs cached on disk by a hash of (voice, speed, text).
 *
 * The cache is a folder of `<hash>.wav` files; a file's mtime is its last use (touched on every
 * hit), so the least recently used go first once the folder holds more than `maxBytes`, and the
 * cache survives restarts with no index to keep in step. Files are written under a temporary name
 * and renamed, so a WAV is there whole or not at all.
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdir, open, readdir, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { DEFAULT_VOICES, isMostlyChinese, POST_LIMITS, VOICES, type VoiceId } from '../../../shared/post.js';
import type { TtsReply, TtsRequest } from './tts-worker.js';

/** Bump when the synthesis changes (espeak-ng upgrade, other arguments): old WAVs are then never hit. */
const CACHE_VERSION = 1;

export interface NarratorOptions {
  /** Folder of the cached WAVs (made when missing). */
  cacheDir: string;
  /** Bytes of WAVs kept (default 128 MiB; a 500-character narration is ~1.5 MB); least recently used go first. */
  maxBytes?: number;
  /** Speaking rate in words per minute (default 165; espeak-ng's own 175 sounds hurried in narration). */
  speed?: number;
  /** Requests waiting behind the one being spoken (default 64); more are refused at once. */
  maxQueued?: number;
  /** The worker thread stops after this many ms without work (default 60 000) and starts again when needed. */
  idleMs?: number;
  /** A call that takes longer fails and the worker is restarted (ms, default 30 000). */
  timeoutMs?: number;
}

/** The scene's `voice` setting: a voice per language. */
export type VoiceSetting = Partial<Record<'en' | 'zh', VoiceId>>;

export interface Narration {
  /** The WAV (mono 16-bit, 22 050 Hz as espeak-ng makes it). */
  file: string;
  seconds: number;
  voice: VoiceId;
  /** Whether it came from the cache. */
  cached: boolean;
}

export const SPEED_RANGE = { min: 80, max: 400 } as const;

/**
 * The voice for `text`: the one asked for when it speaks the text's language (`isMostlyChinese`),
 * else the setting's voice for that language, else DEFAULT_VOICES.
 */
export function pickVoice(text: string, voice?: VoiceId | VoiceSetting | null): VoiceId {
  const lang = isMostlyChinese(text) ? 'zh' : 'en';
  const wanted = typeof voice === 'string' ? voice : voice?.[lang];
  const known = VOICES.find((v) => v.id === wanted);
  return known && known.lang === lang ? known.id : DEFAULT_VOICES[lang];
}

/**
 * The text as espeak-ng gets it: control characters (espeak-ng's embedded commands start with
 * U+0001) and line breaks become spaces, runs of spaces one, at most POST_LIMITS.narrationChars.
 */
export function cleanNarration(text: string): string {
  const clean = text.normalize('NFC').replace(/[\p{Cc}\p{Cf}\u2028\u2029]/gu, ' ').replace(/\s+/gu, ' ').trim();
  return [...clean].slice(0, POST_LIMITS.narrationChars).join('');
}

/** Seconds of PCM audio in a WAV's header (the `fmt ` byte rate and the `data` chunk's size). */
export function wavSeconds(bytes: Uint8Array, fileSize = bytes.length): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const tag = (at: number) => String.fromCharCode(...bytes.subarray(at, at + 4));
  if (bytes.length < 12 || tag(0) !== 'RIFF' || tag(8) !== 'WAVE') throw new Error('not a WAV file');
  let byteRate = 0;
  for (let at = 12; at + 8 <= bytes.length; ) {
    const size = view.getUint32(at + 4, true);
    if (tag(at) === 'fmt ' && at + 16 <= bytes.length) byteRate = view.getUint32(at + 16, true);
    if (tag(at) === 'data') {
      if (!byteRate) break;
      // A header written before the data was known may say more than the file holds.
      return Math.min(size, fileSize - at - 8) / byteRate;
    }
    at += 8 + size + (size % 2);
  }
  throw new Error('a WAV without a readable fmt/data chunk');
}

interface Job {
  request: TtsRequest;
  resolve: (wav: Uint8Array) => void;
  reject: (error: Error) => void;
}

export class Narrator {
  readonly #dir: string;
  readonly #maxBytes: number;
  readonly #speed: number;
  readonly #maxQueued: number;
  readonly #idleMs: number;
  readonly #timeoutMs: number;
  readonly #inFlight = new Map<string, Promise<Narration>>();
  readonly #queue: Job[] = [];
  #active: (Job & { timer: NodeJS.Timeout }) | null = null;
  #worker: Worker | null = null;
  #idle: NodeJS.Timeout | null = null;
  #ids = 0;
  #closed = false;
  #ready: Promise<unknown> | null = null;
  #evicting: Promise<void> = Promise.resolve();
  #hits = 0;
  #misses = 0;

  constructor(options: NarratorOptions) {
    this.#dir = options.cacheDir;
    this.#maxBytes = options.maxBytes ?? 128 * 1024 * 1024;
    this.#speed = options.speed ?? 165;
    this.#maxQueued = options.maxQueued ?? 64;
    this.#idleMs = options.idleMs ?? 60_000;
    this.#timeoutMs = options.timeoutMs ?? 30_000;
  }

  /**
   * Speaks `text` (see cleanNarration) with the voice pickVoice chooses; the WAV comes from the
   * cache when this voice, speed and text were spoken before.
   */
  synthesize(text: string, voice?: VoiceId | VoiceSetting | null, options: { speed?: number } = {}): Promise<Narration> {
    if (this.#closed) return Promise.reject(new Error('the narrator is closed'));
    const spoken = this.#what(text, voice, options);
    if (!spoken) return Promise.reject(new Error('nothing to say: the narration is empty'));
    const { key, clean, chosen, speed } = spoken;
    const running = this.#inFlight.get(key);
    if (running) return running;
    const made = this.#make(key, clean, chosen, speed).finally(() => this.#inFlight.delete(key));
    this.#inFlight.set(key, made);
    return made;
  }

  /**
   * What decides the audio of `text` spoken with `voice` (the synthesis, the voice, the speed, the
   * cleaned text), as a hash: equal keys, equal WAVs. Null when there is nothing to say.
   */
  key(text: string, voice?: VoiceId | VoiceSetting | null, options: { speed?: number } = {}): string | null {
    return this.#what(text, voice, options)?.key ?? null;
  }

  #what(text: string, voice: VoiceId | VoiceSetting | null | undefined, options: { speed?: number }): { key: string; clean: string; chosen: VoiceId; speed: number } | null {
    const clean = cleanNarration(text);
    if (!clean) return null;
    const chosen = pickVoice(clean, voice);
    const speed = Math.round(Math.min(SPEED_RANGE.max, Math.max(SPEED_RANGE.min, options.speed ?? this.#speed)));
    const key = createHash('sha256').update(JSON.stringify([CACHE_VERSION, chosen, speed, clean])).digest('hex').slice(0, 32);
    return { key, clean, chosen, speed };
  }

  stats(): { hits: number; misses: number; queued: number } {
    return { hits: this.#hits, misses: this.#misses, queued: this.#queue.length + (this.#active ? 1 : 0) };
  }

  async #make(key: string, text: string, voice: VoiceId, speed: number): Promise<Narration> {
    this.#ready ??= mkdir(this.#dir, { recursive: true });
    await this.#ready;
    const file = path.join(this.#dir, `${key}.wav`);
    const hit = await this.#cached(file);
    if (hit !== null) {
      this.#hits++;
      return { file, seconds: hit, voice, cached: true };
    }
    this.#misses++;
    const wav = await this.#speak({ id: ++this.#ids, voice, text, speed });
    const seconds = wavSeconds(wav);
    const tmp = `${file}.${randomUUID()}.tmp`;
    await writeFile(tmp, wav);
    await rename(tmp, file);
    this.#evict(file);
    await this.#evicting;
    return { file, seconds, voice, cached: false };
  }

  /** Seconds of the cached WAV (and marks it used), or null when there is none. */
  async #cached(file: string): Promise<number | null> {
    let handle;
    try {
      handle = await open(file, 'r');
    } catch {
      return null;
    }
    try {
      const { size } = await handle.stat();
      const head = new Uint8Array(Math.min(size, 4096));
      await handle.read(head, 0, head.length, 0);
      const seconds = wavSeconds(head, size);
      const now = new Date();
      await utimes(file, now, now);
      return seconds;
    } catch {
      await rm(file, { force: true }); // damaged: made again
      return null;
    } finally {
      await handle.close();
    }
  }

  /** Removes the least recently used WAVs beyond maxBytes (never `keep`, just made). One pass at a time. */
  #evict(keep: string): void {
    this.#evicting = this.#evicting.then(async () => {
      const names = (await readdir(this.#dir)).filter((n) => n.endsWith('.wav'));
      const files = (await Promise.all(names.map(async (n) => {
        const p = path.join(this.#dir, n);
        return stat(p).then((s) => ({ p, bytes: s.size, used: s.mtimeMs }), () => null);
      }))).filter((f) => f !== null).sort((a, b) => a.used - b.used);
      let total = files.reduce((sum, f) => sum + f.bytes, 0);
      for (const f of files) {
        if (total <= this.#maxBytes) break;
        if (f.p === keep) continue;
        await rm(f.p, { force: true });
        total -= f.bytes;
      }
    }).catch(() => {});
  }

  #speak(request: TtsRequest): Promise<Uint8Array> {
    if (this.#queue.length >= this.#maxQueued) return Promise.reject(new Error(`text to speech is busy: ${this.#queue.length} narrations are waiting`));
    return new Promise((resolve, reject) => {
      this.#queue.push({ request, resolve, reject });
      this.#next();
    });
  }

  #next(): void {
    if (this.#active || this.#closed) return;
    const job = this.#queue.shift();
    if (!job) {
      // Idle: the worker no longer keeps the process alive, and stops after idleMs.
      this.#worker?.unref();
      if (this.#worker && !this.#idle) this.#idle = setTimeout(() => this.#stopWorker(), this.#idleMs).unref();
      return;
    }
    if (this.#idle) clearTimeout(this.#idle);
    this.#idle = null;
    const worker = this.#startWorker();
    worker.ref(); // a caller awaits this: the process must not exit under it
    const timer = setTimeout(() => {
      this.#stopWorker();
      this.#fail(new Error(`text to speech took longer than ${this.#timeoutMs} ms`));
    }, this.#timeoutMs);
    this.#active = { ...job, timer };
    worker.postMessage(job.request);
  }

  #startWorker(): Worker {
    if (this.#worker) return this.#worker;
    const worker = new Worker(new URL('./worker-bootstrap.mjs', import.meta.url), { workerData: { entry: './tts-worker.ts' } });
    worker.unref();
    // Only the current worker speaks for the queue: one stopped after a timeout may still answer or exit.
    worker.on('message', (reply: TtsReply) => {
      const active = this.#active;
      if (this.#worker !== worker || !active || active.request.id !== reply.id) return;
      clearTimeout(active.timer);
      this.#active = null;
      if ('wav' in reply) active.resolve(reply.wav);
      else active.reject(new Error(reply.error));
      this.#next();
    });
    worker.on('error', (error) => {
      if (this.#worker !== worker) return;
      this.#worker = null;
      this.#fail(error);
    });
    worker.on('exit', (code) => {
      if (this.#worker !== worker) return;
      this.#worker = null;
      this.#fail(new Error(`the text-to-speech worker stopped (exit ${code})`));
    });
    return (this.#worker = worker);
  }

  /** Fails the request being spoken (the queue goes on, with a new worker when this one died). */
  #fail(error: Error): void {
    const active = this.#active;
    if (!active) return;
    clearTimeout(active.timer);
    this.#active = null;
    active.reject(error);
    this.#next();
  }

  #stopWorker(): void {
    const worker = this.#worker;
    this.#worker = null;
    if (this.#idle) clearTimeout(this.#idle);
    this.#idle = null;
    void worker?.terminate();
  }

  /** Stops the worker; waiting and running requests fail. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const closed = new Error('the narrator is closed');
    for (const job of this.#queue.splice(0)) job.reject(closed);
    if (this.#active) {
      clearTimeout(this.#active.timer);
      this.#active.reject(closed);
      this.#active = null;
    }
    const worker = this.#worker;
    this.#worker = null;
    if (this.#idle) clearTimeout(this.#idle);
    this.#idle = null;
    await Promise.allSettled([worker?.terminate(), this.#evicting]);
  }
}
