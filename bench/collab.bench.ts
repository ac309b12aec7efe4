/**
 * npm run bench:collab — N editors typing into the prompts of one room, against scenecast and,
 * side by side on the same workload, the stock y-websocket server (@y/websocket-server 0.1.1).
 *
 * Each editor is a protocol-level client: it syncs once, then types one character per keystroke
 * (one Yjs update each) into its own view of a shot's prompt and does not apply what it receives,
 * so that 200 clients in this process cost little next to the servers. Every received update is
 * matched to its send time by the (client, clock) of its first struct, read from the first bytes
 * of the message. Latency = receipt at each other editor − send, over all (update, receiver) pairs.
 *
 *   npm run bench:collab -- [--editors 10,50,200] [--rate 2] [--seconds 10] [--previews 1]
 *
 * scenecast runs with the engine off (ENGINE_WORKERS=0) unless --previews is given: the stock
 * server has no previews, so the comparison is of the collaboration path alone.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { WebSocket } from 'ws';
import * as Y from 'yjs';
import { shotsOf, writeScene } from '../shared/scene-doc.js';
import { decodeMessage, encodeSyncStep1, encodeUpdate } from '../server/collab/messages.js';
import { updateKeys } from './lib/update-keys.js';
import { printJson, printTable, processCpuSeconds, processMemory, summarize, type Row } from './lib/report.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i]!.replace(/^--/, ''), process.argv[i + 1] ?? '');
const EDITORS = (args.get('editors') ?? '10,50,200').split(',').map(Number);
const RATE = Number(args.get('rate') ?? 2); // keystrokes per editor per second
const SECONDS = Number(args.get('seconds') ?? 10);
const SHOTS = 10;
const SECRET = 'bench-secret-0123456789abcdef';

interface Target {
  name: 'scenecast' | 'y-websocket-server';
  start(): Promise<{ child: ChildProcess; port: number }>;
  /** Room URL for the WebSocket and a token, after creating the room. */
  prepare(port: number): Promise<string>;
}

function spawnAndWait(cmd: string[], env: Record<string, string>, ready: RegExp): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, cmd, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      const match = ready.exec(line);
      if (match) resolve({ child, port: Number(match[1]) });
    });
    child.once('exit', (code) => reject(new Error(`${cmd.join(' ')} exited with ${code}`)));
  });
}

const freePort = async (): Promise<number> => {
  const net = await import('node:net');
  return new Promise((resolve) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
};

const initialScene = {
  title: 'bench',
  shots: Array.from({ length: SHOTS }, (_, i) => ({ id: `shot-${i}`, prompt: `shot ${i}: ` })),
};

let dataDir = '';
const targets: Target[] = [
  {
    name: 'scenecast',
    async start() {
      dataDir = await mkdtemp(path.join(os.tmpdir(), 'scenecast-bench-'));
      // The collaboration path alone (as the stock server does): previews off. --previews turns them on.
      const engine: Record<string, string> = args.has('previews') ? {} : { ENGINE_WORKERS: '0' };
      return spawnAndWait(['--import', 'tsx', 'server/main.ts'], { PORT: '0', HOST: '127.0.0.1', DATA_DIR: dataDir, LOG_LEVEL: 'info', SCENECAST_SECRET: SECRET, MAX_CONNECTIONS_PER_IP: '100000', ...engine }, /listening at http:\/\/[^:]+:(\d+)/i);
    },
    async prepare(port) {
      const res = await fetch(`http://127.0.0.1:${port}/api/rooms`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ scene: initialScene }) });
      const room = (await res.json()) as { room: string; tokens: { editor: string } };
      return `ws://127.0.0.1:${port}/yjs/${room.room}?token=${room.tokens.editor}`;
    },
  },
  {
    name: 'y-websocket-server',
    async start() {
      const port = await freePort();
      return spawnAndWait(['node_modules/@y/websocket-server/src/server.js'], { PORT: String(port), HOST: '127.0.0.1' }, new RegExp(`on port (${port})`));
    },
    async prepare(port) {
      // The stock server starts rooms empty: one client writes the same scene first.
      const url = `ws://127.0.0.1:${port}/yjs/benchroom`;
      const doc = new Y.Doc();
      writeScene(doc, initialScene);
      const ws = new WebSocket(url);
      await new Promise((r) => ws.once('open', r));
      ws.send(encodeUpdate(Y.encodeStateAsUpdate(doc)));
      await new Promise((r) => setTimeout(r, 300));
      ws.close();
      return url;
    },
  },
];


interface Editor {
  ws: WebSocket;
  doc: Y.Doc;
  text: Y.Text;
}

