/**
 * Framing of the update log and snapshot files. Paired encode/decode.
 *
 * Format v2 (everything written now):
 *
 *   file   := magic[8] | frame*
 *   magic  := 0x89 'S' 'C' 'F' | u32le version = 2           (bytes 89 53 43 46 02 00 00 00)
 *   frame  := u32le length | u32le crc32(payload) | u32le crc32(bytes 0..7 of this frame) | payload[length]
 *
 * The third word makes the length trustworthy: a header whose own checksum matches has a real
 * length, so a payload that runs past the end of the file is an interrupted write (`torn`),
 * while a damaged length field is `corrupt` (v1 could not tell the two apart, see below). As a
 * u32le the magic's first word is 0x46435389, more than MAX_FRAME, so a v2 file is never taken for
 * a v1 one (and an old v1 reader reports a v2 file as corrupt, never as torn).
 *
 * Decoding v2, at each frame boundary:
 *   - the rest of the file is all zero bytes → torn. Some filesystems (XFS, ext4 data=writeback)
 *     can leave the size of an append that was never fdatasync'ed, hence never acknowledged, with
 *     zeros for its data after a power cut; a real header is never zero (its checksum would be
 *     crc32 of 8 zero bytes, 0x6522df69), so zeros cannot hide a frame that was acknowledged.
 *   - fewer bytes left than a header → torn (a partial header at the very end).
 *   - header checksum wrong → corrupt.
 *   - header fine but the payload runs past the end of the file → torn.
 *   - payload checksum wrong → corrupt.
 * A file that is empty, or a prefix of the magic followed by nothing or by zeros, is a v2 file
 * whose magic never reached the disk: torn at byte 0 (or `ok` when empty).
 *
 * Format v1 (files written before v2; READ-ONLY now, nothing appends to or creates one):
 *
 *   file   := frame*
 *   frame  := u32le length | u32le crc32(payload) | payload[length]
 *
 * Its decoder keeps its old rules, which cannot do better: a length pointing past the end of the
 * file reads as torn, even when it is a damaged length in the middle of the file.
 *
 * Telling them apart: the magic → v2; bytes that start like the magic (its first 4 bytes, or the
 * first 8 with at most 2 of them different) but are not it → corrupt (a damaged v2 file header,
 * which must not be read as v1: a v1 reading could call the whole file torn); anything else → v1.
 * A v1 file cannot start with the magic's first word (it is an impossible v1 length); that one
 * starts within 2 bytes of the magic needs both its first length and its first checksum to hit
 * fixed values (odds far below 1e-9), and even then the room is only kept closed, nothing is lost.
 */
import { crc32 } from 'node:zlib';

export const FILE_MAGIC: Buffer = Buffer.from([0x89, 0x53, 0x43, 0x46, 0x02, 0x00, 0x00, 0x00]);
export const FILE_HEADER = FILE_MAGIC.length;
export const FRAME_HEADER = 12;
export const FRAME_HEADER_V1 = 8;
/** No single update or snapshot is larger than this; a bigger length field is damage. */
export const MAX_FRAME = 256 * 1024 * 1024;

export type FrameFormat = 'v1' | 'v2';

/** One v2 frame (the file starts with FILE_MAGIC: see `encodeFile`). */
export function encodeFrame(payload: Uint8Array): Buffer {
  if (payload.length > MAX_FRAME) throw new RangeError(`a frame holds at most ${MAX_FRAME} bytes, not ${payload.length}`);
  const frame = Buffer.allocUnsafe(FRAME_HEADER + payload.length);
  frame.writeUInt32LE(payload.length, 0);
  frame.writeUInt32LE(crc32(payload), 4);
  frame.writeUInt32LE(crc32(frame.subarray(0, 8)), 8);
  frame.set(payload, FRAME_HEADER);
  return frame;
}

/** A whole v2 file: the magic, then one frame per payload. */
export function encodeFile(payloads: readonly Uint8Array[]): Buffer {
  return Buffer.concat([FILE_MAGIC, ...payloads.map(encodeFrame)]);
}

/** One v1 frame. v1 files are read-only now: this is for tests and migration checks only. */
export function encodeFrameV1(payload: Uint8Array): Buffer {
  const frame = Buffer.allocUnsafe(FRAME_HEADER_V1 + payload.length);
  frame.writeUInt32LE(payload.length, 0);
  frame.writeUInt32LE(crc32(payload), 4);
  frame.set(payload, FRAME_HEADER_V1);
  return frame;
}

