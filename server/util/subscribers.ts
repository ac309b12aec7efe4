/**
 * Listeners kept by key (a room, a channel): the first listener of a key and the last one going
 * are reported, so a pub/sub adapter subscribes and unsubscribes upstream only then.
 */
export class Subscribers<H> {
  readonly #byKey = new Map<string, Set<H>>();

  constructor(private readonly hooks: { first?: (key: string) => void; last?: (key: string) => void } = {}) {}

  /** Adds `handler` under `key`; returns its removal. */
  add(key: string, handler: H): () => void {
    let set = this.#byKey.get(key);
    if (!set) {
      set = new Set();
      this.#byKey.set(key, set);
      this.hooks.first?.(key);
    }
    set.add(handler);
    return () => {
      if (!set.delete(handler) || set.size > 0) return;
      this.#byKey.delete(key);
      this.hooks.last?.(key);
    };
  }

  of(key: string): Iterable<H> {
    return this.#byKey.get(key) ?? [];
  }
}
