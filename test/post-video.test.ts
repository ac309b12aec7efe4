/**
 * The video side of post-production (server/post/video): captions as ASS, WebVTT and SRT; the
 * finished MP4 with transitions, burned and soft captions and audio, made by the real static
 * ffmpeg from small segments written with the render's own SegmentEncoder (1280x720, 8 fps).
 */
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Scene } from '../shared/scene.js';
import { planTimeline, type Timeline } from '../shared/timeline.js';
import { captionCues, captionLanguage, captionLayout, toAss, toSrt, toWebVtt, wrapCaption } from '../server/post/video/captions.js';
import { composeVideo, type ComposeInput } from '../server/post/video/compose.js';
import { decodeAll, frameRgb, packetHashes, probe, streams, topLevelBoxes, writeSegment, writeTone } from './helpers/media.js';

const FPS = 8;
const W = 1280;
const H = 720;

type ShotIn = { id: string; caption?: string; transition?: { type: 'cut' | 'crossfade' | 'fade-black' | 'slide-left' | 'slide-right'; duration: number } };
/** A timeline of 1 s shots (8 frames each) unless `frames` says otherwise. */
const timelineOf = (shots: ShotIn[], frames = shots.map(() => FPS)): Timeline =>
  planTimeline({ fps: FPS, shots: shots.map((s, i) => ({ prompt: 'p', duration: frames[i]! / FPS, camera: 'static', ...s })) as Scene['shots'] }, frames);

// ---------------------------------------------------------------------------------------------

