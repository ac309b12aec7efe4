import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '..');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    return statSync(full).isDirectory() ? sources(full) : name.endsWith('.ts') ? [full] : [];
  });
}

/** The project modules `file` imports (resolved, relative to the repository). */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/(?:import|export)\s[^;]*?from\s+'(\.[^']+)'/g)].map((m) => path.relative(ROOT, path.resolve(path.dirname(file), m[1]!)));
}

const server = sources(path.join(ROOT, 'server'));
const rel = (f: string) => path.relative(ROOT, f);

describe('the shape of the code', () => {
  it('has no import cycle, TypeScript or Python (scripts/check-cycles.mjs, engine/training/check_imports.py)', () => {
    const ts = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'check-cycles.mjs')], { encoding: 'utf8' });
    expect(ts.status, ts.stdout).toBe(0);
    const py = spawnSync('python3', [path.join(ROOT, 'engine', 'training', 'check_imports.py')], { encoding: 'utf8' });
    if (py.error) return; // no Python on this machine: the training code is not run here either
    expect(py.status, py.stdout + py.stderr).toBe(0);
  });

  it('reaches the engine only through its public entry', () => {
    const offenders = server.flatMap((f) => importsOf(f).filter((i) => i.startsWith('engine/') && i !== 'engine/index.js').map((i) => `${rel(f)} → ${i}`));
    expect(offenders).toEqual([]);
  });

  it('keeps the flows apart: ports import no adapter, preview and realtime not each other, shared nothing of the others', () => {
    const offenders: string[] = [];
    for (const file of server) {
      const from = rel(file);
      for (const to of importsOf(file)) {
        const bad =
          (from.startsWith('server/ports/') && /^server\/(embedded|scale|backends)\//.test(to)) ||
          (from.startsWith('server/preview/') && to.startsWith('server/realtime/')) ||
          (from.startsWith('server/realtime/') && to.startsWith('server/preview/')) ||
          (!/^server\/(backends|embedded|scale)\//.test(from) && !['server/app.ts', 'server/worker.ts'].includes(from) && to.startsWith('server/scale/'));
        if (bad) offenders.push(`${from} → ${to}`);
      }
    }
    for (const file of sources(path.join(ROOT, 'shared'))) {
      for (const to of importsOf(file)) if (!to.startsWith('shared/')) offenders.push(`${rel(file)} → ${to}`);
    }
    expect(offenders).toEqual([]);
  });
});
