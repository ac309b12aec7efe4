/**
 * Uploaded music: what ffprobe says a file is (probeAudio), and the room's audio files in a blob
 * store (AssetStore): the file as `[prefix]<room>/<assetId>`, its record as `<room>/<assetId>.json`, and
 * the room's list as `<room>/assets.json` (a blob store cannot list; the list is rewritten under a
 * per-room lock in this process, so two nodes of a cluster adding to one room at the same instant
 * could drop one entry from the list: the asset itself stays readable by id).
 */
import { randomBytes } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { ScenecastError } from '../../../shared/errors.js';
import { ASSET_ID_PATTERN } from '../../../shared/post.js';
import type { BlobStore } from '../../ports/blob-store.js';
import { runFfprobe, SAFE_INPUT } from './tools.js';

/** Longest accepted upload (s): a bed for a scene of a few minutes at most. */
export const MAX_ASSET_SECONDS = 3600;

export interface AudioInfo {
  seconds: number;
  codec: string;
  channels: number;
  sampleRate: number;
}

interface ProbeJson {
  streams?: { codec_type?: string; codec_name?: string; channels?: number; sample_rate?: string; duration?: string; disposition?: { attached_pic?: number } }[];
  format?: { format_name?: string; duration?: string };
}

const notAudio = (why: string) => new ScenecastError('ASSET_NOT_AUDIO', `The file is not audio this server can read: ${why}`);

/**
 * The first audio stream of `file`, read by ffprobe with only local files and audio containers
 * allowed (tools.ts SAFE_INPUT: no playlists, images or devices). ASSET_NOT_AUDIO for anything
 * ffprobe cannot read, without an audio stream, of no known length, or longer than an hour.
 * A video stream beside the audio (cover art, a music video) is allowed: only the audio is used.
 */
export async function probeAudio(file: string): Promise<AudioInfo> {
  let json: ProbeJson;
  try {
    const { stdout } = await runFfprobe(['-v', 'error', ...SAFE_INPUT, '-show_entries', 'stream=codec_type,codec_name,channels,sample_rate,duration:stream_disposition=attached_pic:format=format_name,duration', '-of', 'json', file], { timeoutMs: 15_000 });
    json = JSON.parse(stdout) as ProbeJson;
  } catch {
    throw notAudio('it is in no format the server reads');
  }
  const audio = json.streams?.find((s) => s.codec_type === 'audio');
  if (!audio) throw notAudio(json.streams?.some((s) => s.codec_type === 'video') ? 'it has pictures but no sound' : 'it has no audio stream');
  const seconds = Number(audio.duration ?? json.format?.duration);
  if (!Number.isFinite(seconds) || seconds <= 0.05) throw notAudio('its length is unknown or zero');
  if (seconds > MAX_ASSET_SECONDS) throw notAudio(`it lasts ${Math.round(seconds / 60)} min; at most ${MAX_ASSET_SECONDS / 60} min are accepted`);
  const channels = Number(audio.channels);
  const sampleRate = Number(audio.sample_rate);
  if (!(channels >= 1) || !(sampleRate >= 1000)) throw notAudio('its channels or sample rate are unreadable');
  return { seconds, codec: String(audio.codec_name ?? 'unknown'), channels, sampleRate };
}

export interface AssetRecord {
  id: string;
  room: string;
  /** The name it was uploaded under (shown in the editor). */
  name: string;
  bytes: number;
  seconds: number;
  codec: string;
  /** ISO 8601. */
  createdAt: string;
}

/** A readable name: no folders, no control characters, at most 120 characters. */
export function assetName(raw: string | undefined): string {
  const base = (raw ?? '').split(/[\\/]/).pop() ?? '';
  const clean = [...base.normalize('NFC').replace(/[\p{Cc}\p{Cf}]/gu, '').trim()].slice(0, 120).join('');
  return clean || 'audio';
}

export const newAssetId = (): string => {
  // 12 characters of [a-z0-9]: 62 bits from 8 random bytes, base 36, padded.
  const id = `asset-${BigInt(`0x${randomBytes(8).toString('hex')}`).toString(36).padStart(12, '0').slice(-12)}`;
  if (!ASSET_ID_PATTERN.test(id)) throw new Error(`bad asset id ${id}`);
  return id;
};

