/**
 * npm run bench:preview — edit-to-first-frame as people see it: from the editor's Yjs update
 * leaving its client to the first preview frame of that revision arriving at each viewer, over
 * Socket.IO, with 1, 10 and 50 viewers per room and 1 and 4 rooms editing at once. Also the time
 * until the whole 2 s shot (32 frames at 16 fps) has arrived, frames/s delivered per viewer, and
 * the server's memory. The server runs in its own process with the real engine.
 *
 *   npm run bench:preview -- [--edits 15] [--viewers 1,10,50] [--rooms 1,4]
 */
import { parseArgs } from 'node:util';
import { io, type Socket } from 'socket.io-client';
import { WebSocket } from 'ws';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';
import type { CreateRoomResponse, PreviewFrame, PreviewState } from '../shared/protocol.js';
import { findShot } from '../shared/scene-doc.js';
import { startBenchServer } from './lib/server-process.js';
import { printJson, printTable, processMemory, summarize, type Row } from './lib/report.js';

const { values } = parseArgs({ options: { edits: { type: 'string', default: '15' }, viewers: { type: 'string', default: '1,10,50' }, rooms: { type: 'string', default: '1,4' } } });
const EDITS = Number(values.edits);
const VIEWERS = values.viewers!.split(',').map(Number);
const ROOMS = values.rooms!.split(',').map(Number);

const server = await startBenchServer('preview');
const { child, port, base } = server;

interface Viewer {
  socket: Socket;
  frames: number;
}

interface BenchRoom {
  id: string;
  provider: WebsocketProvider;
  doc: Y.Doc;
  text: Y.Text;
  viewers: Viewer[];
  /** rev → when the edit left the editor, first-frame arrival per viewer, last-frame arrival per viewer. */
  pending: { sentAt: number; rev: number | null; first: number[]; last: number[]; viewersDone: number } | null;
}

async function openRoom(viewers: number): Promise<BenchRoom> {
  const res = await fetch(`${base}/api/rooms`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ scene: { fps: 16, shots: [{ id: 'shot', prompt: 'a red ball moves left', duration: 2 }] } }),
  });
  const created = (await res.json()) as CreateRoomResponse;
  const doc = new Y.Doc();
  const provider = new WebsocketProvider(`ws://127.0.0.1:${port}/yjs`, created.room, doc, { WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket, params: { token: created.tokens.editor }, disableBc: true });
  await new Promise<void>((resolve) => provider.once('sync', () => resolve()));
  while (!findShot(doc, 'shot')) await new Promise((r) => setTimeout(r, 10));
  const room: BenchRoom = { id: created.room, provider, doc, text: findShot(doc, 'shot')!.get('prompt') as Y.Text, viewers: [], pending: null };
  for (let i = 0; i < viewers; i++) {
    const socket = io(base, { auth: { token: created.tokens.viewer }, transports: ['websocket'], forceNew: true, reconnection: false });
    const viewer: Viewer = { socket, frames: 0 };
    const index = i;
    socket.on('preview:state', (state: PreviewState) => {
      const p = room.pending;
      if (p && p.rev === null && state.status === 'queued') p.rev = state.rev;
    });
    socket.on('preview:frame', (frame: PreviewFrame) => {
      viewer.frames++;
      const p = room.pending;
      if (!p || (p.rev !== null && frame.rev < p.rev)) return;
      p.rev ??= frame.rev;
      if (frame.rev !== p.rev) return;
      const now = performance.now();
      if (frame.index === 0) p.first[index] = now - p.sentAt;
      if (frame.index === frame.count - 1) {
        p.last[index] = now - p.sentAt;
        p.viewersDone++;
      }
    });
    await new Promise<void>((resolve) => socket.once('room:joined', () => resolve()));
    room.viewers.push(viewer);
  }
  // Let the opening previews finish before measuring.
  await new Promise((r) => setTimeout(r, 1500));
  return room;
}

async function measure(rooms: number, viewers: number): Promise<Row> {
  const open = await Promise.all(Array.from({ length: rooms }, () => openRoom(viewers)));
  const first: number[] = [];
  const last: number[] = [];
  const started = performance.now();
  const framesBefore = open.flatMap((r) => r.viewers.map((v) => v.frames));
  for (let edit = 0; edit < EDITS; edit++) {
    for (const room of open) {
      room.pending = { sentAt: 0, rev: null, first: [], last: [], viewersDone: 0 };
      // The update leaves the client synchronously inside the transaction (y-websocket sends on 'update').
      room.pending.sentAt = performance.now();
      room.text.insert(room.text.length, edit % 2 ? ' slowly' : ' quickly');
    }
    const deadline = performance.now() + 15_000;
    while (open.some((r) => r.pending!.viewersDone < viewers) && performance.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    for (const room of open) {
      first.push(...room.pending!.first.filter((x) => x !== undefined));
      last.push(...room.pending!.last.filter((x) => x !== undefined));
    }
    await new Promise((r) => setTimeout(r, 150));
  }
  const elapsed = (performance.now() - started) / 1000;
  const framesAfter = open.flatMap((r) => r.viewers.map((v) => v.frames));
  const perViewerFps = framesAfter.map((f, i) => (f - framesBefore[i]!) / elapsed);
  const memory = await processMemory(child.pid!);
  for (const room of open) {
    for (const v of room.viewers) v.socket.disconnect();
    room.provider.destroy();
  }
  const f = summarize(first);
  const l = summarize(last);
  return {
    rooms,
    'viewers/room': viewers,
    samples: f.n,
    'first frame p50 ms': f.p50,
    'first frame p95 ms': f.p95,
    'whole shot p50 ms': l.p50,
    'whole shot p95 ms': l.p95,
    'frames/s per viewer': perViewerFps.reduce((a, b) => a + b, 0) / perViewerFps.length,
    'server rss MiB': Math.round(memory.rssMiB),
  };
}

try {
  const rows: Row[] = [];
  for (const rooms of ROOMS) for (const viewers of VIEWERS) rows.push(await measure(rooms, viewers));
  printTable(`Edit to preview, 2 s shot at 16 fps, ${EDITS} edits per setting (debounce included)`, rows);
  const find = (r: number, v: number) => rows.find((x) => x.rooms === r && x['viewers/room'] === v);
  const ten = find(1, 10);
  const one = find(1, 1);
  const fifty = find(1, 50);
  const targets: Row[] = [];
  if (ten) {
    targets.push({ metric: 'p50 first frame, 1 room, 10 viewers (ms)', value: Number(ten['first frame p50 ms']), target: 150, met: Number(ten['first frame p50 ms']) <= 150 });
    targets.push({ metric: 'p95 first frame, 1 room, 10 viewers (ms)', value: Number(ten['first frame p95 ms']), target: 300, met: Number(ten['first frame p95 ms']) <= 300 });
    targets.push({ metric: '2 s shot fully delivered, p50 (ms)', value: Number(ten['whole shot p50 ms']), target: 400, met: Number(ten['whole shot p50 ms']) <= 400 });
  }
  if (one && fifty) {
    const ratio = Number(fifty['first frame p95 ms']) / Number(one['first frame p95 ms']);
    targets.push({ metric: 'p95 with 50 viewers / with 1', value: ratio, target: 1.5, met: ratio <= 1.5 });
  }
  printTable('Targets', targets);
  printJson('preview', { edits: EDITS, rows, targets });
} finally {
  child.kill('SIGKILL');
  await server.stop();
}
process.exit(0);
