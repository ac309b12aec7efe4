// Quality checker of the shapes world: reads the frames of a clip (uint8 RGB) and says which background, how many
// objects, each object's colour, shape and motion (and speed) it shows. Pure functions, no dependencies. The world's
// constants (colours, backgrounds, shapes, motion parameters) come from engine/eval/world.json, which
// engine/training/world.py writes: one source of truth for the renderer and the checker.

export type RGB = [number, number, number];

export interface World {
  aspect: number;
  colours: Record<string, RGB>;
  backgrounds: Record<string, { top: RGB; bottom: RGB }>;
  shapes: string[];
  shape_symmetry_deg: Record<string, number>;
  shape_sdf: { square_half_side: number; triangle_half_side: number; star_outer: number; star_inner_ratio: number };
  motions: string[];
  speeds: string[];
  motion_params: {
    move_h: { slow: number; quick: number };
    move_v: { slow: number; quick: number };
    bounce_height: { slow: number; quick: number };
    bounce_count: { slow: number; quick: number };
    spin: { slow: number; quick: number };
    grow: { slow: number; quick: number };
    shrink: { slow: number; quick: number };
  };
}

export interface Clip {
  width: number;
  height: number;
  /** one Uint8Array of width*height*3 bytes (RGB, row-major) per frame */
  frames: Uint8Array[];
}

export interface Expected {
  background: string;
  count: number;
  objects: { colour: string; shape: string }[];
  motion: string;
  speed: string | null;
}

export interface ObjectReport {
  colour: string;
  shape: string;
  shapeScore: number;
  motion: string;
  speed: string | null;
  frames: number;
  /** per-shot travel (frame heights), scale factor over the shot, rotation (degrees over the shot), bounces */
  features: { dx: number; dy: number; wobble: number; scale: number; rotation: number; bounces: number };
}

export interface Analysis {
  background: string;
  count: number;
  objects: ObjectReport[];
}

export const ATTRIBUTES = ['background', 'count', 'colour', 'shape', 'motion'] as const;
export type Attribute = (typeof ATTRIBUTES)[number];
export type Score = Record<Attribute, boolean> & { speed: boolean | null };

const FG_THRESHOLD = 45; // RGB distance from the background model that makes a pixel foreground

const at = <T>(a: ArrayLike<T>, i: number): T => a[i] as T;

function lerp(a: RGB, b: RGB, t: number): RGB {
  return [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t];
}

function dist(r: number, g: number, b: number, c: RGB): number {
  const dr = r - c[0], dg = g - c[1], db = b - c[2];
  return Math.sqrt(dr * dr + dg * dg + db * db);
}

/** Background colour of each row of a frame of height h. */
export function backgroundRows(world: World, bg: string, h: number): RGB[] {
  const b = world.backgrounds[bg];
  if (!b) throw new Error(`unknown background ${bg}`);
  return Array.from({ length: h }, (_, y) => lerp(b.top, b.bottom, Math.min(1, Math.max(0, (y + 0.5) / h))));
}

/** The background whose model is closest (median pixel distance over the clip's frames). */
export function classifyBackground(world: World, clip: Clip): string {
  let best = '', bestD = Infinity;
  const step = Math.max(1, Math.floor(clip.frames.length / 8));
  for (const name of Object.keys(world.backgrounds)) {
    const rows = backgroundRows(world, name, clip.height);
    const ds: number[] = [];
    for (let f = 0; f < clip.frames.length; f += step) {
      const px = at(clip.frames, f);
      for (let y = 0; y < clip.height; y += 1) {
        const c = at(rows, y);
        for (let x = 0; x < clip.width; x += 2) {
          const i = (y * clip.width + x) * 3;
          ds.push(dist(at(px, i), at(px, i + 1), at(px, i + 2), c));
        }
      }
    }
    ds.sort((a, b) => a - b);
    const med = at(ds, ds.length >> 1);
    if (med < bestD) { bestD = med; best = name; }
  }
  return best;
}

