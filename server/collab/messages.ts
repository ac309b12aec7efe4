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

/**
 * The client ids an awareness update names (its layout: varUint(n) then n times
 * varUint(clientID) varUint(clock) varString(stateJSON)). Throws MalformedMessage.
 */
export function awarenessClients(update: Uint8Array): number[] {
  const decoder = decoding.createDecoder(update);
  const ids: number[] = [];
  try {
    const count = decoding.readVarUint(decoder);
    for (let i = 0; i < count; i++) {
      ids.push(decoding.readVarUint(decoder));
      decoding.readVarUint(decoder);
      const state = decoding.readVarString(decoder);
      JSON.parse(state);
    }
  } catch (error) {
    throw new MalformedMessage(`undecodable awareness update (${(error as Error).message})`);
  }
  if (decoding.hasContent(decoder)) throw new MalformedMessage('trailing bytes in awareness update');
  return ids;
}
