/**
 * The bundle manifest (engine/BUNDLE.md), validated. The engine reads nothing else about a model,
 * so another bundle (a bigger model on a GPU host) needs no code change.
 */
import { PromptReader } from './reader.js';
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';

const Dim = z.union([z.number().int().positive(), z.string().min(1)]);
const TensorSpec = z.object({ dtype: z.enum(['float32', 'int64', 'uint8']), shape: z.array(Dim) });
const Graph = z.object({
  file: z.string().regex(/^[\w.-]+\.onnx$/),
  inputs: z.record(z.string(), TensorSpec),
  outputs: z.record(z.string(), TensorSpec),
  scale: z.number().int().positive().optional(),
});

/** One denoiser of a mixture of experts and the noise levels t (1 = pure noise) of the steps it takes: t_min ≤ t ≤ t_max. */
const Expert = z.object({ denoiser: z.string(), t_min: z.number().min(0).max(1), t_max: z.number().min(0).max(1) }).refine((e) => e.t_min <= e.t_max, 't_min is above t_max');

const Profile = z.object({
  /** The denoiser of every step, or (with `experts`) of a step no expert's range covers. */
  denoiser: z.string(),
  /** Several denoisers by noise level, one per step (Wan2.2's high- and low-noise experts). */
  experts: z.array(Expert).min(1).max(8).optional(),
  sampler: z.enum(['euler']),
  steps: z.number().int().min(1).max(200),
  guidance: z.number().min(0).max(30),
  shift: z.number().positive().max(20),
  upscalers: z.array(z.string()),
  size: z.tuple([z.number().int().positive(), z.number().int().positive()]),
});

export const ManifestSchema = z.object({
  format: z.literal(1),
  name: z.string().regex(/^[\w.-]{1,64}$/),
  frame: z.object({ width: z.number().int().positive(), height: z.number().int().positive() }),
  latent: z.object({ channels: z.number().int().positive(), width: z.number().int().positive(), height: z.number().int().positive() }),
  chunk: z.object({ frames: z.number().int().positive(), context: z.number().int().nonnegative() }),
  tokenizer: z.object({
    vocab: z.array(z.string()).min(4),
    max_length: z.number().int().min(3),
    pad_id: z.number().int().nonnegative(),
    unk_id: z.number().int().nonnegative(),
    bos_id: z.number().int().nonnegative(),
    eos_id: z.number().int().nonnegative(),
  }),
  graphs: z.record(z.string(), Graph),
  profiles: z.object({ preview: Profile, final: Profile }).catchall(Profile),
  sha256: z.record(z.string(), z.string().regex(/^[0-9a-f]{64}$/)).optional(),
});

export type Manifest = z.infer<typeof ManifestSchema>;
export type GraphSpec = z.infer<typeof Graph>;
export type ProfileSpec = z.infer<typeof Profile>;
export type ProfileName = 'preview' | 'final';

/** The denoiser of a step at noise level `t`: the first expert whose range holds it, else the profile's own. */
export function denoiserAt(profile: Pick<ProfileSpec, 'denoiser' | 'experts'>, t: number): string {
  return profile.experts?.find((e) => t >= e.t_min && t <= e.t_max)?.denoiser ?? profile.denoiser;
}

/** The graph I/O every bundle must have (BUNDLE.md); checked by name, not by shape. */
const REQUIRED_IO: Record<string, { inputs: string[]; outputs: string[] }> = {
  text_encoder: { inputs: ['input_ids'], outputs: ['context', 'pooled'] },
  denoiser: {
    inputs: ['x', 't', 'frame_time', 'context', 'context_mask', 'pooled', 'prev', 'prev_time', 'prev_valid'],
    outputs: ['velocity'],
  },
  decoder: { inputs: ['latent'], outputs: ['rgb'] },
  upscaler: { inputs: ['rgb'], outputs: ['rgb_up'] },
};

export class BundleError extends Error {
  override name = 'BundleError';
}

export interface Bundle {
  dir: string;
  manifest: Manifest;
  /** Hash of the manifest and every graph: part of every cache key, so a new bundle never hits old entries. */
  hash: string;
  /** The bundle's prompt reader (reader.json), or null when it brings none. */
  reader: PromptReader | null;
}

/** Reads and validates `dir/manifest.json` and checks that every graph it names is there and intact. */
export async function loadBundle(dir: string, options: { verifyHashes?: boolean } = {}): Promise<Bundle> {
  const file = path.join(dir, 'manifest.json');
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new BundleError(`cannot read ${file}: ${(error as Error).message}`);
  }
  const parsed = ManifestSchema.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new BundleError(`invalid manifest ${file}: ${issues}`);
  }
  const manifest = parsed.data;

  const need = (graph: string, role: keyof typeof REQUIRED_IO, why: string) => {
    const spec = manifest.graphs[graph];
    if (!spec) throw new BundleError(`manifest ${file}: ${why} names graph "${graph}", which is not in "graphs"`);
    const io = REQUIRED_IO[role]!;
    for (const name of io.inputs) if (!spec.inputs[name]) throw new BundleError(`graph "${graph}" (${role}) lacks input "${name}"`);
    for (const name of io.outputs) if (!spec.outputs[name]) throw new BundleError(`graph "${graph}" (${role}) lacks output "${name}"`);
  };
  need('text_encoder', 'text_encoder', 'the engine');
  need('decoder', 'decoder', 'the engine');
  for (const [name, profile] of Object.entries(manifest.profiles)) {
    need(profile.denoiser, 'denoiser', `profile "${name}"`);
    for (const expert of profile.experts ?? []) need(expert.denoiser, 'denoiser', `an expert of profile "${name}"`);
    for (const up of profile.upscalers) {
      need(up, 'upscaler', `profile "${name}"`);
      if (!manifest.graphs[up]!.scale) throw new BundleError(`upscaler graph "${up}" has no "scale"`);
    }
  }
  const { tokenizer } = manifest;
  for (const id of [tokenizer.pad_id, tokenizer.unk_id, tokenizer.bos_id, tokenizer.eos_id]) {
    if (id >= tokenizer.vocab.length) throw new BundleError(`tokenizer special id ${id} is outside the vocabulary`);
  }

  const hash = createHash('sha256').update(JSON.stringify(manifest));
  for (const [name, graph] of Object.entries(manifest.graphs)) {
    const graphFile = path.join(dir, graph.file);
    try {
      await stat(graphFile);
    } catch {
      throw new BundleError(`graph "${name}": file ${graphFile} is missing`);
    }
    const expected = manifest.sha256?.[graph.file];
    if (expected && options.verifyHashes !== false) {
      const actual = createHash('sha256').update(await readFile(graphFile)).digest('hex');
      if (actual !== expected) throw new BundleError(`graph "${name}": ${graph.file} does not match its sha256 in the manifest`);
    }
    hash.update(expected ?? graph.file);
  }
  // The prompt reader's lexicon decides what the model reads, so it is part of the bundle's hash.
  const reader = await PromptReader.load(dir, manifest.tokenizer.vocab);
  if (reader) hash.update(reader.text);
  return { dir, manifest, hash: hash.digest('hex').slice(0, 16), reader: reader?.reader ?? null };
}
