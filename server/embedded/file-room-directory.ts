/**
 * The embedded room directory: DATA_DIR/rooms/<room>/room.json next to the room's document files
 * (read once, then kept in memory: this process is its only writer).
 */
import { mkdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { ROOM_ID_PATTERN } from '../../shared/protocol.js';
import { writeFileDurably } from '../fs/durable.js';
import type { RoomDirectory, RoomMeta } from '../ports/room-directory.js';

export class FileRoomDirectory implements RoomDirectory {
  readonly #known = new Map<string, RoomMeta>();
  /** Writes of one room's file, one after another. */
  readonly #writing = new Map<string, Promise<unknown>>();

  constructor(private readonly dir: string) {}

  #file(id: string): string {
    return path.join(this.dir, id, 'room.json');
  }

  async create(meta: RoomMeta): Promise<void> {
    await mkdir(path.join(this.dir, meta.id), { recursive: true });
    await this.#write(meta, 'wx');
    this.#known.set(meta.id, meta);
  }

  async get(id: string): Promise<RoomMeta | null> {
    if (!ROOM_ID_PATTERN.test(id)) return null;
    const known = this.#known.get(id);
    if (known) return known;
    try {
      const meta = JSON.parse(await readFile(this.#file(id), 'utf8')) as RoomMeta;
      this.#known.set(id, meta);
      return meta;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
  }

  async rotate(id: string): Promise<number | null> {
    const run = (this.#writing.get(id) ?? Promise.resolve()).catch(() => {}).then(async () => {
      const meta = await this.get(id);
      if (!meta) return null;
      const next = { ...meta, epoch: (meta.epoch ?? 1) + 1 };
      await this.#write(next, 'w');
      this.#known.set(id, next);
      return next.epoch;
    });
    this.#writing.set(id, run);
    return run;
  }

  async delete(id: string): Promise<void> {
    if (!ROOM_ID_PATTERN.test(id)) return;
    await this.#writing.get(id)?.catch(() => {});
    this.#known.delete(id);
    await rm(this.#file(id), { force: true });
  }

  /** Durable: a synced temporary file renamed over the old one (or linked in place of none, for a new room). */
  async #write(meta: RoomMeta, flag: 'w' | 'wx'): Promise<void> {
    await writeFileDurably(this.#file(meta.id), `${JSON.stringify(meta)}\n`, { exclusive: flag === 'wx' });
  }
}
