/**
 * npm run bench:live — live mode as viewers see it, with the server (and its engine) in its own
 * process:
 *   1 one live room at 16 fps, 10 s: frames/s delivered to a viewer, frame spacing p50/p99, and a
 *     prompt change every 2 s: change → first frame of the new revision at the viewer, p50/p95
 *   2 rooms holding their rate: 1, 2, 4… live rooms at once while 10 editors type into another
 *     room, each room's delivered fps (held: ≥ 15 of 16)
 *   3 200 overlay sockets on one stream: each frame's arrival after the first socket has it, p95
 *   4 first preview frame with 4 busy rooms and one live stream (edit → first frame), p95
 * Also CPU per live room (the server's CPU time over wall time, minus an idle baseline).
 *
 *   npm run bench:live -- [--seconds 10] [--max-rooms 6] [--overlays 200]
 */
import { parseArgs } from 'node:util';
import { io, type Socket } from 'socket.io-client';
import { WebSocket } from 'ws';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';
import type { CreateRoomResponse, LiveFrame, LiveState, PreviewFrame, PreviewState } from '../shared/protocol.js';
import { liveOf, livePromptText } from '../shared/live.js';
import { findShot } from '../shared/scene-doc.js';
import { startBenchServer } from './lib/server-process.js';
import { printJson, printTable, processCpuSeconds, summarize, type Row } from './lib/report.js';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '10' }, 'max-rooms': { type: 'string', default: '6' }, overlays: { type: 'string', default: '200' } } });
const SECONDS = Number(values.seconds);
const MAX_ROOMS = Number(values['max-rooms']);
const OVERLAYS = Number(values.overlays);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const server = await startBenchServer('live', { MUSIC_BEDS_AT_START: '0' });
const { child, port, base } = server;

const cpuSeconds = () => processCpuSeconds(child.pid!);

interface Room {
  info: CreateRoomResponse;
  provider: WebsocketProvider;
  doc: Y.Doc;
}

async function openRoom(prompt: string): Promise<Room> {
  const res = await fetch(`${base}/api/rooms`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ scene: { fps: 16, shots: [{ id: 'a', prompt, duration: 2 }] } }) });
  const info = (await res.json()) as CreateRoomResponse;
  const doc = new Y.Doc();
  const provider = new WebsocketProvider(`ws://127.0.0.1:${port}/yjs`, info.room, doc, { WebSocketPolyfill: WebSocket as never, params: { token: info.tokens.editor }, disableBc: true });
  await new Promise<void>((resolve) => provider.once('sync', () => resolve()));
  return { info, provider, doc };
}

function goLive(room: Room, prompt: string): void {
  room.doc.transact(() => {
    liveOf(room.doc).set('on', true);
    const text = livePromptText(room.doc);
    text.delete(0, text.length);
    text.insert(0, prompt);
  });
}

interface Watcher {
  socket: Socket;
  frames: { seq: number; rev: number; at: number }[];
  states: (LiveState & { at: number })[];
}

async function watcher(token: string): Promise<Watcher> {
  const socket = io(base, { auth: { token }, transports: ['websocket'] });
  const w: Watcher = { socket, frames: [], states: [] };
  socket.on('live:frame', (f: LiveFrame) => w.frames.push({ seq: f.seq, rev: f.rev, at: performance.now() }));
  socket.on('live:state', (s: LiveState) => w.states.push({ ...s, at: performance.now() }));
  await new Promise<void>((resolve) => socket.once('room:joined', () => resolve()));
  return w;
}

/** Delivered fps and spacing over frames that arrived in [from, to). */
function rate(w: Watcher, from: number, to: number) {
  const frames = w.frames.filter((f) => f.at >= from && f.at < to);
  const gaps = frames.slice(1).map((f, i) => f.at - frames[i]!.at);
  return { fps: frames.length / ((to - from) / 1000), spacing: summarize(gaps) };
}