async function readAll(stream: Readable, limit = 1024 * 1024): Promise<string> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of stream) {
    bytes += (chunk as Buffer).length;
    if (bytes > limit) throw new Error('record too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

const ROOM_KEY = /^[A-Za-z0-9_-]{1,64}$/;

export class AssetStore {
  readonly #locks = new Map<string, Promise<unknown>>();
  readonly #prefix: string;

  /** `prefix`: a folder of the blob store the assets live under (default none: `<room>/…` at its root); ends with `/`. */
  constructor(
    private readonly blobs: BlobStore,
    options: { prefix?: string } = {},
  ) {
    this.#prefix = options.prefix ?? '';
    if (this.#prefix && !/^[A-Za-z0-9._-]+(?:\/[A-Za-z0-9._-]+)*\/$/.test(this.#prefix)) throw new Error(`a blob folder ends with "/": ${this.#prefix}`);
  }

  /** A fresh temporary path for an upload on its way in (on the blob store's disk, so `put` is a move). */
  scratch(): Promise<string> {
    return this.blobs.scratch('.upload');
  }

  /**
   * Probes the upload at `file` (probeAudio: ASSET_NOT_AUDIO when it is not audio) and takes it in
   * as a new asset of `room`; the file is moved, so the caller removes it only when this throws.
   */
  async put(room: string, file: string, name?: string): Promise<AssetRecord> {
    const key = this.#room(room);
    const info = await probeAudio(file);
    const id = newAssetId();
    const bytes = await this.blobs.put(`${key}/${id}`, file);
    const record: AssetRecord = { id, room, name: assetName(name), bytes, seconds: Math.round(info.seconds * 1000) / 1000, codec: info.codec, createdAt: new Date().toISOString() };
    await this.#putJson(`${key}/${id}.json`, record);
    await this.#locked(key, async () => {
      const ids = await this.#ids(key);
      await this.#putJson(`${key}/assets.json`, { ids: [...ids, id] });
    });
    return record;
  }

  /** The asset's record, or null (a malformed id is simply not found). */
  async get(room: string, id: string): Promise<AssetRecord | null> {
    if (!ASSET_ID_PATTERN.test(id)) return null;
    return this.#getJson<AssetRecord>(`${this.#room(room)}/${id}.json`);
  }

  /** A local file with the asset's bytes (for ffmpeg), or ASSET_NOT_FOUND. */
  async file(room: string, id: string): Promise<string> {
    const found = (await this.get(room, id)) ? await this.blobs.local(`${this.#room(room)}/${id}`) : null;
    if (!found) throw new ScenecastError('ASSET_NOT_FOUND', `No asset "${id}" in this room`);
    return found;
  }

  /** The room's assets, oldest first. */
  async list(room: string): Promise<AssetRecord[]> {
    const key = this.#room(room);
    const records = await Promise.all((await this.#ids(key)).map((id) => this.#getJson<AssetRecord>(`${key}/${id}.json`)));
    return records.filter((r): r is AssetRecord => r !== null);
  }

  async delete(room: string, id: string): Promise<boolean> {
    const key = this.#room(room);
    if (!(await this.get(room, id))) return false;
    await this.#locked(key, async () => {
      const ids = await this.#ids(key);
      await this.#putJson(`${key}/assets.json`, { ids: ids.filter((other) => other !== id) });
    });
    await this.blobs.delete(`${key}/${id}`);
    await this.blobs.delete(`${key}/${id}.json`);
    return true;
  }

  /** Every asset of the room (a deleted room). */
  async deleteRoom(room: string): Promise<void> {
    await this.blobs.deletePrefix(`${this.#room(room)}/`);
  }

  #room(room: string): string {
    if (!ROOM_KEY.test(room)) throw new Error(`not a room id: ${room}`);
    return `${this.#prefix}${room}`;
  }

  async #ids(key: string): Promise<string[]> {
    const list = await this.#getJson<{ ids: string[] }>(`${key}/assets.json`);
    return (list?.ids ?? []).filter((id) => ASSET_ID_PATTERN.test(id));
  }

  async #getJson<T>(key: string): Promise<T | null> {
    if ((await this.blobs.size(key)) === null) return null;
    try {
      return JSON.parse(await readAll(await this.blobs.read(key))) as T;
    } catch {
      return null;
    }
  }

  async #putJson(key: string, value: unknown): Promise<void> {
    const tmp = await this.blobs.scratch('.json');
    try {
      await writeFile(tmp, JSON.stringify(value));
      await this.blobs.put(key, tmp);
    } finally {
      await rm(tmp, { force: true });
    }
  }

  /** Runs `fn` after every earlier call for the same room has finished (the list is read, changed, written). */
  #locked<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const before = this.#locks.get(key) ?? Promise.resolve();
    const run = before.then(fn, fn);
    const settled = run.catch(() => {});
    this.#locks.set(key, settled);
    void settled.then(() => {
      if (this.#locks.get(key) === settled) this.#locks.delete(key);
    });
    return run;
  }
}
