/**
 * npm run bench:collab — writers typing into the prompts of one room, with and without read-only
 * observers, against three servers on the same workload:
 *   embedded   scenecast in one process (updates fdatasync'ed to DATA_DIR before any fan-out)
 *   redis      scenecast on Redis, 2 nodes, the clients spread over both (XADD before any fan-out)
 *   stock      the stock y-websocket server (@y/websocket-server 0.1.1), which keeps nothing
 *
 * Workloads: `--writers` (default 200) writers alone, and `--observer-writers` (50) writers with
 * `--observers` (1,000) observers, each against every server; `--editors` (10,50) are the older
 * writers-only rows, against embedded and stock.
 *
 * Clients are protocol-level (bench/lib/collab-clients.ts), spread over `--client-threads` worker
 * threads: a writer types one character per keystroke and does not apply what it receives, an
 * observer (a viewer token on scenecast) only receives. Latency = receipt at each other client
 * (writers and observers) − keystroke, over every (keystroke, receiver) pair of the keystrokes
 * sent in the measured window; one not received `--drain` s after typing stopped counts as
 * missing (a percentile that falls on a missing one prints as "> drain").
 *
 *   npm run bench:collab -- [--quick] [--servers embedded,redis,stock] [--writers 200]
 *     [--observers 1000] [--observer-writers 50] [--editors 10,50|none] [--rate 2] [--seconds 10]
 *     [--warmup 2] [--drain 3] [--client-threads 2] [--server-env K=V,…] [--previews]
 *
 * scenecast runs with the engine off (ENGINE_WORKERS=0) unless --previews is given (embedded
 * only): the stock server has no previews, so the comparison is of the collaboration path alone.
 * `--server-env` passes settings to the scenecast nodes (e.g. FANOUT_COALESCE_MS=0 or
 * PERSIST_FSYNC=never, to see what a stage costs). Redis: REDIS_URL (default
 * redis://127.0.0.1:6379), a key prefix of its own per run, deleted at the end.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { WebSocket } from 'ws';
import * as Y from 'yjs';
import { writeScene } from '../shared/scene-doc.js';
import { encodeUpdate } from '../server/collab/messages.js';
import { ClientThreads, type ClientSpec } from './lib/collab-clients.js';
import { cpuSecondsOrNaN, machineCpuSeconds, measureFdatasync, scrapeMetrics } from './lib/probes.js';
import { printJson, printTable, processCpuSeconds, processMemory, type Row } from './lib/report.js';

const { values } = parseArgs({
  allowPositionals: true, // `--previews 1`, as before
  options: {
    quick: { type: 'boolean', default: false },
    servers: { type: 'string' },
    writers: { type: 'string' },
    observers: { type: 'string' },
    'observer-writers': { type: 'string' },
    editors: { type: 'string' },
    rate: { type: 'string' },
    seconds: { type: 'string' },
    warmup: { type: 'string' },
    drain: { type: 'string' },
    'client-threads': { type: 'string' },
    'server-env': { type: 'string' },
    previews: { type: 'boolean', default: false },
  },
});
const QUICK = values.quick;
const opt = (value: string | undefined, full: string, quick: string) => value ?? (QUICK ? quick : full);
const list = (value: string) => (value === 'none' || value === '' ? [] : value.split(',').map(Number));
const SERVERS = opt(values.servers, 'embedded,redis,stock', 'embedded,redis,stock').split(',') as ServerKind[];
const WRITERS = list(opt(values.writers, '200', '20'));
const OBSERVERS = Number(opt(values.observers, '1000', '100'));
const OBSERVER_WRITERS = Number(opt(values['observer-writers'], '50', '10'));
const EDITORS = list(opt(values.editors, '10,50', 'none'));
const RATE = Number(opt(values.rate, '2', '2')); // keystrokes per writer per second
const SECONDS = Number(opt(values.seconds, '10', '3'));
const WARMUP = Number(opt(values.warmup, '2', '1'));
const DRAIN = Number(opt(values.drain, '3', '1.5'));
const THREADS = Number(opt(values['client-threads'], '2', '2'));
const SERVER_ENV = Object.fromEntries((values['server-env'] ?? '').split(',').filter(Boolean).map((kv) => kv.split('=', 2) as [string, string]));
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const SHOTS = 10;
const SECRET = 'bench-secret-0123456789abcdef';
const ROOT = path.resolve(import.meta.dirname, '..');

type ServerKind = 'embedded' | 'redis' | 'stock';
const LABEL: Record<ServerKind, string> = { embedded: 'scenecast', redis: 'scenecast redis ×2', stock: 'y-websocket-server' };

/** A running server (one or more processes) with one room ready. */
interface Deployment {
  processes: ChildProcess[];
  ports: number[];
  /** URL of node `i % nodes` for a writer / an observer. */
  writerUrl(i: number): string;
  observerUrl(i: number): string;
  /** Pid of the Redis server when it runs on this machine. */
  redisPid: number | null;
  /** Commands the Redis server has served (every client of it, so others' too). */
  redisCalls?: () => Promise<number>;
  close(): Promise<void>;
}