/**
 * `goodBytes`: the file is whole up to there (a file offset, the magic included); what follows is
 * an interrupted write. `offset`: where the damage is.
 */
export type FrameReading =
  | { status: 'ok'; format: FrameFormat; payloads: Uint8Array[] }
  | { status: 'torn'; format: FrameFormat; payloads: Uint8Array[]; goodBytes: number }
  | { status: 'corrupt'; format: FrameFormat; payloads: Uint8Array[]; offset: number; reason: string };

/** Reads a log or snapshot file of either format (told apart by the magic, see the header). */
export function decodeFrames(data: Uint8Array): FrameReading {
  const file = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  let common = 0;
  while (common < Math.min(file.length, FILE_HEADER) && file[common] === FILE_MAGIC[common]) common++;
  if (common === FILE_HEADER) return decodeV2(file);
  if (zeroFrom(file, common)) {
    // Empty, or a magic that never fully reached the disk: nothing in it was ever acknowledged.
    return file.length === 0 ? { status: 'ok', format: 'v2', payloads: [] } : { status: 'torn', format: 'v2', payloads: [], goodBytes: 0 };
  }
  if (common >= 4) return { status: 'corrupt', format: 'v2', payloads: [], offset: 0, reason: `unknown file version ${file.readUInt32LE(4)}` };
  if (file.length >= FILE_HEADER) {
    let differing = 0;
    for (let i = 0; i < FILE_HEADER; i++) if (file[i] !== FILE_MAGIC[i]) differing++;
    if (differing <= 2) return { status: 'corrupt', format: 'v2', payloads: [], offset: 0, reason: 'damaged file header' };
  }
  return decodeV1(file);
}

function zeroFrom(file: Buffer, offset: number): boolean {
  for (let i = offset; i < file.length; i++) if (file[i] !== 0) return false;
  return true;
}

function decodeV2(file: Buffer): FrameReading {
  const format = 'v2';
  const payloads: Uint8Array[] = [];
  let offset = FILE_HEADER;
  while (offset < file.length) {
    const torn = { status: 'torn', format, payloads, goodBytes: offset } as const;
    if (file.length - offset < FRAME_HEADER) return torn;
    if (crc32(file.subarray(offset, offset + 8)) !== file.readUInt32LE(offset + 8)) {
      if (zeroFrom(file, offset)) return torn; // see the header: zeros after a power cut
      return { status: 'corrupt', format, payloads, offset, reason: `frame header checksum mismatch at byte ${offset}` };
    }
    const length = file.readUInt32LE(offset);
    if (length > MAX_FRAME) return { status: 'corrupt', format, payloads, offset, reason: `frame length ${length} is impossible` };
    const end = offset + FRAME_HEADER + length;
    if (end > file.length) return torn;
    const payload = file.subarray(offset + FRAME_HEADER, end);
    if (crc32(payload) !== file.readUInt32LE(offset + 4)) {
      return { status: 'corrupt', format, payloads, offset, reason: `payload checksum mismatch at byte ${offset}` };
    }
    payloads.push(payload);
    offset = end;
  }
  return { status: 'ok', format, payloads };
}

function decodeV1(file: Buffer): FrameReading {
  const format = 'v1';
  const payloads: Uint8Array[] = [];
  let offset = 0;
  while (offset < file.length) {
    if (file.length - offset < FRAME_HEADER_V1) return { status: 'torn', format, payloads, goodBytes: offset };
    const length = file.readUInt32LE(offset);
    const sum = file.readUInt32LE(offset + 4);
    if (length > MAX_FRAME) {
      return { status: 'corrupt', format, payloads, offset, reason: `frame length ${length} is impossible` };
    }
    const end = offset + FRAME_HEADER_V1 + length;
    // v1 cannot tell a damaged length from an interrupted write: both read as torn.
    if (end > file.length) return { status: 'torn', format, payloads, goodBytes: offset };
    const payload = file.subarray(offset + FRAME_HEADER_V1, end);
    if (crc32(payload) !== sum) {
      return { status: 'corrupt', format, payloads, offset, reason: `checksum mismatch at byte ${offset}` };
    }
    payloads.push(payload);
    offset = end;
  }
  return { status: 'ok', format, payloads };
}
