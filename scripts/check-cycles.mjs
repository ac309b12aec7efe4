// Finds import cycles among the project's TypeScript modules (type-only imports count too: a
// cycle of types is still two modules that cannot be read apart). Exit 1 when there is one.
// `npm run check:cycles`; the Python side has engine/training/check_imports.py.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const FOLDERS = ['shared', 'server', 'engine', 'client/src', 'cli', 'bench', 'scripts', 'test'];
const SKIP = new Set(['node_modules', 'dist', 'training', 'models']);

function files(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    if (SKIP.has(name)) continue;
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) out.push(...files(full));
    else if (/\.(ts|mts)$/.test(name) && !name.endsWith('.d.ts')) out.push(full);
  }
  return out;
}

const modules = FOLDERS.flatMap((f) => files(path.join(root, f)));
const known = new Set(modules);
const graph = new Map();
const IMPORT = /^\s*(?:import|export)\s[^;]*?from\s+['"](\.[^'"]+)['"]|^\s*import\s+['"](\.[^'"]+)['"]/gm;
for (const file of modules) {
  const text = readFileSync(file, 'utf8');
  const deps = new Set();
  for (const match of text.matchAll(IMPORT)) {
    const spec = match[1] ?? match[2];
    const target = path.resolve(path.dirname(file), spec).replace(/\.js$/, '.ts');
    if (known.has(target)) deps.add(target);
  }
  graph.set(file, [...deps]);
}

// Tarjan's strongly connected components: any component of more than one module is a cycle.
let index = 0;
const stack = [];
const state = new Map();
const cycles = [];
function visit(v) {
  state.set(v, { index, low: index, onStack: true });
  index++;
  stack.push(v);
  for (const w of graph.get(v)) {
    if (!state.has(w)) {
      visit(w);
      state.get(v).low = Math.min(state.get(v).low, state.get(w).low);
    } else if (state.get(w).onStack) state.get(v).low = Math.min(state.get(v).low, state.get(w).index);
  }
  if (state.get(v).low === state.get(v).index) {
    const component = [];
    let w;
    do {
      w = stack.pop();
      state.get(w).onStack = false;
      component.push(w);
    } while (w !== v);
    if (component.length > 1 || graph.get(v).includes(v)) cycles.push(component);
  }
}
for (const v of graph.keys()) if (!state.has(v)) visit(v);

const rel = (f) => path.relative(root, f);
for (const cycle of cycles) {
  console.log(`import cycle among ${cycle.length} modules:`);
  for (const file of cycle.sort()) console.log(`  ${rel(file)} → ${graph.get(file).filter((d) => cycle.includes(d)).map(rel).join(', ')}`);
}
const edges = [...graph.values()].reduce((n, d) => n + d.length, 0);
console.log(`check-cycles: ${modules.length} modules, ${edges} local imports, ${cycles.length === 0 ? 'no import cycle' : `${cycles.length} cycle(s)`}`);
process.exit(cycles.length === 0 ? 0 : 1);