// ------------------------------------------------------------------------------------------------ shapes (SDF)
/** Signed distance of a shape of size R at the origin, pointing up (y grows downwards); mirrors world.py. */
export function sdf(world: World, shape: string, px: number, py: number, R: number): number {
  const p = world.shape_sdf;
  if (shape === 'circle') return Math.hypot(px, py) - R;
  if (shape === 'square') {
    const h = p.square_half_side * R;
    const qx = Math.abs(px) - h, qy = Math.abs(py) - h;
    return Math.hypot(Math.max(qx, 0), Math.max(qy, 0)) + Math.min(Math.max(qx, qy), 0);
  }
  if (shape === 'triangle') {
    const r = p.triangle_half_side * R, k = Math.sqrt(3);
    let x = Math.abs(px) - r, y = -py + r / k;
    if (x + k * y > 0) { const nx = (x - k * y) / 2, ny = (-k * x - y) / 2; x = nx; y = ny; }
    x -= Math.min(Math.max(x, -2 * r), 0);
    return -Math.hypot(x, y) * Math.sign(y);
  }
  if (shape === 'star') {
    const r = p.star_outer * R, rf = p.star_inner_ratio;
    const k1x = 0.809016994375, k1y = -0.587785252292, k2x = -k1x, k2y = k1y;
    let x = Math.abs(px), y = -py;
    let d = Math.max(k1x * x + k1y * y, 0); x -= 2 * d * k1x; y -= 2 * d * k1y;
    d = Math.max(k2x * x + k2y * y, 0); x -= 2 * d * k2x; y -= 2 * d * k2y;
    x = Math.abs(x); y -= r;
    const bax = rf * -k1y, bay = rf * k1x - 1;
    const hh = Math.min(Math.max((x * bax + y * bay) / (bax * bax + bay * bay), 0), r);
    return Math.hypot(x - bax * hh, y - bay * hh) * Math.sign(y * bax - x * bay);
  }
  throw new Error(`unknown shape ${shape}`);
}

const areaCache = new Map<string, number>();
/** Area of a shape of size 1 (numerically). */
function unitArea(world: World, shape: string): number {
  const c = areaCache.get(shape);
  if (c !== undefined) return c;
  let n = 0;
  const N = 200, ext = 1.6;
  for (let i = 0; i < N; i++) for (let j = 0; j < N; j++) {
    const x = -ext + (2 * ext * (j + 0.5)) / N, y = -ext + (2 * ext * (i + 0.5)) / N;
    if (sdf(world, shape, x, y, 1) < 0) n++;
  }
  const a = (n * (2 * ext) ** 2) / (N * N);
  areaCache.set(shape, a);
  return a;
}

interface Component { pixels: number[]; area: number; cx: number; cy: number; colour: string; rgb: RGB }

/** Foreground components (8-connected) of one frame. */
export function components(world: World, clip: Clip, frame: Uint8Array, rows: RGB[], minArea: number): Component[] {
  const { width: w, height: h } = clip;
  const fg = new Uint8Array(w * h);
  const strong = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) {
    const c = at(rows, y);
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      const d = dist(at(frame, 3 * i), at(frame, 3 * i + 1), at(frame, 3 * i + 2), c);
      if (d > FG_THRESHOLD) fg[i] = 1;
      if (d > FG_THRESHOLD * 1.6) strong[i] = 1;
    }
  }
  const seen = new Uint8Array(w * h);
  const out: Component[] = [];
  const palette = Object.entries(world.colours);
  for (let s = 0; s < w * h; s++) {
    if (!fg[s] || seen[s]) continue;
    const stack = [s];
    seen[s] = 1;
    const pixels: number[] = [];
    while (stack.length) {
      const i = stack.pop() as number;
      pixels.push(i);
      const x = i % w, y = (i - x) / w;
      for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) {
        const nx = x + dx, ny = y + dy;
        if (nx < 0 || ny < 0 || nx >= w || ny >= h) continue;
        const j = ny * w + nx;
        if (fg[j] && !seen[j]) { seen[j] = 1; stack.push(j); }
      }
    }
    if (pixels.length < minArea) continue;
    let sx = 0, sy = 0, r = 0, g = 0, b = 0, n = 0;
    for (const i of pixels) {
      const x = i % w;
      sx += x + 0.5; sy += (i - x) / w + 0.5;
      if (strong[i]) { r += at(frame, 3 * i); g += at(frame, 3 * i + 1); b += at(frame, 3 * i + 2); n++; }
    }
    if (n === 0) for (const i of pixels) { r += at(frame, 3 * i); g += at(frame, 3 * i + 1); b += at(frame, 3 * i + 2); n++; }
    const rgb: RGB = [r / n, g / n, b / n];
    let colour = '', bd = Infinity;
    for (const [name, c] of palette) { const d = dist(rgb[0], rgb[1], rgb[2], c); if (d < bd) { bd = d; colour = name; } }
    out.push({ pixels, area: pixels.length, cx: sx / pixels.length, cy: sy / pixels.length, colour, rgb });
  }
  return out.sort((a, b) => b.area - a.area);
}

