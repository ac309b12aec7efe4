/**
 * Relays awareness (cursors, names) without N² traffic: changes are gathered for one event-loop
 * turn and sent as ONE message to every peer, so a burst of K cursor moves in a room of N costs
 * N sends, not K·N. Each peer may be relayed at most `rate` times a second; faster updates are
 * kept (the newest state wins) and go out with the next allowed flush.
 *
 * The server is the authority on what a connection publishes (apply):
 *   1. one id: the first client id a connection publishes a state for (one no other connection
 *      or process holds) becomes its id; entries for any other id are dropped, neither applied
 *      nor relayed (their JSON is not even decoded). The stock y-websocket client publishes one,
 *      its doc.clientID, and echoes back the states it learns (dropped here: the server relayed
 *      them already). A connection may remove its own state (null); the server removes it when
 *      the connection leaves.
 *   2. size: a state whose JSON is over `maxStateBytes` bytes is dropped (the previous one stays).
 *   3. content: the state is rebuilt by awareness-policy.ts (user.role from the token, checked
 *      colours and name, whitelisted keys), re-encoded, and that is what is applied and relayed.
 *   4. rate in: a token bucket per connection (`burstIn` messages, then 2 × `rate` a second) for
 *      applying its own state. A state that finds it empty is held, replacing any held before
 *      it, and applied when a token is free: the newest state still wins, and a flood costs one
 *      small buffer per connection. A query-awareness takes a token too (dropped without one).
 * Scale-out: updates from the bus are applied as they come. Every process publishes only states
 * that passed these rules on the node that accepted them, so the rules hold across the cluster.
 */
import { Awareness, applyAwarenessUpdate, encodeAwarenessUpdate, removeAwarenessStates } from 'y-protocols/awareness';
import type * as Y from 'yjs';
import { TokenBucket, sanitizeAwarenessState } from './awareness-policy.js';
import {
  decodeAwarenessUpdate,
  encodeAwareness,
  encodeAwarenessUpdateEntries,
  isRemoval,
  parseAwarenessState,
  type AwarenessEntry,
} from './messages.js';
import { isPeer, type Peer } from './origins.js';
import type { AwarenessBus } from '../ports/awareness-bus.js';

/** Why the relay did not apply (part of) a peer's awareness message. */
export type AwarenessDrop = 'rate' | 'foreign-id' | 'too-large' | 'invalid';

export interface AwarenessRelayOptions {
  /** Relays per peer per second (default 10); a peer's own state is applied at most 2 × rate times a second. */
  rate?: number;
  /** States of a peer applied at once before the 2 × rate limit applies (default 20). */
  burstIn?: number;
  /** Largest state a client may publish (bytes of its JSON, default 4096). */
  maxStateBytes?: number;
  /** Called for each state held back and replaced, or refused, and each message with other clients' entries (metrics). */
  onDrop?: (reason: AwarenessDrop) => void;
  /** Sends one encoded message to every peer of the room. */
  broadcast: (message: Uint8Array) => void;
  /** Called once per flush (metrics). */
  onFlush?: () => void;
  bus?: AwarenessBus;
}

/** Origin of updates that came over the bus from another process. */
const REMOTE = Symbol('remote awareness');

interface PeerState {
  /** The one client id this peer speaks for (the first it published); null until then. */
  id: number | null;
  /** Outgoing: the earliest next relay of this peer's changes, and what waits for it. */
  nextAt: number;
  deferred: Set<number>;
  timer: NodeJS.Timeout | null;
  /** Incoming: the newest own (cleaned) update that found the bucket empty, applied when a token is free. */
  bucket: TokenBucket;
  held: Uint8Array | null;
  heldTimer: NodeJS.Timeout | null;
}

interface AwarenessChange {
  added: number[];
  updated: number[];
  removed: number[];
}