describe('captions', () => {
  const NO_START = [...'，。！？、；：）》」』”'];

  it('wraps English at spaces into at most 2 balanced lines', () => {
    const text = 'The quick brown fox jumps over the lazy dog while the sun sets slowly behind the distant hills of the valley.';
    const { size, parts } = wrapCaption(text);
    expect(size).toBe(44);
    expect(parts).toHaveLength(1);
    const lines = parts[0]!;
    expect(lines).toHaveLength(2);
    expect(lines.join(' ')).toBe(text);
    for (const line of lines) expect(line).toBe(line.trim());
    expect(Math.abs(lines[0]!.length - lines[1]!.length)).toBeLessThan(12); // balanced, not greedy
    expect(wrapCaption('  Hello,\n  world  ').parts).toEqual([['Hello, world']]); // line breaks are ours to choose
  });

  it('wraps Chinese between characters and keeps closing punctuation off the start of a line', () => {
    const text = '清晨的阳光洒在古老的城墙上，远处传来钟声，一只白鹭从湖面上缓缓飞起，掠过平静的水面，飞向远方的山峦。';
    const lines = wrapCaption(text).parts[0]!;
    expect(lines).toHaveLength(2);
    expect(lines.join('')).toBe(text);
    // Wherever the break would fall, a mark never starts a line and an opening quote never ends one.
    for (let n = 20; n < 60; n++) {
      const sample = `${'字'.repeat(n)}，“引号”。${'文'.repeat(70 - n)}！`;
      const wrapped = wrapCaption(sample).parts.flat();
      expect(wrapped.join('')).toBe(sample);
      for (const line of wrapped) {
        expect(NO_START).not.toContain(line[0]);
        expect(line.at(-1)).not.toBe('“');
      }
    }
  });

  it('sets a long caption smaller, and splits a very long one into timed parts of 2 lines', () => {
    const medium = 'A longer caption that does not fit on two lines at the normal size of the captions, so it is set a little smaller instead of getting a third line under the other two.';
    const m = wrapCaption(medium);
    expect(m.size).toBeLessThan(44);
    expect(m.size).toBeGreaterThanOrEqual(36);
    expect(m.parts).toHaveLength(1);
    expect(m.parts[0]!.length).toBeLessThanOrEqual(2);

    const long = '春眠不觉晓，处处闻啼鸟。夜来风雨声，花落知多少。'.repeat(9).slice(0, 200);
    const l = wrapCaption(long);
    expect(l.size).toBe(36);
    expect(l.parts.length).toBeGreaterThan(1);
    for (const part of l.parts) expect(part.length).toBeLessThanOrEqual(2);
    expect(l.parts.flat().join('')).toBe(long);

    const timeline = timelineOf([{ id: 'a', caption: long }], [40]);
    const cues = captionCues(timeline);
    expect(cues.length).toBe(l.parts.length);
    expect(cues[0]!.start).toBe(0);
    expect(cues.at(-1)!.end).toBe(40);
    for (let i = 1; i < cues.length; i++) expect(cues[i]!.start).toBe(cues[i - 1]!.end);
  });

  it('escapes ASS specials: no override tag and no line break can be injected', () => {
    const timeline = timelineOf([{ id: 'a', caption: 'Red {\\c&H0000FF&}text\\Nbreak \\h } end\nnext line' }]);
    const ass = toAss(timeline);
    const dialogue = ass.split('\n').filter((l) => l.startsWith('Dialogue:'));
    expect(dialogue).toHaveLength(1);
    const text = dialogue[0]!.split(',').slice(9).join(',');
    expect(text).toBe('Red \\{\\c&H0000FF&\\}text＼Nbreak ＼h \\} end next line');
    expect(text.replace(/\\[{}]/g, '')).not.toMatch(/[{}]/); // every brace escaped
    expect(text).not.toMatch(/\\[Nnh]/);
    expect(ass).toMatch(/^PlayResX: 1280$/m);
    expect(ass).toMatch(/^PlayResY: 720$/m);
    expect(ass).toMatch(/^Style: Caption,Noto Sans SC Medium,44,/m);
  });

  it('writes the same cues as WebVTT and SRT, to the millisecond, escaped', () => {
    // a: 8 frames, crossfade of 4 into b: a's caption until b starts at frame 4; b's until c starts (12).
    const timeline = timelineOf([
      { id: 'a', caption: 'Fish & <chips> --> now', transition: { type: 'crossfade', duration: 0.5 } },
      { id: 'b', caption: '你好，世界！' },
      { id: 'c' },
    ]);
    expect(toWebVtt(timeline)).toBe('WEBVTT\n\n00:00:00.000 --> 00:00:00.500\nFish &amp; &lt;chips&gt; --&gt; now\n\n00:00:00.500 --> 00:00:01.500\n你好，世界！\n');
    expect(toSrt(timeline)).toBe('1\n00:00:00,000 --> 00:00:00,500\nFish & <\u2060chips> --> now\n\n2\n00:00:00,500 --> 00:00:01,500\n你好，世界！\n');
    // ASS (centiseconds): edges halfway between frames, so libass samples the right ones.
    expect(toAss(timeline)).toContain('Dialogue: 0,0:00:00.00,0:00:00.44,Caption,,0,0,0,,Fish & <chips> --> now\nDialogue: 0,0:00:00.44,0:00:01.44,Caption');
    expect(captionLanguage(timeline)).toBe('eng');
    expect(captionLanguage(timelineOf([{ id: 'a', caption: '你好，世界！' }]))).toBe('chi');
    expect(captionLanguage(timelineOf([{ id: 'a' }]))).toBeNull();
  });

  it('lays out 1080p too (margins and sizes follow the frame)', () => {
    expect(captionLayout(1920, 1080)).toMatchObject({ size: 66, minSize: 54, marginX: 96, marginV: 54 });
  });
});

// ---------------------------------------------------------------------------------------------

type Rgb = readonly [number, number, number];
const RED: Rgb = [230, 20, 20];
const BLUE: Rgb = [20, 20, 230];
const GREEN: Rgb = [20, 200, 20];
const GREY: Rgb = [110, 110, 110];

const px = (frame: Buffer, x: number, y: number): [number, number, number] => {
  const i = (y * W + x) * 3;
  return [frame[i]!, frame[i + 1]!, frame[i + 2]!];
};
const near = (a: readonly number[], b: readonly number[], tolerance = 24) => a.every((v, i) => Math.abs(v - b[i]!) <= tolerance);
/** Mean absolute difference of two frames over rows [y0, y1) and columns [x0, x1). */
function diff(a: Buffer, b: Buffer, y0: number, y1: number, x0 = 0, x1 = W): number {
  let sum = 0;
  for (let y = y0; y < y1; y++) for (let x = x0 * 3; x < x1 * 3; x++) sum += Math.abs(a[y * W * 3 + x]! - b[y * W * 3 + x]!);
  return sum / ((y1 - y0) * (x1 - x0) * 3);
}
const BAND = [Math.round(H * 0.8), H] as const;
/** Difference in the caption band (bottom 20%), across the middle half of the width. */
const band = (a: Buffer, b: Buffer) => diff(a, b, BAND[0], H, W / 4, (W * 3) / 4);
/** Two captions of as many characters (boxes would look alike). */
const CHINESE = [
  { id: 'zh1', caption: '你好世界' },
  { id: 'zh2', caption: '春眠不觉' },
];
const LATIN_ONLY_FONT = '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf';

