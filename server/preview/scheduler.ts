/**
 * Preview jobs waiting for the engine. Rules:
 *  - latest revision wins: one job per (room, shot); a newer one replaces a queued one and aborts
 *    a running one (its AbortSignal, checked by the engine before each denoiser step);
 *  - fair across rooms: one queue per room, served round-robin, so a busy room cannot starve others;
 *  - the edited shot goes to the front of its room's queue;
 *  - bounded: at most `maxQueued` jobs wait; beyond that `submit` answers 'full'.
 */
export interface PreviewJob {
  room: string;
  shot: string;
  rev: number;
  /** Put at the front of its room's queue. */
  urgent: boolean;
}

export interface SchedulerOptions<J extends PreviewJob> {
  /** Jobs run at once (the engine's workers). */
  maxRunning: number;
  maxQueued: number;
  run: (job: J, signal: AbortSignal) => Promise<void>;
  /** A job was replaced or aborted before it finished. */
  onCancelled: (job: J) => void;
  onQueueChange?: (depth: number) => void;
}

export class PreviewScheduler<J extends PreviewJob> {
  readonly #queues = new Map<string, J[]>();
  /** Room order for round-robin; a room goes to the back once served. */
  readonly #order: string[] = [];
  readonly #running = new Map<string, { job: J; controller: AbortController }>();
  #queued = 0;
  #closed = false;

  constructor(private readonly options: SchedulerOptions<J>) {}

  get depth(): number {
    return this.#queued;
  }

  get running(): number {
    return this.#running.size;
  }

  submit(job: J): 'queued' | 'full' {
    if (this.#closed) return 'full';
    const replaced = this.#removeQueued(job.room, job.shot);
    this.#abortRunning(job.room, job.shot);
    if (!replaced && this.#queued >= this.options.maxQueued) return 'full';
    let queue = this.#queues.get(job.room);
    if (!queue) {
      queue = [];
      this.#queues.set(job.room, queue);
      this.#order.push(job.room);
    }
    if (job.urgent) queue.unshift(job);
    else queue.push(job);
    this.#queued++;
    this.options.onQueueChange?.(this.#queued);
    // Started on the next microtask, so the caller announces 'queued' before 'generating'.
    queueMicrotask(() => this.#pump());
    return 'queued';
  }

  /** Cancels whatever is queued or running for a shot (it left the scene). */
  cancel(room: string, shot: string): void {
    this.#removeQueued(room, shot);
    this.#abortRunning(room, shot);
  }

  /** Cancels every job of a room, queued or running. */
  cancelRoom(room: string): void {
    for (const job of [...(this.#queues.get(room) ?? [])]) this.#removeQueued(room, job.shot);
    for (const { job } of [...this.#running.values()]) if (job.room === room) this.#abortRunning(room, job.shot);
  }

  #removeQueued(room: string, shot: string): boolean {
    const queue = this.#queues.get(room);
    const index = queue?.findIndex((j) => j.shot === shot) ?? -1;
    if (!queue || index < 0) return false;
    const [old] = queue.splice(index, 1);
    this.#queued--;
    this.options.onQueueChange?.(this.#queued);
    this.options.onCancelled(old!);
    return true;
  }

  #abortRunning(room: string, shot: string): void {
    this.#running.get(`${room}\u0000${shot}`)?.controller.abort();
  }

  #next(): J | undefined {
    for (let i = 0; i < this.#order.length; i++) {
      const room = this.#order.shift()!;
      const queue = this.#queues.get(room)!;
      const job = queue.shift();
      if (queue.length > 0) this.#order.push(room);
      else this.#queues.delete(room);
      if (job) return job;
    }
    return undefined;
  }

  #pump(): void {
    while (!this.#closed && this.#running.size < this.options.maxRunning) {
      const job = this.#next();
      if (!job) return;
      this.#queued--;
      this.options.onQueueChange?.(this.#queued);
      const key = `${job.room}\u0000${job.shot}`;
      const controller = new AbortController();
      this.#running.set(key, { job, controller });
      void this.options
        .run(job, controller.signal)
        .catch(() => {})
        .finally(() => {
          if (this.#running.get(key)?.job === job) this.#running.delete(key);
          if (controller.signal.aborted) this.options.onCancelled(job);
          this.#pump();
        });
    }
  }

  close(): void {
    this.#closed = true;
    for (const queue of this.#queues.values()) for (const job of queue) this.options.onCancelled(job);
    this.#queues.clear();
    this.#order.length = 0;
    this.#queued = 0;
    for (const { controller } of this.#running.values()) controller.abort();
  }
}
