import { afterEach, describe, expect, it, vi } from 'vitest';
import type { PreviewFrame } from '../shared/protocol.js';
import { SceneSchema } from '../shared/scene.js';
import { Debouncer } from '../server/preview/debounce.js';
import { previewPriority } from '../server/preview/preview-queue.js';
import { FairTurns } from '../server/render/fair-turns.js';
import { admitRender, countActive, frameLimitRefusal, framesLeft, sceneFrames } from '../server/render/render-limits.js';
import { isActive, markCancelled, markDone, markFailed, markQueued, markRunning, newRenderRecord } from '../server/render/render-records.js';
import { parseRange } from '../server/render/render-routes.js';
import { decodeEvent, decodePreview, encodeEvent, encodePreview, tagged, untag } from '../server/scale/redis-encoding.js';
import { Subscribers } from '../server/util/subscribers.js';

const scene = SceneSchema.parse({ title: 't', fps: 10, seed: 1, shots: [{ id: 'a', prompt: 'a red ball', duration: 2 }, { id: 'b', prompt: 'a blue star', duration: 0.5 }] });

describe('preview rules', () => {
  it('puts the edited shot first, then orders by how busy the room already is', () => {
    expect(previewPriority({ urgent: true }, 9)).toBe(0);
    expect(previewPriority({ urgent: false }, 0)).toBe(1);
    expect(previewPriority({ urgent: false }, 5)).toBe(5);
    // A quiet room's first job ties with a busy room's first, and goes before its later ones.
    expect(previewPriority({ urgent: false }, 0)).toBeLessThan(previewPriority({ urgent: false }, 3));
  });
});

describe('Debouncer', () => {
  afterEach(() => vi.useRealTimers());

  it('runs after the quiet time, and no later than the maximum wait while triggers keep coming', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    const fn = vi.fn();
    const debouncer = new Debouncer(60, 300, fn);
    debouncer.trigger();
    vi.advanceTimersByTime(59);
    expect(fn).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(fn).toHaveBeenCalledTimes(1);
    // Continuous typing: a trigger every 50 ms still runs it at 300 ms.
    for (let t = 0; t < 280; t += 50) {
      debouncer.trigger();
      vi.advanceTimersByTime(50);
    }
    expect(fn).toHaveBeenCalledTimes(2);
    debouncer.trigger();
    debouncer.cancel();
    vi.advanceTimersByTime(1000);
    expect(fn).toHaveBeenCalledTimes(2);
  });
});

describe('FairTurns', () => {
  it('serves waiting rooms in rotation, the least recently served first', async () => {
    const turns = new FairTurns(1);
    const order: string[] = [];
    const take = async (room: string) => {
      const release = await turns.acquire(room);
      order.push(room);
      return release;
    };
    const first = await take('a');
    // While a holds the turn: a asks twice more, then b once; each gives its turn back at once.
    const pending = [take('a'), take('a'), take('b')].map((p) => p.then((release) => release()));
    first();
    await Promise.all(pending);
    expect(order).toEqual(['a', 'b', 'a', 'a']);
  });

  it('with two slots, a room holding both yields the next free one to a waiting room', async () => {
    const turns = new FairTurns(2);
    const a1 = await turns.acquire('a');
    const a2 = await turns.acquire('a');
    const order: string[] = [];
    const a3 = turns.acquire('a').then((release) => (order.push('a'), release));
    const b1 = turns.acquire('b').then((release) => (order.push('b'), release));
    a1();
    const b = await b1;
    expect(order).toEqual(['b']);
    a2();
    (await a3)();
    b();
    expect(order).toEqual(['b', 'a']);
  });

  it('takes an aborted waiter out of the line', async () => {
    const turns = new FairTurns(1);
    const held = await turns.acquire('a');
    const controller = new AbortController();
    const waiting = turns.acquire('b', controller.signal);
    controller.abort();
    await expect(waiting).rejects.toMatchObject({ name: 'AbortError' });
    expect(turns.waiting).toBe(0);
    held();
    (await turns.acquire('c'))();
  });
});

