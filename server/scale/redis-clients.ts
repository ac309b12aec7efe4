/**
 * The Redis connections of one process in scale-out mode, and its key naming. Commands fail fast
 * while Redis is unreachable (no offline queue), so requests answer 503 STORE_UNAVAILABLE instead
 * of hanging; ioredis reconnects on its own and the callers resync.
 *
 * "No offline queue" only covers commands sent once the drop is known. A command already written
 * when the connection drops (or sent to a Redis that stopped answering) is kept by ioredis and sent
 * again after the reconnect, whatever enableOfflineQueue and maxRetriesPerRequest say: its caller
 * would wait for the whole outage. So every command of the fail-fast connections has a deadline
 * (COMMAND_TIMEOUT_MS), and one that was in flight at a drop is not sent again later: its caller has
 * been told it failed, and nothing it did not get an answer for happens behind its back.
 */
import { randomBytes } from 'node:crypto';
import { Redis, type RedisOptions } from 'ioredis';
import { ScenecastError } from '../../shared/errors.js';

/** Longest wait for the reply to one command on the fail-fast connections (then STORE_UNAVAILABLE). */
export const COMMAND_TIMEOUT_MS = 2000;

export class RedisClients {
  /** Ordinary commands. */
  readonly commands: Redis;
  /** Blocking reads (XREAD BLOCK) need a connection of their own. */
  readonly blocking: Redis;
  readonly publisher: Redis;
  readonly subscriber: Redis;
  /** This process's id in the cluster (tags what it writes, names its heartbeat). */
  readonly nodeId = randomBytes(6).toString('hex');
  #closed = false;

  constructor(
    readonly url: string,
    readonly prefix: string,
  ) {
    const base: RedisOptions = {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      connectTimeout: 2000,
      // Reconnect quickly (tests cut connections); at most every 1 s.
      retryStrategy: (times) => Math.min(50 * 2 ** times, 1000),
    };
    const failFast: RedisOptions = { ...base, commandTimeout: COMMAND_TIMEOUT_MS, autoResendUnfulfilledCommands: false };
    this.commands = new Redis(url, failFast);
    // These two wait out an outage instead: the reader's XREAD is sent again after a reconnect (it reads on from the
    // last id it got), and the subscriber subscribes again.
    this.blocking = new Redis(url, { ...base, enableOfflineQueue: true, maxRetriesPerRequest: null });
    this.publisher = new Redis(url, failFast);
    this.subscriber = new Redis(url, { ...base, enableOfflineQueue: true, maxRetriesPerRequest: null });
    for (const client of [this.commands, this.blocking, this.publisher, this.subscriber]) client.on('error', () => {});
  }

  /** Options for libraries that open their own connections (BullMQ wants no per-request retry limit). */
  connectionOptions(): { url: string; maxRetriesPerRequest: null; enableOfflineQueue: boolean } {
    return { url: this.url, maxRetriesPerRequest: null, enableOfflineQueue: true };
  }

  key(...parts: string[]): string {
    return `${this.prefix}${parts.join(':')}`;
  }

  /** Waits for the first connection (fails after `timeoutMs`). */
  async ready(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (const client of [this.commands, this.blocking, this.publisher, this.subscriber]) {
      while (client.status !== 'ready') {
        if (Date.now() > deadline) throw new Error(`Redis at ${this.url} did not answer within ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  }

  /** Round-trip time of a PING (ms); throws STORE_UNAVAILABLE. */
  async ping(): Promise<number> {
    const started = performance.now();
    await guard(this.commands.ping());
    return performance.now() - started;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.allSettled([this.commands, this.blocking, this.publisher, this.subscriber].map((c) => c.quit().catch(() => c.disconnect())));
  }
}

/** Runs a Redis call, turning connection failures into STORE_UNAVAILABLE. */
export async function guard<T>(promise: Promise<T>): Promise<T> {
  try {
    return await promise;
  } catch (error) {
    if (error instanceof ScenecastError) throw error;
    throw new ScenecastError('STORE_UNAVAILABLE', undefined, { cause: (error as Error).message });
  }
}