async function connectEditor(url: string, index: number, onMessage: (data: Uint8Array, self: number) => void): Promise<Editor> {
  const ws = new WebSocket(url);
  ws.binaryType = 'nodebuffer';
  const doc = new Y.Doc();
  let synced = false;
  await new Promise<void>((resolve, reject) => {
    ws.once('error', reject);
    ws.on('message', (data: Buffer) => {
      const bytes = new Uint8Array(data);
      if (!synced && bytes[0] === 0 && bytes[1] === 1) {
        const message = decodeMessage(bytes);
        if (message.type === 'sync-step2') Y.applyUpdate(doc, message.update);
        synced = true;
        resolve();
        return;
      }
      if (synced) onMessage(bytes, doc.clientID);
    });
    ws.once('open', () => ws.send(encodeSyncStep1(Y.encodeStateVector(doc))));
  });
  const shot = shotsOf(doc).get(index % SHOTS);
  const text = shot.get('prompt') as Y.Text;
  return { ws, doc, text };
}

async function run(target: Target, editors: number): Promise<Row> {
  const { child, port } = await target.start();
  try {
    const url = await target.prepare(port);
    const sent = new Map<string, number>();
    const latencies: number[] = [];
    let measuring = false;
    let received = 0;
    const onMessage = (data: Uint8Array, self: number) => {
      const now = performance.now();
      for (const key of updateKeys(data)) {
        // An update echoed to its own sender is not a delivery to another editor.
        if (key.startsWith(`${self}:`)) continue;
        const at = sent.get(key);
        if (at === undefined) continue;
        received++;
        if (measuring) latencies.push(now - at);
      }
    };
    const clients: Editor[] = [];
    for (let i = 0; i < editors; i++) clients.push(await connectEditor(url, i, onMessage));

    let updates = 0;
    const timers: NodeJS.Timeout[] = [];
    for (const editor of clients) {
      editor.doc.on('update', (update: Uint8Array) => {
        for (const key of updateKeys(encodeUpdate(update))) sent.set(key, performance.now());
        if (measuring) updates++;
        editor.ws.send(encodeUpdate(update));
      });
      const type = () => editor.text.insert(editor.text.length, String.fromCharCode(97 + Math.floor(Math.random() * 26)));
      // Random phase, then a steady rate with jitter, like people typing.
      const interval = 1000 / RATE;
      const tick = () => {
        type();
        timers.push(setTimeout(tick, interval * (0.5 + Math.random())));
      };
      timers.push(setTimeout(tick, Math.random() * interval));
    }
    await new Promise((r) => setTimeout(r, 2000)); // warm-up
    measuring = true;
    const started = performance.now();
    const serverCpu0 = await processCpuSeconds(child.pid!);
    const clientCpu0 = process.cpuUsage();
    await new Promise((r) => setTimeout(r, SECONDS * 1000));
    measuring = false;
    const elapsed = (performance.now() - started) / 1000;
    const serverCpu = ((await processCpuSeconds(child.pid!)) - serverCpu0) / elapsed;
    const clientUsage = process.cpuUsage(clientCpu0);
    const clientCpu = (clientUsage.user + clientUsage.system) / 1e6 / elapsed;
    for (const t of timers) clearTimeout(t);
    await new Promise((r) => setTimeout(r, 1000)); // drain
    const memory = await processMemory(child.pid!);
    for (const editor of clients) editor.ws.terminate();
    const s = summarize(latencies);
    return {
      server: target.name,
      editors,
      'updates/s': Math.round(updates / elapsed),
      'p50 ms': s.p50,
      'p95 ms': s.p95,
      'p99 ms': s.p99,
      deliveries: s.n,
      'server CPU %': Math.round(serverCpu * 100),
      'clients CPU %': Math.round(clientCpu * 100),
      'rss MiB': Math.round(memory.rssMiB),
      'peak MiB': Math.round(memory.peakMiB),
      received,
    };
  } finally {
    child.kill('SIGKILL');
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
    dataDir = '';
  }
}

const rows: Row[] = [];
const comparisons: Row[] = [];
for (const editors of EDITORS) {
  const [ours, stock] = [await run(targets[0]!, editors), await run(targets[1]!, editors)];
  rows.push(ours, stock);
  comparisons.push({
    editors,
    'p95 ratio (scenecast / stock)': Number(ours['p95 ms']) / Number(stock['p95 ms']),
    'p50 ratio': Number(ours['p50 ms']) / Number(stock['p50 ms']),
    'scenecast p95 ≤ 25 ms': Number(ours['p95 ms']) <= 25,
  });
}
for (const row of rows) delete row.received;
printTable(`Update latency, ${RATE} keystrokes/s per editor, ${SECONDS} s measured (scenecast persists and fdatasyncs every update; the stock server keeps nothing)`, rows);
printTable('scenecast vs the stock y-websocket server', comparisons);
printJson('collab', { rate: RATE, seconds: SECONDS, rows, comparisons });
process.exit(0);
