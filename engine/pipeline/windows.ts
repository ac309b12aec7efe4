/**
 * How a shot of N frames is cut into denoiser windows (BUNDLE.md, step 3): windows of F frames
 * from the start; a remainder is covered by a last window [N − F, N) of which only the new frames
 * are emitted. Each window after the first is conditioned on the K frames before its start.
 */
export interface Window {
  index: number;
  start: number;
  /** Frames in the window (F, or N when N < F). */
  frames: number;
  /** Frames of the window already made by the previous one (not emitted again). */
  skip: number;
}

export function frameCount(duration: number, fps: number): number {
  return Math.max(1, Math.round(duration * fps));
}

export const frameTime = (j: number, n: number): number => (j + 0.5) / n;

export function planWindows(n: number, f: number): Window[] {
  if (n <= f) return [{ index: 0, start: 0, frames: n, skip: 0 }];
  const windows: Window[] = [];
  let start = 0;
  while (start + f <= n) {
    windows.push({ index: windows.length, start, frames: f, skip: 0 });
    start += f;
  }
  const rest = n % f;
  if (rest > 0) windows.push({ index: windows.length, start: n - f, frames: f, skip: f - rest });
  return windows;
}

/** The flow-matching time grid: t_i = shift·s/(1 + (shift − 1)·s), s = 1 − i/S. */
export function timeGrid(steps: number, shift: number): number[] {
  return Array.from({ length: steps + 1 }, (_, i) => {
    const s = 1 - i / steps;
    return (shift * s) / (1 + (shift - 1) * s);
  });
}
