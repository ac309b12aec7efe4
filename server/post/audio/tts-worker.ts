/**
 * The text-to-speech worker thread: espeak-ng (WASM) runs here, one request at a time, so the
 * server's event loop never waits for it (~150-300 ms a call). The text reaches espeak-ng as a
 * file (`-f`), never as argv, so nothing in it is read as an option; `-m` (SSML) is never given.
 *
 * Messages: in `{ id, voice, text, speed }`, out `{ id, wav }` (the WAV's bytes, transferred) or `{ id, error }`.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { parentPort } from 'node:worker_threads';
import ESpeakNg from 'espeak-ng';

export interface TtsRequest {
  id: number;
  voice: string;
  text: string;
  /** Words per minute (espeak-ng `-s`). */
  speed: number;
}
export type TtsReply = { id: number; wav: Uint8Array } | { id: number; error: string };

const wasmFile = path.join(path.dirname(createRequire(import.meta.url).resolve('espeak-ng')), 'espeak-ng.wasm');
// Compiled once per thread; each call instantiates it afresh (espeak-ng's main() runs once per instance).
let compiled: Promise<WebAssembly.Module> | null = null;
const wasm = () => (compiled ??= readFile(wasmFile).then((bytes) => WebAssembly.compile(bytes)));

async function speak(request: TtsRequest): Promise<Uint8Array> {
  const module = await wasm();
  let log = '';
  let status = 0;
  const espeak = await ESpeakNg({
    arguments: ['-v', request.voice, '-s', String(request.speed), '-w', '/out.wav', '-f', '/in.txt'],
    preRun: [(m) => m.FS.writeFile('/in.txt', request.text)],
    instantiateWasm: (imports, done) => {
      void WebAssembly.instantiate(module, imports).then((instance) => done(instance, module));
      return {};
    },
    print: (line) => (log += `${line}\n`),
    printErr: (line) => (log += `${line}\n`),
    quit: (code, toThrow) => {
      status = code;
      throw toThrow;
    },
  });
  let wav: Uint8Array;
  try {
    wav = espeak.FS.readFile('/out.wav');
  } catch {
    throw new Error(`espeak-ng wrote no audio (status ${status}): ${log.trim().slice(0, 300)}`);
  }
  if (status !== 0 || wav.length <= 44) throw new Error(`espeak-ng failed (status ${status}, ${wav.length} bytes): ${log.trim().slice(0, 300)}`);
  return wav;
}

let chain: Promise<void> = Promise.resolve();
parentPort!.on('message', (request: TtsRequest) => {
  chain = chain.then(async () => {
    try {
      const wav = await speak(request);
      // A copy that owns its buffer, so it can be transferred (the instance's memory is dropped with it).
      const out = new Uint8Array(wav);
      parentPort!.postMessage({ id: request.id, wav: out } satisfies TtsReply, [out.buffer]);
    } catch (error) {
      parentPort!.postMessage({ id: request.id, error: (error as Error).message } satisfies TtsReply);
    }
  });
});
