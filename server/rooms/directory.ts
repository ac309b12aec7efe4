/**
 * Which rooms exist, with their metadata. Embedded: DATA_DIR/rooms/<room>/room.json next to the
 * room's document files. Scale-out keeps the same interface on Redis.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ROOM_ID_PATTERN } from '../../shared/protocol.js';

export interface RoomMeta {
  id: string;
  title: string;
  createdAt: string;
}

export interface RoomDirectory {
  create(meta: RoomMeta): Promise<void>;
  get(id: string): Promise<RoomMeta | null>;
}

const ALPHABET = 'abcdefghijkmnpqrstuvwxyz23456789';

/** 14 characters from a 32-letter alphabet: 70 bits, unguessable and easy to read aloud. */
export function newRoomId(): string {
  const bytes = randomBytes(14);
  let id = '';
  for (const byte of bytes) id += ALPHABET[byte & 31];
  return id;
}

export class FileRoomDirectory implements RoomDirectory {
  constructor(private readonly dir: string) {}

  async create(meta: RoomMeta): Promise<void> {
    const folder = path.join(this.dir, meta.id);
    await mkdir(folder, { recursive: true });
    await writeFile(path.join(folder, 'room.json'), `${JSON.stringify(meta)}\n`, { flag: 'wx' });
  }

  async get(id: string): Promise<RoomMeta | null> {
    if (!ROOM_ID_PATTERN.test(id)) return null;
    try {
      return JSON.parse(await readFile(path.join(this.dir, id, 'room.json'), 'utf8')) as RoomMeta;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
  }
}
