/**
 * One room's live stream, made by the process that holds its lease (LiveStore), in the order the
 * data flows:
 *   1 plan     at each chunk boundary, what is on air (live-director.ts, through `plan`); a new
 *              prompt is judged by the content policy (refused: the last good one stays on air)
 *   2 generate one chunk (the bundle's window, 8 frames) with the preview profile, conditioned on
 *              the clean latents of the frames before it: the stream never restarts, a new prompt
 *              takes over from the current picture
 *   3 encode   JPEG, in libvips' threads
 *   4 pace     frames go out at the room's fps on a steady clock (never faster than real time);
 *              generation runs at most one chunk ahead. A new prompt drops the frames made ahead
 *              but ~150 ms of them and goes on from the last one kept, so it shows within about
 *              a chunk's generation time and the picture does not stall
 *   5 send     `live:frame` to the room (one generation for every socket; slow sockets drop
 *              stale frames in the fan-out); `live:state` when the revision on air changes
 *              (`appliedAt`: the seq of its first frame), when it pauses and resumes
 * It pauses while nobody watches, and saves a checkpoint (seq, revision, latents, state) after
 * every frame, so whoever takes the lease over goes on from the next frame.
 */
import sharp from 'sharp';
import { abortError, contextOf, type EnginePool, type GeneratedFrame } from '../../engine/index.js';
import { ScenecastError } from '../../shared/errors.js';
import type { LiveFrame, LiveState } from '../../shared/protocol.js';
import type { ContentPolicy } from '../policy/content-policy.js';
import type { LiveCheckpoint, LivePlan, LiveStore, OnAirPrompt } from '../ports/live-store.js';
import type { RoomBroadcast } from '../ports/room-broadcast.js';

/** Frames of the clock that motion words follow (a prompt's "moves right" plays over this many frames, then again). */
export const LIVE_PERIOD_S = 4;
/** Seconds of old frames kept playing while the first chunk of a new prompt is made. */
const SWITCH_KEEP_S = 0.15;

export interface LiveStreamOptions {
  room: string;
  engine: EnginePool;
  events: RoomBroadcast;
  store: LiveStore;
  policy: ContentPolicy;
  /** This process's id for the lease. */
  holder: string;
  leaseMs: number;
  jpegQuality: number;
  /** Frames of the model's window and its context (the bundle's chunk). */
  chunk: { frames: number; context: number };
  /** Read at every chunk boundary. */
  plan: () => Promise<LivePlan>;
  /** Each frame as it goes out (the replay buffer). */
  onFrame?: (frame: LiveFrame) => void;
  onState?: (state: LiveState) => void;
  /** The lease went to another process, or the stream ended. */
  onEnd?: (reason: 'stopped' | 'lost' | 'failed', error?: unknown) => void;
}

interface Made {
  frame: GeneratedFrame;
  jpeg: Buffer;
  rev: number;
  phase: number;
}

export class LiveStream {
  readonly #o: LiveStreamOptions;
  readonly #stop = new AbortController();
  /** Aborted to drop the chunk being generated (a new prompt). */
  #chunk = new AbortController();
  #wake: (() => void) | null = null;
  #done: Promise<void> | null = null;
  state: LiveState = { status: 'starting', rev: 0 };
  /** Sent so far; frames made ahead and not yet sent. */
  #seq = 0;
  #sent: Made[] = [];
  #ahead: Made[] = [];
  /** The revision and prompt frames are being made from; the last one the policy refused. */
  #rev = 0;
  #prompt: OnAirPrompt | null = null;
  #refused: string | null = null;
  #appliedPending = false;
  #phase = 0;
  #context: Float32Array | null = null;
  /** Where the stream began (the checkpoint), for dropping frames made ahead before any was sent. */
  #start: { phase: number; context: Float32Array | null } = { phase: 0, context: null };
  #saving: Promise<void> = Promise.resolve();
  #savePending = false;

  constructor(options: LiveStreamOptions) {
    this.#o = options;
  }

