/**
 * Contract of RoomEventBus (server/ports/room-broadcast.ts), the same tests for every backend:
 * MemoryRoomEvents (embedded: one process) and RedisRoomEvents (scale-out: two instances on one
 * key prefix, as an engine worker process and a server node would have). An event of a room
 * reaches that room's subscribers, from any process, and nobody else; a preview frame's JPEG
 * bytes arrive as they were sent.
 */
import { describe, expect, it } from 'vitest';
import '../helpers/cluster.js'; // the global set-up provides Redis to files that import it
import { MemoryRoomEvents } from '../../server/embedded/memory-room-events.js';
import type { RoomEventBus, RoomEventName, RoomEventPayload } from '../../server/ports/room-broadcast.js';
import { RedisRoomEvents } from '../../server/scale/redis-buses.js';
import type { PreviewFrame, PreviewState } from '../../shared/protocol.js';
import { bytes, eventually, redisPrefix, redisProcess, roomId, subscriptionsLive, type RedisProcess } from './backends.js';

interface EventsBackend {
  /** The process that emits, and another process of the service (the same one when there is one process). */
  a: RoomEventBus;
  b: RoomEventBus;
  /** Resolves once the subscriptions made so far are in effect (pub/sub only delivers to those). */
  live(): Promise<void>;
}

async function embedded(): Promise<EventsBackend> {
  const events = new MemoryRoomEvents();
  return { a: events, b: events, live: async () => {} };
}

async function redis(): Promise<EventsBackend> {
  const prefix = redisPrefix();
  const processes: RedisProcess[] = [await redisProcess(prefix), await redisProcess(prefix)];
  const [a, b] = processes.map((p) => new RedisRoomEvents(p.redis, p.channels));
  return { a: a!, b: b!, live: () => subscriptionsLive(...processes) };
}

type Heard = { event: RoomEventName; payload: RoomEventPayload<RoomEventName> };

function recorder(): { heard: Heard[]; handler: (event: RoomEventName, payload: RoomEventPayload<RoomEventName>) => void } {
  const heard: Heard[] = [];
  return { heard, handler: (event, payload) => heard.push({ event, payload }) };
}

const state = (shot: string, rev: number): PreviewState => ({ shot, rev, status: 'generating' });

describe.each([
  ['embedded', embedded],
  ['redis', redis],
] as const)('RoomEventBus contract: %s', (_name, backend) => {
  it("an event of room A reaches A's subscribers (every process) and not B's", async () => {
    const { a, b, live } = await backend();
    const roomA = roomId();
    const roomB = roomId();
    const aOnB = recorder();
    const aOnA = recorder();
    const bOnB = recorder();
    const bOnA = recorder();
    b.subscribe(roomA, aOnB.handler);
    a.subscribe(roomA, aOnA.handler);
    b.subscribe(roomB, bOnB.handler);
    a.subscribe(roomB, bOnA.handler);
    await live();
    a.emit(roomA, 'preview:state', state('s1', 1));
    await eventually("A's subscribers heard it", () => aOnB.heard.length === 1 && aOnA.heard.length === 1);
    // Then an event of B, as an end mark: had A's event reached B's subscribers, it would have come first.
    a.emit(roomB, 'preview:state', state('mark', 9));
    await eventually("B's subscribers heard the mark", () => bOnB.heard.length >= 1 && bOnA.heard.length >= 1);
    expect(aOnB.heard).toEqual([{ event: 'preview:state', payload: state('s1', 1) }]);
    expect(aOnA.heard).toEqual([{ event: 'preview:state', payload: state('s1', 1) }]);
    expect(bOnB.heard).toEqual([{ event: 'preview:state', payload: state('mark', 9) }]);
    expect(bOnA.heard).toEqual([{ event: 'preview:state', payload: state('mark', 9) }]);
  });

  it("a preview:frame's binary data arrives with the same bytes, its other fields as sent", async () => {
    const { a, b, live } = await backend();
    const room = roomId();
    const got = recorder();
    b.subscribe(room, got.handler);
    await live();
    const jpeg = bytes(64 * 1024);
    const sent = Buffer.from(jpeg); // what was sent, kept aside from the payload
    const frame: PreviewFrame = { shot: 's1', rev: 3, index: 2, count: 8, fps: 8, width: 160, height: 90, data: jpeg };
    a.emit(room, 'preview:frame', frame);
    await eventually('the frame arrived', () => got.heard.length === 1);
    const { event, payload } = got.heard[0]!;
    expect(event).toBe('preview:frame');
    const { data, ...fields } = payload as PreviewFrame;
    expect(fields).toEqual({ shot: 's1', rev: 3, index: 2, count: 8, fps: 8, width: 160, height: 90 });
    expect(data).toBeInstanceOf(Uint8Array);
    expect(Buffer.from(data).equals(sent)).toBe(true);
  });

  it('events of a room arrive in the order they were emitted, whatever their kind', async () => {
    const { a, b, live } = await backend();
    const room = roomId();
    const got = recorder();
    b.subscribe(room, got.handler);
    await live();
    const frame: PreviewFrame = { shot: 's1', rev: 1, index: 0, count: 1, fps: 8, width: 2, height: 2, data: bytes(16) };
    a.emit(room, 'preview:state', state('s1', 1));
    a.emit(room, 'preview:frame', frame);
    a.emit(room, 'render:progress', { id: 'r1', stage: 'generate', done: 1, total: 4 });
    a.emit(room, 'preview:state', { shot: 's1', rev: 1, status: 'done' });
    await eventually('four events arrived', () => got.heard.length >= 4);
    expect(got.heard.map((h) => h.event)).toEqual(['preview:state', 'preview:frame', 'render:progress', 'preview:state']);
    expect(got.heard[2]!.payload).toEqual({ id: 'r1', stage: 'generate', done: 1, total: 4 });
  });

  it('after unsubscribe a handler hears nothing more of the room; the others still hear', async () => {
    const { a, b, live } = await backend();
    const room = roomId();
    const gone = recorder();
    const stays = recorder();
    const unsubscribe = b.subscribe(room, gone.handler);
    b.subscribe(room, stays.handler);
    await live();
    a.emit(room, 'preview:state', state('s1', 1));
    await eventually('the first event arrived', () => gone.heard.length === 1 && stays.heard.length === 1);
    unsubscribe();
    unsubscribe(); // idempotent
    a.emit(room, 'preview:state', state('s1', 2));
    await eventually('the second event reached the handler that stayed', () => stays.heard.length === 2);
    expect(gone.heard).toHaveLength(1);
  });

  it("a room's last handler going and a new one coming: the new one hears", async () => {
    const { a, b, live } = await backend();
    const room = roomId();
    const first = recorder();
    b.subscribe(room, first.handler)();
    const second = recorder();
    b.subscribe(room, second.handler);
    await live();
    a.emit(room, 'preview:state', state('s1', 1));
    await eventually('the new handler heard it', () => second.heard.length === 1);
    expect(first.heard).toEqual([]);
  });
});
