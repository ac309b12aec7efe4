/**
 * Framing of the update log and snapshot files:
 *
 *   frame := u32le length | u32le crc32(payload) | payload[length]
 *
 * A file is a sequence of frames. Paired encode/decode; the decoder tells an interrupted last
 * write (a partial frame at the end: `torn`) from damage (`corrupt`: a checksum mismatch, or
 * garbage followed by more data).
 */
import { crc32 } from 'node:zlib';

export const FRAME_HEADER = 8;
/** No single update or snapshot is larger than this; a bigger length field is damage. */
export const MAX_FRAME = 256 * 1024 * 1024;

export function encodeFrame(payload: Uint8Array): Buffer {
  const frame = Buffer.allocUnsafe(FRAME_HEADER + payload.length);
  frame.writeUInt32LE(payload.length, 0);
  frame.writeUInt32LE(crc32(payload), 4);
  frame.set(payload, FRAME_HEADER);
  return frame;
}

export type FrameReading =
  | { status: 'ok'; payloads: Uint8Array[] }
  | { status: 'torn'; payloads: Uint8Array[]; goodBytes: number }
  | { status: 'corrupt'; payloads: Uint8Array[]; offset: number; reason: string };

export function decodeFrames(file: Buffer): FrameReading {
  const payloads: Uint8Array[] = [];
  let offset = 0;
  while (offset < file.length) {
    const rest = file.length - offset;
    if (rest < FRAME_HEADER) return { status: 'torn', payloads, goodBytes: offset };
    const length = file.readUInt32LE(offset);
    const sum = file.readUInt32LE(offset + 4);
    if (length > MAX_FRAME) {
      return { status: 'corrupt', payloads, offset, reason: `frame length ${length} is impossible` };
    }
    const end = offset + FRAME_HEADER + length;
    if (end > file.length) return { status: 'torn', payloads, goodBytes: offset };
    const payload = file.subarray(offset + FRAME_HEADER, end);
    if (crc32(payload) !== sum) {
      return { status: 'corrupt', payloads, offset, reason: `checksum mismatch at byte ${offset}` };
    }
    payloads.push(payload);
    offset = end;
  }
  return { status: 'ok', payloads };
}
