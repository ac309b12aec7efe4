/**
 * Presence (awareness) of a room held by other server processes. Embedded: none (one process).
 * Scale-out: Redis pub/sub with a liveness key per process (scale/redis-buses.ts).
 * Contract: test/contracts/awareness-bus.test.ts.
 */
export interface AwarenessBus {
  /** Sends an update made by this process's peers to the other processes. */
  publish(update: Uint8Array): void;
  /**
   * Updates from the other processes (with the process they came from), and the processes that
   * died (their clients' presence must go). Returns the unsubscribe.
   */
  subscribe(onUpdate: (update: Uint8Array, from: string) => void, onProcessGone: (process: string) => void): () => void;
}
