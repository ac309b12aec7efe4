/**
 * The test run's own set-up (test/setup/): what it decides on made-up machines, which files need
 * what, a private redis-server, and the one line a run without Chromium stops with.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ping, startPrivateRedis } from './setup/global-setup.js';
import { needsOf, plan, type Facts } from './setup/plan.js';

const root = path.resolve(import.meta.dirname, '..');

interface Machine {
  needs?: Partial<Facts['needs']>;
  env?: Facts['env'];
  files?: string[];
  commands?: string[];
  root?: boolean;
  /** URLs that answer PING. */
  redis?: string[];
}

const LOCAL = 'redis://127.0.0.1:6379';

/** Facts of a made-up machine, and the URLs the plan asked about. */
function machine(m: Machine): { facts: Facts; asked: string[] } {
  const asked: string[] = [];
  const facts: Facts = {
    needs: { chromium: false, redis: false, ...m.needs },
    env: m.env ?? {},
    executable: (file) => (m.files ?? []).includes(file),
    which: (command) => ((m.commands ?? []).includes(command) ? `/usr/bin/${command}` : null),
    isRoot: m.root ?? false,
    localRedis: LOCAL,
    answers: async (url) => {
      asked.push(url);
      return (m.redis ?? []).includes(url);
    },
  };
  return { facts, asked };
}

const both = { chromium: true, redis: true };
const ROOT_WITH_APT = { root: true, commands: ['apt-get'] };

describe('set-up plan', () => {
  it('does nothing, and asks nothing, when the run needs neither', async () => {
    const { facts, asked } = machine({ ...ROOT_WITH_APT });
    expect(await plan(facts)).toEqual({ install: [], chromium: null, redis: null, fail: null });
    expect(asked).toEqual([]);
  });

  it('uses the Chromium that is there and installs nothing, also as root with apt-get', async () => {
    expect(await plan(machine({ ...ROOT_WITH_APT, needs: { chromium: true }, files: ['/usr/bin/chromium'] }).facts)).toEqual({ install: [], chromium: '/usr/bin/chromium', redis: null, fail: null });
    expect((await plan(machine({ needs: { chromium: true }, files: ['/usr/bin/chromium-browser'] }).facts)).chromium).toBe('/usr/bin/chromium-browser');
    expect((await plan(machine({ needs: { chromium: true }, env: { CHROMIUM_PATH: '/opt/c/chrome' }, files: ['/opt/c/chrome', '/usr/bin/chromium'] }).facts)).chromium).toBe('/opt/c/chrome');
  });

  it('installs Debian’s chromium when none is there and it may (root, apt-get)', async () => {
    expect(await plan(machine({ ...ROOT_WITH_APT, needs: { chromium: true } }).facts)).toEqual({ install: ['chromium'], chromium: '/usr/bin/chromium', redis: null, fail: null });
  });

  it('stops with one line when there is no Chromium and it may not install one', async () => {
    const line = (why: string) =>
      `scenecast tests need Chromium: run \`sudo apt-get install chromium\` or set CHROMIUM_PATH (none at /usr/bin/chromium or /usr/bin/chromium-browser; not installing it: ${why})`;
    expect(await plan(machine({ needs: { chromium: true }, commands: ['apt-get'] }).facts)).toEqual({ install: [], chromium: null, redis: null, fail: line('not root') });
    expect((await plan(machine({ needs: { chromium: true }, root: true }).facts)).fail).toBe(line('no apt-get'));
    expect((await plan(machine({ ...ROOT_WITH_APT, needs: { chromium: true }, env: { SCENECAST_TEST_NO_INSTALL: '1' } }).facts)).fail).toBe(line('SCENECAST_TEST_NO_INSTALL is set'));
  });

  it('never works around a wrong CHROMIUM_PATH', async () => {
    const decided = await plan(machine({ ...ROOT_WITH_APT, needs: { chromium: true }, env: { CHROMIUM_PATH: '/nonexistent' }, files: ['/usr/bin/chromium'] }).facts);
    expect(decided).toEqual({
      install: [],
      chromium: null,
      redis: null,
      fail: 'scenecast tests need Chromium: CHROMIUM_PATH=/nonexistent is not an executable file; fix it, or unset it and run `sudo apt-get install chromium`',
    });
  });

  it('uses REDIS_URL when set (and asks about nothing else), or says it does not answer', async () => {
    const set = machine({ needs: { redis: true }, env: { REDIS_URL: 'redis://db:6380' }, redis: ['redis://db:6380', LOCAL] });
    expect(await plan(set.facts)).toEqual({ install: [], chromium: null, redis: { url: 'redis://db:6380' }, fail: null });
    expect(set.asked).toEqual(['redis://db:6380']);
    expect((await plan(machine({ needs: { redis: true }, env: { REDIS_URL: 'redis://u:secret@db:6380/2' }, redis: [LOCAL] }).facts)).fail).toBe(
      'scenecast tests need Redis: REDIS_URL=redis://u:***@db:6380/2 does not answer PING; start that server, or unset REDIS_URL to use 127.0.0.1:6379 or a private redis-server',
    );
  });

  it('uses the machine’s Redis when it answers, else starts a private redis-server, installing it when it may', async () => {
    expect((await plan(machine({ needs: { redis: true }, redis: [LOCAL], commands: ['redis-server'] }).facts)).redis).toEqual({ url: LOCAL });
    expect(await plan(machine({ needs: { redis: true }, commands: ['redis-server'] }).facts)).toEqual({ install: [], chromium: null, redis: { private: true }, fail: null });
    expect(await plan(machine({ ...ROOT_WITH_APT, needs: { redis: true } }).facts)).toEqual({ install: ['redis-server'], chromium: null, redis: { private: true }, fail: null });
    expect((await plan(machine({ needs: { redis: true } }).facts)).fail).toBe(
      'scenecast tests need Redis: run `sudo apt-get install redis-server` (the tests start their own), start Redis on 127.0.0.1:6379, or set REDIS_URL (nothing answers there and redis-server is not installed; not installing it: not root)',
    );
  });

  it('installs both in one go on a fresh machine, or names both in its one line', async () => {
    expect(await plan(machine({ ...ROOT_WITH_APT, needs: both }).facts)).toEqual({ install: ['chromium', 'redis-server'], chromium: '/usr/bin/chromium', redis: { private: true }, fail: null });
    const fail = (await plan(machine({ needs: both }).facts)).fail!;
    expect(fail).toMatch(/^scenecast tests need Chromium and Redis: run `sudo apt-get install chromium` .*; run `sudo apt-get install redis-server` /);
    expect(fail).not.toContain('\n');
  });

  it('knows what the repo’s test files need from their imports', () => {
    const files = [...readdirSync(path.join(root, 'test')).map((f) => `test/${f}`), ...readdirSync(path.join(root, 'test/browser')).map((f) => `test/browser/${f}`)].filter((f) => f.endsWith('.test.ts'));
    const read = (file: string) => readFileSync(path.join(root, file), 'utf8');
    expect(needsOf(['test/browser/editor.test.ts'], read)).toEqual({ chromium: true, redis: false });
    expect(needsOf(['test/cluster.test.ts'], read)).toEqual({ chromium: false, redis: true });
    expect(needsOf(['test/setup-env.test.ts', 'test/scene-schema.test.ts'], read)).toEqual({ chromium: false, redis: false });
    expect(needsOf(files, read)).toEqual(both);
  });
});

