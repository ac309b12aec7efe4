/**
 * One loaded room: its Y.Doc, the peers connected to it and their awareness. An edit goes:
 *   peer message → apply to the doc → store.append (durable) → fan out to the other peers.
 * (The preview flow watches the doc's own transactions, origin by origin: preview-service.ts.)
 * Nothing is sent to others before it is durable, so whatever any client saw survives a crash.
 *
 * Size cap: `#docBytes` estimates the encoded document (what a joiner downloads) without
 * encoding it per update: the bytes of the snapshot and updates loaded, plus every update applied
 * since (a peer's as it arrived, so updates Yjs keeps pending for a missing dependency count
 * too), set to the real size at each compaction. It errs high: a merged state encodes each item
 * once, while the updates that made it each carried their own headers, deletes and overwrites;
 * between two compactions it is above the real size by at most about what was logged since
 * (`compactBytes`, 512 KiB by default). A peer's update that would take it past `maxDocBytes`
 * makes the room measure the real size (encodeStateAsUpdate, only at the cap), and the update is
 * refused only if the real size plus the update passes the cap: close 4413 to that peer, nothing
 * applied or stored. So the hot path is one addition and one comparison, and the drift never
 * refuses an edit (nor in scale-out, where another process may run the compactions). Updates
 * from other processes and the server's own changes count but are never refused (the accepting
 * node checked them; a server change is small). With a 4 MiB cap, a real scene (a few KiB of
 * prompts) never comes near it.
 */
import { EventEmitter } from 'node:events';
import type { FastifyBaseLogger } from 'fastify';
import * as Y from 'yjs';
import { ScenecastError } from '../../shared/errors.js';
import { CLOSE } from '../../shared/protocol.js';
import type { Metrics } from '../metrics.js';
import type { AwarenessBus } from '../ports/awareness-bus.js';
import { AwarenessRelay } from './awareness-relay.js';
import { MalformedMessage, closeReason, decodeMessage, encodePermissionDenied, encodeSyncStep1, encodeSyncStep2, encodeUpdate } from './messages.js';
import { ORIGIN, isPeer, type Peer } from './origins.js';
import type { DocumentStore } from '../ports/document-store.js';

export interface RoomDeps {
  store: DocumentStore;
  metrics: Metrics;
  log: FastifyBaseLogger;
  /** Log bytes that trigger a compaction. */
  compactBytes: number;
  /** Awareness relays per peer per second. */
  awarenessRate: number;
  /** Least time between two fan-outs of a room per 200 peers (ms; it scales with the room); 0 sends every group commit at once. */
  coalesceMs: number;
  /** Scale-out: awareness shared with the other server processes of the room. */
  awarenessBus?: (room: string) => AwarenessBus;
  /** Largest the document may grow (bytes, default 4 MiB): the update that would pass it is refused (close 4413), nothing of it stored. */
  maxDocBytes?: number;
  /** Largest awareness state one client may publish (bytes of JSON, default 4096). */
  awarenessMaxBytes?: number;
}

export interface RoomLifecycleEvents {
  /** Storage failed; the room closed its peers and must be dropped from memory. */
  failed: [error: Error];
  /** The room left memory (unloaded or failed); listeners should let go of it. */
  closed: [];
}

export class Room extends EventEmitter<RoomLifecycleEvents> {
  readonly doc: Y.Doc;
  readonly relay: AwarenessRelay;
  readonly peers = new Set<Peer>();
  #failed: Error | null = null;
  #destroyed = false;
  #compacting: Promise<void> | null = null;
  #unwatch: (() => void) | null = null;
  /** Upper estimate of the encoded document's bytes (see the header). */
  #docBytes = 0;
  readonly #maxDocBytes: number;

  private constructor(
    readonly id: string,
    private readonly deps: RoomDeps,
  ) {
    super();
    this.doc = new Y.Doc();
    this.#maxDocBytes = deps.maxDocBytes ?? 4 * 1024 * 1024;
    this.relay = new AwarenessRelay(this.doc, {
      rate: deps.awarenessRate,
      maxStateBytes: deps.awarenessMaxBytes ?? 4096,
      broadcast: (message) => this.#broadcast(message, null),
      onFlush: () => deps.metrics.awarenessOut.inc(),
      onDrop: (reason) => deps.metrics.awarenessDropped.inc({ reason }),
      ...(deps.awarenessBus ? { bus: deps.awarenessBus(id) } : {}),
    });
  }

