/**
 * The stock y-websocket client (WebsocketProvider), run in Node with `ws`.
 */
import { WebSocket } from 'ws';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';
import { shotsOf } from '../../shared/scene-doc.js';
import { onCleanup } from './server.js';

export interface YClient {
  doc: Y.Doc;
  provider: WebsocketProvider;
  /** Resolves when the first sync with the server completed. */
  synced: Promise<void>;
  /** Resolves with the close event when the server closes the connection. */
  closed: Promise<{ code: number; reason: string }>;
  destroy(): void;
}

export function connectYjs(wsUrl: string, room: string, token: string | null, options: { connect?: boolean; reconnect?: boolean } = {}): YClient {
  const doc = new Y.Doc();
  const provider = new WebsocketProvider(`${wsUrl}/yjs`, room, doc, {
    WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
    params: token === null ? {} : { token },
    connect: options.connect ?? true,
    disableBc: true,
    maxBackoffTime: 200,
    shouldReconnect: options.reconnect === false ? () => false : undefined,
  });
  const synced = new Promise<void>((resolve) => {
    if (provider.synced) resolve();
    provider.once('sync', (state: boolean) => state && resolve());
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    provider.on('connection-close', (event) => {
      if (event) resolve({ code: event.code, reason: event.reason });
    });
  });
  let destroyed = false;
  const client: YClient = {
    doc,
    provider,
    synced,
    closed,
    destroy() {
      if (destroyed) return;
      destroyed = true;
      provider.destroy();
      doc.destroy();
    },
  };
  onCleanup(() => client.destroy());
  return client;
}

/**
 * Resolves when `predicate(doc)` holds, checking after every update of the doc; rejects after
 * `timeoutMs` with an error that names `what` (when given) and points at the caller.
 */
export function until(doc: Y.Doc, predicate: (doc: Y.Doc) => boolean, timeoutMs = 10_000, what?: string): Promise<void> {
  const error = new Error(`timed out waiting for the document${what ? ` (${what})` : ''} after ${timeoutMs} ms`);
  return new Promise((resolve, reject) => {
    if (predicate(doc)) return resolve();
    const timer = setTimeout(() => {
      doc.off('update', check);
      reject(error);
    }, timeoutMs);
    const check = () => {
      if (!predicate(doc)) return;
      clearTimeout(timer);
      doc.off('update', check);
      resolve();
    };
    doc.on('update', check);
  });
}

/** The prompt of a room's first shot. */
export const firstPrompt = (doc: Y.Doc): Y.Text => shotsOf(doc).get(0).get('prompt') as Y.Text;

/**
 * Types `text` at the end of the first shot's prompt, one update per keystroke, through a real
 * editor client; resolves once a second client saw all of it (so every keystroke was acknowledged).
 */
export async function typeAcknowledged(wsUrl: string, room: { room: string; tokens: { editor: string; viewer: string } }, text: string): Promise<void> {
  const editor = connectYjs(wsUrl, room.room, room.tokens.editor);
  const watcher = connectYjs(wsUrl, room.room, room.tokens.viewer);
  await Promise.all([editor.synced, watcher.synced]);
  await until(editor.doc, (d) => shotsOf(d).length === 1);
  for (const ch of text) firstPrompt(editor.doc).insert(firstPrompt(editor.doc).length, ch);
  await until(watcher.doc, (d) => shotsOf(d).length === 1 && firstPrompt(d).toString().endsWith(text));
  editor.destroy();
  watcher.destroy();
}
