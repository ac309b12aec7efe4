/**
 * Contract of PreviewStore (server/ports/preview-store.ts), the same tests for every backend:
 * FrameCache (embedded, in this process) and RedisPreviewStore (scale-out: a hash per room, so a
 * late joiner on any node sees the previews another process stored). The newest complete preview
 * of each shot of each room; `retain` drops the shots that left the scene.
 */
import { describe, expect, it } from 'vitest';
import '../helpers/cluster.js'; // the global set-up provides Redis to files that import it
import { FrameCache } from '../../server/preview/frame-cache.js';
import type { CachedPreview, PreviewStore } from '../../server/ports/preview-store.js';
import { RedisPreviewStore } from '../../server/scale/redis-caches.js';
import type { PreviewFrame } from '../../shared/protocol.js';
import { bytes, redisPrefix, redisProcess, roomId } from './backends.js';

interface PreviewBackend {
  /** The store a process writes to, and the one another process reads (the same one when there is one process). */
  writer: PreviewStore;
  reader: PreviewStore;
}

async function embedded(): Promise<PreviewBackend> {
  const store = new FrameCache(64 * 1024 * 1024);
  return { writer: store, reader: store };
}

async function redis(): Promise<PreviewBackend> {
  const prefix = redisPrefix();
  return { writer: new RedisPreviewStore((await redisProcess(prefix)).redis), reader: new RedisPreviewStore((await redisProcess(prefix)).redis) };
}

/** A preview of `frames` frames of random JPEG-like bytes; `bytes` is their total. */
function preview(shot: string, rev: number, frames = 3): CachedPreview {
  const list: PreviewFrame[] = Array.from({ length: frames }, (_, index) => ({ shot, rev, index, count: frames, fps: 8, width: 160, height: 90, data: bytes(200 + index) }));
  return { shot, rev, key: `key-${shot}-${rev}`, frames: list, bytes: list.reduce((sum, f) => sum + f.data.length, 0) };
}

/** Comparable form: frames' bytes as Buffers, shots in id order (the port does not order them). */
const plain = (previews: CachedPreview[]) =>
  [...previews]
    .sort((x, y) => x.shot.localeCompare(y.shot))
    .map((p) => ({ ...p, frames: p.frames.map((f) => ({ ...f, data: Buffer.from(f.data) })) }));

describe.each([
  ['embedded', embedded],
  ['redis', redis],
] as const)('PreviewStore contract: %s', (_name, backend) => {
  it('a room with nothing stored has no previews', async () => {
    const { reader } = await backend();
    expect(await reader.get(roomId())).toEqual([]);
  });

  it('get returns what set stored, frames and bytes as they were (seen from another process too)', async () => {
    const { writer, reader } = await backend();
    const room = roomId();
    const one = preview('s1', 1);
    const two = preview('s2', 4, 5);
    await writer.set(room, one);
    await writer.set(room, two);
    expect(plain(await reader.get(room))).toEqual(plain([one, two]));
    expect(plain(await writer.get(room))).toEqual(plain([one, two]));
  });

  it('a newer preview of a shot replaces the one before', async () => {
    const { writer, reader } = await backend();
    const room = roomId();
    await writer.set(room, preview('s1', 1));
    const newer = preview('s1', 2, 2);
    await writer.set(room, newer);
    expect(plain(await reader.get(room))).toEqual(plain([newer]));
  });

  it('rooms are independent', async () => {
    const { writer, reader } = await backend();
    const roomA = roomId();
    const roomB = roomId();
    const a = preview('s1', 1);
    const b = preview('s1', 7);
    await writer.set(roomA, a);
    await writer.set(roomB, b);
    expect(plain(await reader.get(roomA))).toEqual(plain([a]));
    expect(plain(await reader.get(roomB))).toEqual(plain([b]));
    await writer.retain(roomA, new Set());
    expect(plain(await reader.get(roomB))).toEqual(plain([b]));
  });

  it('retain drops the shots not in the set and keeps the others', async () => {
    const { writer, reader } = await backend();
    const room = roomId();
    const [s1, s2, s3] = [preview('s1', 1), preview('s2', 1), preview('s3', 1)];
    for (const p of [s1, s2, s3]) await writer.set(room, p);
    await writer.retain(room, new Set(['s1', 's3', 'not-cached']));
    expect(plain(await reader.get(room))).toEqual(plain([s1, s3]));
    await writer.retain(room, new Set(['s1', 's3'])); // nothing to drop: harmless
    expect(plain(await reader.get(room))).toEqual(plain([s1, s3]));
  });

  it('retain with an empty set drops the whole room; the room can be filled again', async () => {
    const { writer, reader } = await backend();
    const room = roomId();
    await writer.set(room, preview('s1', 1));
    await writer.set(room, preview('s2', 1));
    await writer.retain(room, new Set());
    expect(await reader.get(room)).toEqual([]);
    await writer.retain(roomId(), new Set()); // a room with nothing: harmless
    const again = preview('s9', 3);
    await writer.set(room, again);
    expect(plain(await reader.get(room))).toEqual(plain([again]));
  });

  it('keeps a preview’s tail for the shot that continues it: read by key without the frames, gone with the shot', async () => {
    const { writer, reader } = await backend();
    const room = roomId();
    const tail = Float32Array.from({ length: 1152 }, (_, i) => Math.cos(i) * 2.5);
    const first = { ...preview('s1', 1), tail };
    await writer.set(room, first);
    expect(Array.from((await reader.tail(room, 's1', first.key))!)).toEqual(Array.from(tail));
    expect(await reader.tail(room, 's1', 'key-of-another-version')).toBeNull();
    expect(await reader.tail(room, 's2', first.key)).toBeNull();
    // A newer preview of the shot without a tail: the old tail is not handed out for it, nor for the old key.
    const second = preview('s1', 2);
    await writer.set(room, second);
    expect(await reader.tail(room, 's1', second.key)).toBeNull();
    expect(await reader.tail(room, 's1', first.key)).toBeNull();
    await writer.set(room, { ...preview('s1', 3), tail });
    await writer.retain(room, new Set(['s2']));
    expect(await reader.tail(room, 's1', `key-s1-3`)).toBeNull();
  });
});
