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

const pairMemo = new Map<string, Float64Array>();

/**
 * The same as `updateKeys` without strings: calls `fn(client, clock)` for each keystroke the
 * message carries (1,000 receivers per thread read every fan-out, so this path allocates nothing
 * for a lone struct and parses a merged update once per thread).
 */
export function forEachUpdateKey(data: Uint8Array, fn: (client: number, clock: number) => void): void {
  if (data[0] !== 0 || data[1] !== 2) return;
  const d = decoding.createDecoder(data);
  decoding.readVarUint(d); // message type
  decoding.readVarUint(d); // sync step
  const update = decoding.readVarUint8Array(d);
  const h = decoding.createDecoder(update);
  if (decoding.readVarUint(h) === 1 && decoding.readVarUint(h) === 1) {
    fn(decoding.readVarUint(h), decoding.readVarUint(h));
    return;
  }
  const id = `${update.length}:${crc32(update)}`;
  let pairs = pairMemo.get(id);
  if (!pairs) {
    const flat: number[] = [];
    const { from, to } = Y.parseUpdateMeta(update);
    for (const [client, start] of from) for (let clock = start; clock < (to.get(client) ?? start); clock++) flat.push(client, clock);
    pairs = Float64Array.from(flat);
    if (pairMemo.size > 10_000) pairMemo.clear();
    pairMemo.set(id, pairs);
  }
  for (let i = 0; i < pairs.length; i += 2) fn(pairs[i]!, pairs[i + 1]!);
}
