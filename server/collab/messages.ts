/**
 * The y-websocket wire format (what the stock WebsocketProvider speaks), paired encoders and a
 * strict decoder:
 *
 *   message   := varUint(type) body
 *   sync  (0) := varUint(0 step1) varUint8Array(stateVector)
 *              | varUint(1 step2) varUint8Array(update)
 *              | varUint(2 update) varUint8Array(update)
 *   awareness (1) := varUint8Array(awarenessUpdate)
 *   auth      (2) := varUint(0 permissionDenied) varString(reason)
 *   queryAwareness (3) := (empty)
 *   awarenessUpdate := varUint(n) n × (varUint(clientID) varUint(clock) varString(stateJSON))
 *
 * The decoder rejects unknown types and trailing bytes, so a truncated or padded message is
 * reported as malformed instead of being half-applied.
 */
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';

export const MSG_SYNC = 0;
export const MSG_AWARENESS = 1;
export const MSG_AUTH = 2;
export const MSG_QUERY_AWARENESS = 3;

export const SYNC_STEP1 = 0;
export const SYNC_STEP2 = 1;
export const SYNC_UPDATE = 2;

export type YMessage =
  | { type: 'sync-step1'; stateVector: Uint8Array }
  | { type: 'sync-step2'; update: Uint8Array }
  | { type: 'sync-update'; update: Uint8Array }
  | { type: 'awareness'; update: Uint8Array }
  | { type: 'query-awareness' };

export class MalformedMessage extends Error {
  override name = 'MalformedMessage';
}

export function decodeMessage(data: Uint8Array): YMessage {
  let message: YMessage;
  const decoder = decoding.createDecoder(data);
  try {
    const type = decoding.readVarUint(decoder);
    switch (type) {
      case MSG_SYNC: {
        const step = decoding.readVarUint(decoder);
        const payload = decoding.readVarUint8Array(decoder);
        if (step === SYNC_STEP1) message = { type: 'sync-step1', stateVector: payload };
        else if (step === SYNC_STEP2) message = { type: 'sync-step2', update: payload };
        else if (step === SYNC_UPDATE) message = { type: 'sync-update', update: payload };
        else throw new MalformedMessage(`unknown sync step ${step}`);
        break;
      }
      case MSG_AWARENESS:
        message = { type: 'awareness', update: decoding.readVarUint8Array(decoder) };
        break;
      case MSG_QUERY_AWARENESS:
        message = { type: 'query-awareness' };
        break;
      default:
        throw new MalformedMessage(`unknown message type ${type}`);
    }
  } catch (error) {
    if (error instanceof MalformedMessage) throw error;
    throw new MalformedMessage(`truncated or undecodable message (${(error as Error).message})`);
  }
  if (decoding.hasContent(decoder)) throw new MalformedMessage(`${data.length - decoder.pos} trailing bytes`);
  return message;
}

const build = (write: (encoder: encoding.Encoder) => void): Uint8Array => {
  const encoder = encoding.createEncoder();
  write(encoder);
  return encoding.toUint8Array(encoder);
};

export const encodeSyncStep1 = (stateVector: Uint8Array): Uint8Array =>
  build((e) => {
    encoding.writeVarUint(e, MSG_SYNC);
    encoding.writeVarUint(e, SYNC_STEP1);
    encoding.writeVarUint8Array(e, stateVector);
  });

export const encodeSyncStep2 = (update: Uint8Array): Uint8Array =>
  build((e) => {
    encoding.writeVarUint(e, MSG_SYNC);
    encoding.writeVarUint(e, SYNC_STEP2);
    encoding.writeVarUint8Array(e, update);
  });

export const encodeUpdate = (update: Uint8Array): Uint8Array =>
  build((e) => {
    encoding.writeVarUint(e, MSG_SYNC);
    encoding.writeVarUint(e, SYNC_UPDATE);
    encoding.writeVarUint8Array(e, update);
  });

export const encodeAwareness = (update: Uint8Array): Uint8Array =>
  build((e) => {
    encoding.writeVarUint(e, MSG_AWARENESS);
    encoding.writeVarUint8Array(e, update);
  });

export const encodePermissionDenied = (reason: string): Uint8Array =>
  build((e) => {
    encoding.writeVarUint(e, MSG_AUTH);
    encoding.writeVarUint(e, 0);
    encoding.writeVarString(e, reason);
  });

/** An awareness update naming no client: a no-op for the client, but it feeds its watchdog. */
export const KEEPALIVE = encodeAwareness(new Uint8Array([0]));

/** One entry of an awareness update. */
export interface AwarenessEntry {
  clientID: number;
  clock: number;
  /** The state as UTF-8 JSON ('null' removes the client), not decoded: most entries a server reads, it drops. */
  json: Uint8Array;
}

/**
 * Decodes an awareness update (layout: varUint(n) then n times varUint(clientID) varUint(clock)
 * varString(stateJSON); a varString is a varUint8Array of UTF-8) without decoding or parsing the
 * JSON; the entries' `json` are views into `update`. Throws MalformedMessage.
 */
export function decodeAwarenessUpdate(update: Uint8Array): AwarenessEntry[] {
  const decoder = decoding.createDecoder(update);
  const entries: AwarenessEntry[] = [];
  try {
    const count = decoding.readVarUint(decoder);
    for (let i = 0; i < count; i++) {
      const clientID = decoding.readVarUint(decoder);
      const clock = decoding.readVarUint(decoder);
      entries.push({ clientID, clock, json: decoding.readVarUint8Array(decoder) });
    }
  } catch (error) {
    throw new MalformedMessage(`undecodable awareness update (${(error as Error).message})`);
  }
  if (decoding.hasContent(decoder)) throw new MalformedMessage('trailing bytes in awareness update');
  return entries;
}

export const encodeAwarenessUpdateEntries = (entries: readonly AwarenessEntry[]): Uint8Array =>
  build((e) => {
    encoding.writeVarUint(e, entries.length);
    for (const { clientID, clock, json } of entries) {
      encoding.writeVarUint(e, clientID);
      encoding.writeVarUint(e, clock);
      encoding.writeVarUint8Array(e, json);
    }
  });

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** An entry's state, parsed (null: a removal). Throws MalformedMessage. */
export function parseAwarenessState(entry: AwarenessEntry): unknown {
  try {
    return JSON.parse(utf8.decode(entry.json));
  } catch (error) {
    throw new MalformedMessage(`undecodable awareness state of client ${entry.clientID} (${(error as Error).message})`);
  }
}

/** Whether an entry removes its client (its JSON is `null`), without decoding it. */
export const isRemoval = (entry: AwarenessEntry): boolean =>
  entry.json.length === 4 && entry.json[0] === 0x6e && entry.json[1] === 0x75 && entry.json[2] === 0x6c && entry.json[3] === 0x6c;

/** A close reason `CODE: message`, cut (on a character boundary) to the 123 bytes a close frame allows. */
export function closeReason(code: string, message: string): string {
  let text = `${code}: ${message}`;
  while (Buffer.byteLength(text) > 123) text = text.slice(0, -1);
  return text;
}