  /** Loads a room from the store. Throws ROOM_STORAGE_ERROR without keeping anything in memory. */
  static async open(id: string, deps: RoomDeps): Promise<Room> {
    const stored = await deps.store.load(id);
    const room = new Room(id, deps);
    try {
      room.doc.transact(() => {
        for (const update of stored.updates) Y.applyUpdate(room.doc, update, ORIGIN.persistence);
      }, ORIGIN.persistence);
    } catch (error) {
      room.#teardown();
      await deps.store.release(id).catch(() => {});
      throw new ScenecastError('ROOM_STORAGE_ERROR', `room ${id}: a stored update could not be applied`, { cause: String(error) });
    }
    if (stored.repairedBytes > 0) deps.metrics.storageRepairs.inc();
    // Not stored.bytes: the Redis store counts only its log there, not the snapshot.
    room.#docBytes = stored.updates.reduce((sum, update) => sum + update.length, 0);
    room.doc.on('update', (update: Uint8Array, origin: unknown) => room.#onDocUpdate(update, origin));
    room.#unwatch =
      deps.store.watch?.(
        id,
        (update) => {
          try {
            Y.applyUpdate(room.doc, update, ORIGIN.remote);
          } catch (error) {
            room.fail(error as Error);
          }
        },
        (error) => room.fail(error),
      ) ?? null;
    return room;
  }

  get failed(): Error | null {
    return this.#failed;
  }

  /** A new peer: it gets the server's state vector (so it sends what we lack) and who is present. */
  join(peer: Peer): void {
    this.peers.add(peer);
    peer.send(encodeSyncStep1(Y.encodeStateVector(this.doc)));
    const presence = this.relay.snapshot();
    if (presence) peer.send(presence);
  }

  leave(peer: Peer): void {
    if (!this.peers.delete(peer)) return;
    this.relay.remove(peer);
  }

  /** Handles one message of the peer. Throws MalformedMessage (the caller closes that peer). */
  receive(peer: Peer, data: Uint8Array): void {
    // Not (or no longer) in the room: e.g. refused for size, its socket still closing.
    if (!this.peers.has(peer)) return;
    const message = decodeMessage(data);
    switch (message.type) {
      case 'sync-step1': {
        let update: Uint8Array;
        try {
          update = Y.encodeStateAsUpdate(this.doc, message.stateVector);
        } catch (error) {
          throw new MalformedMessage(`undecodable state vector (${(error as Error).message})`);
        }
        peer.send(encodeSyncStep2(update));
        return;
      }
      case 'sync-step2':
      case 'sync-update':
        if (!peer.canWrite) {
          this.#dropReadOnly(peer, message.update);
          return;
        }
        if (!this.#fits(message.update.length)) {
          this.#refuseTooLarge(peer, message.update.length);
          return;
        }
        // Counted before applying: an update that throws half way may have changed the doc.
        this.#docBytes += message.update.length;
        try {
          Y.applyUpdate(this.doc, message.update, peer);
        } catch (error) {
          throw new MalformedMessage(`update could not be applied (${(error as Error).message})`);
        }
        return;
      case 'awareness':
        this.deps.metrics.awarenessIn.inc();
        this.relay.apply(peer, message.update);
        return;
      case 'query-awareness': {
        const presence = this.relay.query(peer);
        if (presence) peer.send(presence);
        return;
      }
    }
  }

  /** Whether `bytes` more keep the document within the cap (measuring it only when the estimate says no). */
  #fits(bytes: number): boolean {
    if (this.#docBytes + bytes <= this.#maxDocBytes) return true;
    this.#docBytes = Y.encodeStateAsUpdate(this.doc).length;
    return this.#docBytes + bytes <= this.#maxDocBytes;
  }

  #refuseTooLarge(peer: Peer, bytes: number): void {
    const limit = `${Math.round(this.#maxDocBytes / 1024)} KiB`;
    this.deps.log.warn({ room: this.id, peer: peer.label, bytes, docBytes: this.#docBytes, limit: this.#maxDocBytes }, 'refused an update: the document would pass its size cap');
    this.leave(peer);
    peer.close(CLOSE.DOC_TOO_LARGE, closeReason('DOC_TOO_LARGE', `the edit would make the scene document larger than ${limit}; it was not applied`));
  }

  #readOnlyTold = new WeakSet<Peer>();

  #dropReadOnly(peer: Peer, update: Uint8Array): void {
    if (isEmptyUpdate(update)) return;
    this.deps.metrics.readOnlyDropped.inc();
    if (this.#readOnlyTold.has(peer)) return;
    this.#readOnlyTold.add(peer);
    // The stock client logs this reason ("Permission denied to access …").
    peer.send(encodePermissionDenied('READ_ONLY: this link is read-only; your edits are not applied or stored'));
    this.deps.log.info({ room: this.id, peer: peer.label }, 'dropped an update from a read-only connection');
  }

  #onDocUpdate(update: Uint8Array, origin: unknown): void {
    if (origin === ORIGIN.persistence || this.#failed) return;
    // A peer's update was counted as it arrived (receive).
    if (!isPeer(origin)) this.#docBytes += update.length;
    if (origin === ORIGIN.remote) {
      // Stored by the process that accepted it: only this node's peers need it.
      this.#durable.push({ update, origin });
      this.#scheduleFanOut();
      return;
    }
    const { metrics, store } = this.deps;
    const started = performance.now();
    store.append(this.id, update).then(
      () => {
        if (this.#failed) return;
        metrics.updates.inc();
        metrics.updateBytes.inc(update.length);
        metrics.persistSeconds.observe((performance.now() - started) / 1000);
        this.#durable.push({ update, origin });
        this.#scheduleFanOut();
      },
      (error: Error) => this.fail(error),
    );
  }

  /** Updates made durable by the last group commit(s), waiting for the fan-out. */
  #durable: { update: Uint8Array; origin: unknown }[] = [];
  #fanOut: NodeJS.Immediate | NodeJS.Timeout | null = null;
  #lastFanOut = 0;

  /**
   * Fans out at the end of this turn, or, when the previous fan-out was more recent than the
   * room's window, at the end of it: an isolated edit goes out at once, while a busy room sends
   * one merged message per peer per window instead of one per commit. A socket write per peer is
   * most of the cost of a fan-out (about 12 µs here), so the window grows with the room:
   * `coalesceMs` per 200 peers (0.2 ms for 10 peers, 4 ms for 200, 21 ms for 1,050). A large
   * room then spends a bounded share of the CPU on fan-out, and a small one waits for nothing.
   */
  #scheduleFanOut(): void {
    if (this.#fanOut) return;
    const window = (this.deps.coalesceMs * this.peers.size) / 200;
    const wait = this.#lastFanOut + window - performance.now();
    this.#fanOut = wait > 0 ? setTimeout(() => this.#flushDurable(), wait) : setImmediate(() => this.#flushDurable());
  }

  /**
   * Fans out everything one group commit made durable. A lone update skips its sender; several
   * are merged into ONE message per peer (the sender gets its own edits back, a no-op for Yjs),
   * so under load the messages per peer track commits, not keystrokes.
   */
  #flushDurable(): void {
    this.#fanOut = null;
    this.#lastFanOut = performance.now();
    const batch = this.#durable;
    this.#durable = [];
    if (batch.length === 0 || this.#failed) return;
    if (batch.length === 1) {
      const [{ update, origin }] = batch as [{ update: Uint8Array; origin: unknown }];
      this.#broadcast(encodeUpdate(update), origin);
    } else {
      this.#broadcast(encodeUpdate(Y.mergeUpdates(batch.map((b) => b.update))), null);
    }
    if (this.deps.store.logBytes(this.id) > this.deps.compactBytes) void this.compact();
  }

  #broadcast(message: Uint8Array, except: unknown): void {
    for (const peer of this.peers) if (peer !== except) peer.send(message);
  }

  /** Applies a change made by the server itself (stored and fanned out like any edit). */
  change(fn: (doc: Y.Doc) => void, origin: symbol = ORIGIN.server): void {
    if (this.#failed) throw new ScenecastError('ROOM_STORAGE_ERROR', this.#failed.message);
    this.doc.transact(() => fn(this.doc), origin);
  }

  /** Compacts the room's log into a snapshot; one at a time per room, calls meanwhile share the running one. */
  compact(): Promise<void> {
    this.#compacting ??= this.#compactOnce().finally(() => {
      this.#compacting = null;
    });
    return this.#compacting;
  }

  async #compactOnce(): Promise<void> {
    if (this.#failed || this.#destroyed) return;
    let ran = false;
    try {
      ran = await this.deps.store.compact(this.id, () => {
        const state = Y.encodeStateAsUpdate(this.doc);
        this.#docBytes = state.length;
        return state;
      });
      if (ran) this.deps.metrics.compactions.inc({ outcome: 'ok' });
    } catch (error) {
      this.deps.metrics.compactions.inc({ outcome: 'error' });
      this.fail(error as Error);
      return;
    }
    // Updates that arrived while it ran (a burst of keystrokes) may be over the threshold again.
    if (ran && !this.#failed && !this.#destroyed && this.deps.store.logBytes(this.id) > this.deps.compactBytes) {
      setImmediate(() => void this.compact());
    }
  }

  /** Storage broke: tell every peer, stop accepting edits; the manager drops the room. */
  fail(error: Error): void {
    if (this.#failed) return;
    this.#failed = error;
    if (error instanceof ScenecastError && error.code === 'ROOM_DELETED') {
      // Deleted on another node, whose word has not reached this one yet: not a storage fault.
      this.closePeers(CLOSE.UNKNOWN_ROOM, 'ROOM_DELETED: the room was deleted');
    } else {
      this.deps.log.error({ room: this.id, err: error }, 'room storage failed; closing the room');
      this.closePeers(CLOSE.STORAGE_ERROR, 'ROOM_STORAGE_ERROR: the room could not be stored; reconnect to resync');
    }
    this.emit('failed', error);
  }

  closePeers(code: number, reason: string): void {
    for (const peer of [...this.peers]) {
      this.leave(peer);
      peer.close(code, reason);
    }
  }

  /** Compacts (unless failed) and frees everything. Idempotent. */
  async unload(): Promise<void> {
    if (this.#destroyed) return;
    // Twice at most: a compaction already running when the room went idle may not cover the last updates.
    for (let i = 0; i < 2 && !this.#failed && this.deps.store.logBytes(this.id) > 0; i++) await this.compact();
    this.#destroyed = true;
    this.closePeers(CLOSE.GOING_AWAY, 'room unloaded');
    await this.deps.store.release(this.id).catch((error: Error) => this.deps.log.warn({ room: this.id, err: error }, 'release failed'));
    this.#teardown();
  }

  /**
   * The room was deleted: its peers are closed with `code`/`reason` and everything is freed,
   * without the compaction `unload` does (nothing of it may be written again). Idempotent.
   */
  async discard(code: number, reason: string): Promise<void> {
    if (this.#destroyed) return;
    this.#destroyed = true;
    this.closePeers(code, reason);
    await this.#compacting?.catch(() => {});
    await this.deps.store.release(this.id).catch(() => {});
    this.#teardown();
  }

  #teardown(): void {
    this.emit('closed');
    this.#unwatch?.();
    this.#unwatch = null;
    this.#destroyed = true;
    if (this.#fanOut) {
      clearImmediate(this.#fanOut as NodeJS.Immediate);
      clearTimeout(this.#fanOut as NodeJS.Timeout);
    }
    this.relay.destroy();
    this.doc.destroy();
    this.removeAllListeners();
  }
}

/** True for an update that carries no change (a read-only client's routine sync step 2). */
export function isEmptyUpdate(update: Uint8Array): boolean {
  try {
    const { structs, ds } = Y.decodeUpdate(update);
    return structs.length === 0 && ds.clients.size === 0;
  } catch {
    return false;
  }
}
