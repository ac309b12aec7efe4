/**
 * The rules of preview jobs, written once over any PreviewJobBackend (ports/preview-jobs.ts):
 *  - latest revision wins: a new revision of a shot supersedes the one before it; a superseded job
 *    that is still waiting is taken out, a running one is aborted within one denoiser step (the
 *    worker hears the supersede), and the room is told `cancelled` once, here;
 *  - the shot being edited goes first (priority 0);
 *  - fair across rooms: any other job's priority is its room's load (jobs waiting or running),
 *    so a busy room's tenth job waits behind another room's first;
 *  - bounded: beyond `maxQueued` waiting jobs a submit answers 'full'.
 * The worker side (preview-worker.ts) skips a job whose revision is no longer the newest.
 */
import type { PreviewJobBackend, PreviewQueue, QueuedPreview } from '../ports/preview-jobs.js';
import type { RoomBroadcast } from '../ports/room-broadcast.js';

/** Priority of a job (lower first): the edited shot first, then by how busy its room already is. */
export const previewPriority = (job: Pick<QueuedPreview, 'urgent'>, roomLoad: number): number => (job.urgent ? 0 : Math.max(1, roomLoad));

/** Waiting jobs at most (default). */
export const MAX_QUEUED_PREVIEWS = 64;

export interface PreviewJobQueueOptions {
  backend: PreviewJobBackend;
  /** Where `cancelled` states go. */
  broadcast: RoomBroadcast;
  /** Waiting jobs at most (default 64). */
  maxQueued?: number;
  /** A job was superseded before it finished (metrics). */
  onCancelled?: () => void;
}

export class PreviewJobQueue implements PreviewQueue {
  readonly #o: Required<PreviewJobQueueOptions>;

  constructor(options: PreviewJobQueueOptions) {
    this.#o = { maxQueued: MAX_QUEUED_PREVIEWS, onCancelled: () => {}, ...options };
  }

  async submit(job: QueuedPreview): Promise<'queued' | 'full'> {
    const { backend } = this.#o;
    const full = (await backend.depth()) >= this.#o.maxQueued;
    const replaced = await backend.supersede(job.room, job.shot, job.rev, !full);
    if (replaced !== null) this.#cancelled(job.room, job.shot, replaced);
    if (full) return 'full';
    const load = await backend.load(job.room, 1);
    await backend.enqueue(job, previewPriority(job, load - 1), replaced);
    return 'queued';
  }

  async cancel(room: string, shot: string, rev: number): Promise<void> {
    // A revision newer than any job's supersedes whatever is pending, and nothing replaces it.
    const replaced = await this.#o.backend.supersede(room, shot, rev, false);
    if (replaced !== null) this.#cancelled(room, shot, replaced);
  }

  #cancelled(room: string, shot: string, rev: number): void {
    this.#o.onCancelled();
    this.#o.broadcast.emit(room, 'preview:state', { shot, rev, status: 'cancelled', reason: 'a newer edit replaced it' });
  }

  forgetRoom(room: string): Promise<void> {
    return this.#o.backend.forgetRoom(room);
  }

  depth(): Promise<number> {
    return this.#o.backend.depth();
  }

  close(): Promise<void> {
    return this.#o.backend.close();
  }
}
