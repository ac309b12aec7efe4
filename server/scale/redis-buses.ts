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

type Handler = (message: Buffer) => void;

/** One subscriber connection, many channels, many handlers per channel. */
export class RedisChannels {
  readonly #handlers = new Map<string, Set<Handler>>();

  constructor(private readonly redis: RedisClients) {
    redis.subscriber.on('messageBuffer', (channel: Buffer, message: Buffer) => {
      for (const handler of this.#handlers.get(channel.toString()) ?? []) handler(message);
    });
  }

  subscribe(channel: string, handler: Handler): () => void {
    let set = this.#handlers.get(channel);
    if (!set) {
      set = new Set();
      this.#handlers.set(channel, set);
      void this.redis.subscriber.subscribe(channel).catch(() => {});
    }
    set.add(handler);
    return () => {
      set!.delete(handler);
      if (set!.size === 0) {
        this.#handlers.delete(channel);
        void this.redis.subscriber.unsubscribe(channel).catch(() => {});
      }
    };
  }

  publish(channel: string, message: Buffer): void {
    void this.redis.publisher.publish(channel, message).catch(() => {});
  }
}

const NODE_ID_BYTES = 12;

function tagged(nodeId: string, body: Buffer | Uint8Array): Buffer {
  return Buffer.concat([Buffer.from(nodeId.padEnd(NODE_ID_BYTES).slice(0, NODE_ID_BYTES)), body]);
}

function untag(message: Buffer): { from: string; body: Buffer } {
  return { from: message.subarray(0, NODE_ID_BYTES).toString().trim(), body: message.subarray(NODE_ID_BYTES) };
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

/**
 * Event envelope: u32 JSON length | JSON {event, payload} | binary data (a frame's JPEG, when
 * the payload had `data`).
 */
function encodeEvent(event: string, payload: unknown): Buffer {
  const { data, ...rest } = payload as { data?: Uint8Array };
  const json = Buffer.from(JSON.stringify({ event, payload: rest }));
  const head = Buffer.alloc(4);
  head.writeUInt32LE(json.length);
  return Buffer.concat([head, json, data ? Buffer.from(data) : Buffer.alloc(0)]);
}

function decodeEvent(body: Buffer): { event: RoomEventName; payload: Record<string, unknown> } {
  const length = body.readUInt32LE(0);
  const { event, payload } = JSON.parse(body.subarray(4, 4 + length).toString()) as { event: RoomEventName; payload: Record<string, unknown> };
  if (body.length > 4 + length) payload.data = body.subarray(4 + length);
  return { event, payload };
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
