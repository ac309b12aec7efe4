/**
 * Open connections per client address on this node (Yjs WebSockets and Socket.IO connections
 * together): one address may hold at most `max`, so a single client cannot exhaust the node's
 * file descriptors. Counted per node: what it protects (sockets, memory) is per node too.
 */
export class ConnectionLimiter {
  readonly #open = new Map<string, number>();

  constructor(readonly max: number) {}

  /** Whether one more connection from `address` is allowed (nothing is counted yet). */
  allows(address: string): boolean {
    return (this.#open.get(address) ?? 0) < this.max;
  }

  /** Counts a connection that was accepted; the returned function (idempotent) uncounts it. */
  open(address: string): () => void {
    this.#open.set(address, (this.#open.get(address) ?? 0) + 1);
    let closed = false;
    return () => {
      if (closed) return;
      closed = true;
      const left = (this.#open.get(address) ?? 1) - 1;
      if (left <= 0) this.#open.delete(address);
      else this.#open.set(address, left);
    };
  }

  count(address: string): number {
    return this.#open.get(address) ?? 0;
  }
}
