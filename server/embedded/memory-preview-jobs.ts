/**
 * The embedded PreviewJobBackend: jobs and revisions in this process (the rules are above it, in
 * preview/preview-queue.ts and preview/preview-worker.ts).
 */
import type { PreviewJobBackend, QueuedPreview } from '../ports/preview-jobs.js';

interface Waiting {
  job: QueuedPreview;
  priority: number;
}

const keyOf = (room: string, shot: string): string => `${room}\u0000${shot}`;

export class MemoryPreviewJobs implements PreviewJobBackend {
  readonly #latest = new Map<string, number>();
  readonly #pending = new Map<string, number>();
  readonly #loads = new Map<string, number>();
  readonly #listeners = new Set<(room: string, shot: string, rev: number) => void>();
  /** Waiting jobs in queue order (priority, then arrival). */
  #waiting: Waiting[] = [];
  #consumer: { concurrency: number; handler: (job: QueuedPreview) => Promise<void>; running: number; stopped: boolean; idle: (() => void)[] } | null = null;

  async supersede(room: string, shot: string, rev: number, pending: boolean): Promise<number | null> {
    const key = keyOf(room, shot);
    this.#latest.set(key, Math.max(rev, this.#latest.get(key) ?? 0));
    const previous = this.#pending.get(key) ?? null;
    if (pending) this.#pending.set(key, rev);
    else this.#pending.delete(key);
    for (const listener of this.#listeners) listener(room, shot, rev);
    return previous !== null && previous < rev ? previous : null;
  }

  async latest(room: string, shot: string): Promise<number> {
    return this.#latest.get(keyOf(room, shot)) ?? 0;
  }

  async settle(room: string, shot: string, rev: number): Promise<void> {
    const key = keyOf(room, shot);
    if (this.#pending.get(key) === rev) this.#pending.delete(key);
  }

  onSupersede(listener: (room: string, shot: string, rev: number) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async enqueue(job: QueuedPreview, priority: number, replaces: number | null): Promise<void> {
    if (replaces !== null) {
      const index = this.#waiting.findIndex((w) => w.job.room === job.room && w.job.shot === job.shot && w.job.rev === replaces);
      if (index >= 0) {
        this.#waiting.splice(index, 1);
        await this.load(job.room, -1);
      }
    }
    const entry: Waiting = { job, priority };
    let at = this.#waiting.length;
    while (at > 0 && this.#waiting[at - 1]!.priority > priority) at--;
    this.#waiting.splice(at, 0, entry);
    // On the next microtask, so the caller announces 'queued' before 'generating'.
    queueMicrotask(() => this.#pump());
  }

  async depth(): Promise<number> {
    return this.#waiting.length;
  }

  async load(room: string, delta: number): Promise<number> {
    const value = Math.max(0, (this.#loads.get(room) ?? 0) + delta);
    if (value === 0) this.#loads.delete(room);
    else this.#loads.set(room, value);
    return value;
  }

  consume(concurrency: number, handler: (job: QueuedPreview) => Promise<void>): () => Promise<void> {
    const consumer = { concurrency, handler, running: 0, stopped: false, idle: [] as (() => void)[] };
    this.#consumer = consumer;
    queueMicrotask(() => this.#pump());
    return async () => {
      consumer.stopped = true;
      if (consumer.running > 0) await new Promise<void>((resolve) => consumer.idle.push(resolve));
    };
  }

  #pump(): void {
    const consumer = this.#consumer;
    while (consumer && !consumer.stopped && consumer.running < consumer.concurrency && this.#waiting.length > 0) {
      const { job } = this.#waiting.shift()!;
      consumer.running++;
      void consumer
        .handler(job)
        .catch(() => {})
        .finally(() => {
          consumer.running--;
          if (consumer.stopped && consumer.running === 0) for (const done of consumer.idle.splice(0)) done();
          this.#pump();
        });
    }
  }

  async forgetRoom(room: string): Promise<void> {
    this.#waiting = this.#waiting.filter((w) => w.job.room !== room);
    this.#loads.delete(room);
    const prefix = `${room}\u0000`;
    // Running jobs of the room stop too: as if each shot had a revision newer than all.
    for (const key of this.#latest.keys()) if (key.startsWith(prefix)) for (const listener of this.#listeners) listener(room, key.slice(prefix.length), Number.MAX_SAFE_INTEGER);
    for (const map of [this.#latest, this.#pending]) for (const key of [...map.keys()]) if (key.startsWith(prefix)) map.delete(key);
  }

  async close(): Promise<void> {
    this.#waiting = [];
  }
}
