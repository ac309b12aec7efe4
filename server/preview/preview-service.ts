/**
 * Live previews, in the order the data flows:
 *   1 watch   a user edit to a room's document (not loads, not the server's own changes)
 *   2 debounce   per room, with a maximum wait
 *   3 diff    read the scene; a shot whose content key changed needs a preview (edited shot first);
 *             invalid or refused shots get `preview:state` refused with the reason
 *   4 schedule   latest revision wins, fair across rooms, bounded (scheduler.ts)
 *   5 generate   the engine's distilled preview profile, frame by frame
 *   6 send    JPEG each frame, fan out to the room (slow sockets skip ahead), cache the complete preview
 */
import type { FastifyBaseLogger } from 'fastify';
import sharp from 'sharp';
import type * as Y from 'yjs';
import { ScenecastError, type ErrorCode } from '../../shared/errors.js';
import { moderate, type Verdict } from '../../shared/moderation.js';
import type { PreviewFrame, PreviewState } from '../../shared/protocol.js';
import { readScene } from '../../shared/scene-doc.js';
import type { EnginePool } from '../../engine/engine-pool.js';
import { resolveShot, shotKey, type ResolvedShot } from '../../engine/shot-spec.js';
import { isPeer } from '../collab/origins.js';
import type { Room } from '../collab/room.js';
import type { RoomManager } from '../collab/room-manager.js';
import type { Metrics } from '../metrics.js';
import { ioRoom, type Io, type IoSocket } from '../realtime/socket-server.js';
import { Debouncer } from './debounce.js';
import { editedShots } from './edited-shots.js';
import { FrameCache } from './frame-cache.js';
import { FrameFanout } from './frame-fanout.js';
import { PreviewScheduler, type PreviewJob } from './scheduler.js';

export type ModerationHook = (text: string) => Verdict | Promise<Verdict>;

export interface PreviewOptions {
  rooms: RoomManager;
  io: Io;
  engine: EnginePool;
  metrics: Metrics;
  log: FastifyBaseLogger;
  /** Quiet time after the last edit before previewing (ms, default 60). */
  debounceMs?: number;
  /** Longest a burst of edits can delay a preview (ms, default 300). */
  maxWaitMs?: number;
  /** Preview jobs that may wait for the engine (default 64). */
  maxQueued?: number;
  /** Bytes of complete previews kept for late joiners (default 64 MiB). */
  frameCacheBytes?: number;
  /** JPEG quality of preview frames (default 80). */
  jpegQuality?: number;
  /** Content policy; the default is the bilingual blocklist of shared/moderation.ts. */
  moderation?: ModerationHook;
}

interface Job extends PreviewJob {
  key: string;
  resolved: ResolvedShot;
  /** When the edit that caused it reached the server (performance.now()), for the latency metric. */
  editAt: number | null;
}

interface Watched {
  room: Room;
  debouncer: Debouncer;
  /** Content key (or refusal) last scheduled per shot: an unchanged shot is not previewed again. */
  lastKey: Map<string, string>;
  edited: Set<string>;
  editAt: number | null;
  detach: () => void;
}

/** Revisions increase across restarts too (they start at the clock), so a client never sees one go back. */
let lastRev = Date.now();
const nextRev = (): number => ++lastRev;

export class PreviewService {
  readonly #o: Required<Omit<PreviewOptions, 'moderation'>> & { moderation: ModerationHook };
  readonly #watched = new Map<string, Watched>();
  readonly #cache: FrameCache;
  readonly #fanout: FrameFanout;
  readonly #scheduler: PreviewScheduler<Job>;
  readonly #stopWatching: () => void;