/** process.env without what would switch a node's mode or store (the bench sets those). */
function baseEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const key of ['REDIS_URL', 'REDIS_PREFIX', 'DATABASE_URL', 'BLOB_DIR', 'DATA_DIR', 'PORT', 'HOST']) delete env[key];
  return env;
}

function spawnAndWait(cmd: string[], env: Record<string, string>, ready: RegExp): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, cmd, { cwd: ROOT, env: { ...baseEnv(), ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
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

const scenecastEnv = { LOG_LEVEL: 'info', MAX_CONNECTIONS_PER_IP: '100000', ...SERVER_ENV };
const LISTENING = /listening at http:\/\/[^:]+:(\d+)/i;

async function createRoom(port: number): Promise<{ room: string; tokens: { editor: string; viewer: string } }> {
  const res = await fetch(`http://127.0.0.1:${port}/api/rooms`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ scene: initialScene }) });
  if (!res.ok) throw new Error(`POST /api/rooms: ${res.status} ${await res.text()}`);
  return (await res.json()) as { room: string; tokens: { editor: string; viewer: string } };
}

async function deploy(kind: ServerKind): Promise<Deployment> {
  if (kind === 'embedded') {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'scenecast-bench-'));
    // The collaboration path alone (as the stock server does): previews off. --previews turns them on.
    const engine: Record<string, string> = values.previews ? {} : { ENGINE_WORKERS: '0' };
    let child: ChildProcess | null = null;
    const close = async () => {
      child?.kill('SIGKILL');
      await rm(dataDir, { recursive: true, force: true });
    };
    try {
      const node = await spawnAndWait(['--import', 'tsx', 'server/main.ts'], { PORT: '0', HOST: '127.0.0.1', DATA_DIR: dataDir, SCENECAST_SECRET: SECRET, ...scenecastEnv, ...engine }, LISTENING);
      child = node.child;
      const { room, tokens } = await createRoom(node.port);
      const url = (token: string) => `ws://127.0.0.1:${node.port}/yjs/${room}?token=${token}`;
      return { processes: [node.child], ports: [node.port], writerUrl: () => url(tokens.editor), observerUrl: () => url(tokens.viewer), redisPid: null, close };
    } catch (error) {
      await close();
      throw error;
    }
  }
  if (kind === 'redis') {
    const prefix = `bench-collab-${randomBytes(3).toString('hex')}:`;
    const dir = await mkdtemp(path.join(os.tmpdir(), 'scenecast-bench-redis-'));
    const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
    const processes: ChildProcess[] = [];
    const close = async () => {
      for (const p of processes) p.kill('SIGKILL');
      await deleteKeys(redis, `${prefix}*`).catch((error: Error) => console.error(`could not delete ${prefix}* in Redis: ${error.message}`));
      redis.disconnect();
      await rm(dir, { recursive: true, force: true });
    };
    try {
      await redis.connect();
      const env = { ...scenecastEnv, REDIS_URL, REDIS_PREFIX: prefix, BLOB_DIR: path.join(dir, 'blobs'), ENGINE_WORKERS: '0', PORT: '0', HOST: '127.0.0.1' };
      const nodes = await Promise.all([0, 1].map((i) => spawnAndWait(['--import', 'tsx', 'server/main.ts'], { ...env, DATA_DIR: path.join(dir, `n${i}`) }, LISTENING).then((n) => (processes.push(n.child), n))));
      const { room, tokens } = await createRoom(nodes[0]!.port);
      const url = (i: number, token: string) => `ws://127.0.0.1:${nodes[i % nodes.length]!.port}/yjs/${room}?token=${token}`;
      return {
        processes,
        ports: nodes.map((n) => n.port),
        writerUrl: (i) => url(i, tokens.editor),
        observerUrl: (i) => url(i, tokens.viewer),
        redisPid: await localRedisPid(redis),
        redisCalls: async () => [...(await redis.info('commandstats')).matchAll(/calls=(\d+)/g)].reduce((sum, m) => sum + Number(m[1]), 0),
        close,
      };
    } catch (error) {
      await close();
      throw error;
    }
  }
  const port = await freePort();
  const stock = await spawnAndWait(['node_modules/@y/websocket-server/src/server.js'], { PORT: String(port), HOST: '127.0.0.1' }, new RegExp(`on port (${port})`));
  // The stock server starts rooms empty: one client writes the same scene first.
  const url = `ws://127.0.0.1:${port}/yjs/benchroom`;
  try {
    const doc = new Y.Doc();
    writeScene(doc, initialScene);
    const ws = new WebSocket(url);
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    ws.send(encodeUpdate(Y.encodeStateAsUpdate(doc)));
    await new Promise((r) => setTimeout(r, 300));
    ws.close();
  } catch (error) {
    stock.child.kill('SIGKILL');
    throw error;
  }
  return {
    processes: [stock.child],
    ports: [port],
    writerUrl: () => url,
    observerUrl: () => url, // no roles: observers simply never write
    redisPid: null,
    async close() {
      stock.child.kill('SIGKILL');
    },
  };
}