/** Best (shape, angle, IoU) for a component; angles in degrees. `only` restricts the shapes tried. */
export function fitShape(world: World, clip: Clip, comp: Component, only?: string): { shape: string; angle: number; iou: number } {
  const { width: w, height: h } = clip;
  const inside = new Set(comp.pixels);
  let x0 = w, y0 = h, x1 = 0, y1 = 0;
  for (const i of comp.pixels) { const x = i % w, y = (i - x) / w; x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y); }
  const pad = Math.ceil(Math.max(x1 - x0, y1 - y0) * 0.4) + 2;
  x0 = Math.max(0, x0 - pad); y0 = Math.max(0, y0 - pad); x1 = Math.min(w - 1, x1 + pad); y1 = Math.min(h - 1, y1 + pad);
  let best = { shape: '', angle: 0, iou: -1 };
  for (const shape of only ? [only] : world.shapes) {
    const R = Math.sqrt(comp.area / unitArea(world, shape));
    const sym = world.shape_symmetry_deg[shape] ?? 0;
    const steps = sym > 0 ? Math.round(sym / 4) : 1;
    for (let k = 0; k < steps; k++) {
      const ang = sym > 0 ? (k * sym) / steps : 0;
      const th = (ang * Math.PI) / 180, c = Math.cos(th), s = Math.sin(th);
      let inter = 0, uni = 0;
      for (let y = y0; y <= y1; y++) for (let x = x0; x <= x1; x++) {
        const dx = x + 0.5 - comp.cx, dy = y + 0.5 - comp.cy;
        const t = sdf(world, shape, c * dx + s * dy, -s * dx + c * dy, R) < 0;
        const m = inside.has(y * w + x);
        if (t && m) inter++;
        if (t || m) uni++;
      }
      const iou = uni ? inter / uni : 0;
      if (iou > best.iou) best = { shape, angle: ang, iou };
    }
  }
  return best;
}

function mode<T>(xs: T[]): T | undefined {
  const m = new Map<T, number>();
  let best: T | undefined, bn = 0;
  for (const x of xs) { const n = (m.get(x) ?? 0) + 1; m.set(x, n); if (n > bn) { bn = n; best = x; } }
  return best;
}

function linfit(ts: number[], ys: number[]): { slope: number; icpt: number } {
  const n = ts.length;
  if (n < 2) return { slope: 0, icpt: ys[0] ?? 0 };
  const mt = ts.reduce((a, b) => a + b, 0) / n, my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0, den = 0;
  for (let i = 0; i < n; i++) { num += (at(ts, i) - mt) * (at(ys, i) - my); den += (at(ts, i) - mt) ** 2; }
  const slope = den > 0 ? num / den : 0;
  return { slope, icpt: my - slope * mt };
}