  /** Starts the stream from the room's checkpoint (or from nothing). */
  start(): Promise<void> {
    this.#done ??= this.#run().then(
      () => this.#o.onEnd?.('stopped'),
      (error: unknown) => this.#o.onEnd?.(error instanceof LeaseLost ? 'lost' : 'failed', error),
    );
    return this.#done;
  }

  /** Something changed (the prompt, who watches): look again now, not at the next frame. */
  poke(): void {
    this.#wake?.();
  }

  async stop(): Promise<void> {
    this.#stop.abort();
    this.#chunk.abort();
    this.#wake?.();
    await this.#done;
  }

  #emitState(state: LiveState): void {
    this.state = state;
    this.#o.events.emit(this.#o.room, 'live:state', state);
    this.#o.onState?.(state);
    // Kept with the checkpoint for sockets that join later, on any node.
    this.#saveSoon();
  }

  async #run(): Promise<void> {
    const { room, store, holder, leaseMs } = this.#o;
    const stop = this.#stop.signal;
    const saved = await store.checkpoint(room);
    if (saved) {
      this.#seq = saved.seq;
      this.#rev = saved.rev;
      this.#phase = saved.phase;
      this.#context = saved.context;
      this.#prompt = { prompt: saved.prompt };
    }
    this.#start = { phase: this.#phase, context: this.#context };
    let plan = await this.#o.plan();
    this.#emitState({ status: 'starting', rev: this.#rev, fps: plan.fps });
    let renewedAt = 0;
    let nextAt = performance.now();
    let producing: Promise<void> | null = null;
    let failure: unknown = null;
    try {
      while (!stop.aborted) {
        if (failure) throw failure;
        if (performance.now() - renewedAt > leaseMs / 3) {
          if (!(await store.acquire(room, holder, leaseMs))) throw new LeaseLost();
          renewedAt = performance.now();
        }
        plan = await this.#o.plan();
        if (!plan.on) return;
        if (plan.watchers === 0) {
          // Nobody watches: stop making frames until someone comes back.
          this.#chunk.abort();
          await producing;
          producing = null;
          this.#dropAhead();
          if (this.state.status !== 'paused') this.#emitState({ status: 'paused', rev: this.#rev, reason: 'Nobody is watching', fps: plan.fps });
          await this.#waitForPoke(1000);
          nextAt = performance.now();
          continue;
        }
        await this.#judge(plan);
        if (!this.#prompt || !this.#prompt.prompt) {
          if (this.state.status !== 'paused' && this.state.status !== 'refused') this.#emitState({ status: 'paused', rev: this.#rev, reason: 'The live prompt is empty', fps: plan.fps });
          await this.#waitForPoke(500);
          continue;
        }
        // 2–3. Keep one chunk made ahead.
        if (!producing && this.#ahead.length < this.#o.chunk.frames) {
          // A chunk dropped on purpose (a new prompt, a pause) ends in an AbortError: nothing to report.
          // Any other failure ends the stream (below).
          producing = this.#produce(plan)
            .catch((error: unknown) => {
              if ((error as Error).name !== 'AbortError') failure ??= error;
            })
            .finally(() => (producing = null));
        }
        // 4–5. Send the next frame on time.
        const next = this.#ahead[0];
        if (!next) {
          await Promise.race([producing, this.#waitForPoke(50)]);
          if (producing === null) await Promise.resolve();
          nextAt = Math.max(nextAt, performance.now() - 1000 / plan.fps);
          continue;
        }
        const wait = nextAt - performance.now();
        if (wait > 1) {
          await this.#waitForPoke(wait);
          if (performance.now() < nextAt - 1) continue; // woken early: look at the plan again
        }
        this.#ahead.shift();
        this.#send(next, plan);
        // A steady clock: late frames do not make the following ones come faster than real time.
        nextAt = Math.max(nextAt + 1000 / plan.fps, performance.now() - 1000 / plan.fps);
        this.#saveSoon();
      }
    } finally {
      this.#chunk.abort();
      await producing?.catch(() => {});
      await this.#saving;
      if (this.#sent.length > 0) await this.#save().catch(() => {});
      await store.release(room, holder).catch(() => {});
      if (!stop.aborted || this.state.status !== 'stopped') this.#emitState({ status: 'stopped', rev: this.#rev });
    }
  }

  /** 1. A new prompt on air is judged; accepted, it drops what was made ahead from the old one. */
  async #judge(plan: LivePlan): Promise<void> {
    const wanted = plan.onAir;
    if (this.#prompt && wanted.prompt === this.#prompt.prompt && wanted.author === this.#prompt.author) return;
    if (wanted.prompt === this.#refused) return;
    if (!wanted.prompt) {
      this.#prompt = this.#prompt?.prompt ? this.#prompt : wanted;
      return;
    }
    try {
      // Who suggested it is shown beside it on every overlay: judged with it.
      await this.#o.policy.enforce(wanted.author ? `${wanted.prompt}\n${wanted.author}` : wanted.prompt, 'The live prompt');
    } catch (error) {
      if (!(error instanceof ScenecastError)) throw error;
      this.#refused = wanted.prompt;
      this.#emitState({ status: 'refused', rev: this.#rev, code: error.code, reason: `${error.message}; the stream goes on with the last prompt`, ...(this.#prompt?.prompt ? { prompt: this.#prompt.prompt } : {}), fps: plan.fps });
      return;
    }
    this.#refused = null;
    this.#prompt = wanted;
    this.#rev++;
    this.#appliedPending = true;
    // Frames made ahead from the old prompt are dropped but the next ~150 ms (they play while the
    // new chunk is made, so the picture does not stall); the new prompt goes on from the last of them.
    this.#chunk.abort();
    this.#dropAhead(Math.ceil(SWITCH_KEEP_S * plan.fps));
  }

  /** Drops the frames made ahead but `keep`; the next chunk goes on from the last frame kept (or sent). */
  #dropAhead(keep = 0): void {
    this.#ahead = this.#ahead.slice(0, keep);
    const basis = [...this.#sent, ...this.#ahead];
    const last = basis.at(-1);
    if (last) {
      this.#phase = (last.phase + 1) % last.frame.count;
      this.#context = contextOf(basis.map((m) => m.frame), this.#o.chunk.context);
    } else ({ phase: this.#phase, context: this.#context } = this.#start);
  }

  /** 2–3. One chunk from where the frames made so far end. */
  async #produce(plan: LivePlan): Promise<void> {
    const controller = new AbortController();
    this.#chunk = controller;
    const rev = this.#rev;
    const prompt = this.#prompt!.prompt;
    const period = Math.max(this.#o.chunk.frames, Math.round(LIVE_PERIOD_S * plan.fps));
    const from = this.#phase % period;
    const count = Math.min(this.#o.chunk.frames, period - from);
    const seed = (plan.seed + Math.imul(this.#seq + this.#ahead.length + 1, 2654435761)) >>> 0;
    const made: Made[] = [];
    const spec = { prompt, negative: '', seed, duration: period / plan.fps, fps: plan.fps, camera: 'static' as const };
    for await (const frame of this.#o.engine.generate(spec, { profile: 'preview', range: { from, count }, context: this.#context, latents: true, signal: controller.signal })) {
      const jpeg = await sharp(frame.rgb, { raw: { width: frame.width, height: frame.height, channels: 3 } }).jpeg({ quality: this.#o.jpegQuality }).toBuffer();
      if (controller.signal.aborted) throw abortError();
      made.push({ frame, jpeg, rev, phase: frame.index });
    }
    if (controller.signal.aborted || rev !== this.#rev) return;
    this.#ahead.push(...made);
    this.#phase = (from + count) % period;
    this.#context = contextOf(made.map((m) => m.frame), this.#o.chunk.context) ?? this.#context;
    this.#wake?.();
  }

  #send(made: Made, plan: LivePlan): void {
    const frame: LiveFrame = { seq: this.#seq++, rev: made.rev, fps: plan.fps, width: made.frame.width, height: made.frame.height, data: made.jpeg };
    this.#sent.push(made);
    if (this.#sent.length > this.#o.chunk.context + 1) this.#sent.shift();
    if (this.#appliedPending && made.rev === this.#rev) {
      this.#appliedPending = false;
      const onAir = this.#prompt!;
      this.#emitState({ status: 'live', rev: this.#rev, appliedAt: frame.seq, prompt: onAir.prompt, ...(onAir.author !== undefined ? { author: onAir.author } : {}), fps: plan.fps });
    } else if (this.state.status !== 'live' && this.state.status !== 'refused') {
      const onAir = this.#prompt!;
      this.#emitState({ status: 'live', rev: this.#rev, prompt: onAir.prompt, ...(onAir.author !== undefined ? { author: onAir.author } : {}), fps: plan.fps });
    }
    this.#o.events.emit(this.#o.room, 'live:frame', frame);
    this.#o.onFrame?.(frame);
  }

  /**
   * Saves the checkpoint after every frame sent and every state, without waiting for it: one save at a time, the
   * newest next, so whoever takes the stream over goes on from the frame after the last one sent.
   */
  #saveSoon(): void {
    if (this.#sent.length === 0) return;
    if (this.#savePending) return;
    this.#savePending = true;
    this.#saving = this.#saving.then(async () => {
      this.#savePending = false;
      await this.#save().catch(() => {});
    });
  }

  async #save(): Promise<void> {
    const last = this.#sent.at(-1);
    const checkpoint: LiveCheckpoint = {
      seq: this.#seq,
      rev: this.#rev,
      prompt: this.#prompt?.prompt ?? '',
      phase: last ? (last.phase + 1) % last.frame.count : this.#phase,
      context: contextOf(this.#sent.map((m) => m.frame), this.#o.chunk.context),
      state: this.state,
    };
    await this.#o.store.save(this.#o.room, checkpoint);
  }

  #waitForPoke(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      const wake = () => done();
      this.#wake = wake;
      function done() {
        clearTimeout(timer);
        resolve();
      }
      if (this.#stop.signal.aborted) done();
    }).finally(() => (this.#wake = null));
  }
}

class LeaseLost extends Error {
  constructor() {
    super('another process holds the live stream now');
  }
}
