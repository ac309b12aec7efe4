/**
 * The byte layouts scale-out puts on Redis, as paired encoders and decoders:
 *
 *   tagged message := nodeId (12 bytes, space-padded) | body      (pub/sub: who sent it)
 *   room event     := u32le JSON length | JSON {event, payload} | the payload's `data` bytes, if any
 *   preview        := u32le frame count n | u32le header length | n × u32le frame size | JSON header
 *                     {shot, rev, key, frames: [frame fields]} | the n JPEGs
 */
import type { PreviewFrame } from '../../shared/protocol.js';
import type { CachedPreview } from '../ports/preview-store.js';
import type { RoomEventName } from '../ports/room-broadcast.js';

const NODE_ID_BYTES = 12;

export function tagged(nodeId: string, body: Buffer | Uint8Array): Buffer {
  return Buffer.concat([Buffer.from(nodeId.padEnd(NODE_ID_BYTES).slice(0, NODE_ID_BYTES)), body]);
}

export function untag(message: Buffer): { from: string; body: Buffer } {
  return { from: message.subarray(0, NODE_ID_BYTES).toString().trim(), body: message.subarray(NODE_ID_BYTES) };
}

/**
 * Event envelope: u32 JSON length | JSON {event, payload} | binary data (a frame's JPEG, when
 * the payload had `data`).
 */
export function encodeEvent(event: string, payload: unknown): Buffer {
  const { data, ...rest } = payload as { data?: Uint8Array };
  const json = Buffer.from(JSON.stringify({ event, payload: rest }));
  const head = Buffer.alloc(4);
  head.writeUInt32LE(json.length);
  return Buffer.concat([head, json, data ? Buffer.from(data) : Buffer.alloc(0)]);
}

export function decodeEvent(body: Buffer): { event: RoomEventName; payload: Record<string, unknown> } {
  const length = body.readUInt32LE(0);
  const { event, payload } = JSON.parse(body.subarray(4, 4 + length).toString()) as { event: RoomEventName; payload: Record<string, unknown> };
  if (body.length > 4 + length) payload.data = body.subarray(4 + length);
  return { event, payload };
}

/** Preview frames as stored: JSON header (frame fields) and the JPEG bytes, per frame. */
export function encodePreview(preview: CachedPreview): Buffer {
  const parts: Buffer[] = [];
  const header = Buffer.from(JSON.stringify({ shot: preview.shot, rev: preview.rev, key: preview.key, frames: preview.frames.map(({ data: _d, ...f }) => f) }));
  const sizes = Buffer.alloc(4 * (preview.frames.length + 1));
  sizes.writeUInt32LE(header.length, 0);
  preview.frames.forEach((f, i) => sizes.writeUInt32LE(f.data.length, 4 * (i + 1)));
  parts.push(Buffer.from(Uint32Array.of(preview.frames.length).buffer), sizes, header, ...preview.frames.map((f) => Buffer.from(f.data)));
  return Buffer.concat(parts);
}

export function decodePreview(data: Buffer): CachedPreview {
  const count = data.readUInt32LE(0);
  const headerLength = data.readUInt32LE(4);
  let offset = 4 + 4 * (count + 1);
  const header = JSON.parse(data.subarray(offset, offset + headerLength).toString()) as { shot: string; rev: number; key: string; frames: Omit<PreviewFrame, 'data'>[] };
  offset += headerLength;
  let bytes = 0;
  const frames = header.frames.map((f, i) => {
    const size = data.readUInt32LE(4 * (i + 2));
    const frame = { ...f, data: data.subarray(offset, offset + size) };
    offset += size;
    bytes += size;
    return frame;
  });
  return { shot: header.shot, rev: header.rev, key: header.key, frames, bytes };
}
