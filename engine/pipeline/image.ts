/**
 * Frame buffers: CHW float32 in [0,1] (what the graphs use) and HWC uint8 RGB (what leaves the
 * engine: JPEG encoder, ffmpeg). Bilinear resampling with pixel centres at (i + 0.5).
 */
export interface FloatImage {
  /** CHW, 3 channels. */
  data: Float32Array;
  width: number;
  height: number;
}

export function toRgb8(image: FloatImage): Uint8Array {
  const { data, width, height } = image;
  const plane = width * height;
  // A clamped array rounds and clamps on assignment, so the loop is one multiply per value;
  // reading each channel plane in order keeps the loads sequential.
  const out = new Uint8ClampedArray(plane * 3);
  for (let c = 0; c < 3; c++) {
    const src = data.subarray(c * plane, (c + 1) * plane);
    for (let i = 0, o = c; i < plane; i++, o += 3) out[o] = src[i]! * 255;
  }
  return new Uint8Array(out.buffer);
}

/**
 * Samples `src` over the window [x0, x0 + w] × [y0, y0 + h] (in units of the source size, 0..1)
 * into an image of `outW` × `outH`. The window may leave the frame: edges are clamped.
 */
export function sampleWindow(src: FloatImage, x0: number, y0: number, w: number, h: number, outW: number, outH: number): FloatImage {
  const { data, width: W, height: H } = src;
  const out = new Float32Array(3 * outW * outH);
  const plane = W * H;
  const outPlane = outW * outH;
  const xs = new Int32Array(outW * 2);
  const fx = new Float32Array(outW);
  for (let x = 0; x < outW; x++) {
    const sx = (x0 + ((x + 0.5) / outW) * w) * W - 0.5;
    const x1 = Math.floor(sx);
    fx[x] = sx - x1;
    xs[2 * x] = Math.min(W - 1, Math.max(0, x1));
    xs[2 * x + 1] = Math.min(W - 1, Math.max(0, x1 + 1));
  }
  for (let y = 0; y < outH; y++) {
    const sy = (y0 + ((y + 0.5) / outH) * h) * H - 0.5;
    const y1 = Math.floor(sy);
    const fy = sy - y1;
    const ra = Math.min(H - 1, Math.max(0, y1)) * W;
    const rb = Math.min(H - 1, Math.max(0, y1 + 1)) * W;
    for (let c = 0; c < 3; c++) {
      const base = c * plane;
      const outBase = c * outPlane + y * outW;
      for (let x = 0; x < outW; x++) {
        const a = xs[2 * x]!;
        const b = xs[2 * x + 1]!;
        const f = fx[x]!;
        const top = data[base + ra + a]! * (1 - f) + data[base + ra + b]! * f;
        const bottom = data[base + rb + a]! * (1 - f) + data[base + rb + b]! * f;
        out[outBase + x] = top * (1 - fy) + bottom * fy;
      }
    }
  }
  return { data: out, width: outW, height: outH };
}

export const resize = (src: FloatImage, width: number, height: number): FloatImage =>
  src.width === width && src.height === height ? src : sampleWindow(src, 0, 0, 1, 1, width, height);
