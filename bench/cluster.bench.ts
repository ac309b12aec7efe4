/**
 * npm run bench:cluster — scale-out on this machine, 1 node vs 2 nodes side by side (both share
 * the same two cores here, so this measures the cost of the Redis hop, not added capacity):
 *  - 200 editors typing into one room and 1,000 read-only viewers, spread across the nodes:
 *    update fan-out latency (send → receipt at every other client), p50/p95;
 *  - preview edit-to-first-frame at Socket.IO viewers on the far node (one engine worker);
 *  - Redis commands per edit (INFO commandstats), memory per node.
 *
 *   npm run bench:cluster -- [--editors 200] [--viewers 1000] [--rate 0.25] [--seconds 10]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { io } from 'socket.io-client';
import { WebSocket } from 'ws';
import * as Y from 'yjs';
import type { CreateRoomResponse, PreviewFrame, PreviewState } from '../shared/protocol.js';
import { shotsOf } from '../shared/scene-doc.js';
import { decodeMessage, encodeSyncStep1, encodeUpdate } from '../server/collab/messages.js';
import { updateKeys } from './lib/update-keys.js';
import { printJson, printTable, processMemory, summarize, type Row } from './lib/report.js';

const { values } = parseArgs({
  options: {
    editors: { type: 'string', default: '200' },
    viewers: { type: 'string', default: '1000' },
    rate: { type: 'string', default: '0.25' },
    seconds: { type: 'string', default: '10' },
    edits: { type: 'string', default: '10' },
  },
});
const EDITORS = Number(values.editors);
const VIEWERS = Number(values.viewers);
const RATE = Number(values.rate);
const SECONDS = Number(values.seconds);
const PREVIEW_EDITS = Number(values.edits);
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const ROOT = path.resolve(import.meta.dirname, '..');

function spawnProcess(script: string, env: Record<string, string>, ready: RegExp): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', script], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const m = ready.exec(line);
      if (m) resolve({ child, port: Number(m[1] ?? 0) });
    });
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code}`)));
  });
}


async function redisCalls(redis: Redis): Promise<number> {
  const info = await redis.info('commandstats');
  return [...info.matchAll(/calls=(\d+)/g)].reduce((sum, m) => sum + Number(m[1]), 0);
}

async function runTopology(nodeCount: number): Promise<Row> {
  const prefix = `bench-${randomBytes(3).toString('hex')}:`;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'scenecast-cluster-bench-'));
  const env = { REDIS_URL, REDIS_PREFIX: prefix, BLOB_DIR: path.join(dir, 'blobs'), LOG_LEVEL: 'info', ENGINE_WORKERS: '1', ROOM_CREATE_BURST: '1000', MAX_CONNECTIONS_PER_IP: '100000', MAX_MESSAGE_BYTES: String(8 * 1024 * 1024) };
  const procs: ChildProcess[] = [];
  const redis = new Redis(REDIS_URL);
  try {
    const nodes = await Promise.all(
      Array.from({ length: nodeCount }, (_, i) => spawnProcess('server/main.ts', { ...env, PORT: '0', HOST: '127.0.0.1', DATA_DIR: path.join(dir, `n${i}`) }, /listening at http:\/\/[^:]+:(\d+)/i)),
    );
    procs.push(...nodes.map((n) => n.child));
    const worker = await spawnProcess('server/worker.ts', { ...env, DATA_DIR: path.join(dir, 'w') }, /engine worker ready()/);
    procs.push(worker.child);
    const ports = nodes.map((n) => n.port);
    const created = (await (
      await fetch(`http://127.0.0.1:${ports[0]}/api/rooms`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ scene: { fps: 16, shots: Array.from({ length: 10 }, (_, i) => ({ id: `s${i}`, prompt: `a red ball moves left ${i}`, duration: 2 })) } }),
      })
    ).json()) as CreateRoomResponse;

    // --- fan-out: editors and viewers as protocol-level clients, round-robin over the nodes.
    const sent = new Map<string, number>();
    const latencies: number[] = [];
    let measuring = false;
    const sockets: WebSocket[] = [];
    const connect = (i: number, token: string, editor: boolean) =>
      new Promise<{ ws: WebSocket; doc: Y.Doc }>((resolve, reject) => {
        const ws = new WebSocket(`ws://127.0.0.1:${ports[i % ports.length]}/yjs/${created.room}?token=${token}`);
        const doc = new Y.Doc();
        let synced = false;
        ws.on('error', reject);
        ws.on('message', (data: Buffer) => {
          const bytes = new Uint8Array(data);
          if (!synced && bytes[0] === 0 && bytes[1] === 1) {
            const m = decodeMessage(bytes);
            if (m.type === 'sync-step2' && editor) Y.applyUpdate(doc, m.update);
            synced = true;
            resolve({ ws, doc });
            return;
          }
          if (!synced || !measuring) return;
          const now = performance.now();
          for (const key of updateKeys(bytes)) {
            if (key.startsWith(`${doc.clientID}:`)) continue;
            const at = sent.get(key);
            if (at !== undefined) latencies.push(now - at);
          }
        });
        ws.once('open', () => ws.send(encodeSyncStep1(Y.encodeStateVector(doc))));
        sockets.push(ws);
      });
    const editors = [];
    for (let i = 0; i < EDITORS; i++) editors.push(await connect(i, created.tokens.editor, true));
    for (let i = 0; i < VIEWERS; i++) await connect(i, created.tokens.viewer, false);
    let edits = 0;
    const timers: NodeJS.Timeout[] = [];
    for (const [i, { ws, doc }] of editors.entries()) {
      doc.on('update', (update: Uint8Array) => {
        for (const key of updateKeys(encodeUpdate(update))) sent.set(key, performance.now());
        if (measuring) edits++;
        ws.send(encodeUpdate(update));
      });
      const text = shotsOf(doc).get(i % 10).get('prompt') as Y.Text;
      const tick = () => {
        text.insert(text.length, 'x');
        timers.push(setTimeout(tick, (1000 / RATE) * (0.5 + Math.random())));
      };
      timers.push(setTimeout(tick, Math.random() * (1000 / RATE)));
    }
    await new Promise((r) => setTimeout(r, 2000));
    const calls0 = await redisCalls(redis);
    measuring = true;
    await new Promise((r) => setTimeout(r, SECONDS * 1000));
    measuring = false;
    const callsPerEdit = ((await redisCalls(redis)) - calls0) / Math.max(1, edits);
    for (const t of timers) clearTimeout(t);
    const fanout = summarize(latencies);

    // --- previews: an editor on the first node edits, 10 Socket.IO viewers on the last node watch.
    // The previews the typing above queued finish first (they are not what is measured here).
    await new Promise((r) => setTimeout(r, 5000));
    const far = ports[ports.length - 1];
    const watchers = await Promise.all(
      Array.from({ length: 10 }, async () => {
        const s = io(`http://127.0.0.1:${far}`, { auth: { token: created.tokens.viewer }, transports: ['websocket'], forceNew: true, reconnection: false });
        await new Promise<void>((r) => s.once('room:joined', () => r()));
        return s;
      }),
    );
    const firstFrame: number[] = [];
    const editor = editors[0]!;
    const text = shotsOf(editor.doc).get(0).get('prompt') as Y.Text;
    for (let e = 0; e < PREVIEW_EDITS; e++) {
      let rev = 0;
      let sentAt = 0;
      const got = watchers.map(
        (s) =>
          new Promise<number>((resolve) => {
            const onState = (state: PreviewState) => {
              if (state.shot === 's0' && state.status === 'queued' && state.rev > rev && sentAt > 0) rev = state.rev;
            };
            const onFrame = (frame: PreviewFrame) => {
              if (frame.shot === 's0' && rev > 0 && frame.rev === rev && frame.index === 0) {
                s.off('preview:frame', onFrame);
                s.off('preview:state', onState);
                resolve(performance.now() - sentAt);
              }
            };
            s.on('preview:state', onState);
            s.on('preview:frame', onFrame);
          }),
      );
      sentAt = performance.now();
      text.insert(text.length, e % 2 ? ' slowly' : ' quickly');
      const results = await Promise.race([Promise.all(got), new Promise<number[]>((r) => setTimeout(() => r([]), 15_000))]);
      firstFrame.push(...results);
      await new Promise((r) => setTimeout(r, 400));
    }
    for (const s of watchers) s.disconnect();
    const preview = summarize(firstFrame);
    const memories = await Promise.all(nodes.map((n) => processMemory(n.child.pid!)));
    for (const ws of sockets) ws.terminate();
    return {
      nodes: nodeCount,
      editors: EDITORS,
      viewers: VIEWERS,
      'edits/s': Math.round(edits / SECONDS),
      'fan-out p50 ms': fanout.p50,
      'fan-out p95 ms': fanout.p95,
      deliveries: fanout.n,
      'far-node first frame p50 ms': preview.p50,
      'far-node first frame p95 ms': preview.p95,
      'redis cmds/edit': callsPerEdit,
      'rss MiB per node': memories.map((m) => Math.round(m.rssMiB)).join(' / '),
    };
  } finally {
    for (const p of procs) p.kill('SIGKILL');
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
    await rm(dir, { recursive: true, force: true });
  }
}

const one = await runTopology(1);
const two = await runTopology(2);
printTable(`Scale-out on one 2-core machine (both nodes and the worker share it): ${EDITORS} editors at ${RATE} keystrokes/s and ${VIEWERS} viewers in one room`, [one, two]);
const ratio = Number(two['fan-out p95 ms']) / Number(one['fan-out p95 ms']);
const targets: Row[] = [
  { metric: '2-node fan-out p95 / 1-node', value: ratio, target: 1.5, met: ratio <= 1.5 },
  { metric: 'far-node preview first frame p95 (ms), 2 nodes', value: Number(two['far-node first frame p95 ms']), target: 400, met: Number(two['far-node first frame p95 ms']) <= 400 },
];
printTable('Targets', targets);
printJson('cluster', { editors: EDITORS, viewers: VIEWERS, rate: RATE, seconds: SECONDS, rows: [one, two], targets });
process.exit(0);
