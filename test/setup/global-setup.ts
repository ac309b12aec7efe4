/**
 * Vitest's global set-up (vitest.config.ts): before any test file starts, makes this machine fit
 * for the files of this run (plan.ts says what that means), so `npm test` and
 * `npx vitest run <file>` work on a fresh machine, or stop at once with one line saying what to
 * install. It runs in vitest's main process; the forked workers get their environment from it
 * after it returns, so CHROMIUM_PATH and SCENECAST_TEST_REDIS_URL set here reach every test file. (Not
 * REDIS_URL itself: a server process a test spawns would inherit it and start in scale-out mode.)
 *
 *   SCENECAST_TEST_NO_INSTALL=1   never install anything (as when not root)
 *   SCENECAST_TEST_REDIS_PORT=N   look for the machine's Redis on 127.0.0.1:N (default 6379)
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { accessSync, closeSync, constants, mkdtempSync, openSync, readFileSync, rmSync, statSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import type { TestProject } from 'vitest/node';
import { failLine, needsOf, plan, type Needs } from './plan.js';

const APT_LOG = path.join(os.tmpdir(), 'scenecast-test-apt.log');

function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

function which(command: string): string | null {
  // Root's tools live in sbin, which a non-login shell may leave off PATH.
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter), '/usr/local/sbin', '/usr/sbin', '/sbin'];
  for (const dir of dirs) {
    if (dir && executable(path.join(dir, command))) return path.join(dir, command);
  }
  return null;
}

/** Whether the Redis at `url` answers PING within `timeoutMs` (ioredis: auth, db and rediss:// work). */
export async function ping(url: string, timeoutMs = 1500): Promise<boolean> {
  const redis = new Redis(url, { lazyConnect: true, connectTimeout: timeoutMs, commandTimeout: timeoutMs, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
  redis.on('error', () => {});
  try {
    await redis.connect();
    return (await redis.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    redis.disconnect();
  }
}

/** The files of this run (the CLI's filters applied) and what they need; everything when unsure. */
async function runNeeds(project: TestProject): Promise<Needs> {
  try {
    // Vitest keeps the CLI's file filters here (not public API); without them every file counts.
    const filters = (project.vitest as unknown as { filenamePattern?: string[] }).filenamePattern ?? [];
    const { testFiles } = await project.globTestFiles(filters);
    return needsOf(testFiles, (file) => readFileSync(file, 'utf8'));
  } catch {
    return { chromium: true, redis: true };
  }
}

function stopRun(line: string): never {
  process.stderr.write(`${line}\n`);
  process.exit(1);
}

/** apt-get update, then install `packages`; all output goes to APT_LOG. */
function aptInstall(packages: string[]): boolean {
  process.stderr.write(`scenecast tests: installing ${packages.join(' ')} with apt-get (log: ${APT_LOG})…\n`);
  const log = openSync(APT_LOG, 'a');
  try {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    for (const args of [['update', '-q'], ['install', '-y', '-q', '--no-install-recommends', ...packages]]) {
      if (spawnSync('apt-get', args, { stdio: ['ignore', log, log], env }).status !== 0) return false;
    }
    return true;
  } finally {
    closeSync(log);
  }
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export interface PrivateRedis {
  url: string;
  /** Stops the server and removes its folder; idempotent. */
  stop(): Promise<void>;
}

/**
 * A redis-server of our own: a free port on 127.0.0.1, nothing saved, in a temporary folder that
 * holds its log (kept when it does not start). A port taken between our probe and its bind is
 * retried with another.
 */
export async function startPrivateRedis(binary: string, startMs = 5000): Promise<PrivateRedis | { error: string }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'scenecast-redis-'));
  const logFile = path.join(dir, 'redis.log');
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const log = openSync(logFile, 'a');
    const child = spawn(binary, ['--port', String(port), '--save', '', '--appendonly', 'no', '--bind', '127.0.0.1', '--dir', dir], { stdio: ['ignore', log, log] });
    closeSync(log);
    let gone = false;
    const exited = new Promise<void>((resolve) => {
      const done = () => {
        gone = true;
        resolve();
      };
      child.once('exit', done).once('error', done);
    });
    const url = `redis://127.0.0.1:${port}`;
    const deadline = Date.now() + startMs;
    while (!gone && Date.now() < deadline) {
      if (await ping(url, 500)) return { url, stop: once(() => stopServer(child, exited, dir)) };
      await sleep(50);
    }
    child.kill('SIGKILL');
    await exited;
  }
  return { error: `a private redis-server (${binary}) did not start (log: ${logFile})` };
}

function once(fn: () => Promise<void>): () => Promise<void> {
  let done: Promise<void> | null = null;
  return () => (done ??= fn());
}

async function stopServer(child: ChildProcess, exited: Promise<void>, dir: string): Promise<void> {
  try {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const env = {
    CHROMIUM_PATH: process.env.CHROMIUM_PATH || undefined,
    REDIS_URL: process.env.REDIS_URL || undefined,
    SCENECAST_TEST_NO_INSTALL: process.env.SCENECAST_TEST_NO_INSTALL || undefined,
  };
  const localRedis = `redis://127.0.0.1:${process.env.SCENECAST_TEST_REDIS_PORT || '6379'}`;
  const decided = await plan({ needs: await runNeeds(project), env, executable, which, isRoot: process.getuid?.() === 0, localRedis, answers: (url) => ping(url) });
  if (decided.fail) stopRun(decided.fail);

  if (decided.install.length > 0) {
    const ran = aptInstall(decided.install);
    const missing = decided.install.filter((pkg) => (pkg === 'chromium' ? !executable(decided.chromium!) : !which('redis-server')));
    if (missing.length > 0) {
      const how = (pkg: string) => (ran ? `apt-get installed ${pkg} but ${pkg === 'chromium' ? `there is no executable ${decided.chromium}` : 'redis-server is not on PATH'}` : `installing ${pkg} with apt-get failed`);
      stopRun(
        failLine(
          missing.map((pkg) =>
            pkg === 'chromium'
              ? { what: 'Chromium', detail: `${how(pkg)} (log: ${APT_LOG}); run \`sudo apt-get install chromium\` or set CHROMIUM_PATH` }
              : { what: 'Redis', detail: `${how(pkg)} (log: ${APT_LOG}); run \`sudo apt-get install redis-server\`, start Redis on 127.0.0.1:6379, or set REDIS_URL` },
          ),
        ),
      );
    }
  }

  if (decided.chromium) process.env.CHROMIUM_PATH = decided.chromium;
  let own: PrivateRedis | null = null;
  if (decided.redis && 'url' in decided.redis) process.env.SCENECAST_TEST_REDIS_URL = decided.redis.url;
  else if (decided.redis) {
    const started = await startPrivateRedis(which('redis-server') ?? 'redis-server');
    if ('error' in started) stopRun(failLine([{ what: 'Redis', detail: `${started.error}; start Redis on 127.0.0.1:6379 or set REDIS_URL` }]));
    own = started;
    process.env.SCENECAST_TEST_REDIS_URL = started.url;
    process.stderr.write(`scenecast tests: nothing answers on ${localRedis.replace('redis://', '')}; using a private redis-server on ${started.url.replace('redis://', '')}\n`);
  }
  return async () => {
    await own?.stop();
  };
}
