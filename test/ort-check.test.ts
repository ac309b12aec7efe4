/**
 * engine/training/ort_check.ts, the training side's check of an exported bundle, runs the engine's own pipeline:
 * it passes on the bundled model and fails, naming the check, when a fixture disagrees with what the engine makes.
 */
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkBundle } from '../engine/training/ort_check.js';
import { BUNDLE_DIR } from './helpers/engine.js';

describe('ort_check', () => {
  let scratch: string;
  beforeAll(async () => {
    scratch = await mkdtemp(path.join(os.tmpdir(), 'ort-check-'));
  });
  afterAll(() => rm(scratch, { recursive: true, force: true }));

  it('finds the bundled model in parity with its PyTorch fixtures', async () => {
    const report = await checkBundle(BUNDLE_DIR, { threads: 1, log: () => {} });
    expect(report.checks.filter((c) => !c.ok)).toEqual([]);
    expect(report.ok).toBe(true);
    const names = report.checks.map((c) => c.name);
    for (const name of ['tokenizer', 'noise', 'windows', 'reference preview latents', 'reference preview frames', 'reference final latents', 'reference final frames', 'reference upscaler_x4', 'reference upscaler_x5']) {
      expect(names).toContain(name);
    }
    for (const c of report.checks) if (c.diff !== undefined && !c.name.endsWith('rgb8')) expect(c.diff, c.name).toBeLessThan(1e-4);
    expect(report.lines.at(-1)).toMatch(/^parity: ok/);
  }, 60_000);

  it('fails, naming the checks, where the fixtures disagree with the engine', async () => {
    const dir = path.join(scratch, 'tampered');
    await cp(BUNDLE_DIR, dir, { recursive: true });
    const fixtures = path.join(dir, 'fixtures');
    // one token id of one tokenizer fixture, and one value of the final profile's reference frames
    const tok = JSON.parse(await readFile(path.join(fixtures, 'tokenizer.json'), 'utf8'));
    tok.pairs[0].ids[1] += 1;
    await writeFile(path.join(fixtures, 'tokenizer.json'), JSON.stringify(tok));
    const ref = JSON.parse(await readFile(path.join(fixtures, 'reference.json'), 'utf8'));
    const bin = await readFile(path.join(fixtures, ref.bin));
    const at = ref.profiles.final.frames.offset + 4 * 100;
    bin.writeFloatLE(bin.readFloatLE(at) + 0.01, at);
    await writeFile(path.join(fixtures, ref.bin), bin);

    const report = await checkBundle(dir, { threads: 1, log: () => {} });
    expect(report.ok).toBe(false);
    expect(report.checks.filter((c) => !c.ok).map((c) => c.name).sort()).toEqual(['reference final frames', 'tokenizer']);
    expect(report.lines.at(-1)).toMatch(/^parity: FAILED \(tokenizer, reference final frames\)/);
  }, 60_000);
});