const COLOURS = ['red', 'blue', 'yellow', 'white', 'green'];
const tables: Record<string, Row[]> = {};
try {
  // Idle baseline of the server's CPU.
  const idle0 = await cpuSeconds();
  await sleep(2000);
  const idlePerS = ((await cpuSeconds()) - idle0) / 2;

  // 1. One room: rate, spacing, prompt changes.
  const one = await openRoom('a green box');
  const viewer = await watcher(one.info.tokens.viewer);
  goLive(one, 'a red ball moves right on the grass');
  while (viewer.frames.length < 16) await sleep(20);
  const cpu0 = await cpuSeconds();
  const t0 = performance.now();
  const switches: number[] = [];
  for (let i = 1; performance.now() - t0 < SECONDS * 1000; i++) {
    await sleep(2000);
    const before = viewer.frames.at(-1)!.rev;
    const sentAt = performance.now();
    goLive(one, `a ${COLOURS[i % COLOURS.length]} ball moves right on the grass`);
    while (!viewer.frames.some((f) => f.rev > before && f.at >= sentAt)) await sleep(2);
    switches.push(viewer.frames.find((f) => f.rev > before && f.at >= sentAt)!.at - sentAt);
  }
  const t1 = performance.now();
  const cpuPerRoom = ((await cpuSeconds()) - cpu0) / ((t1 - t0) / 1000) - idlePerS;
  const r1 = rate(viewer, t0, t1);
  const sw = summarize(switches);
  const seqs = viewer.frames.map((f) => f.seq);
  const gapsInSeq = seqs.slice(1).filter((s, i) => s !== seqs[i]! + 1).length;
  tables.one = [{ 'fps delivered': r1.fps, 'spacing p50 ms': r1.spacing.p50, 'spacing p99 ms': r1.spacing.p99, 'seq gaps': gapsInSeq, 'switch p50 ms': sw.p50, 'switch p95 ms': sw.p95, switches: sw.n, 'CPU per room (cores)': cpuPerRoom }];
  printTable('One live room at 16 fps (switch: prompt change → first frame of the new revision at a viewer)', tables.one);

  // 3. 200 overlay sockets on that stream.
  const overlays = await Promise.all(Array.from({ length: OVERLAYS }, () => watcher(one.info.tokens.overlay)));
  await sleep(1000);
  const o0 = performance.now();
  await sleep(4000);
  const lateness: number[] = [];
  const bySeq = new Map<number, number[]>();
  for (const w of overlays) for (const f of w.frames) if (f.at >= o0) (bySeq.get(f.seq) ?? bySeq.set(f.seq, []).get(f.seq)!).push(f.at);
  for (const arrivals of bySeq.values()) {
    const first = Math.min(...arrivals);
    for (const at of arrivals) lateness.push(at - first);
  }
  const lat = summarize(lateness);
  const overlayRate = summarize(overlays.map((w) => rate(w, o0, o0 + 4000).fps));
  tables.overlays = [{ sockets: OVERLAYS, 'fps per socket p50': overlayRate.p50, 'fps min': Math.min(...overlays.map((w) => rate(w, o0, o0 + 4000).fps)), 'delivery spread p95 ms': lat.p95, 'delivery spread max ms': lat.max }];
  printTable(`${OVERLAYS} overlay sockets on one stream (spread: a frame's arrival after the first socket got it)`, tables.overlays);
  for (const w of overlays) w.socket.disconnect();

  // 4. First preview frame with 4 busy rooms and the live stream.
  const busy = await Promise.all([0, 1, 2, 3].map(() => openRoom('a red ball moves right')));
  const previewViewers = await Promise.all(busy.map(async (room) => {
    const socket = io(base, { auth: { token: room.info.tokens.viewer }, transports: ['websocket'] });
    await new Promise<void>((resolve) => socket.once('room:joined', () => resolve()));
    return socket;
  }));
  const firstFrames: number[] = [];
  for (let round = 0; round < 6; round++) {
    await Promise.all(busy.map(async (room, i) => {
      const socket = previewViewers[i]!;
      const sentAt = performance.now();
      let rev: number | null = null;
      const got = new Promise<void>((resolve) => {
        const onState = (s: PreviewState) => {
          if (s.status === 'queued' && rev === null) rev = s.rev;
        };
        const onFrame = (f: PreviewFrame) => {
          if (rev !== null && f.rev >= rev && f.index >= 0) {
            firstFrames.push(performance.now() - sentAt);
            socket.off('preview:state', onState);
            socket.off('preview:frame', onFrame);
            resolve();
          }
        };
        socket.on('preview:state', onState);
        socket.on('preview:frame', onFrame);
      });
      const text = findShot(room.doc, 'a')!.get('prompt') as Y.Text;
      text.insert(text.length, round % 2 ? ' fast' : ' slowly');
      await Promise.race([got, sleep(5000)]);
    }));
    await sleep(300);
  }
  const pf = summarize(firstFrames);
  const liveDuring = rate(viewer, performance.now() - 4000, performance.now());
  tables.previews = [{ rooms: 4, edits: pf.n, 'first frame p50 ms': pf.p50, 'first frame p95 ms': pf.p95, 'live fps meanwhile': liveDuring.fps }];
  printTable('First preview frame, 4 rooms editing at once, one live stream running', tables.previews);
  for (const s of previewViewers) s.disconnect();

  // 2. Rooms holding their rate while 10 editors type in another room.
  const typing = await openRoom('a white star');
  const editors = await Promise.all(Array.from({ length: 10 }, async () => {
    const doc = new Y.Doc();
    const provider = new WebsocketProvider(`ws://127.0.0.1:${port}/yjs`, typing.info.room, doc, { WebSocketPolyfill: WebSocket as never, params: { token: typing.info.tokens.editor }, disableBc: true });
    await new Promise<void>((resolve) => provider.once('sync', () => resolve()));
    return { doc, provider };
  }));
  let typingOn = true;
  const typers = editors.map(async ({ doc }, i) => {
    while (typingOn) {
      const text = findShot(doc, 'a')?.get('prompt') as Y.Text | undefined;
      text?.insert(text.length, i % 2 ? 'a' : ' ');
      await sleep(500);
    }
  });
  const rooms: { room: Room; w: Watcher }[] = [{ room: one, w: viewer }];
  tables.rooms = [];
  let held = 0;
  for (let n = 1; n <= MAX_ROOMS; n *= 2) {
    while (rooms.length < n) {
      const room = await openRoom('a green box');
      const w = await watcher(room.info.tokens.viewer);
      goLive(room, `a ${COLOURS[rooms.length % COLOURS.length]} box moves left`);
      rooms.push({ room, w });
    }
    await sleep(3000);
    const s0 = performance.now();
    await sleep(5000);
    const fps = rooms.map(({ w }) => rate(w, s0, s0 + 5000).fps);
    const all = fps.every((f) => f >= 15);
    if (all) held = n;
    tables.rooms.push({ 'live rooms': n, 'fps min': Math.min(...fps), 'fps mean': fps.reduce((a, b) => a + b, 0) / fps.length, 'all hold 15+': all });
    if (!all) break;
  }
  typingOn = false;
  await Promise.all(typers);
  printTable('Live rooms at once while 10 editors type in another room (16 fps each)', tables.rooms);
  const targets = [
    { metric: 'fps delivered', value: r1.fps, target: 16, met: r1.fps >= 15.5 },
    { metric: 'frame spacing p99 ms', value: r1.spacing.p99, target: 100, met: r1.spacing.p99 <= 100 },
    { metric: 'prompt switch p95 ms', value: sw.p95, target: 500, met: sw.p95 <= 500 },
    { metric: 'live rooms holding their rate', value: held, target: 4, met: held >= 4 },
    { metric: 'first preview frame p95 ms (4 busy rooms + live)', value: pf.p95, target: 250, met: pf.p95 <= 250 },
  ];
  printTable('Targets', targets);
  printJson('live', { ...tables, targets, idleCpu: idlePerS });
  for (const { room, w } of rooms) {
    w.socket.disconnect();
    room.provider.destroy();
  }
  for (const e of editors) e.provider.destroy();
} finally {
  await server.stop();
}
process.exit(0);
