/**
 * The bundled prompt reader (engine/bundle/reader.ts + engine/models/shapes-v1/reader.json): free
 * phrasing in both languages mapped to the model's words, camera words, ignored words, known
 * prompts unchanged; POST /api/prompts/read; and the engine generating from the reading (a
 * paraphrase makes the frames of its reading, and a camera phrase moves the camera).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadBundle, type PromptReader } from '../engine/index.js';
import { Tokenizer } from '../engine/pipeline/tokenizer.js';
import { BUNDLE_DIR, sharedEngine } from './helpers/engine.js';
import { startServer } from './helpers/server.js';

async function reader(): Promise<{ reader: PromptReader; tokenizer: Tokenizer }> {
  const bundle = await loadBundle(BUNDLE_DIR);
  expect(bundle.reader).not.toBeNull();
  return { reader: bundle.reader!, tokenizer: new Tokenizer(bundle.manifest.tokenizer) };
}

describe('the prompt reader', () => {
  it('maps English synonyms and word forms to the words the model knows, and lists what it ignores', async () => {
    const { reader: r, tokenizer } = await reader();
    expect(r.read('A crimson orb wanders slowly across the meadow')).toEqual({ reading: 'a red ball moves slowly on the grass', ignored: [], camera: null });
    expect(r.read('a blue cube ascends').reading).toBe('a blue box moves up');
    expect(r.read('a star plunges at dusk').reading).toBe('a star moves down at sunset');
    expect(r.read('two violet spheres are twirling')).toEqual({ reading: 'purple ball spinning', ignored: ['two'], camera: null });
    expect(r.read('balls hopping').reading).toBe('ball hopping');
    expect(r.read('a silver car drives down a city street')).toMatchObject({ reading: 'a grey down', ignored: ['car', 'drives', 'city', 'street'] });
    // An article whose noun is not understood goes with it; one whose noun comes after an ignored word stays.
    expect(r.read('a crimson orb wanders past a car')).toEqual({ reading: 'a red ball moves', ignored: ['past', 'car'], camera: null });
    expect(r.read('a crimson orb near the car, slowly').reading).toBe('a red ball, slowly');
    expect(r.read('a shiny crimson orb').reading).toBe('a red ball');
    // Every word of a reading is one the model knows.
    for (const prompt of ['A crimson orb wanders slowly across the meadow', 'a silver car drives down a city street', 'the golden pyramid soars swiftly into the heavens']) {
      expect(tokenizer.unknownWords(r.read(prompt).reading), prompt).toEqual([]);
    }
  });

  it('keeps a verb’s form, puts the words into the model’s phrasing, and makes a / an agree', async () => {
    const { reader: r } = await reader();
    // A synonym of a verb comes in the form the word had: base (two objects, as the captions have it), -s, -ing.
    expect(r.read('a plum orb and a lime crate float upward').reading).toBe('a purple ball and a green box move up');
    expect(r.read('a plum orb floats upward').reading).toBe('a purple ball moves up');
    expect(r.read('a plum orb floating upward').reading).toBe('a purple ball moving up');
    expect(r.read('a plum orb floated upward').reading).toBe('a purple ball moves up');
    expect(r.read('a cube and a disc remain motionless').reading).toBe('a box and a circle stay still');
    expect(r.read('the pearly wedge is stationary').reading).toBe('the white triangle stays still');
    // A leap is the model's bounce (its 'jumps' comes only as 'jumps up and down').
    expect(r.read('a tangerine crate leaps').reading).toBe('an orange box bounces');
    // …and a bounce 'up and down' is its 'jumps up and down' (else the 'and' reads as a second object).
    expect(r.read('a jade disc springs up and down').reading).toBe('a green circle jumps up and down');
    expect(r.read('two orbs bouncing up and down').reading).toContain('jumping up and down');
    expect(r.read('a cube and a disc bounce up and down').reading).toBe('a box and a circle jump up and down');
    expect(r.read('a ball moves up and down').reading).toBe('a ball jumps up and down');
    expect(r.read('一个球上下移动').reading).toBe('一个球上下跳动');
    // Where the words put a background, it comes as the captions say it.
    expect(r.read('in a pasture, a jade tile').reading).toBe('on the grass, a green square');
    expect(r.read('a ruby orb soars into the heavens').reading).toBe('a red ball moves up in the sky');
    expect(r.read('a ruby orb beneath the heavens').reading).toBe('a red ball in the sky');
    expect(r.read('a ruby orb during the sundown').reading).toBe('a red ball at sunset');
    expect(r.read('a ruby orb in the midnight').reading).toBe('a red ball at night');
    // a / an agree with the word that follows in the reading, not in the prompt.
    expect(r.read('an amber orb on an empty backdrop').reading).toBe('a yellow ball on a plain background');
    expect(r.read('a tangerine disc and a shiny emerald orb').reading).toBe('an orange circle and a green ball');
    // Chinese: a pentagram is the model's 五角星, other star marks its 星形 (its captions never have 星 alone).
    expect(r.read('一个红色五芒星').reading).toBe('一个红色五角星');
    expect(r.read('一个柠檬黄色星标和一个金色星状物').reading).toBe('一个黄色星形和一个黄色星形');
    // The model's own phrasing is left as it is.
    for (const known of ['a red ball on the grass', 'a blue box in the night sky', 'a star bounces at night', 'a ball and a box stay still on grass']) {
      expect(r.read(known).reading).toBe(known);
    }
  });

  it('reads words WordNet gives for what the model knows (the English side is derived from it)', async () => {
    const { reader: r } = await reader();
    expect(r.read('a ruddy ball meanders at nightfall').reading).toBe('a red ball moves at sunset');
    expect(r.read('a bluish star gyrates').reading).toBe('a blue star spins');
    expect(r.read('a yellowish circle ricochets').reading).toBe('a yellow circle bounces');
    expect(r.read('the ball skyrockets').reading).toBe('the ball moves up');
    // Shades of the colours and the star's kin, from WordNet's colour and plane-figure nouns.
    expect(r.read('a turquoise pentagram and a canary tile').reading).toBe('a blue star and a yellow square');
    expect(r.read('a vermilion hexagram lifts off after dark').reading).toBe('a red star moves up at night');
    expect(r.read('a mauve orb stays put on a blank backdrop').reading).toBe('a purple ball stays still on a plain background');
  });

  it('reads Chinese phrasing the same way, and leaves a prompt of known words as it is', async () => {
    const { reader: r, tokenizer } = await reader();
    expect(r.read('一个红色的小球升起').reading).toBe('一个红色的小球向上移动');
    expect(r.read('蓝色的立方体坠落').reading.replace(/\s+/g, '')).toBe('蓝色的方块向下移动');
    expect(r.read('星星在夜空中打转').reading.replace(/\s+/g, '')).toBe('星星在夜空中旋转');
    expect(r.read('一辆汽车').ignored).toEqual(['辆', '汽', '车']);
    // Shades, shapes, motions, speeds and backgrounds said another way; 星空 is the night sky, not a star.
    expect(r.read('一个橘黄色楔形徐徐地往右边挪，星空下').reading.replace(/\s+/g, '')).toBe('一个橙色三角形慢慢地往右移动,夜空下');
    expect(r.read('一个天蓝色方砖飞速地腾起，日暮时分').reading.replace(/\s+/g, '')).toBe('一个蓝色方块快速地向上移动,日落时');
    // One pass: what a phrase reads as is not read again (静止不动, not 静止 + 不动 → 保持静止).
    expect(r.read('一个草绿色圆点静静地待着').reading.replace(/\s+/g, '')).toBe('一个绿色圆静止不动');
    // Every held-out prompt (the world's captions, in both languages) reads as it is written: no phrase or camera
    // pattern rewrites a caption phrase the model was trained on (慢慢地, 变小, 往上升, 向右移动...).
    for (const set of ['heldout.json', 'heldout-parallel.json']) {
      const { prompts } = JSON.parse(await readFile(path.join(import.meta.dirname, '..', 'engine', 'eval', set), 'utf8')) as { prompts: { prompt: string }[] };
      const changed = prompts.filter((p) => { const got = r.read(p.prompt); return got.camera !== null || got.ignored.length > 0 || tokenizer.encode(got.reading).join() !== tokenizer.encode(p.prompt).join(); });
      expect(changed.map((p) => p.prompt), set).toEqual([]);
    }
    for (const known of ['a red ball moves right quickly on the grass', '一个蓝色的方块在天空中慢慢向上移动', 'a white star spins at night', '一个红色的球快速地向右移动', '一个黄的球慢慢地往上升']) {
      const reading = r.read(known);
      expect(reading).toEqual({ reading: known, ignored: [], camera: null });
      expect(tokenizer.encode(reading.reading)).toEqual(tokenizer.encode(known));
    }
  });

  it('takes camera words out of the text and into the camera move', async () => {
    const { reader: r } = await reader();
    expect(r.read('a red ball, the camera pans left')).toEqual({ reading: 'a red ball', ignored: [], camera: 'pan-left' });
    expect(r.read('zoom in slowly on a green box')).toMatchObject({ reading: 'on a green box', camera: 'zoom-in' });
    expect(r.read('the camera pulls back from a star').camera).toBe('zoom-out');
    expect(r.read('镜头推进，一个红色的球')).toMatchObject({ camera: 'zoom-in' });
    // An object that moves is not the camera that moves: 镜头 or 摇 says it is the camera.
    expect(r.read('一个红色的球向右移动').camera).toBeNull();
    expect(r.read('镜头向右移动，一个红色的球')).toMatchObject({ camera: 'pan-right', reading: '一个红色的球' });
    expect(r.read('向左摇，一个蓝色的方块').camera).toBe('pan-left');
    expect(r.read('镜头拉远').camera).toBe('zoom-out');
    expect(r.read('镜头向左摇，蓝色的方块').camera).toBe('pan-left');
    expect(r.read('a ball moves left').camera).toBeNull();
  });

  it('answers POST /api/prompts/read for any token of a room, and refuses without one', async () => {
    const s = await startServer();
    const room = await s.createRoom();
    const read = (token: string | null, body: unknown) =>
      fetch(`${s.url}/api/prompts/read`, { method: 'POST', headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: JSON.stringify(body) });
    const res = await read(room.tokens.overlay, { text: 'a crimson orb, the camera pans right' });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ reading: 'a red ball', ignored: [], camera: 'pan-right' });
    expect((await read(null, { text: 'a ball' })).status).toBe(401);
    const long = await read(room.tokens.editor, { text: 'x'.repeat(501) });
    expect(long.status).toBe(400);
    expect(((await long.json()) as { error: { code: string } }).error.code).toBe('INVALID_BODY');
  });

  it('the engine generates from the reading: a paraphrase makes its reading’s frames, and camera words move a static shot', async () => {
    const engine = await sharedEngine();
    const frames = async (prompt: string, camera: 'static' | 'pan-left' = 'static') => {
      const out: Uint8Array[] = [];
      for await (const f of engine.generate({ prompt, negative: '', seed: 7, duration: 0.5, fps: 16, camera }, { profile: 'preview' })) out.push(f.rgb);
      return out;
    };
    const paraphrase = await frames('A crimson orb wanders across the meadow');
    const reading = await frames('a red ball moves the grass');
    expect(paraphrase.map((f) => Buffer.from(f).toString('base64'))).toEqual(reading.map((f) => Buffer.from(f).toString('base64')));
    const unread = await frames('a xyzzy qwerty');
    expect(Buffer.compare(Buffer.from(unread[0]!), Buffer.from(reading[0]!))).not.toBe(0);
    const byWords = await frames('a red ball, the camera pans left');
    const byChoice = await frames('a red ball', 'pan-left');
    expect(byWords.map((f) => Buffer.from(f).toString('base64'))).toEqual(byChoice.map((f) => Buffer.from(f).toString('base64')));
  }, 60_000);
});
