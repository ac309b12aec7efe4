/**
 * Live previews, in the order the data flows:
 *   1 watch   a user edit to a room's document (not loads, not the server's own changes)
 *   2 debounce   per room, with a maximum wait
 *   3 diff    read the scene; a shot whose content key changed needs a preview (edited shot first; a
 *             shot that continues the one before is keyed with it and starts from its last latents);
 *             invalid or refused shots get `preview:state` refused with the reason
 *   4 schedule   latest revision wins, fair across rooms, bounded (scheduler.ts)
 *   5 generate   the engine's distilled preview profile, frame by frame
 *   6 send    JPEG each frame, fan out to the room (slow sockets skip ahead), cache the complete preview
 */
import type { FastifyBaseLogger } from 'fastify';
import type * as Y from 'yjs';
import { ScenecastError, type ErrorCode } from '../../shared/errors.js';
import type { PreviewFrame, PreviewState } from '../../shared/protocol.js';
import { readScene } from '../../shared/scene-doc.js';
import { keyedShots } from '../../engine/index.js';
import { isPeer } from '../collab/origins.js';
import { contentPolicy, shotText, type ContentPolicy } from '../policy/content-policy.js';
import type { Room } from '../collab/room.js';
import type { RoomManager } from '../collab/room-manager.js';
import type { Metrics } from '../metrics.js';
import { Debouncer } from './debounce.js';
import { editedShots } from './edited-shots.js';
import type { CachedPreview, PreviewStore } from '../ports/preview-store.js';
import type { PreviewQueue, QueuedPreview } from '../ports/preview-jobs.js';
import type { PreviewStateLog } from './state-log.js';
import type { RoomBroadcast, RoomClient } from '../ports/room-broadcast.js';

export interface PreviewOptions {
  rooms: RoomManager;
  /** The bundle's hash (part of every content key). */
  bundleHash: string;
  queue: PreviewQueue;
  store: PreviewStore;
  /** Where preview states go (to the room, on every node). */
  events: RoomBroadcast;
  /** The newest state per shot as this node's sockets saw it (replayed to late joiners). */
  stateLog: PreviewStateLog;
  metrics: Metrics;
  log: FastifyBaseLogger;
  /** Quiet time after the last edit before previewing (ms, default 60). */
  debounceMs?: number;
  /** Longest a burst of edits can delay a preview (ms, default 300). */
  maxWaitMs?: number;
  /** The service's content policy (default: the blocklist). */
  policy?: ContentPolicy;
}

interface Watched {
  room: Room;
  debouncer: Debouncer;
  /** Content key (or refusal) last scheduled per shot: an unchanged shot is not previewed again. */
  lastKey: Map<string, string>;
  edited: Set<string>;
  editAt: number | null;
  detach: () => void;
  /** The diff under way, if any (a deletion waits for it). */
  diffing: Promise<void> | null;
  /** No longer watched: a diff still under way schedules nothing more. */
  gone: boolean;
}

/** Revisions increase across restarts and processes (they start at the clock), so a client never sees one go back. */
let lastRev = Date.now();
const nextRev = (): number => (lastRev = Math.max(lastRev + 1, Date.now()));

export class PreviewService {
  readonly #o: Required<PreviewOptions>;
  readonly #watched = new Map<string, Watched>();
  readonly #stopWatching: () => void;
  /** Rooms deleted while this process ran (the newest 1,000): a watch or diff that was under way schedules nothing for them. */
  readonly #forgotten = new Set<string>();

  constructor(options: PreviewOptions) {
    this.#o = { debounceMs: 60, maxWaitMs: 300, policy: contentPolicy(), ...options };
    this.#stopWatching = options.rooms.onLoaded((room) => void this.#watch(room));
  }

  // 1. Watch -----------------------------------------------------------------------------------

