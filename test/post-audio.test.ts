/**
 * The audio side of post-production (server/post/audio): text to speech, music beds, uploaded
 * audio (probe, store, HTTP), the mix and its loudness. Real espeak-ng, ffmpeg and ffprobe; the
 * clips are a few seconds long to keep the CPU time small.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ScenecastError } from '../shared/errors.js';
import { ASSET_ID_PATTERN, VOICES } from '../shared/post.js';
import { LocalBlobStore } from '../server/embedded/local-blob-store.js';
import { registerErrorHandling } from '../server/http/errors.js';
import { assetsPlugin } from '../server/post/audio/asset-routes.js';
import { AssetStore, probeAudio } from '../server/post/audio/assets.js';
import { BED_SPECS, bedFile, bedSeconds } from '../server/post/audio/beds.js';
import { mixAudio, placeNarrations, type MixNarration, type MixPlan } from '../server/post/audio/mix.js';
import { boundaryOf, MultipartFile } from '../server/post/audio/multipart.js';
import { cleanNarration, Narrator, pickVoice, type Narration } from '../server/post/audio/tts.js';
import { ffmpegPath } from '../server/render/ffmpeg.js';
import { decodeAudio, ebur128, probeAudioStream, rmsDb } from './helpers/media.js';
import { fetchWithin, onCleanup, startServer } from './helpers/server.js';

const exec = promisify(execFile);
const ffmpeg = (...args: string[]) => exec(ffmpegPath(), ['-hide_banner', '-loglevel', 'error', '-y', ...args]);

let dir: string;
let narrator: Narrator;
let english: Narration;
let mandarin: Narration;
let calm: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'scenecast-audio-'));
  narrator = new Narrator({ cacheDir: path.join(dir, 'tts') });
  [english, mandarin, calm] = await Promise.all([
    narrator.synthesize('A quiet harbour at dawn, the boats still asleep.'),
    narrator.synthesize('清晨的港口很安静，小船还在睡觉。'),
    bedFile('calm', path.join(dir, 'beds')),
  ]);
}, 60_000);

afterAll(async () => {
  await narrator?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('text to speech', () => {
  it('speaks English and Mandarin into WAVs of a plausible length, the voice chosen by the language', async () => {
    expect(english.voice).toBe('en-us');
    expect(mandarin.voice).toBe('cmn');
    for (const [said, words] of [[english, 9], [mandarin, 15]] as const) {
      const info = await probeAudioStream(said.file);
      expect(info.codec).toBe('pcm_s16le');
      expect(info.duration).toBeCloseTo(said.seconds, 2);
      // 9 English words or 15 Chinese characters: between 1.5 and 7 s of speech.
      expect(said.seconds, `${words} units`).toBeGreaterThan(1.5);
      expect(said.seconds).toBeLessThan(7);
      const samples = await decodeAudio(said.file, { rate: 22_050 });
      expect(rmsDb(samples, 0, said.seconds, 22_050)).toBeGreaterThan(-35);
    }
  });

  it('picks the voice by the language of the text and the scene setting', () => {
    expect(pickVoice('Hello there', { en: 'en-gb', zh: 'cmn+f3' })).toBe('en-gb');
    expect(pickVoice('你好，世界', { en: 'en-gb', zh: 'cmn+f3' })).toBe('cmn+f3');
    // A voice of the other language is not used: Mandarin text with an English voice gets Mandarin.
    expect(pickVoice('你好，世界', 'en-us+f3')).toBe('cmn');
    expect(pickVoice('Hello there', 'cmn')).toBe('en-us');
    expect(pickVoice('Hello there', null)).toBe('en-us');
  });

  it('a second call is a cache hit, with no synthesis, and the cache outlives the narrator', async () => {
    // Behaviour, not time (speed is for bench/): a hit reads the cached WAV and never starts espeak-ng.
    const before = narrator.stats();
    const again = await narrator.synthesize('A quiet harbour at dawn, the boats still asleep.');
    expect(again).toMatchObject({ file: english.file, cached: true });
    expect(again.seconds).toBeCloseTo(english.seconds, 6);
    expect(narrator.stats()).toMatchObject({ hits: before.hits + 1, misses: before.misses });
    const other = new Narrator({ cacheDir: path.join(dir, 'tts') });
    onCleanup(() => other.close());
    expect(await other.synthesize('A quiet harbour at dawn,\nthe boats  still asleep.')).toMatchObject({ file: english.file, cached: true });
  });

  it('every voice speaks, each differently', async () => {
    const made = await Promise.all(VOICES.map((v) => narrator.synthesize(v.lang === 'zh' ? '你好，欢迎。' : 'Hello and welcome.', v.id)));
    made.forEach((m, i) => expect(m.voice).toBe(VOICES[i]!.id));
    expect(new Set(made.map((m) => m.file)).size).toBe(VOICES.length);
    const bytes = await Promise.all(made.map((m) => readFile(m.file)));
    expect(new Set(bytes.map((b) => b.toString('base64'))).size).toBe(VOICES.length);
    for (const m of made) expect(m.seconds).toBeGreaterThan(0.4);
  });

  it('reads options and markup in the text as words', async () => {
    // As argv, "--help" would print espeak-ng's help and write no audio; with SSML on, the break would last 10 s.
    const option = await narrator.synthesize('--help -v cmn -w /etc/passwd');
    expect(option.voice).toBe('en-us');
    expect(option.seconds).toBeGreaterThan(1);
    const ssml = await narrator.synthesize('<speak>Hi <break time="10s"/> there</speak>');
    expect(ssml.seconds).toBeLessThan(8);
    expect(cleanNarration('a\u0001 50S\u0000b\r\nc\u200bd')).toBe('a 50S b c d');
  });

  it('keeps the cache under its byte bound, least recently used first', async () => {
    // Each of these WAVs is about 30 KB: two fit under the bound, three do not.
    const small = new Narrator({ cacheDir: path.join(dir, 'tts-small'), maxBytes: 70_000 });
    onCleanup(() => small.close());
    const first = await small.synthesize('One.');
    const second = await small.synthesize('Two.');
    expect((await small.synthesize('One.')).cached).toBe(true); // used again: now the newest
    const third = await small.synthesize('Three.');
    const files = await readdir(path.join(dir, 'tts-small'));
    const sizes = await Promise.all(files.map((f) => stat(path.join(dir, 'tts-small', f)).then((s) => s.size)));
    expect(sizes.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(70_000);
    expect(files).toContain(path.basename(third.file));
    expect(files).toContain(path.basename(first.file));
    expect(files).not.toContain(path.basename(second.file));
  });
});

describe('music beds', () => {
  it.each(Object.keys(BED_SPECS) as (keyof typeof BED_SPECS)[])('%s: 48 kHz stereo, 30-60 s of whole bars, audible, loops without a click', async (id) => {
    const file = await bedFile(id, path.join(dir, 'beds'));
    const info = await probeAudioStream(file);
    expect(info).toMatchObject({ codec: 'pcm_s16le', sampleRate: 48_000, channels: 2 });
    const { bpm, bars, meter } = BED_SPECS[id];
    expect(info.duration).toBeCloseTo((bars * meter * 60) / bpm, 3);
    expect(info.duration).toBeGreaterThanOrEqual(30);
    expect(info.duration).toBeLessThanOrEqual(60);

    // The seam: the step from the last sample to the first, and the bend there (second difference),
    // are no bigger than those around it; a loop cut anywhere but at a seamless point jumps.
    const wav = await readFile(file);
    const frames = (wav.length - 44) / 4;
    const at = (frame: number, ch: number) => wav.readInt16LE(44 + (((frame % frames) + frames) % frames) * 4 + ch * 2) / 32768;
    const around = 240; // 5 ms each side
    const step = (f: number, ch: number) => Math.abs(at(f + 1, ch) - at(f, ch));
    const bend = (f: number, ch: number) => Math.abs(at(f + 1, ch) - 2 * at(f, ch) + at(f - 1, ch));
    for (const ch of [0, 1]) {
      let steps = 0;
      let bends = 0;
      for (let f = -around; f < around; f++) {
        steps += step(f, ch);
        bends += bend(f, ch);
      }
      const lsb = 2 / 32768;
      expect(step(-1, ch), `channel ${ch}: the step across the seam`).toBeLessThanOrEqual((3 * steps) / (2 * around) + lsb);
      expect(Math.max(bend(-1, ch), bend(0, ch)), `channel ${ch}: the bend at the seam`).toBeLessThanOrEqual((4 * bends) / (2 * around) + lsb);
    }
    const mono = await decodeAudio(file);
    expect(rmsDb(mono, 0, info.duration)).toBeGreaterThan(-30);
    expect(rmsDb(mono, 0, info.duration)).toBeLessThan(-12);
  });

  it('is made once: the second call returns the file as it is', async () => {
    const before = await stat(calm);
    expect(await bedFile('calm', path.join(dir, 'beds'))).toBe(calm);
    const after = await stat(calm);
    expect({ ino: after.ino, mtimeMs: after.mtimeMs }).toEqual({ ino: before.ino, mtimeMs: before.mtimeMs });
    expect(bedSeconds('calm')).toBe(48);
  });
});

describe('uploaded audio: probeAudio', () => {
  let media: string;
  beforeAll(async () => {
    media = path.join(dir, 'media');
    await exec('mkdir', ['-p', media]);
    const m = (name: string) => path.join(media, name);
    await ffmpeg('-f', 'lavfi', '-i', 'sine=f=440:d=1:r=44100', '-ac', '2', m('tone.wav'));
    await ffmpeg('-i', m('tone.wav'), '-c:a', 'libmp3lame', '-b:a', '128k', m('tone.mp3'));
    await ffmpeg('-i', m('tone.wav'), '-c:a', 'aac', '-b:a', '128k', m('tone.m4a'));
    await ffmpeg('-f', 'lavfi', '-i', 'testsrc=d=1:s=160x120:r=10', '-pix_fmt', 'yuv420p', '-c:v', 'libx264', m('video.mp4'));
    await ffmpeg('-f', 'lavfi', '-i', 'testsrc=d=1:s=64x64', '-frames:v', '1', m('image.png'));
    await ffmpeg('-f', 'lavfi', '-i', 'anullsrc=r=8000:cl=mono', '-t', '3700', '-c:a', 'pcm_u8', m('long.wav'));
    await writeFile(m('notes.txt'), 'Shot one: a harbour at dawn.\nShot two: the boats wake up.\n');
    await writeFile(m('empty.wav'), '');
    // A playlist naming a local file: must not be followed (no playlists at all).
    await writeFile(m('list.m3u8'), `#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\n${m('tone.wav')}\n#EXT-X-ENDLIST\n`);
  }, 60_000);

  it('accepts WAV, MP3 and AAC', async () => {
    for (const [name, codec] of [['tone.wav', 'pcm_s16le'], ['tone.mp3', 'mp3'], ['tone.m4a', 'aac']] as const) {
      const info = await probeAudio(path.join(media, name));
      expect(info, name).toMatchObject({ codec, channels: 2, sampleRate: 44_100 });
      expect(info.seconds).toBeGreaterThan(0.95);
      expect(info.seconds).toBeLessThan(1.1);
    }
  });

  it.each(['image.png', 'notes.txt', 'video.mp4', 'empty.wav', 'list.m3u8', 'long.wav', 'missing.wav'])('refuses %s with ASSET_NOT_AUDIO', async (name) => {
    const refusal = await probeAudio(path.join(media, name)).then(
      () => null,
      (error: unknown) => error,
    );
    expect(refusal).toBeInstanceOf(ScenecastError);
    expect(refusal).toMatchObject({ code: 'ASSET_NOT_AUDIO', status: 415 });
  });
});

describe('multipart bodies', () => {
  it('streams out the file part whole however the body is cut into chunks', async () => {
    const boundary = '----scenecastBoundary7MA4YWxkTrZu0gW';
    // Bytes that hold pieces of the delimiter, CRs and LFs: they must come out as they went in.
    const file = Buffer.concat([Buffer.from(`\r\n--${boundary.slice(0, 10)}\r\n\r\n--`), Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 7919) % 256)), Buffer.from(`\r\n--${boundary.slice(0, -1)}`)]);
    const body = Buffer.concat([
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="title"\r\n\r\nmy song\r\n`),
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="song.wav"\r\nContent-Type: audio/wav\r\n\r\n`),
      file,
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    expect(boundaryOf(`multipart/form-data; boundary=${boundary}`)).toBe(boundary);
    expect(boundaryOf(`multipart/form-data; boundary="${boundary}"`)).toBe(boundary);
    let seed = 7;
    for (const size of [1, 2, 3, 7, 64, 1000, 0]) {
      const parser = new MultipartFile(boundary);
      const out: Buffer[] = [];
      parser.on('data', (chunk: Buffer) => out.push(chunk));
      const finished = new Promise((resolve, reject) => parser.on('end', resolve).on('error', reject));
      for (let at = 0; at < body.length; ) {
        seed = (seed * 1103515245 + 12345) % 2 ** 31;
        const n = size || 1 + (seed % 300); // 0: random sizes
        parser.write(body.subarray(at, at + n));
        at += n;
      }
      parser.end();
      await finished;
      expect(Buffer.concat(out).equals(file), `chunks of ${size || 'random size'}`).toBe(true);
      expect(parser.filename).toBe('song.wav');
      expect(parser.contentType).toBe('audio/wav');
    }
  });

  it('fails a body without the file field, or with the file part cut off', async () => {
    const run = (body: string) =>
      new Promise((resolve, reject) => {
        const parser = new MultipartFile('b');
        parser.on('data', () => {}).on('end', resolve).on('error', reject);
        parser.end(Buffer.from(body));
      });
    await expect(run('--b\r\nContent-Disposition: form-data; name="other"\r\n\r\nx\r\n--b--\r\n')).rejects.toMatchObject({ code: 'INVALID_BODY' });
    await expect(run('--b\r\nContent-Disposition: form-data; name="file"; filename="a.wav"\r\n\r\nRIFF....')).rejects.toMatchObject({ code: 'INVALID_BODY' });
  });
});

describe('uploaded audio: HTTP', () => {
  const MAX = 1536 * 1024;
  // Uint8Array<ArrayBuffer>: what fetch and Blob take.
  let tone: Uint8Array<ArrayBuffer>;
  let big: Uint8Array<ArrayBuffer>;
  let png: Uint8Array<ArrayBuffer>;
  beforeAll(async () => {
    const m = (name: string) => path.join(dir, 'media-http', name);
    await exec('mkdir', ['-p', path.join(dir, 'media-http')]);
    await ffmpeg('-f', 'lavfi', '-i', 'sine=f=330:d=1', '-ac', '1', m('tone.wav'));
    // 5 s of 48 kHz stereo: 0.9 MiB, over the app's 256 KiB JSON body limit, under MAX.
    await ffmpeg('-f', 'lavfi', '-i', 'sine=f=220:d=5:r=48000', '-ac', '2', m('big.wav'));
    await ffmpeg('-f', 'lavfi', '-i', 'testsrc=d=1:s=64x64', '-frames:v', '1', m('image.png'));
    [tone, big, png] = (await Promise.all(['tone.wav', 'big.wav', 'image.png'].map((f) => readFile(m(f))))).map((b) => new Uint8Array(b)) as [Uint8Array<ArrayBuffer>, Uint8Array<ArrayBuffer>, Uint8Array<ArrayBuffer>];
  });

  /** The real server (rooms, tokens, room access) and a small app with the assets plugin over its context. */
  async function setup(): Promise<{ url: string; room: string; editor: string; viewer: string; blobs: string; assets: AssetStore }> {
    const server = await startServer();
    const { room, tokens } = await server.createRoom();
    const blobs = path.join(server.dataDir, 'assets');
    const assets = new AssetStore(new LocalBlobStore(blobs));
    const app: FastifyInstance = Fastify({ bodyLimit: 256 * 1024 });
    registerErrorHandling(app);
    await app.register(assetsPlugin, { ctx: server.app.scenecast, assets, maxBytes: MAX });
    await app.listen({ port: 0, host: '127.0.0.1' });
    onCleanup(() => app.close());
    const address = app.server.address();
    if (!address || typeof address === 'string') throw new Error('no address');
    return { url: `http://127.0.0.1:${address.port}/api/rooms/${room}/assets`, room, editor: tokens.editor, viewer: tokens.viewer, blobs, assets };
  }

  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

  it('takes a WAV as the raw body and as multipart, larger than the app body limit, and lists them', async () => {
    const s = await setup();
    const raw = await fetchWithin(`${s.url}?name=${encodeURIComponent('../ocean waves.wav')}`, { method: 'POST', headers: { ...bearer(s.editor), 'content-type': 'audio/wav' }, body: big });
    expect(raw.status).toBe(201);
    const { asset } = (await raw.json()) as { asset: { id: string; name: string; seconds: number; codec: string; bytes: number; room: string } };
    expect(asset.id).toMatch(ASSET_ID_PATTERN);
    expect(asset).toMatchObject({ name: 'ocean waves.wav', codec: 'pcm_s16le', bytes: big.length, room: s.room });
    expect(asset.seconds).toBeCloseTo(5, 1);
    expect((await readFile(await s.assets.file(s.room, asset.id))).equals(Buffer.from(big))).toBe(true);

    const form = new FormData();
    form.append('title', 'a field before the file');
    form.append('file', new Blob([tone], { type: 'audio/wav' }), 'tone.wav');
    const multi = await fetchWithin(s.url, { method: 'POST', headers: bearer(s.editor), body: form });
    expect(multi.status).toBe(201);
    const second = ((await multi.json()) as { asset: { id: string; name: string; bytes: number } }).asset;
    expect(second).toMatchObject({ name: 'tone.wav', bytes: tone.length });

    const octet = await fetchWithin(s.url, { method: 'POST', headers: { ...bearer(s.editor), 'content-type': 'application/octet-stream' }, body: tone });
    expect(octet.status).toBe(201);

    const list = await fetchWithin(`${s.url}?token=${s.viewer}`);
    expect(list.status).toBe(200);
    const { assets } = (await list.json()) as { assets: { id: string }[] };
    expect(assets.map((a) => a.id)).toEqual([asset.id, second.id, ((await octet.json()) as { asset: { id: string } }).asset.id]);
  });

  it('refuses a PNG (415 ASSET_NOT_AUDIO), other content types, a viewer token (403), and keeps nothing', async () => {
    const s = await setup();
    const asPng = await fetchWithin(s.url, { method: 'POST', headers: { ...bearer(s.editor), 'content-type': 'audio/wav' }, body: png });
    expect(asPng.status).toBe(415);
    expect(((await asPng.json()) as { error: { code: string } }).error.code).toBe('ASSET_NOT_AUDIO');
    const form = new FormData();
    form.append('file', new Blob([png], { type: 'image/png' }), 'image.png');
    const pngForm = await fetchWithin(s.url, { method: 'POST', headers: bearer(s.editor), body: form });
    expect(pngForm.status).toBe(415);
    const json = await fetchWithin(s.url, { method: 'POST', headers: { ...bearer(s.editor), 'content-type': 'application/json' }, body: '{"file":"x"}' });
    expect(json.status).toBe(415);
    expect(((await json.json()) as { error: { code: string } }).error.code).toBe('ASSET_NOT_AUDIO');
    const viewer = await fetchWithin(s.url, { method: 'POST', headers: { ...bearer(s.viewer), 'content-type': 'audio/wav' }, body: tone });
    expect(viewer.status).toBe(403);
    expect(((await viewer.json()) as { error: { code: string } }).error.code).toBe('ROLE_FORBIDDEN');
    const none = await fetchWithin(s.url, { method: 'POST', headers: { 'content-type': 'audio/wav' }, body: tone });
    expect(none.status).toBe(401);
    expect(await s.assets.list(s.room)).toEqual([]);
    expect(await readdir(path.join(s.blobs, '.scratch')).catch(() => [])).toEqual([]);
  });

  it('stops a body larger than maxBytes with 413 ASSET_TOO_LARGE, declared or streamed', async () => {
    const s = await setup();
    const over = new Uint8Array(Buffer.concat([big, big]));
    const declared = await fetchWithin(s.url, { method: 'POST', headers: { ...bearer(s.editor), 'content-type': 'audio/wav' }, body: over });
    expect(declared.status).toBe(413);
    expect(((await declared.json()) as { error: { code: string } }).error.code).toBe('ASSET_TOO_LARGE');
    // No Content-Length: the limit is found while streaming.
    const chunks = [over.subarray(0, 700_000), over.subarray(700_000, 1_400_000), over.subarray(1_400_000)];
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        const next = chunks.shift();
        if (next) controller.enqueue(next);
        else controller.close();
      },
    });
    const streamed = await fetchWithin(s.url, { method: 'POST', headers: { ...bearer(s.editor), 'content-type': 'application/octet-stream' }, body: stream, duplex: 'half' } as RequestInit);
    expect(streamed.status).toBe(413);
    expect(((await streamed.json()) as { error: { code: string } }).error.code).toBe('ASSET_TOO_LARGE');
    expect(await s.assets.list(s.room)).toEqual([]);
    expect(await readdir(path.join(s.blobs, '.scratch')).catch(() => [])).toEqual([]);
  });
});

