/**
 * The embedded LiveStore (ports/live-store.ts): plans, leases, checkpoints and votes in this process.
 */
import { MAX_VOTE_KEYS, type LiveCheckpoint, type LivePlan, type LiveRole, type LiveStore } from '../ports/live-store.js';
import { Subscribers } from '../util/subscribers.js';

const copy = (checkpoint: LiveCheckpoint): LiveCheckpoint => ({ ...checkpoint, context: checkpoint.context ? checkpoint.context.slice() : null });

export class MemoryLiveStore implements LiveStore {
  readonly #leases = new Map<string, { holder: string; until: number }>();
  readonly #plans = new Map<string, { json: string; until: number }>();
  readonly #checkpoints = new Map<string, LiveCheckpoint>();
  readonly #votes = new Map<string, Set<string>>();
  readonly #listeners = new Subscribers<(room: string) => void>();

  async acquire(room: string, holder: string, ttlMs: number, role: LiveRole = 'stream'): Promise<boolean> {
    const key = `${role}\u0000${room}`;
    const lease = this.#leases.get(key);
    if (lease && lease.holder !== holder && lease.until > Date.now()) return false;
    this.#leases.set(key, { holder, until: Date.now() + ttlMs });
    return true;
  }

  async release(room: string, holder: string, role: LiveRole = 'stream'): Promise<void> {
    const key = `${role}\u0000${room}`;
    if (this.#leases.get(key)?.holder === holder) this.#leases.delete(key);
  }

  async publishPlan(room: string, plan: LivePlan, ttlMs: number): Promise<void> {
    // Stored as the Redis adapter stores it, so both hand out a copy.
    this.#plans.set(room, { json: JSON.stringify(plan), until: Date.now() + ttlMs });
    this.#tell(room);
  }

  async withdrawPlan(room: string): Promise<void> {
    if (this.#plans.delete(room)) this.#tell(room);
  }

  async plan(room: string): Promise<LivePlan | null> {
    const found = this.#plans.get(room);
    return found && found.until > Date.now() ? (JSON.parse(found.json) as LivePlan) : null;
  }

  async wanted(): Promise<string[]> {
    const now = Date.now();
    for (const [room, { until }] of this.#plans) if (until <= now) this.#plans.delete(room);
    return [...this.#plans.keys()];
  }

  onPlan(listener: (room: string) => void): () => void {
    return this.#listeners.add('plans', listener);
  }

  #tell(room: string): void {
    for (const listener of this.#listeners.of('plans')) listener(room);
  }

  async save(room: string, checkpoint: LiveCheckpoint): Promise<void> {
    this.#checkpoints.set(room, copy(checkpoint));
  }

  async checkpoint(room: string): Promise<LiveCheckpoint | null> {
    const found = this.#checkpoints.get(room);
    return found ? copy(found) : null;
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
    for (const role of ['stream', 'director']) this.#leases.delete(`${role}\u0000${room}`);
    this.#plans.delete(room);
    this.#checkpoints.delete(room);
    for (const key of [...this.#votes.keys()]) if (key.startsWith(`${room}\u0000`)) this.#votes.delete(key);
  }
}
