/**
 * Relays awareness (cursors, names) without N² traffic: changes are gathered for one event-loop
 * turn and sent as ONE message to every peer, so a burst of K cursor moves in a room of N costs
 * N sends, not K·N. Each peer may be relayed at most `rate` times a second; faster updates are
 * kept (the newest state wins) and go out with the next allowed flush. A peer can only speak for
 * the client ids it introduced, and they are removed when it leaves.
 */
import { Awareness, applyAwarenessUpdate, encodeAwarenessUpdate, removeAwarenessStates } from 'y-protocols/awareness';
import type * as Y from 'yjs';
import { awarenessClients, encodeAwareness } from './messages.js';
import { isPeer, type Peer } from './origins.js';

/** Awareness of the same room held by other server processes (scale-out). */
export interface AwarenessBus {
  /** Sends an update made by this process's peers to the other processes. */
  publish(update: Uint8Array): void;
  /**
   * Updates from the other processes (with the process they came from), and the processes that
   * died (their clients' presence must go). Returns the unsubscribe.
   */
  subscribe(onUpdate: (update: Uint8Array, from: string) => void, onProcessGone: (process: string) => void): () => void;
}

export interface AwarenessRelayOptions {
  /** Relays per peer per second (default 10). */
  rate?: number;
  /** Sends one encoded message to every peer of the room. */
  broadcast: (message: Uint8Array) => void;
  /** Called once per flush (metrics). */
  onFlush?: () => void;
  bus?: AwarenessBus;
}

/** Origin of updates that came over the bus from another process. */
const REMOTE = Symbol('remote awareness');

interface PeerState {
  ids: Set<number>;
  nextAt: number;
  deferred: Set<number>;
  timer: NodeJS.Timeout | null;
}

interface AwarenessChange {
  added: number[];
  updated: number[];
  removed: number[];
}

export class AwarenessRelay {
  readonly awareness: Awareness;
  readonly #interval: number;
  readonly #broadcast: (message: Uint8Array) => void;
  readonly #onFlush: () => void;
  readonly #peers = new Map<Peer, PeerState>();
  readonly #owners = new Map<number, Peer>();
  #pending = new Set<number>();
  /** Of the pending ids, those changed here (not by another process): they go on the bus too. */
  #pendingLocal = new Set<number>();
  #scheduled: NodeJS.Immediate | null = null;
  readonly #bus: AwarenessBus | null;
  readonly #unsubscribe: () => void;

  constructor(doc: Y.Doc, options: AwarenessRelayOptions) {
    this.awareness = new Awareness(doc);
    this.awareness.setLocalState(null);
    this.#interval = 1000 / (options.rate ?? 10);
    this.#broadcast = options.broadcast;
    this.#onFlush = options.onFlush ?? (() => {});
    this.awareness.on('update', (change: AwarenessChange, origin: unknown) => this.#onChange(change, origin));
    this.#bus = options.bus ?? null;
    this.#unsubscribe =
      this.#bus?.subscribe(
        (update, from) => {
          for (const id of awarenessClients(update)) this.#remoteOwners.set(id, from);
          applyAwarenessUpdate(this.awareness, update, REMOTE);
        },
        (gone) => {
          const ids = [...this.#remoteOwners].filter(([, owner]) => owner === gone).map(([id]) => id);
          for (const id of ids) this.#remoteOwners.delete(id);
          if (ids.length > 0) removeAwarenessStates(this.awareness, ids, REMOTE);
        },
      ) ?? (() => {});
  }

  /** Which process each remote client's presence came from. */
  readonly #remoteOwners = new Map<number, string>();

  #state(peer: Peer): PeerState {
    let state = this.#peers.get(peer);
    if (!state) {
      state = { ids: new Set(), nextAt: 0, deferred: new Set(), timer: null };
      this.#peers.set(peer, state);
    }
    return state;
  }

  /** Applies a peer's awareness update. Throws MalformedMessage; ignores ids owned by another peer. */
  apply(peer: Peer, update: Uint8Array): void {
    const ids = awarenessClients(update);
    if (ids.some((id) => (this.#owners.get(id) ?? peer) !== peer)) return;
    applyAwarenessUpdate(this.awareness, update, peer);
  }

  /** The full awareness state as one message, or null when nobody is present. */
  snapshot(): Uint8Array | null {
    const ids = [...this.awareness.getStates().keys()];
    return ids.length === 0 ? null : encodeAwareness(encodeAwarenessUpdate(this.awareness, ids));
  }

  /** Removes everything a peer introduced (it disconnected). */
  remove(peer: Peer): void {
    const state = this.#peers.get(peer);
    if (!state) return;
    this.#peers.delete(peer);
    if (state.timer) clearTimeout(state.timer);
    // What was held back by the rate limit goes out now (it may be the peer's own goodbye).
    this.#queue([...state.deferred]);
    for (const id of state.ids) this.#owners.delete(id);
    if (state.ids.size > 0) removeAwarenessStates(this.awareness, [...state.ids], 'disconnect');
  }

  #onChange({ added, updated, removed }: AwarenessChange, origin: unknown): void {
    const changed = [...added, ...updated, ...removed];
    if (!isPeer(origin)) {
      this.#queue(changed, origin !== REMOTE);
      return;
    }
    const state = this.#state(origin);
    for (const id of [...added, ...updated]) {
      if (!this.#owners.has(id)) {
        this.#owners.set(id, origin);
        state.ids.add(id);
      }
    }
    const now = performance.now();
    if (now >= state.nextAt && !state.timer) {
      state.nextAt = now + this.#interval;
      this.#queue(changed, true);
      return;
    }
    for (const id of changed) state.deferred.add(id);
    state.timer ??= setTimeout(() => {
      state.timer = null;
      state.nextAt = performance.now() + this.#interval;
      const ids = [...state.deferred];
      state.deferred.clear();
      this.#queue(ids, true);
    }, Math.max(0, state.nextAt - now));
  }

  #queue(ids: number[], local = true): void {
    for (const id of ids) {
      this.#pending.add(id);
      if (local) this.#pendingLocal.add(id);
    }
    this.#scheduled ??= setImmediate(() => this.#flush());
  }

  #flush(): void {
    this.#scheduled = null;
    if (this.#pending.size === 0) return;
    const ids = [...this.#pending];
    const local = [...this.#pendingLocal];
    this.#pending = new Set();
    this.#pendingLocal = new Set();
    this.#broadcast(encodeAwareness(encodeAwarenessUpdate(this.awareness, ids)));
    if (this.#bus && local.length > 0) this.#bus.publish(encodeAwarenessUpdate(this.awareness, local));
    this.#onFlush();
  }

  destroy(): void {
    this.#unsubscribe();
    if (this.#scheduled) clearImmediate(this.#scheduled);
    for (const state of this.#peers.values()) if (state.timer) clearTimeout(state.timer);
    this.#peers.clear();
    this.awareness.destroy();
  }
}
