/**
 * The embedded RenderQueue: records are JSON files under DATA_DIR/renders/<id>/render.json and
 * jobs run in this process, `concurrency` at a time, never two of one room at once (the oldest
 * waiting render of a room with none running goes next); jobs that were queued or running when
 * the process stopped are queued again on start (their finished shots come from the shot cache).
 */
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { RenderInfo } from '../../shared/protocol.js';
import type { RenderProcessor, RenderQueue } from '../ports/render-queue.js';
import { admitRender, countActive, type RenderLimits } from '../render/render-limits.js';
import { isActive, markCancelled, markQueued } from '../render/render-records.js';

export class LocalRenderQueue implements RenderQueue {
  readonly #waiting: string[] = [];
  readonly #running = new Map<string, AbortController>();
  readonly #records = new Map<string, RenderInfo>();
  #closed = false;
  #processor: RenderProcessor | null = null;

  private constructor(
    readonly dir: string,
    private readonly concurrency: number,
  ) {}

  static async open(dir: string, concurrency: number): Promise<LocalRenderQueue> {
    await mkdir(dir, { recursive: true });
    const queue = new LocalRenderQueue(dir, Math.max(1, concurrency));
    const resumed: RenderInfo[] = [];
    for (const id of await readdir(dir)) {
      const record = await readFile(path.join(dir, id, 'render.json'), 'utf8').then((t) => JSON.parse(t) as RenderInfo, () => null);
      if (!record) continue;
      queue.#records.set(record.id, record);
      if (record.status === 'queued' || record.status === 'running') resumed.push(record);
    }
    for (const record of resumed.sort((a, b) => a.createdAt.localeCompare(b.createdAt))) {
      markQueued(record);
      await queue.save(record);
      queue.#waiting.push(record.id);
    }
    return queue;
  }

  start(processor: RenderProcessor): void {
    this.#processor = processor;
    this.#pump();
  }

  async add(record: RenderInfo, limits: RenderLimits): Promise<void> {
    // Counted and reserved in one synchronous step: no other add can come between.
    const refusal = admitRender(countActive([...this.#records.values()].filter(isActive), record.room), limits);
    if (refusal) throw refusal;
    this.#records.set(record.id, record);
    await this.save(record);
    this.#waiting.push(record.id);
    this.#pump();
  }

  async get(id: string): Promise<RenderInfo | null> {
    return this.#records.get(id) ?? null;
  }

  async list(): Promise<RenderInfo[]> {
    return [...this.#records.values()];
  }

  async listRoom(room: string): Promise<RenderInfo[]> {
    return [...this.#records.values()].filter((r) => r.room === room).sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  }

  /** Saves of one record run one after another (a progress save must not race the final one). */
  readonly #saving = new Map<string, Promise<void>>();
  #saveCount = 0;

  save(record: RenderInfo): Promise<void> {
    // What get() answers is what was saved last (a caller may save a copy of the record).
    if (this.#records.has(record.id)) this.#records.set(record.id, record);
    const json = JSON.stringify(record);
    const previous = this.#saving.get(record.id) ?? Promise.resolve();
    const next = previous
      .catch(() => {})
      .then(async () => {
        if (!this.#records.has(record.id)) return;
        const folder = path.join(this.dir, record.id);
        await mkdir(folder, { recursive: true });
        const tmp = path.join(folder, `render.json.${process.pid}.${++this.#saveCount}.tmp`);
        await writeFile(tmp, json);
        await rename(tmp, path.join(folder, 'render.json'));
      });
    this.#saving.set(record.id, next);
    void next.finally(() => {
      if (this.#saving.get(record.id) === next) this.#saving.delete(record.id);
    }).catch(() => {});
    return next;
  }

  async cancel(id: string): Promise<RenderInfo | null> {
    const record = this.#records.get(id);
    if (!record) return null;
    const waiting = this.#waiting.indexOf(id);
    if (waiting >= 0) {
      this.#waiting.splice(waiting, 1);
      markCancelled(record);
      await this.save(record);
      this.#onCancelledWhileQueued?.(record);
    }
    this.#running.get(id)?.abort();
    return record;
  }

  #onCancelledWhileQueued: ((record: RenderInfo) => void) | null = null;

  /** Called when a job is cancelled before it started (a running one reports through its processor). */
  onCancelledWhileQueued(listener: (record: RenderInfo) => void): void {
    this.#onCancelledWhileQueued = listener;
  }

  async remove(id: string): Promise<void> {
    this.#records.delete(id);
    await this.#saving.get(id)?.catch(() => {});
    await rm(path.join(this.dir, id), { recursive: true, force: true });
  }

  #pump(): void {
    const processor = this.#processor;
    while (processor && !this.#closed && this.#running.size < this.concurrency && this.#waiting.length > 0) {
      // One running render per room: the oldest waiting one whose room has none running.
      const busy = new Set([...this.#running.keys()].map((id) => this.#records.get(id)?.room));
      const next = this.#waiting.findIndex((id) => !busy.has(this.#records.get(id)?.room));
      if (next < 0) return;
      const [id] = this.#waiting.splice(next, 1) as [string];
      const record = this.#records.get(id);
      if (!record) continue;
      const controller = new AbortController();
      this.#running.set(id, controller);
      // The processor records its own failures on the job; this only keeps the loop going.
      void processor(record, controller.signal)
        .catch(() => {})
        .finally(() => {
          this.#running.delete(id);
          this.#pump();
        });
    }
  }

  /** Stops taking jobs and aborts running ones; their records stay 'running' on disk, so they resume. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const controller of this.#running.values()) controller.abort(new Error('shutdown'));
  }
}
