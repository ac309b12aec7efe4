/**
 * Live mode where the room's document is (every node; the embedded server): for each room it has
 * loaded, it watches the `live` map and who is there and, holding the room's `director` lease
 * (one process at a time: another node with the room takes over when it dies), directs the stream:
 * it puts suggestions on air (live-director.ts) and publishes the plan in the LiveStore, where the
 * process that makes the stream reads it (live-runner.ts: here when embedded, an engine worker in
 * scale-out). It keeps the last 30 s of every live room it sees (frames relayed from wherever they
 * are made) for instant replays, and counts votes.
 */
import type { FastifyBaseLogger } from 'fastify';
import { randomBytes } from 'node:crypto';
import type * as Y from 'yjs';
import { suggestionStatusOf, suggestionsOf, metaOf, type SuggestionStatus } from '../../shared/doc-layout.js';
import { ScenecastError } from '../../shared/errors.js';
import { LIVE_LIMITS, liveOf, readLive, votesOf } from '../../shared/live.js';
import type { LiveFrame, LiveState } from '../../shared/protocol.js';
import { ORIGIN } from '../collab/origins.js';
import type { Room } from '../collab/room.js';
import type { RoomManager } from '../collab/room-manager.js';
import type { LivePlan, LiveStore } from '../ports/live-store.js';
import type { RoomBroadcast, RoomEventBus } from '../ports/room-broadcast.js';
import { direct } from './live-director.js';
import { ReplayBuffer } from './replay-buffer.js';

/** How often a directed room's plan is read again without an edit (the suggestion queue's turn). */
const DIRECT_MS = 250;
/** A published plan lives this long unless published again (the stream stops when nobody directs it). */
const PLAN_TTL_MS = 5000;

export interface LiveServiceOptions {
  rooms: RoomManager;
  store: LiveStore;
  /** To the room (votes). */
  events: RoomBroadcast;
  /** From the room: frames and states made anywhere, for replays and late joiners. */
  bus: RoomEventBus;
  /** Sockets of the room on every node. */
  watchers: (room: string) => Promise<number>;
  log: FastifyBaseLogger;
  /** Lease time of the director (default 3000 ms). */
  leaseMs?: number;
}

interface Watched {
  room: Room;
  watchers: number;
  /** This process holds the room's director lease (renewed at every look). */
  directing: boolean;
  /** The last plan published, and when. */
  published: { json: string; at: number } | null;
  replay: ReplayBuffer;
  state: LiveState | null;
  stopRelay: (() => void) | null;
  detach: () => void;
}

export class LiveService {
  readonly #o: LiveServiceOptions;
  readonly holder = randomBytes(6).toString('hex');
  readonly #watched = new Map<string, Watched>();
  readonly #stopWatching: () => void;
  readonly #timers: NodeJS.Timeout[] = [];
  /** Rooms whose plan is published at the next tick (an edit; a change of who watches). */
  readonly #due = new Set<string>();
  #closed = false;

  constructor(options: LiveServiceOptions) {
    this.#o = options;
    this.#stopWatching = options.rooms.onLoaded((room) => this.#watch(room));
    this.#timers.push(
      // Watcher counts of live rooms refreshed; director leases tried (a director that died) and renewed.
      setInterval(() => {
        for (const id of this.#watched.keys()) void this.#refresh(id);
      }, 1000),
      setInterval(() => {
        for (const id of this.#watched.keys()) void this.#direct(id);
      }, DIRECT_MS),
    );
    for (const timer of this.#timers) timer.unref();
  }

  #watch(room: Room): void {
    if (this.#watched.has(room.id)) return;
    const onUpdate = () => this.#soon(room.id);
    room.doc.on('update', onUpdate);
    const onClosed = () => this.#unwatch(room.id);
    room.once('closed', onClosed);
    const entry: Watched = {
      room,
      watchers: 0,
      directing: false,
      published: null,
      replay: new ReplayBuffer(LIVE_LIMITS.replaySeconds),
      state: null,
      stopRelay: null,
      detach: () => {
        room.doc.off('update', onUpdate);
        room.off('closed', onClosed);
      },
    };
    this.#watched.set(room.id, entry);
    void this.#refresh(room.id);
  }

  #unwatch(id: string): void {
    const entry = this.#watched.get(id);
    if (!entry) return;
    this.#watched.delete(id);
    entry.detach();
    entry.stopRelay?.();
    if (entry.directing) void this.#letGo(entry, false);
  }

  /** Publishes the room's plan at the next turn of the event loop (edits in one burst: once). */
  #soon(id: string): void {
    if (this.#due.size === 0) setImmediate(() => {
      const due = [...this.#due];
      this.#due.clear();
      for (const room of due) void this.#direct(room);
    });
    this.#due.add(id);
  }

  /** A socket joined or left the room. */
  async onPresence(room: string): Promise<void> {
    await this.#refresh(room);
  }

  /** The room's live state as last seen here, or as the stream last saved it (for a socket that joins). */
  async stateOf(room: string): Promise<LiveState | null> {
    const entry = this.#watched.get(room);
    if (!entry || !readLive(entry.room.doc).on) return null;
    if (entry.state) return entry.state;
    return (await this.#o.store.checkpoint(room).catch(() => null))?.state ?? null;
  }

  /** Counts who watches a live room (on every node: not for rooms that are not live). */
  async #refresh(id: string): Promise<void> {
    const entry = this.#watched.get(id);
    if (!entry || !readLive(entry.room.doc).on) return;
    const watchers = await this.#o.watchers(id).catch(() => entry.watchers);
    if (watchers !== entry.watchers) {
      entry.watchers = watchers;
      this.#soon(id);
    }
  }