  constructor(options: PreviewOptions) {
    this.#o = {
      debounceMs: 60,
      maxWaitMs: 300,
      maxQueued: 64,
      frameCacheBytes: 64 * 1024 * 1024,
      jpegQuality: 80,
      moderation: moderate,
      ...options,
    };
    this.#cache = new FrameCache(this.#o.frameCacheBytes);
    this.#fanout = new FrameFanout(options.io, options.metrics);
    this.#scheduler = new PreviewScheduler<Job>({
      maxRunning: options.engine.workerCount,
      maxQueued: this.#o.maxQueued,
      run: (job, signal) => this.#generate(job, signal),
      onCancelled: (job) => {
        options.metrics.previewJobs.inc({ outcome: 'cancelled' });
        this.#state(job.room, { shot: job.shot, rev: job.rev, status: 'cancelled', reason: 'a newer edit replaced it' });
      },
      onQueueChange: (depth) => options.metrics.previewQueueDepth.set(depth),
    });
    this.#stopWatching = options.rooms.onLoaded((room) => this.#watch(room));
  }

  // 1. Watch -----------------------------------------------------------------------------------

  #watch(room: Room): void {
    const watched: Watched = {
      room,
      debouncer: new Debouncer(this.#o.debounceMs, this.#o.maxWaitMs, () => void this.#diff(room.id)),
      lastKey: new Map(this.#cache.get(room.id).map((p) => [p.shot, p.key])),
      edited: new Set(),
      editAt: null,
      detach: () => {},
    };
    const onTransaction = (transaction: Y.Transaction) => {
      if (!isPeer(transaction.origin)) return;
      for (const id of editedShots(transaction)) watched.edited.add(id);
      watched.editAt ??= performance.now();
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
    this.#watched.get(id)?.detach();
    this.#watched.delete(id);
  }

  // 3. Diff ------------------------------------------------------------------------------------

  async #diff(roomId: string): Promise<void> {
    const watched = this.#watched.get(roomId);
    if (!watched) return;
    const { room, lastKey } = watched;
    const edited = watched.edited;
    const editAt = watched.editAt;
    watched.edited = new Set();
    watched.editAt = null;
    const { scene, skipped } = readScene(room.doc);
    const bundleHash = this.#o.engine.info.hash;

    const present = new Set([...scene.shots.map((s) => s.id), ...skipped.flatMap((s) => (s.id ? [s.id] : []))]);
    for (const id of [...lastKey.keys()]) {
      if (!present.has(id)) {
        lastKey.delete(id);
        this.#scheduler.cancel(roomId, id);
      }
    }
    this.#cache.retain(roomId, present);

    for (const shot of skipped) {
      if (!shot.id) continue;
      const issue = shot.issues[0]!;
      this.#refuse(watched, shot.id, issue.code, issue.message, `invalid:${issue.code}:${issue.message}`);
    }

    const ordered = [...scene.shots].sort((a, b) => Number(edited.has(b.id)) - Number(edited.has(a.id)));
    for (const shot of ordered) {
      const resolved = resolveShot(scene, shot, 'preview');
      const key = shotKey(bundleHash, resolved, 'preview');
      if (lastKey.get(shot.id) === key) continue;
      if (!shot.prompt.trim()) {
        this.#refuse(watched, shot.id, 'SHOT_PROMPT_EMPTY', 'Type a prompt to see a preview', `empty:${key}`);
        continue;
      }
      const verdict = await this.#o.moderation(`${shot.prompt}\n${shot.negative ?? ''}`);
      if (!verdict.ok) {
        this.#refuse(watched, shot.id, 'CONTENT_BLOCKED', verdict.reason ?? 'blocked by the content policy', `blocked:${key}`);
        continue;
      }
      lastKey.set(shot.id, key);
      const job: Job = { room: roomId, shot: shot.id, rev: nextRev(), urgent: edited.has(shot.id), key, resolved, editAt };
      const cached = this.#cache.get(roomId).find((p) => p.shot === shot.id && p.key === key);
      if (cached) {
        // Back to a state already previewed (an undo): show it again, no generation.
        this.#replayToRoom(job, cached.frames);
        continue;
      }
      if (this.#scheduler.submit(job) === 'full') {
        lastKey.delete(shot.id);
        this.#o.metrics.previewJobs.inc({ outcome: 'full' });
        this.#state(roomId, { shot: shot.id, rev: job.rev, status: 'refused', code: 'PREVIEW_QUEUE_FULL', reason: new ScenecastError('PREVIEW_QUEUE_FULL').message });
      } else {
        this.#state(roomId, { shot: shot.id, rev: job.rev, status: 'queued' });
      }
    }
  }

  #refuse(watched: Watched, shot: string, code: ErrorCode, reason: string, marker: string): void {
    if (watched.lastKey.get(shot) === marker) return;
    watched.lastKey.set(shot, marker);
    this.#scheduler.cancel(watched.room.id, shot);
    this.#o.metrics.previewJobs.inc({ outcome: 'refused' });
    this.#state(watched.room.id, { shot, rev: nextRev(), status: 'refused', code, reason });
  }

  // 5-6. Generate and send ----------------------------------------------------------------------

  async #generate(job: Job, signal: AbortSignal): Promise<void> {
    const { engine, metrics, log } = this.#o;
    this.#state(job.room, { shot: job.shot, rev: job.rev, status: 'generating' });
    const frames: PreviewFrame[] = [];
    let bytes = 0;
    try {
      for await (const frame of engine.generate(job.resolved.spec, { profile: 'preview', signal })) {
        const data = await sharp(frame.rgb, { raw: { width: frame.width, height: frame.height, channels: 3 } })
          .jpeg({ quality: this.#o.jpegQuality })
          .toBuffer();
        if (signal.aborted) return;
        const out: PreviewFrame = { shot: job.shot, rev: job.rev, index: frame.index, count: frame.count, fps: job.resolved.spec.fps, width: frame.width, height: frame.height, data };
        if (frames.length === 0 && job.editAt !== null) metrics.previewLatency.observe((performance.now() - job.editAt) / 1000);
        frames.push(out);
        bytes += data.length;
        this.#fanout.publish(job.room, out);
      }
    } catch (error) {
      if (signal.aborted || (error as Error).name === 'AbortError') return;
      log.error({ err: error, room: job.room, shot: job.shot }, 'preview failed');
      metrics.previewJobs.inc({ outcome: 'failed' });
      this.#watched.get(job.room)?.lastKey.delete(job.shot);
      this.#state(job.room, { shot: job.shot, rev: job.rev, status: 'failed', code: 'ENGINE_FAILED', reason: (error as Error).message });
      return;
    }
    this.#cache.set(job.room, { shot: job.shot, rev: job.rev, key: job.key, frames, bytes });
    metrics.previewJobs.inc({ outcome: 'done' });
    this.#state(job.room, { shot: job.shot, rev: job.rev, status: 'done' });
  }

  #replayToRoom(job: Job, frames: PreviewFrame[]): void {
    const renumbered = frames.map((f) => ({ ...f, rev: job.rev }));
    for (const frame of renumbered) this.#fanout.publish(job.room, frame);
    this.#cache.set(job.room, { shot: job.shot, rev: job.rev, key: job.key, frames: renumbered, bytes: renumbered.reduce((s, f) => s + f.data.length, 0) });
    this.#state(job.room, { shot: job.shot, rev: job.rev, status: 'done' });
  }

  #state(room: string, state: PreviewState): void {
    this.#o.io.to(ioRoom(room)).emit('preview:state', state);
  }

  /** A socket joined: it first gets the newest complete preview of every shot. */
  onJoin(socket: IoSocket): void {
    for (const preview of this.#cache.get(socket.data.room)) {
      this.#fanout.replay(socket, preview.frames);
      socket.emit('preview:state', { shot: preview.shot, rev: preview.rev, status: 'done' });
    }
  }

  close(): void {
    this.#stopWatching();
    for (const id of [...this.#watched.keys()]) this.#unwatch(id);
    this.#scheduler.close();
  }
}