describe('mixAudio', () => {
  const at = (n: Narration, startS: number, shotSeconds: number, shotId: string): MixNarration => ({ startS, shotSeconds, shotId, file: n.file, seconds: n.seconds });
  const twoShots = (): MixPlan['narrations'] => [at(english, 0.5, 4, 'harbour'), at(mandarin, 4.5, 5.5, 'boats')];

  it.each([-14, -16, -23] as const)('reaches %d LUFS within 1 LU, true peak at most -1 dBTP, as AAC 48 kHz stereo', async (loudness) => {
    const out = path.join(dir, `mix${loudness}.m4a`);
    const result = await mixAudio({ seconds: 10, narrations: twoShots(), music: { file: calm, volume: 0.35 }, duck: true, loudness }, out);
    expect(result.warnings).toEqual([]);
    const measured = await ebur128(out);
    expect(Math.abs(measured.integrated - loudness)).toBeLessThanOrEqual(1);
    expect(measured.truePeak).toBeLessThanOrEqual(-1);
    expect(result.loudness!.integrated).toBeCloseTo(measured.integrated, 0);
    const info = await probeAudioStream(out);
    expect(info).toMatchObject({ codec: 'aac', sampleRate: 48_000, channels: 2, streams: ['audio'] });
    expect(Math.abs(info.duration - 10)).toBeLessThan(0.05);
  });

  it('narration is heard in its shot; where nothing plays there is silence', async () => {
    const out = path.join(dir, 'voice-only.wav');
    await mixAudio({ seconds: 6, narrations: [at(english, 1, 4.5, 'harbour')], music: null, duck: true, loudness: -16 }, out);
    const samples = await decodeAudio(out);
    expect(samples.length).toBe(6 * 48_000);
    expect(rmsDb(samples, 1.2, 1 + english.seconds - 0.2)).toBeGreaterThan(-30);
    expect(rmsDb(samples, 0, 0.98)).toBeLessThan(-80);
    expect(rmsDb(samples, 1 + english.seconds + 0.05, 6)).toBeLessThan(-80);
  });

  it('ducks the music under the narration', async () => {
    const plan: MixPlan = { seconds: 10, narrations: [at(english, 2, 4, 'harbour')], music: { file: calm, volume: 0.5 }, duck: true, loudness: -16 };
    const ducked = await decodeAudio((await mixAudio(plan, path.join(dir, 'duck.wav'))).file);
    const plain = await decodeAudio((await mixAudio({ ...plan, duck: false }, path.join(dir, 'noduck.wav'))).file);
    // Before the narration both mixes are music alone: their ratio is the difference of the two normalisation gains.
    const ratio = 10 ** ((rmsDb(ducked, 0.6, 1.9) - rmsDb(plain, 0.6, 1.9)) / 20);
    // Under the narration, ducked/ratio - plain is what ducking took out of the music (the narration cancels).
    const from = Math.round(2.4 * 48_000);
    const to = Math.round((2 + english.seconds - 0.2) * 48_000);
    const removed = new Float32Array(to - from);
    for (let i = from; i < to; i++) removed[i - from] = ducked[i]! / ratio - plain[i]!;
    const musicAlone = rmsDb(plain, 0.6, 1.9);
    // At least half the music's amplitude is gone (6 dB or more of ducking).
    expect(rmsDb(removed, 0, removed.length / 48_000)).toBeGreaterThan(musicAlone + 20 * Math.log10(0.5));
    // And after the narration (and the compressor's release), before the fade out, the music is back.
    expect(rmsDb(ducked, 2 + english.seconds + 1, 7.5)).toBeGreaterThan(rmsDb(ducked, 0.6, 1.9) - 3);
  });

  it('says when a narration outlasts its shot, and lets it finish before the next one starts', async () => {
    const out = path.join(dir, 'long.wav');
    const result = await mixAudio({ seconds: 9, narrations: [at(english, 0, 1.5, 'harbour'), at(mandarin, 1.5, 6, 'boats')], music: null, duck: true, loudness: -16 }, out);
    expect(result.warnings[0]).toBe(`Narration of shot "harbour" lasts ${Math.round(english.seconds * 10) / 10} s, longer than the shot (1.5 s): it runs into the next shot`);
    expect(result.warnings[1]).toMatch(/^Narration of shot "boats" starts [\d.]+ s late, after the narration before it$/);
    const samples = await decodeAudio(out);
    // The English narration is not cut at the shot's end: it goes on well past 1.5 s.
    expect(rmsDb(samples, 1.6, english.seconds - 0.2)).toBeGreaterThan(-35);
    // Nothing overlaps: a quiet gap between the end of one and the start of the other.
    expect(rmsDb(samples, english.seconds + 0.02, english.seconds + 0.12)).toBeLessThan(-60);
    expect(rmsDb(samples, english.seconds + 0.4, english.seconds + mandarin.seconds - 0.2)).toBeGreaterThan(-35);
  });

  it('places narrations one after another and says what the end of the video cuts or leaves out', () => {
    const n = (shotId: string, startS: number, shotSeconds: number, seconds: number): MixNarration => ({ shotId, startS, shotSeconds, seconds, file: `${shotId}.wav` });
    const { placed, warnings } = placeNarrations({ seconds: 6, narrations: [n('c', 4, 2, 3), n('a', 0, 2, 1.5), n('b', 2, 2, 1)] });
    expect(placed.map((p) => [p.shotId, p.atS])).toEqual([['a', 0], ['b', 2], ['c', 4]]);
    expect(warnings).toEqual(['Narration of shot "c" lasts 3 s, longer than the shot (2 s): the video ends before it does, so its end is cut']);
    // a ends at 3.9 s, b could start 0.15 s later: at 4.05 s, after the end of the video.
    const crowded = placeNarrations({ seconds: 4, narrations: [n('a', 0, 1, 3.9), n('b', 1.05, 3, 1)] });
    expect(crowded.placed.map((p) => p.shotId)).toEqual(['a']);
    expect(crowded.warnings).toEqual([
      'Narration of shot "a" lasts 3.9 s, longer than the shot (1 s): it runs into the next shot',
      'Narration of shot "b" starts 3 s late, after the narration before it',
      'Narration of shot "b" is left out: the video ends before it could start',
    ]);
  });

  it('makes silence of the right length when there is nothing to hear', async () => {
    const out = path.join(dir, 'silence.m4a');
    const result = await mixAudio({ seconds: 5, narrations: [], music: null, duck: true, loudness: -14 }, out);
    expect(result).toEqual({ file: out, warnings: [], loudness: null });
    const info = await probeAudioStream(out);
    expect(info).toMatchObject({ codec: 'aac', sampleRate: 48_000, channels: 2 });
    expect(Math.abs(info.duration - 5)).toBeLessThan(0.05);
    const samples = await decodeAudio(out);
    expect(samples.every((v) => v === 0)).toBe(true);
  });
});