describe('set-up actions', () => {
  const redisServer = ['/usr/bin/redis-server', '/usr/local/bin/redis-server'].find((file) => spawnSync(file, ['--version']).status === 0);

  it.skipIf(!redisServer)('starts a private redis-server on a free port and stops it', async () => {
    const started = await startPrivateRedis(redisServer!);
    if ('error' in started) throw new Error(started.error);
    expect(started.url).toMatch(/^redis:\/\/127\.0\.0\.1:\d+$/);
    expect(await ping(started.url)).toBe(true);
    await started.stop();
    await started.stop();
    expect(await ping(started.url, 300)).toBe(false);
  });

  it('a run without Chromium that may not install one stops at once with one line and exit code 1', () => {
    const started = Date.now();
    const run = spawnSync(process.execPath, [path.join(root, 'node_modules/vitest/vitest.mjs'), 'run', 'test/browser/security.test.ts'], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, CHROMIUM_PATH: '/nonexistent', SCENECAST_TEST_NO_INSTALL: '1', NO_COLOR: '1', FORCE_COLOR: '0' },
      timeout: 60_000,
    });
    expect(run.status).toBe(1);
    expect(run.stderr.trim()).toBe('scenecast tests need Chromium: CHROMIUM_PATH=/nonexistent is not an executable file; fix it, or unset it and run `sudo apt-get install chromium`');
    expect(run.stdout).not.toMatch(/Error|at .*\.ts:\d+/);
    expect(Date.now() - started).toBeLessThan(30_000);
  }, 60_000);
});