async function deleteKeys(redis: Redis, pattern: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    if (keys.length) await redis.del(...keys);
    cursor = next;
  } while (cursor !== '0');
}

async function localRedisPid(redis: Redis): Promise<number | null> {
  const pid = Number(/process_id:(\d+)/.exec(await redis.info('server'))?.[1]);
  const comm = pid ? await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '') : '';
  return comm.includes('redis') ? pid : null;
}

const sleepUntil = (pool: ClientThreads, atUs: number) => new Promise((r) => setTimeout(r, Math.max(0, (atUs - pool.now()) / 1000)));

interface Sample {
  at: number;
  servers: number[];
  redis: number;
  /** Redis commands served so far (INFO commandstats), redis only. */
  redisCalls: number;
  clients: NodeJS.CpuUsage;
  machine: { busy: number; total: number };
  metrics: Record<string, number>[];
}

const METRICS = ['scenecast_persist_seconds_sum', 'scenecast_persist_seconds_count', 'scenecast_nodejs_eventloop_lag_max_seconds'];

async function sample(dep: Deployment, kind: ServerKind): Promise<Sample> {
  const [servers, redis, redisCalls, machine, metrics] = await Promise.all([
    Promise.all(dep.processes.map((p) => processCpuSeconds(p.pid!))),
    cpuSecondsOrNaN(dep.redisPid),
    dep.redisCalls?.() ?? Promise.resolve(Number.NaN),
    machineCpuSeconds(),
    kind === 'stock' ? Promise.resolve([]) : Promise.all(dep.ports.map((port) => scrapeMetrics(port, METRICS))),
  ]);
  return { at: performance.now(), servers, redis, redisCalls, clients: process.cpuUsage(), machine, metrics };
}

const missingLabel = `> ${DRAIN * 1000}`;
const pct = (sorted: Float64Array, expected: number, p: number): number | string => {
  const total = Math.max(expected, sorted.length);
  if (total === 0) return Number.NaN;
  const index = Math.max(0, Math.ceil((p / 100) * total) - 1);
  return index < sorted.length ? sorted[index]! : missingLabel;
};
const round1 = (x: number) => Math.round(x * 10) / 10;
const fmt = (v: Row[string] | undefined) => (typeof v === 'number' ? v.toFixed(2) : String(v));

