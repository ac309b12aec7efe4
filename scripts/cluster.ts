/**
 * `npm run cluster -- --nodes 2 --workers 1`: a local scale-out topology for trying it out.
 * Starts N server nodes (ports from --port, default 8080) and W engine workers on the Redis at
 * REDIS_URL (default redis://127.0.0.1:6379), sharing BLOB_DIR (default ./data/blobs). Ctrl-C
 * stops them all. In production run the same two commands (`npm start`, `npm run worker`) on
 * any machines, behind any load balancer (no sticky sessions needed).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { nodes: { type: 'string', default: '2' }, workers: { type: 'string', default: '1' }, port: { type: 'string', default: '8080' } } });
const root = path.resolve(import.meta.dirname, '..');
const env = {
  ...process.env,
  REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  BLOB_DIR: process.env.BLOB_DIR ?? path.join(root, 'data', 'blobs'),
};
const children: ChildProcess[] = [];
const start = (name: string, script: string, extra: Record<string, string>) => {
  const child = spawn(process.execPath, ['--import', 'tsx', script], { cwd: root, env: { ...env, ...extra }, stdio: ['ignore', 'inherit', 'inherit'] });
  child.on('exit', (code, signal) => console.log(`[cluster] ${name} exited (${signal ?? code})`));
  children.push(child);
};
for (let i = 0; i < Number(values.nodes); i++) {
  const port = Number(values.port) + i;
  start(`node ${i + 1}`, 'server/main.ts', { PORT: String(port), DATA_DIR: path.join(root, 'data', `node-${i + 1}`) });
  console.log(`[cluster] node ${i + 1}: http://localhost:${port}`);
}
for (let i = 0; i < Number(values.workers); i++) start(`worker ${i + 1}`, 'server/worker.ts', { DATA_DIR: path.join(root, 'data', `worker-${i + 1}`) });
const stop = () => {
  for (const child of children) child.kill('SIGTERM');
  setTimeout(() => process.exit(0), 3000).unref();
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