  async #watch(room: Room): Promise<void> {
    const cached = await this.#o.store.get(room.id).catch(() => []);
    if (this.#forgotten.has(room.id) || this.#watched.has(room.id)) return;
    const watched: Watched = {
      room,
      debouncer: new Debouncer(this.#o.debounceMs, this.#o.maxWaitMs, () => void this.#diffSafely(room.id)),
      lastKey: new Map(cached.map((p) => [p.shot, p.key])),
      edited: new Set(),
      editAt: null,
      detach: () => {},
      diffing: null,
      gone: false,
    };
    const onTransaction = (transaction: Y.Transaction) => {
      if (!isPeer(transaction.origin)) return;
      for (const id of editedShots(transaction)) watched.edited.add(id);
      watched.editAt ??= Date.now();
      watched.debouncer.trigger();
    };
    const onClosed = () => this.#unwatch(room.id);
    room.doc.on('afterTransaction', onTransaction);
    room.once('closed', onClosed);
    watched.detach = () => {
      room.doc.off('afterTransaction', onTransaction);
      room.off('closed', onClosed);
      watched.debouncer.cancel();
    };
    this.#watched.set(room.id, watched);
    // Shots without a cached preview (a new room, or a restart) get one without waiting for an edit.
    watched.debouncer.trigger();
  }

  #unwatch(id: string): void {
    const watched = this.#watched.get(id);
    if (watched) watched.gone = true;
    watched?.detach();
    this.#watched.delete(id);
  }

  // 3. Diff ------------------------------------------------------------------------------------

