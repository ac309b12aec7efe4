/**
 * Which keystrokes a sync-update message carries, as "client:clock" keys, so a benchmark client
 * can match each receipt to its send time. One struct per update (the common case) is read from the
 * header; a merged update goes through Yjs' own parse, memoized by checksum because every receiver
 * in the benchmark process gets the same bytes (the harness must not be what is measured).
 */
import { crc32 } from 'node:zlib';
import * as decoding from 'lib0/decoding';
import * as Y from 'yjs';

const memo = new Map<string, string[]>();

export function updateKeys(data: Uint8Array): string[] {
  if (data[0] !== 0 || data[1] !== 2) return [];
  const d = decoding.createDecoder(data);
  decoding.readVarUint(d); // message type
  decoding.readVarUint(d); // sync step
  const update = decoding.readVarUint8Array(d);
  const h = decoding.createDecoder(update);
  if (decoding.readVarUint(h) === 1 && decoding.readVarUint(h) === 1) return [`${decoding.readVarUint(h)}:${decoding.readVarUint(h)}`];
  const id = `${update.length}:${crc32(update)}`;
  const cached = memo.get(id);
  if (cached) return cached;
  const keys: string[] = [];
  const { from, to } = Y.parseUpdateMeta(update);
  for (const [client, start] of from) for (let clock = start; clock < (to.get(client) ?? start); clock++) keys.push(`${client}:${clock}`);
  if (memo.size > 10_000) memo.clear();
  memo.set(id, keys);
  return keys;
}
