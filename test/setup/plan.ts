/**
 * What the test run needs from the machine, and what to do about it: a function of what exists,
 * asked through `Facts` (test/setup-env.test.ts runs it on made-up machines); global-setup.ts
 * answers with the real machine and carries the plan out.
 *
 *   Chromium  CHROMIUM_PATH when set (only that: a wrong one is a mistake to report, not to work
 *             around), else /usr/bin/chromium or /usr/bin/chromium-browser, else Debian's
 *             `chromium` installed with apt-get when we may (root, apt-get there, and
 *             SCENECAST_TEST_NO_INSTALL unset)
 *   Redis     REDIS_URL when set (it must answer PING), else 127.0.0.1:6379 when it answers, else a
 *             private redis-server started on a free port, after installing Debian's
 *             `redis-server` when it is missing and we may
 * Whatever cannot be had ends the run with one line saying what to install or set.
 */

export const CHROMIUM_CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser'] as const;
/** Where Debian's `chromium` package puts it. */
export const DEBIAN_CHROMIUM = '/usr/bin/chromium';

export interface Needs {
  /** A test file of the run drives a browser (imports test/helpers/browser.ts). */
  chromium: boolean;
  /** A test file of the run uses Redis (imports test/helpers/cluster.ts). */
  redis: boolean;
}

export interface Facts {
  needs: Needs;
  /** CHROMIUM_PATH, REDIS_URL and SCENECAST_TEST_NO_INSTALL as set (empty counts as unset). */
  env: { CHROMIUM_PATH?: string; REDIS_URL?: string; SCENECAST_TEST_NO_INSTALL?: string };
  /** A file at `path` that we may execute. */
  executable(path: string): boolean;
  /** `command`'s path on PATH, or null. */
  which(command: string): string | null;
  isRoot: boolean;
  /** The machine's Redis (redis://127.0.0.1:6379 unless the probe port is moved). */
  localRedis: string;
  /** Whether a URL answers PING; asked only about REDIS_URL, or else about localRedis. */
  answers(url: string): boolean | Promise<boolean>;
}

export interface Plan {
  /** Debian packages to install first, with apt-get (empty: nothing is installed). */
  install: string[];
  /** The Chromium to hand the browser tests (CHROMIUM_PATH), null when the run needs none. */
  chromium: string | null;
  /** A Redis to use as it is, one to start of our own, or null when the run needs none. */
  redis: { url: string } | { private: true } | null;
  /** When set, the run cannot go on: the one line to print before exiting with 1. */
  fail: string | null;
}

export interface Problem {
  what: 'Chromium' | 'Redis';
  detail: string;
}

/** Why we may not install, or null when we may. */
export function installRefusal(facts: Pick<Facts, 'env' | 'isRoot' | 'which'>): string | null {
  if (facts.env.SCENECAST_TEST_NO_INSTALL) return 'SCENECAST_TEST_NO_INSTALL is set';
  if (!facts.isRoot) return 'not root';
  if (!facts.which('apt-get')) return 'no apt-get';
  return null;
}

/** A URL with its password masked, for messages. */
export const maskUrl = (url: string): string => url.replace(/\/\/([^@/]*):[^@/]*@/, '//$1:***@');

/** The one line for what is missing. */
export function failLine(problems: Problem[]): string {
  const whats = [...new Set(problems.map((p) => p.what))];
  return `scenecast tests need ${whats.join(' and ')}: ${problems.map((p) => p.detail).join('; ')}`;
}

export async function plan(facts: Facts): Promise<Plan> {
  const out: Plan = { install: [], chromium: null, redis: null, fail: null };
  const problems: Problem[] = [];
  const refusal = installRefusal(facts);

  if (facts.needs.chromium) {
    const chosen = facts.env.CHROMIUM_PATH;
    if (chosen) {
      if (facts.executable(chosen)) out.chromium = chosen;
      else problems.push({ what: 'Chromium', detail: `CHROMIUM_PATH=${chosen} is not an executable file; fix it, or unset it and run \`sudo apt-get install chromium\`` });
    } else {
      const found = CHROMIUM_CANDIDATES.find((candidate) => facts.executable(candidate));
      if (found) out.chromium = found;
      else if (refusal === null) {
        out.install.push('chromium');
        out.chromium = DEBIAN_CHROMIUM;
      } else {
        problems.push({
          what: 'Chromium',
          detail: `run \`sudo apt-get install chromium\` or set CHROMIUM_PATH (none at ${CHROMIUM_CANDIDATES.join(' or ')}; not installing it: ${refusal})`,
        });
      }
    }
  }

  if (facts.needs.redis) {
    const chosen = facts.env.REDIS_URL;
    if (chosen) {
      if (await facts.answers(chosen)) out.redis = { url: chosen };
      else problems.push({ what: 'Redis', detail: `REDIS_URL=${maskUrl(chosen)} does not answer PING; start that server, or unset REDIS_URL to use 127.0.0.1:6379 or a private redis-server` });
    } else if (await facts.answers(facts.localRedis)) {
      out.redis = { url: facts.localRedis };
    } else if (facts.which('redis-server')) {
      out.redis = { private: true };
    } else if (refusal === null) {
      out.install.push('redis-server');
      out.redis = { private: true };
    } else {
      problems.push({
        what: 'Redis',
        detail: `run \`sudo apt-get install redis-server\` (the tests start their own), start Redis on ${maskUrl(facts.localRedis).replace('redis://', '')}, or set REDIS_URL (nothing answers there and redis-server is not installed; not installing it: ${refusal})`,
      });
    }
  }

  if (problems.length > 0) return { install: [], chromium: null, redis: null, fail: failLine(problems) };
  return out;
}

/**
 * What the run's test files need, from their imports: a file that imports the browser helper
 * needs Chromium, one that imports the cluster helper needs Redis.
 */
export function needsOf(files: readonly string[], read: (file: string) => string): Needs {
  const needs: Needs = { chromium: false, redis: false };
  for (const file of files) {
    const source = read(file);
    if (/helpers\/browser\.js['"]/.test(source)) needs.chromium = true;
    if (/helpers\/cluster\.js['"]/.test(source)) needs.redis = true;
  }
  return needs;
}