async function run(kind: ServerKind, writers: number, observers: number): Promise<{ row: Row; where: Row }> {
  const dep = await deploy(kind);
  try {
    const clients: ClientSpec[] = [
      ...Array.from({ length: writers }, (_, i) => ({ url: dep.writerUrl(i), writer: i })),
      ...Array.from({ length: observers }, (_, i) => ({ url: dep.observerUrl(i), writer: -1 })),
    ];
    const pool = await ClientThreads.start({ clients, writers, rate: RATE, shots: SHOTS, typingSeconds: WARMUP + SECONDS + 1, threads: THREADS });
    try {
      const typeAt = pool.now() + 300_000;
      const schedule = { typeAt, measureFrom: typeAt + WARMUP * 1e6, measureTo: typeAt + (WARMUP + SECONDS) * 1e6, collectTo: typeAt + (WARMUP + SECONDS + DRAIN) * 1e6 };
      const results = pool.run(schedule);
      await sleepUntil(pool, schedule.measureFrom);
      const s0 = await sample(dep, kind);
      await sleepUntil(pool, schedule.measureTo);
      const s1 = await sample(dep, kind);
      const threads = await results;
      const memory = await Promise.all(dep.processes.map((p) => processMemory(p.pid!)));

      const elapsed = (s1.at - s0.at) / 1000;
      const cpu = (a: number, b: number) => Math.round(((b - a) / elapsed) * 100);
      const serverCpu = cpu(s0.servers.reduce((x, y) => x + y, 0), s1.servers.reduce((x, y) => x + y, 0));
      const clientCpu = Math.round(((s1.clients.user - s0.clients.user + s1.clients.system - s0.clients.system) / 1e6 / elapsed) * 100);
      const machineCpu = cpu(s0.machine.busy, s1.machine.busy);
      const redisCpu = kind === 'redis' ? cpu(s0.redis, s1.redis) : Number.NaN;
      const all = new Float64Array(threads.reduce((n, t) => n + t.latencies.length, 0));
      let offset = 0;
      for (const t of threads) {
        all.set(t.latencies, offset);
        offset += t.latencies.length;
      }
      all.sort();
      const sent = threads.reduce((n, t) => n + t.sentMeasured, 0);
      const expected = sent * (writers + observers - 1);
      const delta = (name: string) => s1.metrics.reduce((sum, m, i) => sum + m[name]! - s0.metrics[i]![name]!, 0);
      const persistMs = kind === 'stock' ? Number.NaN : (delta('scenecast_persist_seconds_sum') / Math.max(1, delta('scenecast_persist_seconds_count'))) * 1000;
      const lag = (name: string) => (kind === 'stock' ? Number.NaN : Math.max(...s1.metrics.map((m) => m[name]! * 1000)));
      const row: Row = {
        server: LABEL[kind],
        writers,
        observers,
        'updates/s': Math.round(sent / SECONDS),
        'p50 ms': pct(all, expected, 50),
        'p95 ms': pct(all, expected, 95),
        'p99 ms': pct(all, expected, 99),
        deliveries: all.length,
        'delivered %': expected ? round1((all.length / expected) * 100) : Number.NaN,
        'server CPU %': serverCpu,
        'clients CPU %': clientCpu,
        'rss MiB': Math.round(memory.reduce((sum, m) => sum + m.rssMiB, 0)),
        'peak MiB': Math.round(memory.reduce((sum, m) => sum + m.peakMiB, 0)),
      };
      const where: Row = {
        server: LABEL[kind],
        writers,
        observers,
        'machine CPU %': machineCpu,
        'others CPU %': machineCpu - serverCpu - clientCpu - (Number.isNaN(redisCpu) ? 0 : redisCpu),
        'redis CPU %': redisCpu,
        'client threads ELU': threads.map((t) => t.elu.toFixed(2)).join(' / '),
        'msgs in/s': Math.round(threads.reduce((n, t) => n + t.messages, 0) / SECONDS),
        'server CPU µs/msg': Math.round((serverCpu * 1e4 * SECONDS) / Math.max(1, threads.reduce((n, t) => n + t.messages, 0))),
        'persist mean ms': persistMs,
        'redis cmds/update': kind === 'redis' ? Math.round((s1.redisCalls - s0.redisCalls) / Math.max(1, sent)) : Number.NaN,
        'server loop lag max ms': lag('scenecast_nodejs_eventloop_lag_max_seconds'),
        'closed conns': threads.reduce((n, t) => n + t.closed, 0),
        'max ms': all.length ? (all[all.length - 1] as number) : Number.NaN,
      };
      console.error(`  ${LABEL[kind]}, ${writers} writers + ${observers} observers: p50 ${fmt(row['p50 ms'])} p99 ${fmt(row['p99 ms'])} ms, delivered ${row['delivered %']}%`);
      return { row, where };
    } finally {
      await pool.close();
    }
  } finally {
    await dep.close();
  }
}

// ---- the runs

const probeDir = await mkdtemp(path.join(os.tmpdir(), 'scenecast-bench-fsync-'));
const fsync = measureFdatasync(probeDir);
await rm(probeDir, { recursive: true, force: true });
const load = os.loadavg().map((l) => l.toFixed(2)).join(' ');
console.error(`fdatasync on ${os.tmpdir()}: median ${fsync.median.toFixed(2)} ms, p95 ${fsync.p95.toFixed(2)} ms; load ${load}; ${os.cpus().length} cores`);

