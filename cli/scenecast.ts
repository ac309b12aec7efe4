/**
 * scenecast CLI.
 *
 *   scenecast render SCENE.json --out clip.mp4 [--template ID] [--seed N] [--preview]
 *                    [--captions burn|soft|both|off] [--music FILE|BED|none] [--loudness=-14|-16|-23]
 *                    [--cache DIR] [--bundle DIR]
 *
 * Renders a scene file without a server, with the same engine, shot cache, post-production
 * (captions, narration, music, transitions, loudness) and encoder as the service. Progress is a
 * bar on a terminal and plain lines otherwise; post-production's warnings are printed.
 */
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { EnginePool } from '../engine/index.js';
import { ScenecastError } from '../shared/errors.js';
import { validateScene } from '../shared/scene.js';
import { MUSIC_BEDS } from '../shared/post.js';
import { TEMPLATES } from '../shared/templates.js';
import { contentPolicy } from '../server/policy/content-policy.js';
import { moderateScene, renderScene, type RenderProgressEvent } from '../server/render/render-scene.js';
import { ShotCache } from '../server/render/shot-cache.js';
import { probeAudio } from '../server/post/audio/assets.js';
import { Narrator } from '../server/post/audio/tts.js';
import { PostProduction } from '../server/post/post-production.js';

const USAGE = `usage: scenecast render SCENE.json --out clip.mp4 [--template ID] [--seed N] [--preview]
                 [--captions burn|soft|both|off] [--music FILE|BED|none] [--loudness=-14|-16|-23] [--cache DIR] [--bundle DIR]
templates: ${TEMPLATES.map((t) => t.id).join(', ')}
music beds: ${MUSIC_BEDS.map((b) => b.id).join(', ')}`;

function fail(message: string, code = 2): never {
  process.stderr.write(`scenecast: ${message}\n`);
  process.exit(code);
}

async function render(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      out: { type: 'string', short: 'o' },
      template: { type: 'string' },
      seed: { type: 'string' },
      preview: { type: 'boolean', default: false },
      cache: { type: 'string', default: path.join(process.env.DATA_DIR ?? './data', 'cache', 'shots') },
      bundle: { type: 'string' },
      captions: { type: 'string' },
      music: { type: 'string' },
      loudness: { type: 'string' },
    },
  });
  const [input] = positionals;
  if (!input || !values.out) fail(USAGE);
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(await readFile(input, 'utf8')) as Record<string, unknown>;
  } catch (error) {
    fail(`cannot read ${input}: ${(error as Error).message}`);
  }
  if (values.template !== undefined) {
    if (!TEMPLATES.some((t) => t.id === values.template)) fail(`unknown template "${values.template}"\n${USAGE}`);
    json.template = values.template;
  }
  if (values.seed !== undefined) json.seed = Number(values.seed);
  if (values.captions !== undefined) json.captions = values.captions;
  if (values.loudness !== undefined) json.loudness = Number(values.loudness);
  // --music: a bundled bed by name, none, or an audio file (probed like an upload).
  let musicFile: string | undefined;
  if (values.music !== undefined) {
    if (values.music === 'none' || MUSIC_BEDS.some((b) => b.id === values.music)) json.music = values.music;
    else {
      musicFile = path.resolve(values.music);
      try {
        await probeAudio(musicFile);
      } catch (error) {
        fail(`--music ${values.music}: ${(error as Error).message}`);
      }
      json.music = 'none';
    }
  }
  const validated = validateScene(json);
  if (!validated.ok) fail(validated.issues.map((i) => `${i.code}: ${i.message}`).join('\n'));
  const scene = validated.value;

  const tty = process.stderr.isTTY;
  const total = scene.shots.length;
  let shotIndex = 0;
  const started = performance.now();
  const onProgress = (event: RenderProgressEvent) => {
    if (event.stage === 'generate' && event.shot) {
      shotIndex = scene.shots.findIndex((s) => s.id === event.shot) + 1;
      const note = event.cached ? ' (cached)' : '';
      if (tty) {
        const width = 30;
        const filled = Math.round((event.done / event.total) * width);
        process.stderr.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] shot ${shotIndex}/${total} ${event.shot}: ${event.done}/${event.total} frames${note}   `);
      } else if (event.done === event.total) {
        process.stderr.write(`shot ${shotIndex}/${total} ${event.shot}: ${event.total} frames${note}\n`);
      }
    } else if (event.stage === 'join') {
      process.stderr.write(`${tty ? '\n' : ''}joining ${total} shots\n`);
    } else if (event.stage === 'post') {
      process.stderr.write(`${tty ? '\n' : ''}post-production: captions ${scene.captions}, loudness ${scene.loudness} LUFS\n`);
    }
    for (const warning of event.warnings ?? []) process.stderr.write(`warning: ${warning}\n`);
  };

  const engine = await EnginePool.start(values.bundle ? { bundleDir: path.resolve(values.bundle) } : {});
  const cache = await ShotCache.openFolder(path.resolve(values.cache!), 2 * 1024 ** 3);
  const workDir = await mkdtemp(path.join(os.tmpdir(), 'scenecast-cli-'));
  const dataCache = path.resolve(values.cache!, '..');
  // The pieces and soundtracks beside the shots, so a second run after a caption edit encodes only what changed.
  const parts = await ShotCache.openFolder(path.join(dataCache, 'parts'), 1024 ** 3);
  const post = new PostProduction({ narrator: new Narrator({ cacheDir: path.join(dataCache, 'tts') }), bedsDir: path.join(dataCache, 'beds'), assets: null, parts, ...(musicFile ? { musicFile } : {}) });
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort());
  try {
    // The same content policy as the service's.
    await moderateScene(scene, contentPolicy());
    const result = await renderScene(scene, {
      engine,
      cache,
      workDir,
      profile: values.preview ? 'preview' : 'final',
      signal: controller.signal,
      onProgress,
      ...(values.preview ? {} : { post }),
    });
    if (result.captions !== null) {
      const vtt = path.resolve(values.out!).replace(/\.mp4$/i, '') + '.vtt';
      await writeFile(vtt, result.captions);
      process.stderr.write(`wrote ${vtt}\n`);
    }
    await copyFile(result.file, path.resolve(values.out!));
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    process.stderr.write(`wrote ${values.out} (${result.frames} frames, ${result.seconds.toFixed(2)} s of video) in ${seconds} s\n`);
  } catch (error) {
    if (error instanceof ScenecastError) fail(`${error.code}: ${error.message}`, 1);
    fail((error as Error).message, 1);
  } finally {
    await cache.flush();
    await parts.flush();
    await post.close();
    await engine.close();
    await rm(workDir, { recursive: true, force: true });
  }
}

const [command, ...rest] = process.argv.slice(2);
if (command === 'render') await render(rest);
else fail(USAGE);
