/**
 * Protocol-level Yjs clients for bench/collab.bench.ts, spread over worker threads so that 1,000+
 * connections in the benchmark process do not queue behind one event loop.
 *
 * Writers sync once, then type one character per keystroke (one Yjs update each) into their own
 * view of a shot's prompt and never apply what they receive; observers send only the sync step 1
 * that gets them the document, then only receive. Every client reads the (client, clock) of each
 * keystroke it receives. Writer w has Yjs client id ID_BASE + w, its k-th keystroke clock k, and
 * its send time sits in a SharedArrayBuffer at [w * capacity + k] (µs since the run's base, on
 * the monotonic clock every thread shares), so any thread turns a receipt into a latency without
 * a message between threads.
 *
 * Schedule (µs since base, set by the main thread once every client is connected): typing starts
 * at `typeAt`; keystrokes sent in [measureFrom, measureTo) are the ones measured; typing stops at
 * measureTo; receipts count until `collectTo`, and a measured keystroke not received by then is
 * reported as missing.
 */
import { performance } from 'node:perf_hooks';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { WebSocket } from 'ws';
import * as Y from 'yjs';
import { shotsOf } from '../../shared/scene-doc.js';
import { decodeMessage, encodeSyncStep1, encodeUpdate } from '../../server/collab/messages.js';
import { forEachUpdateKey } from './update-keys.js';

export const ID_BASE = 1_000_000;

export interface ClientSpec {
  url: string;
  /** Writer index (its Yjs client id is ID_BASE + writer), or -1 for an observer. */
  writer: number;
}

export interface Schedule {
  typeAt: number;
  measureFrom: number;
  measureTo: number;
  collectTo: number;
}

interface Setup {
  clients: ClientSpec[];
  writers: number;
  /** Keystrokes per writer per second (each interval jittered by 0.5-1.5x). */
  rate: number;
  shots: number;
  sendAt: SharedArrayBuffer;
  capacity: number;
  base: bigint;
  /** Connections opened at once per thread. */
  concurrency: number;
}

export interface ThreadResult {
  /** Latencies (ms) of measured keystrokes at every client but their writer. */
  latencies: Float64Array;
  /** Keystrokes this thread's writers sent in the measured window. */
  sentMeasured: number;
  /** Keystrokes sent in all (warm-up included). */
  sentTotal: number;
  /** WebSocket messages with updates received in the measured window (one per fan-out per client). */
  messages: number;
  /** Connections the server closed (or that failed) after they were open. */
  closed: number;
  /** Event-loop utilization of this thread over the measured window (1 = saturated). */
  elu: number;
}

/** µs since `base` on the monotonic clock (the same in every thread and process). */
const since = (base: bigint) => () => Number(process.hrtime.bigint() - base) / 1000;

/** Capacity of each writer's slot row for `seconds` of typing at `rate` (intervals are ≥ 0.5/rate). */
export const keystrokeCapacity = (rate: number, seconds: number) => Math.ceil(rate * 2 * seconds) + 16;

export class ClientThreads {
  readonly #workers: Worker[] = [];

  private constructor(
    workers: Worker[],
    readonly base: bigint,
  ) {
    this.#workers = workers;
  }

  /** Starts `threads` workers and connects every client (round-robin over the threads). */
  static async start(options: { clients: ClientSpec[]; writers: number; rate: number; shots: number; typingSeconds: number; threads: number; concurrency?: number }): Promise<ClientThreads> {
    const capacity = keystrokeCapacity(options.rate, options.typingSeconds);
    const sendAt = new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT * capacity * Math.max(1, options.writers));
    const base = process.hrtime.bigint();
    const threads = Math.max(1, options.threads);
    const workers: Worker[] = [];
    const ready: Promise<void>[] = [];
    for (let t = 0; t < threads; t++) {
      const setup: Setup = {
        clients: options.clients.filter((_, i) => i % threads === t),
        writers: options.writers,
        rate: options.rate,
        shots: options.shots,
        sendAt,
        capacity,
        base,
        concurrency: options.concurrency ?? 25,
      };
      // The bench runs under tsx, whose loader Node 20 does not hand to worker threads: the worker registers it first.
      const worker = new Worker(`import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(import.meta.url)}); })`, { eval: true, workerData: setup });
      workers.push(worker);
      ready.push(
        new Promise((resolve, reject) => {
          worker.once('error', reject);
          worker.once('message', (m: { type: string; error?: string }) => (m.type === 'ready' ? resolve() : reject(new Error(m.error))));
        }),
      );
    }
    const pool = new ClientThreads(workers, base);
    try {
      await Promise.all(ready);
    } catch (error) {
      await pool.close();
      throw error;
    }
    return pool;
  }

  /** µs since this pool's base. */
  now(): number {
    return since(this.base)();
  }

  /** Runs the schedule on every thread and gathers what they measured. */
  async run(schedule: Schedule): Promise<ThreadResult[]> {
    return Promise.all(
      this.#workers.map(
        (worker) =>
          new Promise<ThreadResult>((resolve, reject) => {
            worker.once('error', reject);
            worker.once('message', (m: ThreadResult | { type: 'error'; error: string }) => ('type' in m ? reject(new Error(m.error)) : resolve(m)));
            worker.postMessage(schedule);
          }),
      ),
    );
  }

  async close(): Promise<void> {
    await Promise.all(this.#workers.map((w) => w.terminate()));
  }
}