describe('render limits and records', () => {
  it('counts frames, and refuses a room past its queue and the service past its bound', () => {
    expect(sceneFrames(scene)).toBe(25);
    const record = newRenderRecord('room1', scene, 'final');
    expect(framesLeft(record)).toBe(25);
    record.shots = [{ id: 'a', key: 'k', frames: 20, done: 20, cached: false, status: 'done', ms: 1 }];
    expect(framesLeft(record)).toBe(5);
    expect(countActive([record], 'room1')).toEqual({ room: 1, total: 1, roomFrames: 5 });
    const limits = { roomQueue: 1, queueMax: 3, maxFrames: 24 };
    expect(admitRender({ room: 1, total: 1, roomFrames: 5 }, limits)).toBeNull();
    expect(admitRender({ room: 2, total: 2, roomFrames: 500 }, limits)).toMatchObject({ code: 'RENDER_QUEUE_FULL', retryAfterS: 20 });
    expect(admitRender({ room: 0, total: 3, roomFrames: 0 }, limits)).toMatchObject({ code: 'RENDER_QUEUE_FULL', retryAfterS: 30 });
    expect(frameLimitRefusal(25, limits)).toMatchObject({ code: 'RENDER_TOO_LONG', details: { frames: 25, maxFrames: 24 } });
    expect(frameLimitRefusal(24, limits)).toBeNull();
  });

  it('moves a record through its states in one place', () => {
    const record = newRenderRecord('room1', scene, 'preview');
    expect(record).toMatchObject({ status: 'queued', stage: 'queued', profile: 'preview', error: null });
    expect(record.id).toMatch(/^r[a-z0-9]{8,20}$/);
    expect(isActive(markRunning(record))).toBe(true);
    expect(markQueued(record)).toMatchObject({ status: 'queued', stage: 'queued' });
    expect(markCancelled(record)).toMatchObject({ status: 'cancelled', error: { code: 'RENDER_CANCELLED' } });
    expect(isActive(record)).toBe(false);
    expect(markFailed(record, { code: 'ENGINE_FAILED', message: 'x' })).toMatchObject({ status: 'failed' });
    expect(markDone(record, { shots: [], timings: record.timings, bytes: 10, seconds: 2.5 })).toMatchObject({ status: 'done', stage: 'done', url: `/api/renders/${record.id}/video.mp4`, bytes: 10 });
  });
});

describe('Range requests', () => {
  it('reads the three forms and refuses what is outside the file', () => {
    expect(parseRange(undefined, 100)).toBeNull();
    expect(parseRange('bytes=0-9', 100)).toEqual({ start: 0, end: 9 });
    expect(parseRange('bytes=90-', 100)).toEqual({ start: 90, end: 99 });
    expect(parseRange('bytes=-10', 100)).toEqual({ start: 90, end: 99 });
    expect(parseRange('bytes=50-500', 100)).toEqual({ start: 50, end: 99 });
    for (const bad of ['bytes=100-', 'bytes=9-1', 'bytes=-', 'items=0-1', 'bytes=0-1,3-4']) {
      expect(() => parseRange(bad, 100), bad).toThrow(expect.objectContaining({ code: 'RANGE_NOT_SATISFIABLE' }));
    }
  });
});

describe('Redis encodings', () => {
  it('round-trip a tagged message, a room event with bytes, and a cached preview', () => {
    const tag = untag(tagged('node-abc', Buffer.from('hello')));
    expect(tag.from).toBe('node-abc');
    expect(tag.body.toString()).toBe('hello');
    const frame: PreviewFrame = { shot: 's', rev: 7, index: 1, count: 2, fps: 16, width: 4, height: 2, data: Uint8Array.of(1, 2, 3) };
    const event = decodeEvent(encodeEvent('preview:frame', frame));
    expect(event.event).toBe('preview:frame');
    expect({ ...event.payload, data: [...(event.payload.data as Uint8Array)] }).toEqual({ ...frame, data: [1, 2, 3] });
    expect(decodeEvent(encodeEvent('render:done', { id: 'r1', url: '/u', bytes: 1, seconds: 2 }))).toEqual({ event: 'render:done', payload: { id: 'r1', url: '/u', bytes: 1, seconds: 2 } });
    const frames = [frame, { ...frame, index: 0, data: Uint8Array.of(9) }];
    const preview = decodePreview(encodePreview({ shot: 's', rev: 7, key: 'k', frames, bytes: 4 }));
    expect(preview).toMatchObject({ shot: 's', rev: 7, key: 'k', bytes: 4 });
    expect(preview.frames.map((f) => [f.index, [...f.data]])).toEqual([[1, [1, 2, 3]], [0, [9]]]);
  });
});

describe('Subscribers', () => {
  it('reports the first listener of a key and the last one leaving, once each', () => {
    const first = vi.fn();
    const last = vi.fn();
    const subs = new Subscribers<string>({ first, last });
    const offA = subs.add('k', 'a');
    const offB = subs.add('k', 'b');
    expect(first).toHaveBeenCalledTimes(1);
    expect([...subs.of('k')]).toEqual(['a', 'b']);
    offA();
    offA();
    expect(last).not.toHaveBeenCalled();
    offB();
    expect(last).toHaveBeenCalledWith('k');
    expect([...subs.of('k')]).toEqual([]);
  });
});
