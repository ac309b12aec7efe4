/**
 * Live mode on this process: for each room it has loaded, watches the `live` map and who is
 * there, and runs the room's stream (live-stream.ts) while `live.on` and someone watches, holding
 * the room's lease in the LiveStore (another process that holds it streams instead; this one
 * tries again every few seconds, so it takes over when that one dies, from its checkpoint). It
 * keeps the last 30 s of every live room it sees (its own frames or relayed ones) for instant
 * replays, counts votes, and puts suggestions on air (live-director.ts).
 */
import { randomBytes } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import type * as Y from 'yjs';
import type { EnginePool } from '../../engine/index.js';
import { suggestionStatusOf, suggestionsOf, metaOf, type SuggestionStatus } from '../../shared/doc-layout.js';
import { ScenecastError } from '../../shared/errors.js';
import { LIVE_LIMITS, liveOf, readLive, votesOf } from '../../shared/live.js';
import type { LiveFrame, LiveState } from '../../shared/protocol.js';
import { ORIGIN } from '../collab/origins.js';
import type { Room } from '../collab/room.js';
import type { RoomManager } from '../collab/room-manager.js';
import type { ContentPolicy } from '../policy/content-policy.js';
import type { LiveStore } from '../ports/live-store.js';
import type { RoomBroadcast, RoomEventBus } from '../ports/room-broadcast.js';
import { direct } from './live-director.js';
import { LiveStream, type LivePlan } from './live-stream.js';
import { ReplayBuffer } from './replay-buffer.js';

/** Longest a plan is reused without an edit (the suggestion queue's turn is checked this often). */
const PLAN_TTL_MS = 250;

export interface LiveServiceOptions {
  rooms: RoomManager;
  /** Null: this process makes no stream (it still relays, keeps replays and counts votes). */
  engine: EnginePool | null;
  store: LiveStore;
  /** To the room (states noted for late joiners) and from it (frames made anywhere, for replays). */
  events: RoomBroadcast;
  bus: RoomEventBus;
  policy: ContentPolicy;
  /** Sockets of the room on every node. */
  watchers: (room: string) => Promise<number>;
  log: FastifyBaseLogger;
  jpegQuality: number;
  /** Lease time of a stream (default 3000 ms): another process takes over this long after its holder dies. */
  leaseMs?: number;
}

interface Watched {
  room: Room;
  watchers: number;
  /** The last plan read, and when: read again after an edit, a change of who watches, or PLAN_TTL_MS. */
  plan: { value: LivePlan; at: number; watchers: number } | null;
  stream: LiveStream | null;
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
  readonly #retry: NodeJS.Timeout;
  #closed = false;

  constructor(options: LiveServiceOptions) {
    this.#o = options;
    this.#stopWatching = options.rooms.onLoaded((room) => this.#watch(room));
    // Streams held elsewhere are tried again (a holder that died), and watcher counts refreshed.
    this.#retry = setInterval(() => {
      for (const id of this.#watched.keys()) void this.#refresh(id);
    }, 2000);
    this.#retry.unref();
  }

  #watch(room: Room): void {
    if (this.#watched.has(room.id)) return;
    const onUpdate = () => {
      const entry = this.#watched.get(room.id);
      if (entry) entry.plan = null;
      this.#check(room.id);
    };
    room.doc.on('update', onUpdate);
    const onClosed = () => this.#unwatch(room.id);
    room.once('closed', onClosed);
    const entry: Watched = {
      room,
      watchers: 0,
      plan: null,
      stream: null,
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
    void entry.stream?.stop();
  }

  /** A socket joined or left the room. */
  async onPresence(room: string): Promise<void> {
    await this.#refresh(room);
  }

  /** The room's live state as last seen here (for a socket that joins). */
  stateOf(room: string): LiveState | null {
    return this.#watched.get(room)?.state ?? null;
  }

  async #refresh(id: string): Promise<void> {
    const entry = this.#watched.get(id);
    if (!entry) return;
    entry.watchers = await this.#o.watchers(id).catch(() => entry.watchers);
    this.#check(id);
  }

  /** Starts, pokes or lets go of the room's stream after a change. */
  #check(id: string): void {
    const entry = this.#watched.get(id);
    if (!entry || this.#closed) return;
    const live = readLive(entry.room.doc);
    // Frames of the room, from whichever process makes them, for replays.
    if (live.on && !entry.stopRelay) {
      entry.stopRelay = this.#o.bus.subscribe(id, (event, payload) => {
        if (event === 'live:frame') entry.replay.push(payload as LiveFrame);
        else if (event === 'live:state') entry.state = payload as LiveState;
      });
    } else if (!live.on && entry.stopRelay) {
      entry.stopRelay();
      entry.stopRelay = null;
    }
    if (entry.stream) {
      entry.stream.poke();
      return;
    }
    if (!live.on || entry.watchers === 0 || !this.#o.engine) return;
    void this.#take(entry).catch((error: unknown) => this.#o.log.warn({ err: error, room: id }, 'the live stream could not start'));
  }

  async #take(entry: Watched): Promise<void> {
    const { engine, store } = this.#o;
    const leaseMs = this.#o.leaseMs ?? 3000;
    if (entry.stream || !engine) return;
    if (!(await store.acquire(entry.room.id, this.holder, leaseMs))) return;
    if (entry.stream || !this.#watched.has(entry.room.id)) return void (await store.release(entry.room.id, this.holder));
    const room = await this.#o.rooms.acquire(entry.room.id);
    const chunk = engine.chunk;
    const stream = new LiveStream({
      room: room.id,
      engine,
      events: this.#o.events,
      store,
      policy: this.#o.policy,
      holder: this.holder,
      leaseMs,
      jpegQuality: this.#o.jpegQuality,
      chunk,
      plan: async () => this.#plan(room.doc, entry),
      onEnd: (reason, error) => {
        if (error && reason === 'failed') this.#o.log.error({ err: error, room: room.id }, 'the live stream failed');
        if (entry.stream === stream) entry.stream = null;
        this.#o.rooms.release(room);
        // Turned on again, or lost and free again: look once more.
        if (reason !== 'lost') setTimeout(() => this.#check(room.id), 100).unref();
      },
    });
    entry.stream = stream;
    void stream.start();
  }

  /** What the stream makes next (asked before every frame): the document is read again only when it may have changed. */
  #plan(doc: Y.Doc, entry: Watched): LivePlan {
    const now = performance.now();
    const last = entry.plan;
    if (last && last.watchers === entry.watchers && now - last.at < PLAN_TTL_MS) return last.value;
    const value = this.#readPlan(doc, entry);
    entry.plan = { value, at: now, watchers: entry.watchers };
    return value;
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
    clearInterval(this.#retry);
    this.#stopWatching();
    await Promise.all([...this.#watched.keys()].map(async (id) => {
      const entry = this.#watched.get(id)!;
      this.#watched.delete(id);
      entry.detach();
      entry.stopRelay?.();
      await entry.stream?.stop();
    }));
  }
}