// ---- inside a client thread

interface Client {
  ws: WebSocket;
  writer: number;
  text: Y.Text | null;
  doc: Y.Doc | null;
}

async function clientThread(setup: Setup): Promise<void> {
  const now = since(setup.base);
  const sendAt = new Int32Array(setup.sendAt);
  const { capacity, writers } = setup;
  let schedule: Schedule = { typeAt: Infinity, measureFrom: Infinity, measureTo: -Infinity, collectTo: Infinity };
  let latencies = new Float64Array(1 << 16);
  let n = 0;
  let closed = 0;
  let messages = 0;
  let running = false;
  const emptyStep1 = encodeSyncStep1(Y.encodeStateVector(new Y.Doc()));

  const receive = (self: number, data: Buffer) => {
    const at = now();
    if (at >= schedule.measureFrom && at < schedule.measureTo && data[0] === 0 && data[1] === 2) messages++;
    forEachUpdateKey(data, (client, clock) => {
      const w = client - ID_BASE;
      if (w < 0 || w >= writers || w === self || clock >= capacity) return;
      const sent = Atomics.load(sendAt, w * capacity + clock);
      if (sent === 0 || sent < schedule.measureFrom || sent >= schedule.measureTo) return;
      if (n === latencies.length) {
        const grown = new Float64Array(latencies.length * 2);
        grown.set(latencies);
        latencies = grown;
      }
      latencies[n++] = (at - sent) / 1000;
    });
  };

  const connect = (spec: ClientSpec) =>
    new Promise<Client>((resolve, reject) => {
      const ws = new WebSocket(spec.url, { perMessageDeflate: false });
      ws.binaryType = 'nodebuffer';
      const doc = spec.writer >= 0 ? new Y.Doc() : null;
      if (doc) doc.clientID = ID_BASE + spec.writer;
      let synced = false;
      ws.once('error', reject);
      ws.on('close', () => {
        if (running) closed++;
        if (!synced) reject(new Error(`closed before sync: ${spec.url.replace(/token=.*/, 'token=…')}`));
      });
      ws.on('message', (data: Buffer) => {
        if (synced) {
          receive(spec.writer, data);
          return;
        }
        if (data[0] !== 0 || data[1] !== 1) return; // the server's sync step 1, awareness: not needed
        if (doc) {
          const message = decodeMessage(data);
          if (message.type === 'sync-step2') Y.applyUpdate(doc, message.update);
        }
        synced = true;
        const text = doc ? (shotsOf(doc).get(spec.writer % setup.shots).get('prompt') as Y.Text) : null;
        resolve({ ws, writer: spec.writer, text, doc });
      });
      ws.once('open', () => ws.send(doc ? encodeSyncStep1(Y.encodeStateVector(doc)) : emptyStep1));
    });

  const clients: Client[] = [];
  for (let i = 0; i < setup.clients.length; i += setup.concurrency) {
    clients.push(...(await Promise.all(setup.clients.slice(i, i + setup.concurrency).map(connect))));
  }
  parentPort!.postMessage({ type: 'ready' });
  schedule = await new Promise<Schedule>((resolve) => parentPort!.once('message', resolve));
  running = true;

  let sentMeasured = 0;
  let sentTotal = 0;
  const timers = new Set<NodeJS.Timeout>();
  const later = (fn: () => void, ms: number) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      fn();
    }, Math.max(0, ms));
    timers.add(timer);
  };
  for (const client of clients) {
    const { doc, text, ws, writer } = client;
    if (!doc || !text) continue;
    let clock = 0;
    doc.on('update', (update: Uint8Array) => {
      const t = now();
      if (clock < capacity) Atomics.store(sendAt, writer * capacity + clock, Math.max(1, Math.round(t)));
      clock++;
      sentTotal++;
      if (t >= schedule.measureFrom && t < schedule.measureTo) sentMeasured++;
      ws.send(encodeUpdate(update));
    });
    // Random phase, then a steady rate with jitter, like people typing.
    const interval = 1000 / setup.rate;
    const tick = () => {
      if (now() >= schedule.measureTo || clock >= capacity) return;
      text.insert(text.length, String.fromCharCode(97 + Math.floor(Math.random() * 26)));
      later(tick, interval * (0.5 + Math.random()));
    };
    later(tick, (schedule.typeAt - now()) / 1000 + Math.random() * interval);
  }

  const elu = await new Promise<number>((resolve) => {
    later(() => {
      const start = performance.eventLoopUtilization();
      later(() => resolve(performance.eventLoopUtilization(start).utilization), (schedule.measureTo - now()) / 1000);
    }, (schedule.measureFrom - now()) / 1000);
  });
  await new Promise((r) => later(() => r(null), (schedule.collectTo - now()) / 1000));
  running = false;
  for (const timer of timers) clearTimeout(timer);
  for (const { ws } of clients) ws.terminate();
  const result: ThreadResult = { latencies: latencies.slice(0, n), sentMeasured, sentTotal, messages, closed, elu };
  parentPort!.postMessage(result, [result.latencies.buffer as ArrayBuffer]);
}

if (!isMainThread && parentPort) {
  clientThread(workerData as Setup).catch((error: Error) => parentPort!.postMessage({ type: 'error', error: error.stack ?? String(error) }));
}
