/**
 * Instant replays of a live stream (POST /api/rooms/:room/live/clips): the last 30 s of frames
 * seen on this process, written as an MP4 in the background (replay-buffer.ts) and kept in the
 * videos blob store beside the renders: `clips/<room>/<id>.mp4` and its record `….json`.
 */
import { randomBytes } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { ErrorCode } from '../../shared/errors.js';
import type { LiveFrame } from '../../shared/protocol.js';
import type { BlobStore } from '../ports/blob-store.js';
import { writeReplay } from './replay-buffer.js';

export interface LiveClip {
  id: string;
  room: string;
  status: 'encoding' | 'done' | 'failed';
  createdAt: string;
  /** Frames, seconds and the stream's frame numbers it covers. */
  frames: number;
  seconds: number;
  fromSeq: number;
  toSeq: number;
  url: string | null;
  bytes: number | null;
  error: { code: ErrorCode; message: string } | null;
}

const CLIP_ID = /^c[0-9a-f]{16}$/;

export class LiveClips {
  constructor(private readonly blobs: BlobStore) {}

  /** Starts writing a clip of `frames`; resolves with its record (status `encoding`) and `done` when it is written. */
  async create(room: string, frames: readonly LiveFrame[]): Promise<{ clip: LiveClip; done: Promise<LiveClip> }> {
    const id = `c${randomBytes(8).toString('hex')}`;
    const clip: LiveClip = {
      id,
      room,
      status: 'encoding',
      createdAt: new Date().toISOString(),
      frames: frames.length,
      seconds: frames.length / (frames[0]?.fps ?? 16),
      fromSeq: frames[0]?.seq ?? 0,
      toSeq: frames.at(-1)?.seq ?? 0,
      url: null,
      bytes: null,
      error: null,
    };
    await this.#save(clip);
    const done = (async () => {
      const scratch = await this.blobs.scratch('.mp4');
      try {
        await writeReplay(frames, scratch);
        const bytes = await this.blobs.put(this.#key(room, id, 'mp4'), scratch);
        Object.assign(clip, { status: 'done', bytes, url: `/api/rooms/${room}/live/clips/${id}/video.mp4` });
      } catch (error) {
        await rm(scratch, { force: true });
        Object.assign(clip, { status: 'failed', error: { code: 'ENGINE_FAILED', message: `The replay could not be written: ${(error as Error).message}` } });
      }
      await this.#save(clip);
      return clip;
    })();
    return { clip: structuredClone(clip), done };
  }

  async get(room: string, id: string): Promise<LiveClip | null> {
    if (!CLIP_ID.test(id)) return null;
    const key = this.#key(room, id, 'json');
    if ((await this.blobs.size(key)) === null) return null;
    const chunks: Buffer[] = [];
    for await (const chunk of await this.blobs.read(key)) chunks.push(chunk as Buffer);
    return JSON.parse(Buffer.concat(chunks).toString()) as LiveClip;
  }

  video(room: string, id: string): { size(): Promise<number | null>; read(range?: { start: number; end: number }): Promise<Readable> } {
    const key = this.#key(room, id, 'mp4');
    return { size: () => this.blobs.size(key), read: (range) => this.blobs.read(key, range) };
  }

  forgetRoom(room: string): Promise<void> {
    return this.blobs.deletePrefix(`clips/${room}/`);
  }

  #key(room: string, id: string, ext: 'json' | 'mp4'): string {
    return `clips/${room}/${id}.${ext}`;
  }

  async #save(clip: LiveClip): Promise<void> {
    const scratch = await this.blobs.scratch('.json');
    await writeFile(scratch, JSON.stringify(clip));
    await this.blobs.put(this.#key(clip.room, clip.id, 'json'), scratch);
  }
}