export class AwarenessRelay {
  readonly awareness: Awareness;
  readonly #interval: number;
  readonly #rateIn: number;
  readonly #burstIn: number;
  readonly #maxStateBytes: number;
  readonly #onDrop: (reason: AwarenessDrop) => void;
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
    this.#rateIn = 2 * (options.rate ?? 10);
    this.#burstIn = options.burstIn ?? 20;
    this.#maxStateBytes = options.maxStateBytes ?? 4096;
    this.#onDrop = options.onDrop ?? (() => {});
    this.#broadcast = options.broadcast;
    this.#onFlush = options.onFlush ?? (() => {});
    this.awareness.on('update', (change: AwarenessChange, origin: unknown) => this.#onChange(change, origin));
    this.#bus = options.bus ?? null;
    this.#unsubscribe =
      this.#bus?.subscribe(
        (update, from) => {
          // Checked by the process that accepted it (see the header).
          for (const entry of decodeAwarenessUpdate(update)) {
            if (isRemoval(entry)) this.#remoteOwners.delete(entry.clientID);
            else this.#remoteOwners.set(entry.clientID, from);
          }
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
      state = { id: null, nextAt: 0, deferred: new Set(), timer: null, bucket: new TokenBucket(this.#burstIn, this.#rateIn), held: null, heldTimer: null };
      this.#peers.set(peer, state);
    }
    return state;
  }

  /** Applies what the rules of the header allow of a peer's awareness update. Throws MalformedMessage. */
  apply(peer: Peer, update: Uint8Array): void {
    const state = this.#state(peer);
    const own = this.#ownEntry(peer, state, update);
    if (!own) return;
    const clean = this.#clean(peer, own);
    if (!clean) return;
    // Once one is held, later ones replace it (not overtake it): the newest is applied last.
    if (!state.held && state.bucket.take()) {
      applyAwarenessUpdate(this.awareness, clean, peer);
      return;
    }
    if (state.held) this.#onDrop('rate');
    state.held = clean;
    state.heldTimer ??= setTimeout(() => this.#releaseHeld(peer, state), state.bucket.waitMs());
  }

  /**
   * Rule 1: the peer's own entry of the update, if any (the last one, when it repeats it). An id
   * is taken only from a state (not a removal) for a client no local peer or other process holds,
   * so the stock client's echo of others' states (it re-sends every change it learns) never
   * claims one. Other entries are skipped unread.
   */
  #ownEntry(peer: Peer, state: PeerState, update: Uint8Array): AwarenessEntry | null {
    let own: AwarenessEntry | null = null;
    let foreign = false;
    for (const entry of decodeAwarenessUpdate(update)) {
      if (state.id === null && this.#claimable(entry)) {
        state.id = entry.clientID;
        this.#owners.set(entry.clientID, peer);
      }
      if (entry.clientID === state.id) own = entry;
      else foreign = true;
    }
    if (foreign) this.#onDrop('foreign-id');
    return own;
  }

  #claimable(entry: AwarenessEntry): boolean {
    const id = entry.clientID;
    return !isRemoval(entry) && !this.#owners.has(id) && !this.#remoteOwners.has(id) && id !== this.awareness.clientID;
  }

  #releaseHeld(peer: Peer, state: PeerState): void {
    state.heldTimer = null;
    if (!state.bucket.take()) {
      state.heldTimer = setTimeout(() => this.#releaseHeld(peer, state), state.bucket.waitMs());
      return;
    }
    const held = state.held;
    state.held = null;
    if (held && this.#peers.get(peer) === state) applyAwarenessUpdate(this.awareness, held, peer);
  }

  /**
   * Rules 2 and 3: the peer's own state, checked and rebuilt, as a one-entry awareness update
   * (fresh bytes: nothing of the message is kept); null when dropped. Throws MalformedMessage.
   */
  #clean(peer: Peer, own: AwarenessEntry): Uint8Array | null {
    if (own.json.length > this.#maxStateBytes) {
      this.#onDrop('too-large');
      return null;
    }
    const clean = sanitizeAwarenessState(parseAwarenessState(own), peer.role);
    if (clean === undefined) {
      this.#onDrop('invalid');
      return null;
    }
    const json = new TextEncoder().encode(JSON.stringify(clean));
    return encodeAwarenessUpdateEntries([{ clientID: own.clientID, clock: own.clock, json }]);
  }

  /**
   * A peer's query-awareness: the snapshot, or null when nobody is present or the peer is over
   * its rate (a query costs a token like an update; the stock client never sends one).
   */
  query(peer: Peer): Uint8Array | null {
    if (!this.#state(peer).bucket.take()) {
      this.#onDrop('rate');
      return null;
    }
    return this.snapshot();
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
    if (state.heldTimer) clearTimeout(state.heldTimer);
    // What was held back by the rate limit goes out now (it may be the peer's own goodbye).
    this.#queue([...state.deferred]);
    if (state.id === null) return;
    this.#owners.delete(state.id);
    removeAwarenessStates(this.awareness, [state.id], 'disconnect');
  }

  #onChange({ added, updated, removed }: AwarenessChange, origin: unknown): void {
    const changed = [...added, ...updated, ...removed];
    if (!isPeer(origin)) {
      this.#queue(changed, origin !== REMOTE);
      return;
    }
    const state = this.#state(origin);
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
    for (const state of this.#peers.values()) {
      if (state.timer) clearTimeout(state.timer);
      if (state.heldTimer) clearTimeout(state.heldTimer);
    }
    this.#peers.clear();
    this.awareness.destroy();
  }
}
