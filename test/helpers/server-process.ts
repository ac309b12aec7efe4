/**
 * A scenecast server in its own process (`node --import tsx server/main.ts`), for tests that
 * kill it. Resolves once it listens; the port is read from its log.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { onCleanup } from './server.js';

const ROOT = path.resolve(import.meta.dirname, '../..');

/** Settings that choose a process's mode and stores (server/config.ts): only ever from the test. */
const SERVER_SETTINGS = new Set(['REDIS_URL', 'REDIS_PREFIX', 'DATABASE_URL', 'BLOB_DIR', 'DATA_DIR', 'ENGINE_BUNDLE', 'ENGINE_WORKERS', 'PORT', 'HOST', 'PUBLIC_URL']);

export interface ServerProcess {
  child: ChildProcess;
  port: number;
  url: string;
  wsUrl: string;
  /** kill -9 and wait for the exit. */
  kill9(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * `entry` server/main.ts (resolves with its port) or server/worker.ts (an engine worker: port 0).
 */
export async function spawnServer(env: Record<string, string>, entry = 'server/main.ts'): Promise<ServerProcess> {
  // The test says which mode and stores a process runs with; nothing of that is inherited from the shell.
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !SERVER_SETTINGS.has(name)));
  const child = spawn(process.execPath, ['--import', 'tsx', entry], {
    cwd: ROOT,
    env: { ...inherited, HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'info', SCENECAST_SECRET: 'test-secret-0123456789abcdef', MUSIC_BEDS_AT_START: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = once(child, 'exit');
  // SCENECAST_TEST_LOGS=dir keeps each process's log there (for debugging a failing test).
  if (process.env.SCENECAST_TEST_LOGS) {
    const { createWriteStream } = await import('node:fs');
    const out = createWriteStream(path.join(process.env.SCENECAST_TEST_LOGS, `${path.basename(entry, '.ts')}-${child.pid}.log`));
    child.stdout!.pipe(out);
    child.stderr!.pipe(out);
  }
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const port = await new Promise<number>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    const timer = setTimeout(() => reject(new Error(`${entry} did not start:\n${stderr}`)), 60_000);
    lines.on('line', (line) => {
      const match = /listening at http:\/\/[^:]+:(\d+)/i.exec(line);
      if (match || /engine worker ready/.test(line)) {
        clearTimeout(timer);
        resolve(match ? Number(match[1]) : 0);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}:\n${stderr}`));
    });
  });
  const proc: ServerProcess = {
    child,
    port,
    url: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}`,
    async kill9() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      await exited;
    },
  };
  onCleanup(() => proc.kill9());
  return proc;
}
