/**
 * Contract of RoomDirectory (server/ports/room-directory.ts), the same tests for every backend:
 * FileRoomDirectory (embedded) and RedisRoomDirectory (scale-out).
 */
import { describe, expect, it } from 'vitest';
import '../helpers/cluster.js'; // the global set-up provides Redis to files that import it
import { FileRoomDirectory } from '../../server/embedded/file-room-directory.js';
import type { RoomDirectory, RoomMeta } from '../../server/ports/room-directory.js';
import { RedisRoomDirectory } from '../../server/scale/redis-room-directory.js';
import { redisPrefix, redisProcess, roomId, tempDir } from './backends.js';

interface DirectoryBackend {
  /** A directory over this test's storage; each call is another instance (a restart, another node). */
  open(): Promise<RoomDirectory>;
}

async function embedded(): Promise<DirectoryBackend> {
  const dir = await tempDir();
  return { open: async () => new FileRoomDirectory(dir) };
}

async function redis(): Promise<DirectoryBackend> {
  const prefix = redisPrefix();
  return { open: async () => new RedisRoomDirectory((await redisProcess(prefix)).redis) };
}

const meta = (id = roomId(), title = 'A title'): RoomMeta => ({ id, title, createdAt: new Date().toISOString() });

describe.each([
  ['embedded', embedded],
  ['redis', redis],
] as const)('RoomDirectory contract: %s', (_name, backend) => {
  it('get returns what create stored, at link generation 1', async () => {
    const directory = await (await backend()).open();
    const room = meta();
    await directory.create(room);
    const got = await directory.get(room.id);
    expect(got).toMatchObject({ id: room.id, title: room.title, createdAt: room.createdAt });
    expect(got!.epoch ?? 1).toBe(1);
  });

  it('another instance over the same storage knows the room (a restart, another node)', async () => {
    const b = await backend();
    const room = meta();
    await (await b.open()).create(room);
    expect(await (await b.open()).get(room.id)).toMatchObject({ id: room.id, title: room.title });
  });

  it('get of an unknown or malformed id is null, without throwing', async () => {
    const directory = await (await backend()).open();
    expect(await directory.get(roomId())).toBeNull();
    for (const bad of ['', 'short', 'UPPERCASE1', '../../etc/passwd', 'a'.repeat(33), 'room:with:colons', 'room*']) {
      expect(await directory.get(bad), bad).toBeNull();
    }
  });

  it('creating a room that exists fails and keeps the first one', async () => {
    const b = await backend();
    const directory = await b.open();
    const room = meta(roomId(), 'first');
    await directory.create(room);
    await expect(directory.create({ ...room, title: 'second' })).rejects.toThrow();
    // Nor can another instance (another node, or after a restart).
    await expect((await b.open()).create({ ...room, title: 'third' })).rejects.toThrow();
    expect((await directory.get(room.id))!.title).toBe('first');
    expect((await (await b.open()).get(room.id))!.title).toBe('first');
  });

  it('rotate moves to the next link generation and returns it; get and other instances see it', async () => {
    const b = await backend();
    const directory = await b.open();
    const room = meta();
    await directory.create(room);
    expect(await directory.rotate(room.id)).toBe(2);
    expect(await directory.rotate(room.id)).toBe(3);
    expect((await directory.get(room.id))!.epoch).toBe(3);
    expect((await (await b.open()).get(room.id))!.epoch).toBe(3);
    expect((await directory.get(room.id))!.title).toBe(room.title);
  });

  it('concurrent rotations each get their own generation', async () => {
    const directory = await (await backend()).open();
    const room = meta();
    await directory.create(room);
    const epochs = await Promise.all([1, 2, 3, 4].map(() => directory.rotate(room.id)));
    expect([...epochs].sort()).toEqual([2, 3, 4, 5]);
    expect((await directory.get(room.id))!.epoch).toBe(5);
  });

  it('rotate of an unknown or malformed room is null and creates nothing', async () => {
    const directory = await (await backend()).open();
    const id = roomId();
    expect(await directory.rotate(id)).toBeNull();
    expect(await directory.get(id)).toBeNull();
    expect(await directory.rotate('../nope')).toBeNull();
  });

  it('delete forgets the room (get null, rotate null, on every instance); deleting an unknown room is harmless', async () => {
    const b = await backend();
    const directory = await b.open();
    const room = meta();
    await directory.create(room);
    await directory.rotate(room.id);
    await directory.delete(room.id);
    expect(await directory.get(room.id)).toBeNull();
    expect(await directory.rotate(room.id)).toBeNull();
    expect(await (await b.open()).get(room.id)).toBeNull();
    await expect(directory.delete(roomId())).resolves.toBeUndefined();
    await expect(directory.delete('../nope')).resolves.toBeUndefined();
  });
});