if (SERVERS.includes('redis')) {
  const probe = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
  const up = await probe.connect().then(
    () => true,
    () => false,
  );
  probe.disconnect();
  if (!up) {
    console.error(`no Redis at ${REDIS_URL}: the redis rows are skipped`);
    SERVERS.splice(SERVERS.indexOf('redis'), 1);
  }
}

const workloads: { writers: number; observers: number; servers: ServerKind[] }[] = [
  ...EDITORS.filter((e) => !WRITERS.includes(e)).map((writers) => ({ writers, observers: 0, servers: SERVERS.filter((s) => s !== 'redis') })),
  ...WRITERS.map((writers) => ({ writers, observers: 0, servers: SERVERS })),
  ...(OBSERVERS > 0 ? [{ writers: OBSERVER_WRITERS, observers: OBSERVERS, servers: SERVERS }] : []),
];
const rows: Row[] = [];
const where: Row[] = [];
const byWorkload = new Map<string, Partial<Record<ServerKind, Row>>>();
for (const w of workloads) {
  const results: Partial<Record<ServerKind, Row>> = {};
  for (const kind of w.servers) {
    const r = await run(kind, w.writers, w.observers);
    rows.push(r.row);
    where.push(r.where);
    results[kind] = r.row;
  }
  byWorkload.set(`${w.writers}/${w.observers}`, results);
}

const num = (v: Row[string] | undefined) => (typeof v === 'number' ? v : Number.POSITIVE_INFINITY);
const comparisons: Row[] = [];
const targets: Row[] = [];
for (const w of workloads) {
  const r = byWorkload.get(`${w.writers}/${w.observers}`)!;
  const room = w.observers ? `${w.writers} writers + ${w.observers} observers` : `${w.writers} writers`;
  for (const kind of ['embedded', 'redis'] as const) {
    const ours = r[kind];
    if (!ours) continue;
    if (r.stock) {
      comparisons.push({ room, server: LABEL[kind], 'p50 ratio (scenecast / stock)': num(ours['p50 ms']) / num(r.stock['p50 ms']), 'p95 ratio': num(ours['p95 ms']) / num(r.stock['p95 ms']), 'p99 ratio': num(ours['p99 ms']) / num(r.stock['p99 ms']) });
      const bound = num(r.stock['p50 ms']) + fsync.median;
      targets.push({ metric: `${room}, ${LABEL[kind]}: p50 ms ≤ stock p50 + fdatasync`, value: ours['p50 ms'] ?? null, target: Number.isFinite(bound) ? bound : String(r.stock['p50 ms']), met: num(ours['p50 ms']) <= bound });
    }
    if (w.observers === 0 && WRITERS.includes(w.writers)) targets.push({ metric: `${room}, ${LABEL[kind]}: p99 ms`, value: ours['p99 ms'] ?? null, target: 12, met: num(ours['p99 ms']) <= 12 });
    if (w.observers > 0) targets.push({ metric: `${room}, ${LABEL[kind]}: p99 ms`, value: ours['p99 ms'] ?? null, target: 50, met: num(ours['p99 ms']) <= 50 });
  }
}

const title = `Update latency, keystroke → every other client, ${RATE} keystrokes/s per writer, ${SECONDS} s measured, ${THREADS} client threads (scenecast stores every update before fan-out: fdatasync embedded, XADD on Redis; the stock server keeps nothing; redis ×2: CPU and MiB summed over both nodes)`;
printTable(title, rows);
printTable(`Where the time goes (machine CPU % of ${os.cpus().length} cores × 100; ELU 1.00 = a client thread saturated; msgs in/s = update messages all clients received (fan-outs × peers); persist = update applied → durable and loop lag max, from the nodes' /metrics)`, where);
printTable('scenecast vs the stock y-websocket server', comparisons);
printTable(`Targets (fdatasync on this disk: median ${fsync.median.toFixed(2)} ms, p95 ${fsync.p95.toFixed(2)} ms, 200 appends)`, targets);
printJson('collab', { rate: RATE, seconds: SECONDS, warmup: WARMUP, drain: DRAIN, clientThreads: THREADS, serverEnv: SERVER_ENV, load, cores: os.cpus().length, fdatasyncMs: fsync, rows, where, comparisons, targets });
process.exit(0);