/** Motion and speed from an object's track (times tau, centre in frame heights, area in px, angle in degrees). */
export function classifyMotion(world: World, tau: number[], xs: number[], ys: number[], areas: number[], angles: number[], sym: number):
  { motion: string; speed: string | null; features: ObjectReport['features'] } {
  const P = world.motion_params;
  const fx = linfit(tau, xs), fy = linfit(tau, ys);
  const resid = ys.map((y, i) => y - (fy.icpt + fy.slope * at(tau, i)));
  const wobble = resid.length ? Math.max(...resid) - Math.min(...resid) : 0;
  const fs = linfit(tau, areas.map((a) => Math.log(Math.sqrt(Math.max(a, 1)))));
  const scale = Math.exp(fs.slope);
  // unwrap angles modulo the symmetry period
  let rotation = 0;
  if (sym > 0 && angles.length > 1) {
    const un = [at(angles, 0)];
    for (let i = 1; i < angles.length; i++) {
      let d = at(angles, i) - at(angles, i - 1);
      d = ((d % sym) + sym) % sym;
      if (d > sym / 2) d -= sym;
      un.push(at(un, i - 1) + d);
    }
    rotation = linfit(tau, un).slope;
  }
  // bounces: local minima of y (highest points) that rise clearly above the ground line
  const ground = ys.length ? Math.max(...ys) : 0;
  let bounces = 0;
  for (let i = 0; i < ys.length; i++) {
    const y = at(ys, i);
    const l = i > 0 ? at(ys, i - 1) : Infinity, r = i < ys.length - 1 ? at(ys, i + 1) : Infinity;
    if (y <= l && y < r && ground - y > 0.08) bounces++;
  }
  const dx = fx.slope, dy = fy.slope;
  const features = { dx, dy, wobble, scale, rotation, bounces };
  const mid = (o: { slow: number; quick: number }) => (o.slow + o.quick) / 2;
  const gmid = (o: { slow: number; quick: number }) => Math.sqrt(o.slow * o.quick);
  if (xs.length < 2) return { motion: 'still', speed: null, features };
  if (Math.abs(dx) > 0.15 && Math.abs(dx) > Math.abs(dy)) {
    return { motion: dx < 0 ? 'left' : 'right', speed: Math.abs(dx) > mid(P.move_h) ? 'quick' : 'slow', features };
  }
  if (wobble > 0.1 && bounces >= 1 && Math.abs(dy) < 0.15) {
    return { motion: 'bounce', speed: bounces >= 2 || wobble > mid(P.bounce_height) + 0.05 ? 'quick' : 'slow', features };
  }
  if (Math.abs(dy) > 0.08) return { motion: dy < 0 ? 'up' : 'down', speed: Math.abs(dy) > mid(P.move_v) ? 'quick' : 'slow', features };
  if (scale > 1.15) return { motion: 'grow', speed: scale > gmid(P.grow) ? 'quick' : 'slow', features };
  if (scale < 0.87) return { motion: 'shrink', speed: scale < gmid(P.shrink) ? 'quick' : 'slow', features };
  if (Math.abs(rotation) > 25) return { motion: 'spin', speed: Math.abs(rotation) > mid(P.spin) ? 'quick' : 'slow', features };
  return { motion: 'still', speed: null, features };
}

