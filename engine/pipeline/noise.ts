/**
 * Seeded Gaussian noise, identical to engine/training (BUNDLE.md, Seeded noise): a counter-based
 * uint32 hash stream per (seed, window) turned into normals by Box-Muller. Counter-based means
 * window w's noise does not depend on how many windows came before.
 */
const GOLDEN = 0x9e3779b9;

export function hash32(x: number): number {
  x >>>= 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d) >>> 0;
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b) >>> 0;
  x ^= x >>> 16;
  return x >>> 0;
}

export const streamKey = (seed: number, window: number): number => hash32((seed >>> 0) ^ hash32((window + GOLDEN) >>> 0));

/** `count` standard normal values of stream (seed, window), as float32. */
export function gaussianNoise(seed: number, window: number, count: number): Float32Array {
  const key = streamKey(seed, window);
  const out = new Float32Array(count);
  const r = (i: number) => hash32((key + Math.imul(i, GOLDEN)) >>> 0);
  for (let k = 0; k < count; k++) {
    const u1 = (r(2 * k) + 1) / 4294967297;
    const u2 = r(2 * k + 1) / 4294967296;
    out[k] = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  }
  return out;
}