describe('composeVideo', () => {
  let dir: string;
  const seg: Record<string, string> = {};

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'scenecast-post-video-'));
    await Promise.all(
      Object.entries({ red: RED, blue: BLUE, green: GREEN, grey: GREY }).map(async ([name, color]) => {
        seg[name] = await writeSegment(path.join(dir, `${name}.mp4`), { frames: FPS, fps: FPS, color });
      }),
    );
    seg.tone1 = await writeTone(path.join(dir, 'tone1.wav'), 1);
    seg.tone5 = await writeTone(path.join(dir, 'tone5.wav'), 5);
  }, 60_000);
  afterAll(() => rm(dir, { recursive: true, force: true }));

  let runs = 0;
  const compose = (input: Partial<ComposeInput> & Pick<ComposeInput, 'segments' | 'timeline' | 'captions'>) => {
    const n = runs++;
    return composeVideo({ audio: null, size: [W, H], fps: FPS, workDir: path.join(dir, `work-${n}`), out: path.join(dir, `out-${n}.mp4`), ...input });
  };

  it('the fast path (cuts, soft captions) copies the video packets and adds AAC and a mov_text track, moov first', async () => {
    const timeline = timelineOf([{ id: 'a', caption: 'First shot' }, { id: 'b' }, { id: 'c', caption: 'Third shot' }]);
    const result = await compose({ segments: [seg.red!, seg.blue!, seg.green!], timeline, captions: 'soft', audio: seg.tone5! });
    expect(result).toMatchObject({ frames: 24, seconds: 3, reencoded: false });
    const info = await streams(result.file);
    expect(info.map((s) => `${s.type}:${s.codec}`)).toEqual(['video:h264', 'audio:aac', 'subtitle:mov_text']);
    expect(info[0]).toMatchObject({ width: W, height: H, pixFmt: 'yuv420p', profile: 'High' });
    expect(info[2]!.language).toBe('eng');
    expect(Math.abs(info[0]!.duration - 3)).toBeLessThanOrEqual(1 / FPS);
    expect(Math.abs(info[1]!.duration - info[0]!.duration)).toBeLessThanOrEqual(1 / FPS); // the 5 s tone was cut
    expect(await decodeAll(result.file)).toBe(24);
    // Not re-encoded: the packets are the segments', byte for byte, but for the SPS and PPS that
    // the join repeats in each segment's first keyframe (as joinSegments does).
    const segments = [seg.red!, seg.blue!, seg.green!];
    const bare = { withoutParameterSets: true };
    expect(await packetHashes(result.file, bare)).toEqual((await Promise.all(segments.map((s) => packetHashes(s, bare)))).flat());
    const [copied, original] = [await packetHashes(result.file), (await Promise.all(segments.map((s) => packetHashes(s)))).flat()];
    expect(copied.filter((_, i) => i % FPS !== 0)).toEqual(original.filter((_, i) => i % FPS !== 0));
    const boxes = topLevelBoxes(await readFile(result.file));
    expect(boxes.indexOf('moov')).toBeGreaterThan(-1);
    expect(boxes.indexOf('moov')).toBeLessThan(boxes.indexOf('mdat'));
    // Scratch files are gone, the partial file too.
    await expect(stat(`${result.file}.partial.mp4`)).rejects.toThrow();
  });

  it('burns English and Chinese captions into the picture (glyphs, not boxes), inside the safe area, with no soft track', async () => {
    const longZh = '清晨的阳光洒在古老的城墙上，远处传来钟声，一只白鹭从湖面上缓缓飞起，掠过平静的水面，飞向远方的山峦。';
    const longEn = 'A longer caption that does not fit on two lines at the normal size of the captions, so it is set a little smaller instead of getting a third line under the other two. More words here.';
    const timeline = timelineOf([
      { id: 'none' },
      { id: 'en', caption: '{\\c&H0000FF&}Hello, world' }, // an injected colour tag would draw red text
      ...CHINESE,
      { id: 'long-zh', caption: longZh },
      { id: 'long-en', caption: longEn },
    ]);
    const result = await compose({ segments: timeline.shots.map(() => seg.grey!), timeline, captions: 'burn' });
    expect(result).toMatchObject({ frames: 48, reencoded: true });
    const info = await streams(result.file);
    expect(info.map((s) => `${s.type}:${s.codec}`)).toEqual(['video:h264']);
    expect(info[0]).toMatchObject({ width: W, height: H, pixFmt: 'yuv420p', profile: 'High' });
    expect((await probe(result.file)).frames).toBe(48);
    const [none, en, zh1, zh2, ...long] = await Promise.all([4, 12, 20, 28, 36, 44].map((n) => frameRgb(result.file, n)));
    expect(band(none!, en!)).toBeGreaterThan(3);
    expect(band(none!, zh1!)).toBeGreaterThan(1.5);
    expect(band(zh1!, zh2!)).toBeGreaterThan(1.5); // different characters drawn differently: not boxes
    expect(diff(none!, en!, 0, BAND[0])).toBe(0); // nothing above the band
    // The injected tag stayed text: white letters with a dark outline, nothing red.
    let red = 0;
    for (let y = BAND[0]; y < H; y++) for (let x = 0; x < W; x++) {
      const [r, g, b] = px(en!, x, y);
      if (r > g + 60 && r > b + 60) red++;
    }
    expect(red).toBe(0);
    // The long captions: two lines (two runs of text rows), none of it in the side margins (64 px).
    for (const frame of long) {
      const rows = Array.from({ length: H }, (_, y) => diff(none!, frame!, y, y + 1) > 1);
      expect(rows.filter((on, y) => on && !rows[y - 1]).length).toBe(2);
      expect(diff(none!, frame!, 0, H, 0, 56)).toBe(0);
      expect(diff(none!, frame!, 0, H, W - 56, W)).toBe(0);
    }
  });

  it.skipIf(!existsSync(LATIN_ONLY_FONT))('(the check above fails for boxes: with a font without Chinese, two Chinese captions look the same)', async () => {
    const fontsDir = path.join(dir, 'latin-only');
    await mkdir(fontsDir, { recursive: true });
    await copyFile(LATIN_ONLY_FONT, path.join(fontsDir, path.basename(LATIN_ONLY_FONT)));
    const timeline = timelineOf([{ id: 'none' }, ...CHINESE]);
    const result = await compose({ segments: timeline.shots.map(() => seg.grey!), timeline, captions: 'burn', fontsDir });
    const [none, zh1, zh2] = await Promise.all([4, 12, 20].map((n) => frameRgb(result.file, n)));
    expect(band(none!, zh1!)).toBeGreaterThan(1.5); // something (boxes) is drawn …
    expect(band(zh1!, zh2!)).toBeLessThan(0.5); // … the same for any character
  });

  it('crossfades: a mid-overlap frame mixes both shots, the video is shorter by the overlap; audio padded; both caption kinds', async () => {
    const timeline = timelineOf([{ id: 'a', caption: '第一个镜头', transition: { type: 'crossfade', duration: 0.5 } }, { id: 'b', caption: '第二个镜头' }]);
    expect(timeline.frames).toBe(12);
    const result = await compose({ segments: [seg.red!, seg.blue!], timeline, captions: 'both', audio: seg.tone1! });
    const info = await streams(result.file);
    expect(info.map((s) => `${s.type}:${s.codec}`)).toEqual(['video:h264', 'audio:aac', 'subtitle:mov_text']);
    expect(info[2]!.language).toBe('chi');
    expect(Math.abs(info[0]!.duration - 1.5)).toBeLessThanOrEqual(1 / FPS);
    expect(Math.abs(info[1]!.duration - 1.5)).toBeLessThanOrEqual(1 / FPS); // the 1 s tone was padded
    expect(await decodeAll(result.file)).toBe(12);
    const frames = await Promise.all([3, 5, 6, 8].map((n) => frameRgb(result.file, n)));
    expect(near(px(frames[0]!, 640, 360), RED)).toBe(true); // before the overlap: A
    for (const mid of [frames[1]!, frames[2]!]) {
      const [r, , b] = px(mid, 640, 360);
      expect(r).toBeGreaterThan(50);
      expect(r).toBeLessThan(205);
      expect(b).toBeGreaterThan(50);
      expect(b).toBeLessThan(205);
    }
    expect(px(frames[1]!, 640, 360)[0]).toBeGreaterThan(px(frames[2]!, 640, 360)[0]); // fading towards B
    expect(near(px(frames[3]!, 640, 360), BLUE)).toBe(true); // after it: B
  });

  it('slides: the halves of a mid-overlap frame come from different shots (slide-left: B from the right; slide-right: from the left)', async () => {
    const timeline = timelineOf([
      { id: 'a', transition: { type: 'slide-left', duration: 0.5 } },
      { id: 'b', transition: { type: 'slide-right', duration: 0.5 } },
      { id: 'c' },
    ]);
    expect(timeline.frames).toBe(16);
    const result = await compose({ segments: [seg.red!, seg.blue!, seg.green!], timeline, captions: 'off' });
    expect(result).toMatchObject({ frames: 16, reencoded: true });
    expect((await streams(result.file)).map((s) => s.type)).toEqual(['video']);
    expect((await probe(result.file)).frames).toBe(16);
    // Overlap a→b is frames 4-7, b→c frames 8-11; at the 2nd of 4 the window has moved by 2/5.
    const [left, right] = await Promise.all([5, 9].map((n) => frameRgb(result.file, n)));
    expect(near(px(left!, 100, 360), RED)).toBe(true);
    expect(near(px(left!, 1180, 360), BLUE)).toBe(true);
    expect(near(px(right!, 100, 360), GREEN)).toBe(true);
    expect(near(px(right!, 1180, 360), BLUE)).toBe(true);
    const edge = (frame: Buffer) => Array.from({ length: W - 1 }, (_, x) => x).find((x) => !near(px(frame, x, 360), px(frame, x + 1, 360), 60));
    expect(edge(left!)).toBeGreaterThan(700); // A's right 3/5 (768 px) still showing
    expect(edge(left!)).toBeLessThan(840);
  });

  it('fades through black without shortening the video: the frames at the boundary are black', async () => {
    const timeline = timelineOf([{ id: 'a', transition: { type: 'fade-black', duration: 0.5 } }, { id: 'b' }]);
    expect(timeline.frames).toBe(16);
    const result = await compose({ segments: [seg.red!, seg.blue!], timeline, captions: 'off' });
    const info = await streams(result.file);
    expect(Math.abs(info[0]!.duration - 2)).toBeLessThanOrEqual(1 / FPS);
    expect((await probe(result.file)).frames).toBe(16);
    const frames = await Promise.all([5, 6, 7, 8, 9, 10].map((n) => frameRgb(result.file, n)));
    const [r5, r6, r7, r8, r9, r10] = frames.map((f) => px(f, 640, 360));
    expect(near(r5!, RED)).toBe(true);
    expect(r6![0]).toBeGreaterThan(60); // fading
    expect(r6![0]).toBeLessThan(180);
    expect(Math.max(...r7!)).toBeLessThan(24); // A's last frame: black
    expect(Math.max(...r8!)).toBeLessThan(24); // B's first frame: black
    expect(r9![2]).toBeGreaterThan(60);
    expect(r9![2]).toBeLessThan(180);
    expect(near(r10!, BLUE)).toBe(true);
  });

  it('refuses segments shorter than the timeline says, leaving no file', async () => {
    const timeline = timelineOf([{ id: 'a' }, { id: 'b' }], [8, 10]);
    const out = path.join(dir, 'short.mp4');
    await expect(compose({ segments: [seg.red!, seg.blue!], timeline, captions: 'off', out })).rejects.toThrow(/16 frames where the timeline has 18/);
    await expect(stat(out)).rejects.toThrow();
    await expect(compose({ segments: [seg.red!], timeline, captions: 'off' })).rejects.toThrow(/1 segments for 2 shots/);
  });

  it('stops ffmpeg when aborted', async () => {
    const timeline = timelineOf([{ id: 'a', caption: 'x', transition: { type: 'crossfade', duration: 0.5 } }, { id: 'b' }]);
    const controller = new AbortController();
    const composing = compose({ segments: [seg.red!, seg.blue!], timeline, captions: 'burn', signal: controller.signal });
    controller.abort(new Error('cancelled'));
    await expect(composing).rejects.toThrow('cancelled');
  });
});
