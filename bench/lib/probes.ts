/**
 * What the collaboration benchmark reads besides latencies: this disk's fdatasync, the whole
 * machine's CPU (others share it), a Redis server's CPU, and a scenecast node's own metrics.
 */
import { closeSync, fdatasyncSync, openSync, rmSync, writeSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { processCpuSeconds, summarize } from './report.js';

/**
 * One append + fdatasync, `count` times, on a small file in `dir` (ms each): what the embedded
 * store pays per group commit (its log also grows by one small frame per update).
 */
export function measureFdatasync(dir: string, count = 200): { median: number; p95: number } {
  const file = path.join(dir, 'fdatasync-probe.bin');
  const fd = openSync(file, 'a');
  const frame = Buffer.alloc(48, 7);
  const samples: number[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const t0 = performance.now();
      writeSync(fd, frame);
      fdatasyncSync(fd);
      samples.push(performance.now() - t0);
    }
  } finally {
    closeSync(fd);
    rmSync(file, { force: true });
  }
  const s = summarize(samples);
  return { median: s.p50, p95: s.p95 };
}

/** Busy and total CPU seconds of the whole machine so far (all cores), from /proc/stat. */
export async function machineCpuSeconds(): Promise<{ busy: number; total: number }> {
  const line = (await readFile('/proc/stat', 'utf8')).split('\n')[0]!;
  const [user, nice, system, idle, iowait, irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number) as number[];
  const busy = user! + nice! + system! + irq! + softirq! + steal!;
  return { busy: busy / 100, total: (busy + idle! + iowait!) / 100 };
}

/** CPU seconds of a process, or NaN when it cannot be read (another machine, no permission). */
export const cpuSecondsOrNaN = (pid: number | null): Promise<number> => (pid ? processCpuSeconds(pid).catch(() => Number.NaN) : Promise.resolve(Number.NaN));

/** The values of the named metrics (summed over their labels) in a scenecast node's /metrics. */
export async function scrapeMetrics(port: number, names: string[]): Promise<Record<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const out: Record<string, number> = {};
  for (const name of names) out[name] = 0;
  for (const line of text.split('\n')) {
    const m = /^([a-z_:]+)(?:\{[^}]*\})? ([-\d.eE+]+|NaN)$/.exec(line);
    if (m && m[1]! in out) out[m[1]!]! += Number(m[2]);
  }
  return out;
}
