/**
 * Contract of AwarenessBus (server/ports/awareness-bus.ts): presence held by other server
 * processes of a room. The embedded mode has none (Backends.awarenessBus is null: one process
 * holds every client), so the table has one entry today, the Redis bus of scale/redis-buses.ts,
 * with two (or three) processes on one key prefix.
 *
 * "A process died": its connections close without a goodbye and its liveness key
 * (`<prefix>node:<id>`) stops being renewed. NodeLiveness' timing is fixed, not configurable:
 * renewed every 1 s, expiring after 3 s, the processes heard from checked every 2 s; so the
 * death is reported 3 to 5 s after the last renewal. The test waits for it with that real
 * timing (deadline 8 s).
 */
import { describe, expect, it } from 'vitest';
import '../helpers/cluster.js'; // the global set-up provides Redis to files that import it
import type { AwarenessBus } from '../../server/ports/awareness-bus.js';
import { NodeLiveness, redisAwarenessBus } from '../../server/scale/redis-buses.js';
import { bytes, eventually, onCleanup, redisPrefix, redisProcess, roomId, subscriptionsLive, type RedisProcess } from './backends.js';

interface AwarenessProcess {
  /** The bus of `room` in this process. */
  bus(room: string): AwarenessBus;
  /** This process's id, as other processes hear it. */
  id: string;
  /** Dies without a goodbye (kill -9): its connections drop, its timers stop. */
  die(): Promise<void>;
}

interface AwarenessBackend {
  /** A new process of the cluster. */
  process(): Promise<AwarenessProcess>;
  /** Resolves once the subscriptions made so far (by every process) are in effect. */
  live(): Promise<void>;
  /** Longest wait (ms) for a dead process to be reported gone. */
  goneMs: number;
}

async function redis(): Promise<AwarenessBackend> {
  const prefix = redisPrefix();
  const processes: RedisProcess[] = [];
  return {
    process: async () => {
      const p = await redisProcess(prefix);
      processes.push(p);
      const liveness = new NodeLiveness(p.redis);
      onCleanup(() => liveness.close());
      return {
        bus: (room) => redisAwarenessBus(p.redis, p.channels, liveness, room),
        id: p.redis.nodeId,
        die: async () => {
          // Connections first, so the goodbye close() says (deleting the key) cannot reach Redis: the key must expire.
          for (const client of [p.redis.commands, p.redis.blocking, p.redis.publisher, p.redis.subscriber]) client.disconnect();
          await liveness.close();
        },
      };
    },
    live: () => subscriptionsLive(...processes.filter((p) => p.redis.subscriber.status === 'ready')),
    goneMs: 8000,
  };
}

function recorder() {
  const updates: { update: Buffer; from: string }[] = [];
  const gone: string[] = [];
  return { updates, gone, onUpdate: (update: Uint8Array, from: string) => updates.push({ update: Buffer.from(update), from }), onGone: (p: string) => gone.push(p) };
}

// Embedded: none (one process); an entry goes here when a second backend exists.
describe.each([['redis', redis]] as const)('AwarenessBus contract: %s', (_name, backend) => {
  it('an update published by one process reaches the others, with its process id, bytes as sent; not itself', async () => {
    const b = await backend();
    const [one, two, three] = [await b.process(), await b.process(), await b.process()];
    const room = roomId();
    const atOne = recorder();
    const atTwo = recorder();
    const atThree = recorder();
    one.bus(room).subscribe(atOne.onUpdate, atOne.onGone);
    two.bus(room).subscribe(atTwo.onUpdate, atTwo.onGone);
    three.bus(room).subscribe(atThree.onUpdate, atThree.onGone);
    await b.live();
    const update = bytes(300);
    one.bus(room).publish(update);
    await eventually('the other processes heard it', () => atTwo.updates.length === 1 && atThree.updates.length === 1);
    for (const heard of [atTwo, atThree]) {
      expect(heard.updates[0]!.from).toBe(one.id);
      expect(heard.updates[0]!.update.equals(Buffer.from(update))).toBe(true);
    }
    // End mark: an update of another process, after which ours would have reached `one` already.
    two.bus(room).publish(bytes(5));
    await eventually('the mark reached one', () => atOne.updates.length >= 1);
    expect(atOne.updates.map((u) => u.from)).toEqual([two.id]);
  });

  it('rooms are separate: an update of room A reaches nobody of room B', async () => {
    const b = await backend();
    const [one, two] = [await b.process(), await b.process()];
    const [roomA, roomB] = [roomId(), roomId()];
    const inA = recorder();
    const inB = recorder();
    two.bus(roomA).subscribe(inA.onUpdate, inA.onGone);
    two.bus(roomB).subscribe(inB.onUpdate, inB.onGone);
    await b.live();
    one.bus(roomA).publish(bytes(10));
    await eventually('room A heard it', () => inA.updates.length === 1);
    one.bus(roomB).publish(bytes(11)); // end mark
    await eventually('room B heard the mark', () => inB.updates.length >= 1);
    expect(inB.updates.map((u) => u.update.length)).toEqual([11]);
  });

  it('after unsubscribe nothing more arrives', async () => {
    const b = await backend();
    const [one, two] = [await b.process(), await b.process()];
    const room = roomId();
    const gone = recorder();
    const stays = recorder();
    const stop = two.bus(room).subscribe(gone.onUpdate, gone.onGone);
    two.bus(room).subscribe(stays.onUpdate, stays.onGone);
    await b.live();
    one.bus(room).publish(bytes(3));
    await eventually('the first update arrived', () => gone.updates.length === 1 && stays.updates.length === 1);
    stop();
    one.bus(room).publish(bytes(4));
    await eventually('the second reached the subscriber that stayed', () => stays.updates.length === 2);
    expect(gone.updates).toHaveLength(1);
  });

  it('a process that dies (stops renewing its liveness) is reported gone to the processes that heard from it; live ones are not', async () => {
    const b = await backend();
    const [dying, survivor, watcher] = [await b.process(), await b.process(), await b.process()];
    const room = roomId();
    const heard = recorder();
    watcher.bus(room).subscribe(heard.onUpdate, heard.onGone);
    await b.live();
    dying.bus(room).publish(bytes(8));
    survivor.bus(room).publish(bytes(9));
    await eventually('the watcher heard both', () => heard.updates.length === 2);
    expect(heard.gone).toEqual([]);
    await dying.die();
    await eventually('the dead process was reported gone', () => heard.gone.length >= 1, b.goneMs, 50);
    expect(heard.gone).toEqual([dying.id]);
  });
});
