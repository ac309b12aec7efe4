/**
 * The engine's side of live mode, in every process that has an engine (the embedded server, each
 * engine worker): it looks at the rooms whose stream is wanted (a published plan in the LiveStore:
 * live-service.ts publishes it where the document is), takes the lease of one that nobody streams
 * and somebody watches, and runs its stream (live-stream.ts), reading the plan before every frame.
 * A process that dies stops renewing its leases; another one's next look (every second, and at every
 * published plan) takes the room over from its checkpoint.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import type { EnginePool } from '../../engine/index.js';
import type { ContentPolicy } from '../policy/content-policy.js';
import type { LivePlan, LiveStore } from '../ports/live-store.js';
import type { RoomBroadcast } from '../ports/room-broadcast.js';
import { LiveStream } from './live-stream.js';

/** How often the wanted rooms are looked at (a holder that died is taken over within its lease and this). */
const LOOK_MS = 1000;
/** Longest a plan read from the store is reused without a notice that it changed. */
const PLAN_REUSE_MS = 1000;

export interface LiveRunnerOptions {
  engine: EnginePool;
  store: LiveStore;
  /** Frames and states to the room, relayed by every node. */
  events: RoomBroadcast;
  policy: ContentPolicy;
  log: Pick<FastifyBaseLogger, 'warn' | 'error'>;
  jpegQuality: number;
  /** Lease time of a stream (default 3000 ms). */
  leaseMs?: number;
  /** Streams made at once by this process (default: no limit; the engine's priorities share it out). */
  maxStreams?: number;
}

interface CachedPlan {
  value: LivePlan | null;
  at: number;
  /** A notice said it changed: read it again before the next frame. */
  stale: boolean;
}

const OFF: LivePlan = { on: false, onAir: { prompt: '' }, fps: 16, seed: 0, watchers: 0 };

export class LiveRunner {
  readonly #o: LiveRunnerOptions;
  readonly holder = randomBytes(6).toString('hex');
  readonly #streams = new Map<string, LiveStream>();
  readonly #plans = new Map<string, CachedPlan>();
  readonly #timer: NodeJS.Timeout;
  readonly #stopNotices: () => void;
  #looking: Promise<void> | null = null;
  #closed = false;

  constructor(options: LiveRunnerOptions) {
    this.#o = options;
    this.#stopNotices = options.store.onPlan((room) => {
      const cached = this.#plans.get(room);
      if (cached) cached.stale = true;
      const stream = this.#streams.get(room);
      if (stream) stream.poke();
      else this.look();
    });
    this.#timer = setInterval(() => this.look(), LOOK_MS);
    this.#timer.unref();
    this.look();
  }

  /** Rooms streamed here now. */
  get rooms(): string[] {
    return [...this.#streams.keys()];
  }

  /** Looks at the wanted rooms now (once at a time). */
  look(): void {
    if (this.#closed || this.#looking) return;
    this.#looking = this.#look()
      .catch((error: unknown) => this.#o.log.warn({ err: error }, 'the live rooms could not be looked at'))
      .finally(() => (this.#looking = null));
  }

  async #look(): Promise<void> {
    const max = this.#o.maxStreams ?? Infinity;
    for (const room of await this.#o.store.wanted()) {
      if (this.#closed || this.#streams.size >= max) return;
      if (this.#streams.has(room)) continue;
      const plan = await this.#planOf(room, true);
      if (!plan.on || plan.watchers === 0) continue;
      // Spread streams over the engine processes: one that already streams tries a little later, so a less
      // busy one takes the room first.
      if (this.#streams.size > 0) await new Promise((resolve) => setTimeout(resolve, Math.min(1500, 250 * this.#streams.size)));
      if (this.#closed || this.#streams.has(room)) continue;
      await this.#take(room);
    }
  }

  async #take(room: string): Promise<void> {
    const { engine, store } = this.#o;
    const leaseMs = this.#o.leaseMs ?? 3000;
    if (!(await store.acquire(room, this.holder, leaseMs))) return;
    if (this.#closed || this.#streams.has(room)) return;
    const stream = new LiveStream({
      room,
      engine,
      events: this.#o.events,
      store,
      policy: this.#o.policy,
      holder: this.holder,
      leaseMs,
      jpegQuality: this.#o.jpegQuality,
      chunk: engine.chunk,
      plan: () => this.#planOf(room),
      onEnd: (reason, error) => {
        if (error && reason === 'failed') this.#o.log.error({ err: error, room }, 'the live stream failed');
        if (this.#streams.get(room) === stream) this.#streams.delete(room);
        this.#plans.delete(room);
        // Turned on again, or lost and free again: look once more.
        if (reason !== 'lost') setTimeout(() => this.look(), 100).unref();
      },
    });
    this.#streams.set(room, stream);
    void stream.start();
  }

  /** The room's plan, read again after a notice, after PLAN_REUSE_MS, or when `fresh`; none reads as off. */
  async #planOf(room: string, fresh = false): Promise<LivePlan> {
    const cached = this.#plans.get(room);
    const now = performance.now();
    if (!fresh && cached && !cached.stale && now - cached.at < PLAN_REUSE_MS) return cached.value ?? OFF;
    const entry: CachedPlan = { value: cached?.value ?? null, at: now, stale: false };
    this.#plans.set(room, entry);
    try {
      entry.value = await this.#o.store.plan(room);
    } catch (error) {
      // The store is away: go on with what was read last, and read again at the next frame.
      entry.stale = true;
      if (!cached) throw error;
    }
    return entry.value ?? OFF;
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    this.#stopNotices();
    await this.#looking;
    await Promise.all([...this.#streams.values()].map((stream) => stream.stop()));
    this.#streams.clear();
  }
}
