// `npm start` runs this first: builds the web client (Vite) when client/dist is missing or older
// than any file under client/ (source, pages, config), so `npm install && npm start` is the set-up.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const client = path.join(root, 'client');
const stamp = path.join(client, 'dist', 'index.html');

function newest(dir) {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'dist' || entry.name === 'node_modules') continue;
    const full = path.join(dir, entry.name);
    latest = Math.max(latest, entry.isDirectory() ? newest(full) : statSync(full).mtimeMs);
  }
  return latest;
}

if (!existsSync(path.join(client, 'index.html'))) process.exit(0);
if (existsSync(stamp) && statSync(stamp).mtimeMs >= newest(client)) process.exit(0);
console.log('building the web client (client/dist)…');
const result = spawnSync(process.execPath, [path.join(root, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--config', path.join(client, 'vite.config.ts')], { cwd: root, stdio: 'inherit' });
process.exit(result.status ?? 1);
