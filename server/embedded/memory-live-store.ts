/**
 * The embedded LiveStore (ports/live-store.ts): leases, checkpoints and votes in this process.
 */
import { MAX_VOTE_KEYS, type LiveCheckpoint, type LiveStore } from '../ports/live-store.js';

export class MemoryLiveStore implements LiveStore {
  readonly #leases = new Map<string, { holder: string; until: number }>();
  readonly #checkpoints = new Map<string, LiveCheckpoint>();
  readonly #votes = new Map<string, Set<string>>();

  async acquire(room: string, holder: string, ttlMs: number): Promise<boolean> {
    const lease = this.#leases.get(room);
    if (lease && lease.holder !== holder && lease.until > Date.now()) return false;
    this.#leases.set(room, { holder, until: Date.now() + ttlMs });
    return true;
  }

  async release(room: string, holder: string): Promise<void> {
    if (this.#leases.get(room)?.holder === holder) this.#leases.delete(room);
  }

  async save(room: string, checkpoint: LiveCheckpoint): Promise<void> {
    this.#checkpoints.set(room, { ...checkpoint, context: checkpoint.context ? checkpoint.context.slice() : null });
  }

  async checkpoint(room: string): Promise<LiveCheckpoint | null> {
    const found = this.#checkpoints.get(room);
    return found ? { ...found, context: found.context ? found.context.slice() : null } : null;
  }

  async vote(room: string, suggestion: string, voter: string): Promise<boolean> {
    const key = `${room}\u0000${suggestion}`;
    let voters = this.#votes.get(key);
    if (!voters) {
      if (this.#votes.size >= MAX_VOTE_KEYS) this.#votes.delete(this.#votes.keys().next().value!);
      this.#votes.set(key, (voters = new Set()));
    }
    if (voters.has(voter)) return false;
    voters.add(voter);
    return true;
  }

  async forgetRoom(room: string): Promise<void> {
    this.#leases.delete(room);
    this.#checkpoints.delete(room);
    for (const key of [...this.#votes.keys()]) if (key.startsWith(`${room}\u0000`)) this.#votes.delete(key);
  }
}
