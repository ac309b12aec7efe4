/**
 * Contract of RoomControl (server/ports/room-control.ts), the same tests for every backend:
 * LocalRoomControl (embedded: one process) and RedisRoomControl (scale-out: two instances on one
 * key prefix, as two server nodes would have). An event published by one node reaches the
 * subscribers of every node of the service, and no other service's.
 */
import { describe, expect, it } from 'vitest';
import '../helpers/cluster.js'; // the global set-up provides Redis to files that import it
import { LocalRoomControl } from '../../server/embedded/local-room-control.js';
import type { RoomControl, RoomControlEvent } from '../../server/ports/room-control.js';
import { RedisRoomControl } from '../../server/scale/redis-room-control.js';
import { eventually, redisPrefix, redisProcess, roomId, subscriptionsLive, type RedisProcess } from './backends.js';

interface ControlBackend {
  /** The node that publishes, and another node of the same service (the same one when there is one process). */
  a: RoomControl;
  b: RoomControl;
  /** A node of another service (another data folder; another key prefix). */
  stranger: RoomControl;
  /** Resolves once the subscriptions made so far are in effect (pub/sub only delivers to those). */
  live(): Promise<void>;
}

async function embedded(): Promise<ControlBackend> {
  const control = new LocalRoomControl();
  return { a: control, b: control, stranger: new LocalRoomControl(), live: async () => {} };
}

async function redis(): Promise<ControlBackend> {
  const prefix = redisPrefix();
  const processes: RedisProcess[] = [await redisProcess(prefix), await redisProcess(prefix), await redisProcess(redisPrefix())];
  const [a, b, stranger] = processes.map((p) => new RedisRoomControl(p.redis, p.channels));
  return { a: a!, b: b!, stranger: stranger!, live: () => subscriptionsLive(...processes) };
}

function recorder(): { events: RoomControlEvent[]; listener: (event: RoomControlEvent) => void } {
  const events: RoomControlEvent[] = [];
  return { events, listener: (event) => events.push(event) };
}

describe.each([
  ['embedded', embedded],
  ['redis', redis],
] as const)('RoomControl contract: %s', (_name, backend) => {
  it('a published event reaches every subscriber of the service, as it was, in order', async () => {
    const { a, b, live } = await backend();
    const one = recorder();
    const two = recorder();
    b.subscribe(one.listener);
    b.subscribe(two.listener);
    await live();
    const room = roomId();
    const sent: RoomControlEvent[] = [
      { type: 'revoked', room, epoch: 2 },
      { type: 'revoked', room, epoch: 3 },
      { type: 'deleted', room },
    ];
    for (const event of sent) a.publish(event);
    await eventually('both subscribers heard the three events', () => one.events.length >= 3 && two.events.length >= 3);
    expect(one.events).toEqual(sent);
    expect(two.events).toEqual(sent);
  });

  it('after unsubscribe a listener hears nothing more; the others still hear', async () => {
    const { a, b, live } = await backend();
    const gone = recorder();
    const stays = recorder();
    const unsubscribe = b.subscribe(gone.listener);
    b.subscribe(stays.listener);
    await live();
    const room = roomId();
    a.publish({ type: 'revoked', room, epoch: 2 });
    await eventually('the first event arrived', () => gone.events.length === 1 && stays.events.length === 1);
    unsubscribe();
    unsubscribe(); // idempotent
    a.publish({ type: 'deleted', room });
    await eventually('the second event reached the listener that stayed', () => stays.events.length === 2);
    expect(gone.events).toEqual([{ type: 'revoked', room, epoch: 2 }]);
  });

  it('when the last listener goes and a new one comes, the new one hears (the subscription is made again)', async () => {
    const { a, b, live } = await backend();
    const first = recorder();
    b.subscribe(first.listener)();
    const second = recorder();
    b.subscribe(second.listener);
    await live();
    const room = roomId();
    a.publish({ type: 'deleted', room });
    await eventually('the new listener heard it', () => second.events.length === 1);
    expect(first.events).toEqual([]);
  });

  it('another service hears nothing', async () => {
    const { a, b, stranger, live } = await backend();
    const outside = recorder();
    const inside = recorder();
    stranger.subscribe(outside.listener);
    b.subscribe(inside.listener);
    await live();
    a.publish({ type: 'deleted', room: roomId() });
    await eventually('our event reached our node', () => inside.events.length === 1);
    // Then the stranger's own event, as an end mark: had ours reached the stranger, it would have come first.
    const mark: RoomControlEvent = { type: 'deleted', room: roomId() };
    stranger.publish(mark);
    await eventually('the mark reached the stranger', () => outside.events.length >= 1);
    expect(outside.events).toEqual([mark]);
  });
});