  /** A failed diff (the shared store is down) is retried on the next edit, never thrown. */
  async #diffSafely(roomId: string): Promise<void> {
    const watched = this.#watched.get(roomId);
    const run = this.#diff(roomId);
    if (watched) watched.diffing = run.catch(() => {});
    try {
      await run;
    } catch (error) {
      const watched = this.#watched.get(roomId);
      watched?.lastKey.clear();
      this.#o.log.warn({ room: roomId, err: error }, 'could not schedule previews; will retry on the next edit');
    }
  }

  async #diff(roomId: string): Promise<void> {
    const watched = this.#watched.get(roomId);
    if (!watched) return;
    const { room, lastKey } = watched;
    const edited = watched.edited;
    const editAt = watched.editAt;
    watched.edited = new Set();
    watched.editAt = null;
    const { scene, skipped, metaIssues } = readScene(room.doc);
    const unknownTemplate = metaIssues.find((issue) => issue.code === 'TEMPLATE_UNKNOWN');
    const { bundleHash, queue, store } = this.#o;

    const present = new Set([...scene.shots.map((s) => s.id), ...skipped.flatMap((s) => (s.id ? [s.id] : []))]);
    for (const id of [...lastKey.keys()]) {
      if (!present.has(id)) {
        lastKey.delete(id);
        await queue.cancel(roomId, id, nextRev());
      }
    }
    await store.retain(roomId, present).catch(() => {});
    this.#o.stateLog.retain(roomId, present);

    for (const shot of skipped) {
      if (!shot.id) continue;
      const issue = shot.issues[0]!;
      this.#refuse(watched, shot.id, issue.code, issue.message, `invalid:${issue.code}:${issue.message}`);
    }

    // Keys, chained where a shot continues the one before (an edit of a shot re-keys every shot that continues it).
    const keyed = keyedShots(bundleHash, scene, 'preview');
    // Runs of shots that continue one another stay in scene order (each starts from the one before); runs with
    // an edited shot go first.
    const runs: number[][] = [];
    scene.shots.forEach((shot, i) => (i > 0 && shot.continue ? runs.at(-1)!.push(i) : runs.push([i])));
    const ordered = runs.sort((a, b) => Number(b.some((i) => edited.has(scene.shots[i]!.id))) - Number(a.some((i) => edited.has(scene.shots[i]!.id)))).flat();
    /** Shots whose preview is (or will be) there to continue from. */
    const previewed = new Set<string>();
    // The room's stored previews, read once per diff (an undo finds its preview there).
    let stored: CachedPreview[] | null = null;
    for (const i of ordered) {
      const { shot, resolved, key } = keyed[i]!;
      const before = i > 0 && shot.continue ? scene.shots[i - 1]! : null;
      const after = before && previewed.has(before.id) ? { shot: before.id, key: keyed[i - 1]!.key } : undefined;
      if (lastKey.get(shot.id) === key) {
        previewed.add(shot.id);
        continue;
      }
      if (!shot.prompt.trim()) {
        this.#refuse(watched, shot.id, 'SHOT_PROMPT_EMPTY', 'Type a prompt to see a preview', `empty:${key}`);
        continue;
      }
      if (unknownTemplate) {
        // Never previewed with another template than the one asked for.
        this.#refuse(watched, shot.id, 'TEMPLATE_UNKNOWN', unknownTemplate.message, `template:${key}`);
        continue;
      }
      const verdict = await this.#o.policy.check(shotText(shot));
      if (!verdict.ok) {
        this.#refuse(watched, shot.id, 'CONTENT_BLOCKED', verdict.reason ?? 'blocked by the content policy', `blocked:${key}`);
        continue;
      }
      lastKey.set(shot.id, key);
      previewed.add(shot.id);
      const job: QueuedPreview = { room: roomId, shot: shot.id, rev: nextRev(), urgent: edited.has(shot.id), key, resolved, editAt, ...(after ? { after } : {}) };
      stored ??= await store.get(roomId).catch(() => []);
      const cached = stored.find((p) => p.shot === shot.id && p.key === key);
      if (cached) {
        // Back to a state already previewed (an undo): show it again, no generation.
        await this.#replayToRoom(job, cached.frames);
        continue;
      }
      if (watched.gone || this.#forgotten.has(roomId)) return;
      // Announced before it can start, so 'queued' always comes before 'generating'.
      this.#state(roomId, { shot: shot.id, rev: job.rev, status: 'queued' });
      if ((await queue.submit(job)) === 'full') {
        lastKey.delete(shot.id);
        this.#o.metrics.previewJobs.inc({ outcome: 'full' });
        this.#state(roomId, { shot: shot.id, rev: job.rev, status: 'refused', code: 'PREVIEW_QUEUE_FULL', reason: new ScenecastError('PREVIEW_QUEUE_FULL').message });
      }
    }
  }

  #refuse(watched: Watched, shot: string, code: ErrorCode, reason: string, marker: string): void {
    if (watched.lastKey.get(shot) === marker) return;
    watched.lastKey.set(shot, marker);
    void this.#o.queue.cancel(watched.room.id, shot, nextRev()).catch(() => {});
    this.#o.metrics.previewJobs.inc({ outcome: 'refused' });
    this.#state(watched.room.id, { shot, rev: nextRev(), status: 'refused', code, reason });
  }

  async #replayToRoom(job: QueuedPreview, frames: PreviewFrame[]): Promise<void> {
    const renumbered = frames.map((f) => ({ ...f, rev: job.rev }));
    for (const frame of renumbered) this.#o.events.emit(job.room, 'preview:frame', frame);
    await this.#o.store.set(job.room, { shot: job.shot, rev: job.rev, key: job.key, frames: renumbered, bytes: renumbered.reduce((s, f) => s + f.data.length, 0) });
    this.#state(job.room, { shot: job.shot, rev: job.rev, status: 'done' });
  }

  #state(room: string, state: PreviewState): void {
    this.#o.events.emit(room, 'preview:state', state);
  }

  /** A client joined: it first gets the newest complete preview of every shot. */
  async onJoin(client: RoomClient): Promise<void> {
    const { room } = client;
    const previews = await this.#o.store.get(room).catch(() => []);
    for (const preview of previews) {
      client.replayFrames(preview.frames);
      client.emit('preview:state', { shot: preview.shot, rev: preview.rev, status: 'done' });
    }
    // Then whatever happened to each shot since its last complete preview (refused, under way…).
    for (const state of this.#o.stateLog.states(room)) {
      const done = previews.find((p) => p.shot === state.shot);
      if (!done || state.rev > done.rev) client.emit('preview:state', state);
    }
  }

  /** Preview jobs waiting (metrics). */
  queueDepth(): Promise<number> {
    return this.#o.queue.depth();
  }

  /** A room was deleted: its queued and running previews stop, and nothing of them is kept. */
  async forgetRoom(room: string): Promise<void> {
    this.#forgotten.add(room);
    if (this.#forgotten.size > 1000) this.#forgotten.delete(this.#forgotten.values().next().value!);
    const diffing = this.#watched.get(room)?.diffing;
    this.#unwatch(room);
    // A diff under way may be submitting a job right now: the queue is cleared after it.
    await diffing;
    await this.#o.queue.forgetRoom(room);
    this.#o.stateLog.retain(room, new Set());
    await this.#o.store.retain(room, new Set());
  }

  async close(): Promise<void> {
    this.#stopWatching();
    for (const id of [...this.#watched.keys()]) this.#unwatch(id);
    await this.#o.queue.close();
  }
}