/** Full analysis of one clip. */
export function analyseClip(world: World, clip: Clip): Analysis {
  const background = classifyBackground(world, clip);
  const rows = backgroundRows(world, background, clip.height);
  const minArea = Math.max(6, Math.round(clip.width * clip.height * 0.003));
  const n = clip.frames.length;
  const perFrame = clip.frames.map((f) => components(world, clip, f, rows, minArea));
  // count: the most frequent number of significant components (ignoring specks under 15% of the largest)
  const counts = perFrame.map((cs) => cs.filter((c) => c.area >= 0.15 * (cs[0]?.area ?? 0)).length);
  const count = mode(counts) ?? 0;
  // tracks keyed by colour (objects of a shot differ in colour); keep the `count` most frequent colours
  const byColour = new Map<string, { f: number; c: Component }[]>();
  perFrame.forEach((cs, f) => {
    const used = new Set<string>();
    for (const c of cs.slice(0, Math.max(count, 1) + 1)) {
      if (used.has(c.colour)) continue;
      used.add(c.colour);
      const list = byColour.get(c.colour) ?? [];
      list.push({ f, c });
      byColour.set(c.colour, list);
    }
  });
  const tracks = [...byColour.entries()].sort((a, b) => b[1].length - a[1].length).slice(0, Math.max(count, 1))
    .filter(([, t]) => t.length >= Math.max(1, Math.ceil(n * 0.3)));
  const H = clip.height;
  const objects: ObjectReport[] = tracks.map(([colour, tr]) => {
    // shape: area-weighted vote over up to 8 frames, largest frames first
    const sample = [...tr].sort((a, b) => b.c.area - a.c.area).slice(0, 8);
    const votes = new Map<string, number>();
    let scoreSum = 0;
    for (const s of sample) {
      const fit = fitShape(world, clip, s.c);
      votes.set(fit.shape, (votes.get(fit.shape) ?? 0) + s.c.area * fit.iou);
      scoreSum += fit.iou;
    }
    const shape = [...votes.entries()].sort((a, b) => b[1] - a[1])[0]?.[0] ?? '';
    const sym = world.shape_symmetry_deg[shape] ?? 0;
    const tau = tr.map((e) => (e.f + 0.5) / n);
    const angles = sym > 0 ? tr.map((e) => fitShape(world, clip, e.c, shape).angle) : [];
    const mo = classifyMotion(world, tau, tr.map((e) => e.c.cx / H), tr.map((e) => e.c.cy / H), tr.map((e) => e.c.area), angles, sym);
    return { colour, shape, shapeScore: scoreSum / Math.max(1, sample.length), motion: mo.motion, speed: mo.speed, frames: tr.length, features: mo.features };
  });
  return { background, count, objects };
}

/** Which expected attributes the analysis shows. Objects are matched by colour, then by leftover order. */
export function scoreClip(expected: Expected, a: Analysis): Score {
  const left = [...a.objects];
  const matched: (ObjectReport | undefined)[] = expected.objects.map((o) => {
    const i = left.findIndex((d) => d.colour === o.colour);
    return i >= 0 ? left.splice(i, 1)[0] : undefined;
  });
  for (let i = 0; i < matched.length; i++) if (!matched[i] && left.length) matched[i] = left.shift();
  const colour = expected.objects.every((o, i) => matched[i]?.colour === o.colour);
  const shape = expected.objects.every((o, i) => matched[i]?.shape === o.shape);
  const motion = expected.objects.every((_, i) => matched[i]?.motion === expected.motion);
  const speed = expected.speed === null ? null : expected.objects.every((_, i) => matched[i]?.speed === expected.speed);
  return { background: a.background === expected.background, count: a.count === expected.count, colour, shape, motion, speed };
}

export interface Summary {
  clips: number;
  perAttribute: Record<Attribute | 'speed', number>;
  attributesRight: number;
  allRight: number;
}

/** Per-attribute accuracy (%), mean fraction of the five attributes right (%), all five right (%). */
export function summarise(scores: Score[]): Summary {
  const pct = (k: number) => (scores.length ? (100 * k) / scores.length : 0);
  const per = {} as Record<Attribute | 'speed', number>;
  for (const k of ATTRIBUTES) per[k] = pct(scores.filter((s) => s[k]).length);
  const sp = scores.filter((s) => s.speed !== null);
  per.speed = sp.length ? (100 * sp.filter((s) => s.speed).length) / sp.length : 0;
  const right = scores.reduce((acc, s) => acc + ATTRIBUTES.filter((k) => s[k]).length / ATTRIBUTES.length, 0);
  return { clips: scores.length, perAttribute: per, attributesRight: pct(right), allRight: pct(scores.filter((s) => ATTRIBUTES.every((k) => s[k])).length) };
}
