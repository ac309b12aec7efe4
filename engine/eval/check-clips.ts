// CLI of the shapes checker: per-attribute accuracy of a clip set.
//   npx tsx engine/eval/check-clips.ts CLIPS.json [--json OUT.json] [--world engine/eval/world.json] [--breakdown] [--verbose]
// --breakdown: on one-object clips, the shape seen for each shape asked for and the accuracy per motion;
// --verbose: that and a line per clip with a wrong attribute.
// CLIPS.json (format "scenecast-clips-1", see engine/eval/README.md) names a .bin of uint8 RGB frames and, per clip,
// its size, frame count, byte offset, language and expected attributes.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { analyseClip, scoreClip, summarise, ATTRIBUTES } from './checker.js';
import type { Analysis, Clip, Expected, Score, Summary, World } from './checker.js';

export interface ClipEntry {
  id: string;
  prompt?: string;
  lang: string;
  width: number;
  height: number;
  frames: number;
  offset: number;
  expected: Expected;
  tags?: string[];
}
export interface ClipSet { format: string; bin: string; clips: ClipEntry[] }

export function loadWorld(file?: string): World {
  const here = path.dirname(fileURLToPath(import.meta.url));
  return JSON.parse(fs.readFileSync(file ?? path.join(here, 'world.json'), 'utf8')) as World;
}

export function loadClips(jsonFile: string): { set: ClipSet; clip: (e: ClipEntry) => Clip } {
  const set = JSON.parse(fs.readFileSync(jsonFile, 'utf8')) as ClipSet;
  const bin = fs.readFileSync(path.join(path.dirname(jsonFile), set.bin));
  const clip = (e: ClipEntry): Clip => {
    const size = e.width * e.height * 3;
    const frames = Array.from({ length: e.frames }, (_, j) => new Uint8Array(bin.buffer, bin.byteOffset + e.offset + j * size, size));
    return { width: e.width, height: e.height, frames };
  };
  return { set, clip };
}

export interface Report {
  overall: Summary;
  byLanguage: Record<string, Summary>;
  byTag: Record<string, Summary>;
  clips: { id: string; lang: string; prompt?: string; tags: string[]; expected: Expected; analysis: Analysis; score: Score }[];
}

export function checkSet(world: World, jsonFile: string): Report {
  const { set, clip } = loadClips(jsonFile);
  const rows = set.clips.map((e) => {
    const analysis = analyseClip(world, clip(e));
    return { id: e.id, lang: e.lang, prompt: e.prompt, tags: e.tags ?? [], expected: e.expected, analysis, score: scoreClip(e.expected, analysis) };
  });
  const group = (key: (r: (typeof rows)[number]) => string[]) => {
    const m: Record<string, Score[]> = {};
    for (const r of rows) for (const k of key(r)) (m[k] ??= []).push(r.score);
    return Object.fromEntries(Object.entries(m).map(([k, v]) => [k, summarise(v)]));
  };
  return { overall: summarise(rows.map((r) => r.score)), byLanguage: group((r) => [r.lang]), byTag: group((r) => r.tags), clips: rows };
}

export function formatTable(rep: Report): string {
  const cols = [...ATTRIBUTES, 'speed'] as const;
  const head = ['set', 'clips', ...cols, 'attrs right', 'all right'];
  const line = (name: string, s: Summary) => [name, String(s.clips), ...cols.map((c) => s.perAttribute[c].toFixed(1)), s.attributesRight.toFixed(1), s.allRight.toFixed(1)];
  const body = [line('all', rep.overall), ...Object.entries(rep.byLanguage).map(([k, s]) => line(`lang=${k}`, s)), ...Object.entries(rep.byTag).map(([k, s]) => line(`tag=${k}`, s))];
  const w = head.map((h, i) => Math.max(h.length, ...body.map((r) => (r[i] ?? '').length)));
  const fmt = (r: string[]) => '| ' + r.map((c, i) => c.padStart(w[i] ?? 0)).join(' | ') + ' |';
  return [fmt(head), '|' + w.map((n) => '-'.repeat(n + 2)).join('|') + '|', ...body.map(fmt)].join('\n') +
    '\n(attrs right = mean share of background, count, colour, shape, motion right; speed is reported apart, over clips whose motion has a speed)';
}

/**
 * Where shape and motion go wrong, on the one-object clips: the shape seen for each shape asked for, and the shape
 * and motion accuracy for each motion asked for (a spinning outline and a shape are judged from the same pixels).
 */
export function formatBreakdown(rep: Report): string {
  const single = rep.clips.filter((c) => c.expected.count === 1 && c.analysis.count === 1);
  const shapes = [...new Set(single.map((c) => c.expected.objects[0]!.shape))].sort();
  const seen = [...new Set(single.map((c) => c.analysis.objects[0]!.shape))].sort();
  const lines = [`one-object clips: ${single.length} (count right); shape asked (rows) -> shape seen (columns)`, `| asked | ${seen.join(' | ')} | right |`];
  for (const want of shapes) {
    const rows = single.filter((c) => c.expected.objects[0]!.shape === want);
    const n = (got: string) => rows.filter((c) => c.analysis.objects[0]!.shape === got).length;
    lines.push(`| ${want} | ${seen.map(n).join(' | ')} | ${((100 * n(want)) / rows.length).toFixed(0)}% |`);
  }
  lines.push('', '| motion asked | clips | shape right | motion right |');
  for (const motion of [...new Set(single.map((c) => c.expected.motion))].sort()) {
    const rows = single.filter((c) => c.expected.motion === motion);
    const pct = (k: 'shape' | 'motion') => `${((100 * rows.filter((c) => c.score[k]).length) / rows.length).toFixed(0)}%`;
    lines.push(`| ${motion} | ${rows.length} | ${pct('shape')} | ${pct('motion')} |`);
  }
  return lines.join('\n');
}

function main(argv: string[]): void {
  const file = argv.find((a) => !a.startsWith('--') && argv[argv.indexOf(a) - 1] !== '--json' && argv[argv.indexOf(a) - 1] !== '--world');
  if (!file) {
    console.error('usage: check-clips.ts CLIPS.json [--json OUT.json] [--world world.json] [--breakdown] [--verbose]');
    process.exit(2);
  }
  const opt = (k: string) => { const i = argv.indexOf(k); return i >= 0 ? argv[i + 1] : undefined; };
  const world = loadWorld(opt('--world'));
  const rep = checkSet(world, file);
  console.log(formatTable(rep));
  if (argv.includes('--verbose') || argv.includes('--breakdown')) console.log(`\n${formatBreakdown(rep)}\n`);
  if (argv.includes('--verbose')) {
    for (const c of rep.clips) {
      const bad = [...ATTRIBUTES].filter((k) => !c.score[k]);
      if (bad.length) console.log(`${c.id} [${bad.join(',')}] ${c.prompt ?? ''} :: bg=${c.analysis.background} n=${c.analysis.count} ${c.analysis.objects.map((o) => `${o.colour}/${o.shape}(${o.shapeScore.toFixed(2)})/${o.motion}/${o.speed} dx=${o.features.dx.toFixed(2)} dy=${o.features.dy.toFixed(2)} wob=${o.features.wobble.toFixed(2)} sc=${o.features.scale.toFixed(2)} rot=${o.features.rotation.toFixed(0)} b=${o.features.bounces}`).join(' ; ')}`);
    }
  }
  const out = opt('--json');
  if (out) fs.writeFileSync(out, JSON.stringify({ summary: { overall: rep.overall, byLanguage: rep.byLanguage, byTag: rep.byTag }, clips: rep.clips }, null, 1));
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main(process.argv.slice(2));