  /** Relays the room's frames while it is live, and publishes its plan when this process directs it. */
  async #direct(id: string): Promise<void> {
    const entry = this.#watched.get(id);
    if (!entry || this.#closed) return;
    const live = readLive(entry.room.doc);
    // Frames of the room, from whichever process makes them, for replays and late joiners.
    if (live.on && !entry.stopRelay) {
      entry.stopRelay = this.#o.bus.subscribe(id, (event, payload) => {
        if (event === 'live:frame') entry.replay.push(payload as LiveFrame);
        else if (event === 'live:state') entry.state = payload as LiveState;
      });
      void this.#refresh(id); // just turned on: who watches now

    } else if (!live.on && entry.stopRelay) {
      entry.stopRelay();
      entry.stopRelay = null;
      entry.state = null;
    }
    const { store } = this.#o;
    const leaseMs = this.#o.leaseMs ?? 3000;
    try {
      if (!live.on) {
        if (entry.directing) await this.#letGo(entry, true);
        return;
      }
      const renew = !entry.directing || !entry.published || performance.now() - entry.published.at > leaseMs / 3;
      if (renew) entry.directing = await store.acquire(id, this.holder, leaseMs, 'director');
      if (!entry.directing) return;
      const plan = this.#readPlan(entry.room.doc, entry);
      const json = JSON.stringify(plan);
      if (entry.published?.json === json && performance.now() - entry.published.at < leaseMs / 3) return;
      entry.published = { json, at: performance.now() };
      await store.publishPlan(id, plan, PLAN_TTL_MS);
    } catch (error) {
      this.#o.log.warn({ err: error, room: id }, 'the live plan could not be published');
    }
  }

  /**
   * Stops directing the room. `withdraw` (live turned off) also ends its stream; without it (this process lets
   * the room go) the plan stays until it expires, and another process with the room directs it from its next look.
   */
  async #letGo(entry: Watched, withdraw: boolean): Promise<void> {
    entry.directing = false;
    entry.published = null;
    if (withdraw) await this.#o.store.withdrawPlan(entry.room.id).catch(() => {});
    await this.#o.store.release(entry.room.id, this.holder, 'director').catch(() => {});
  }

  /** The plan from the document; writes the next suggestion on air when it is due. */
  #readPlan(doc: Y.Doc, entry: Watched): LivePlan {
    const live = readLive(doc);
    const statuses = new Map<string, SuggestionStatus>(suggestionStatusOf(doc).entries());
    const votes = new Map<string, number>(votesOf(doc).entries());
    const direction = direct({ live, suggestions: suggestionsOf(doc).toArray(), statuses, votes, now: Date.now() });
    if (direction.next) {
      const next = direction.next;
      entry.room.change((d) => {
        const map = liveOf(d);
        map.set('onAir', next);
        map.set('aired', [...readLive(d).aired, next.suggestion].slice(-LIVE_LIMITS.airedKept));
      }, ORIGIN.server);
    }
    const meta = metaOf(doc);
    const fps = meta.get('fps');
    const seed = meta.get('seed');
    return {
      on: live.on,
      onAir: direction.onAir,
      fps: typeof fps === 'number' && fps >= 8 && fps <= 30 ? Math.round(fps) : 16,
      seed: typeof seed === 'number' && Number.isFinite(seed) ? seed >>> 0 : 0,
      watchers: entry.watchers,
    };
  }

  /** The last seconds of the room's stream seen here (empty: none). */
  replayFrames(room: string): LiveFrame[] {
    return this.#watched.get(room)?.replay.last() ?? [];
  }

  /**
   * One vote of `voter` for a pending suggestion: VOTE_REPEATED the second time,
   * SUGGESTION_NOT_FOUND for one that is not pending. Resolves with its votes.
   */
  async vote(roomId: string, suggestion: string, voter: string): Promise<number> {
    return this.#o.rooms.with(roomId, async (room) => {
      const pending = suggestionsOf(room.doc).toArray().some((s) => s.id === suggestion) && suggestionStatusOf(room.doc).get(suggestion) !== 'dismissed' && !readLive(room.doc).aired.includes(suggestion);
      if (!pending) throw new ScenecastError('SUGGESTION_NOT_FOUND', `No pending suggestion "${suggestion}" in this room`);
      if (!(await this.#o.store.vote(roomId, suggestion, voter))) throw new ScenecastError('VOTE_REPEATED', 'You already voted for this suggestion');
      let votes = 0;
      room.change((doc) => {
        const map = votesOf(doc);
        votes = (map.get(suggestion) ?? 0) + 1;
        map.set(suggestion, votes);
      }, ORIGIN.server);
      this.#o.events.emit(roomId, 'suggestion:votes', { id: suggestion, votes });
      return votes;
    });
  }

  async forgetRoom(room: string): Promise<void> {
    this.#unwatch(room);
    await this.#o.store.forgetRoom(room);
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const timer of this.#timers) clearInterval(timer);
    this.#stopWatching();
    await Promise.all([...this.#watched.keys()].map(async (id) => {
      const entry = this.#watched.get(id)!;
      this.#watched.delete(id);
      entry.detach();
      entry.stopRelay?.();
      // Another node with the room directs it from its next look; with none, the stream stops.
      if (entry.directing) await this.#letGo(entry, false);
    }));
  }
}
