/**
 * Starts a real scenecast server on an ephemeral port with its own data folder; cleanup is
 * registered with the test framework by the factory itself.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterEach } from 'vitest';
import type { CreateRoomResponse } from '../../shared/protocol.js';
import type { SceneInput } from '../../shared/scene.js';
import { buildApp, type AppDeps } from '../../server/app.js';
import { loadConfig, type Config } from '../../server/config.js';

export interface TestServer {
  app: FastifyInstance;
  url: string;
  wsUrl: string;
  dataDir: string;
  config: Config;
  createRoom(body?: { title?: string; scene?: SceneInput }): Promise<CreateRoomResponse>;
  close(): Promise<void>;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  const pending = cleanups.splice(0).reverse();
  for (const cleanup of pending) await cleanup().catch(() => {});
});

/** Registers a cleanup to run after the current test (in reverse order of registration). */
export function onCleanup(fn: () => Promise<void> | void): void {
  cleanups.push(async () => fn());
}

/**
 * `promise`, or a rejection naming `what` once `ms` pass first: a step that never ends fails the test
 * with its name instead of running into the test's own timeout.
 */
export function within<T>(what: string, ms: number, promise: Promise<T>): Promise<T> {
  const error = new Error(`${what}: not done within ${ms} ms`); // made here, so its stack points at the caller
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(error), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

/** fetch() with a deadline (answer and body): a request the server never answers fails naming it. */
export async function fetchWithin(url: string, init: RequestInit = {}, ms = 10_000): Promise<Response> {
  const what = `${init.method ?? 'GET'} ${new URL(url).pathname}`;
  const error = new Error(`${what}: no answer within ${ms} ms`);
  try {
    return await fetch(url, { ...init, signal: AbortSignal.timeout(ms) });
  } catch (cause) {
    if ((cause as Error).name === 'TimeoutError') throw error;
    throw cause;
  }
}

export async function tempDir(prefix = 'scenecast-test-'): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  onCleanup(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * `deps.engine`: the engine to use (share one per test file: see helpers/engine.ts); by default
 * none, so tests of the collaboration layer do not pay for loading the model.
 */
export async function startServer(overrides: Partial<Config> = {}, dataDir?: string, deps: AppDeps = { engine: null }): Promise<TestServer> {
  const dir = dataDir ?? (await tempDir());
  const config = loadConfig({ LOG_LEVEL: 'silent', SCENECAST_SECRET: 'test-secret-0123456789abcdef', MUSIC_BEDS_AT_START: '0' }, { port: 0, host: '127.0.0.1', dataDir: dir, ...overrides });
  const app = await buildApp(config, deps);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  if (!address || typeof address === 'string') throw new Error('no address');
  const url = `http://127.0.0.1:${address.port}`;
  let closed = false;
  const server: TestServer = {
    app,
    url,
    wsUrl: `ws://127.0.0.1:${address.port}`,
    dataDir: dir,
    config,
    async createRoom(body = {}) {
      const res = await fetch(`${url}/api/rooms`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      if (res.status !== 201) throw new Error(`createRoom: ${res.status} ${await res.text()}`);
      return (await res.json()) as CreateRoomResponse;
    },
    async close() {
      if (closed) return;
      closed = true;
      await app.close();
    },
  };
  onCleanup(() => server.close());
  return server;
}
