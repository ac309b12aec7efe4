/**
 * A mixture of experts (DESIGN.md, "Engine and model bundle"): a profile may name several
 * denoisers with the noise range each serves, and the sampler runs one of them per step. A
 * fixture bundle is made from the bundled one with the final profile split between its two
 * denoisers at t = 0.5: its frames differ from both single-denoiser runs, and match a run whose
 * ranges put every step on one of them.
 */
import { cp, readFile, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { denoiserAt } from '../engine/bundle/manifest.js';
import { generateShot } from '../engine/pipeline/generate.js';
import { EngineModel } from '../engine/pipeline/model.js';
import { BUNDLE_DIR } from './helpers/engine.js';
import { tempDir } from './helpers/server.js';

/** A copy of the bundled model's folder (graphs linked) with the final profile's `experts` set (null: none). */
async function bundleWith(experts: { denoiser: string; t_min: number; t_max: number }[] | null, denoiser = 'final_denoiser'): Promise<string> {
  const dir = await tempDir('scenecast-experts-');
  const manifest = JSON.parse(await readFile(path.join(BUNDLE_DIR, 'manifest.json'), 'utf8')) as { profiles: Record<string, Record<string, unknown>>; graphs: Record<string, { file: string }> };
  for (const graph of Object.values(manifest.graphs)) await symlink(path.resolve(BUNDLE_DIR, graph.file), path.join(dir, graph.file));
  await cp(path.join(BUNDLE_DIR, 'reader.json'), path.join(dir, 'reader.json'));
  manifest.profiles.final!.denoiser = denoiser;
  if (experts) manifest.profiles.final!.experts = experts;
  else delete manifest.profiles.final!.experts; // one denoiser (the bundle's final profile has two experts)
  await writeFile(path.join(dir, 'manifest.json'), JSON.stringify(manifest));
  return dir;
}

const shot = { prompt: 'a red ball moves right on the grass', negative: '', seed: 11, duration: 0.5, fps: 16, camera: 'static' as const };

async function baseFrames(dir: string): Promise<string[]> {
  const model = await EngineModel.load(dir, { threads: 1 });
  try {
    const out: string[] = [];
    for await (const f of generateShot(model, shot, { profile: 'final', raw: true })) out.push(Buffer.from(f.base!.buffer).toString('base64'));
    return out;
  } finally {
    await model.dispose();
  }
}

describe('experts', () => {
  it('picks a step’s denoiser by its noise level, the first range that holds it, else the profile’s', () => {
    const profile = { denoiser: 'base', experts: [{ denoiser: 'high', t_min: 0.6, t_max: 1 }, { denoiser: 'low', t_min: 0, t_max: 0.6 }] };
    expect([1, 0.9, 0.6, 0.59, 0.1, 0].map((t) => denoiserAt(profile, t))).toEqual(['high', 'high', 'high', 'low', 'low', 'low']);
    expect(denoiserAt({ denoiser: 'base', experts: [{ denoiser: 'high', t_min: 0.5, t_max: 1 }] }, 0.2)).toBe('base');
    expect(denoiserAt({ denoiser: 'base' }, 0.7)).toBe('base');
  });

  it('switches denoisers at the boundary the manifest names, one per step', async () => {
    const split = await baseFrames(await bundleWith([{ denoiser: 'final_denoiser', t_min: 0.5, t_max: 1 }, { denoiser: 'preview_denoiser', t_min: 0, t_max: 0.5 }]));
    const onlyFinal = await baseFrames(await bundleWith(null, 'final_denoiser'));
    const onlyPreview = await baseFrames(await bundleWith(null, 'preview_denoiser'));
    expect(split).toHaveLength(onlyFinal.length);
    expect(split).not.toEqual(onlyFinal);
    expect(split).not.toEqual(onlyPreview);
    // Ranges that give every step to one denoiser make exactly its frames.
    expect(await baseFrames(await bundleWith([{ denoiser: 'preview_denoiser', t_min: 0, t_max: 1 }]))).toEqual(onlyPreview);
    expect(await baseFrames(await bundleWith([{ denoiser: 'preview_denoiser', t_min: 0, t_max: 0.01 }], 'final_denoiser'))).toEqual(onlyFinal);
  }, 120_000);

  it('refuses a manifest whose expert names a graph it does not have', async () => {
    const dir = await bundleWith([{ denoiser: 'low_noise_expert', t_min: 0, t_max: 0.5 }]);
    await expect(EngineModel.load(dir)).rejects.toThrow(/expert of profile "final" names graph "low_noise_expert"/);
  });
});
