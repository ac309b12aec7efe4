/**
 * Redis pub/sub between the processes of a cluster:
 *  - awareness of a room (`<prefix>aw:<room>`), so cursors and names cross nodes;
 *  - room events from engine workers (`<prefix>ev:<room>`): preview states and frames, render
 *    progress, published ONCE per room and handed by every node to its own sockets.
 * Messages start with the sender's node id so a process ignores its own.
 */
import type { AwarenessBus } from '../ports/awareness-bus.js';
import type { RoomEventBus, RoomEventName, RoomEventPayload } from '../ports/room-broadcast.js';
import type { RedisClients } from './redis-clients.js';
import { Subscribers } from '../util/subscribers.js';
import { decodeEvent, encodeEvent, tagged, untag } from './redis-encoding.js';

type Handler = (message: Buffer) => void;

/** One subscriber connection, many channels, many handlers per channel. */
export class RedisChannels {
  readonly #handlers: Subscribers<Handler>;

  constructor(private readonly redis: RedisClients) {
    this.#handlers = new Subscribers<Handler>({
      first: (channel) => void redis.subscriber.subscribe(channel).catch(() => {}),
      last: (channel) => void redis.subscriber.unsubscribe(channel).catch(() => {}),
    });
    redis.subscriber.on('messageBuffer', (channel: Buffer, message: Buffer) => {
      for (const handler of this.#handlers.of(channel.toString())) handler(message);
    });
  }

  subscribe(channel: string, handler: Handler): () => void {
    return this.#handlers.add(channel, handler);
  }

  publish(channel: string, message: Buffer): void {
    void this.redis.publisher.publish(channel, message).catch(() => {});
  }
}

/**
 * Which processes of the cluster are alive: each one renews `<prefix>node:<id>` every second
 * (it expires after 3 s); the processes this one has heard from are checked every 2 s, and a
 * missing key means the process died (kill -9, lost machine) without saying goodbye.
 */
export class NodeLiveness {
  readonly #seen = new Set<string>();
  readonly #listeners = new Set<(node: string) => void>();
  readonly #timers: NodeJS.Timeout[] = [];

  constructor(private readonly redis: RedisClients) {
    const key = redis.key('node', redis.nodeId);
    const beat = () => void redis.commands.set(key, '1', 'PX', 3000).catch(() => {});
    beat();
    this.#timers.push(setInterval(beat, 1000), setInterval(() => void this.#check(), 2000));
    for (const timer of this.#timers) timer.unref();
  }

  seen(node: string): void {
    this.#seen.add(node);
  }

  onGone(listener: (node: string) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async #check(): Promise<void> {
    for (const node of [...this.#seen]) {
      const alive = await this.redis.commands.exists(this.redis.key('node', node)).catch(() => 1);
      if (alive) continue;
      this.#seen.delete(node);
      for (const listener of this.#listeners) listener(node);
    }
  }

  async close(): Promise<void> {
    for (const timer of this.#timers) clearInterval(timer);
    await this.redis.commands.del(this.redis.key('node', this.redis.nodeId)).catch(() => {});
  }
}

export function redisAwarenessBus(redis: RedisClients, channels: RedisChannels, liveness: NodeLiveness, room: string): AwarenessBus {
  const channel = redis.key('aw', room);
  return {
    publish: (update) => channels.publish(channel, tagged(redis.nodeId, update)),
    subscribe: (onUpdate, onProcessGone) => {
      const stopMessages = channels.subscribe(channel, (message) => {
        const { from, body } = untag(message);
        if (from === redis.nodeId) return;
        liveness.seen(from);
        onUpdate(body, from);
      });
      const stopLiveness = liveness.onGone(onProcessGone);
      return () => {
        stopMessages();
        stopLiveness();
      };
    },
  };
}

/** The scale-out RoomEventBus: an event is published once per room; every node subscribed to the room hears it. */
export class RedisRoomEvents implements RoomEventBus {
  constructor(
    private readonly redis: RedisClients,
    private readonly channels: RedisChannels,
  ) {}

  emit<E extends RoomEventName>(room: string, event: E, payload: RoomEventPayload<E>): void {
    this.channels.publish(this.redis.key('ev', room), tagged(this.redis.nodeId, encodeEvent(event, payload)));
  }

  subscribe<E extends RoomEventName>(room: string, handler: (event: E, payload: RoomEventPayload<E>) => void): () => void {
    return this.channels.subscribe(this.redis.key('ev', room), (message) => {
      const { event, payload } = decodeEvent(untag(message).body);
      handler(event as E, payload as RoomEventPayload<E>);
    });
  }
}
