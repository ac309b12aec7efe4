"""The reference generation algorithm of engine/BUNDLE.md in Python (seeded noise, windows, Euler with guidance),
used for the eval and the parity fixtures. `Graphs` holds torch modules equal to the exported ONNX graphs."""
from __future__ import annotations

import math

import numpy as np
import torch

M32 = np.uint64(0xFFFFFFFF)


def hash32(x):
    """Vectorised over uint64 numpy arrays holding uint32 values."""
    x = np.asarray(x, dtype=np.uint64) & M32
    x ^= x >> np.uint64(16)
    x = (x * np.uint64(0x7FEB352D)) & M32
    x ^= x >> np.uint64(15)
    x = (x * np.uint64(0x846CA68B)) & M32
    x ^= x >> np.uint64(16)
    return x


def noise_stream(seed: int, window: int, n: int) -> np.ndarray:
    """First n values of the noise stream (seed, window) as float32."""
    key = hash32(np.uint64(seed & 0xFFFFFFFF) ^ hash32(np.uint64((window + 0x9E3779B9) & 0xFFFFFFFF)))
    k = np.arange(n, dtype=np.uint64)
    i1 = 2 * k
    i2 = 2 * k + 1
    r1 = hash32((key + i1 * np.uint64(0x9E3779B9)) & M32)
    r2 = hash32((key + i2 * np.uint64(0x9E3779B9)) & M32)
    u1 = (r1.astype(np.float64) + 1.0) / 4294967297.0
    u2 = r2.astype(np.float64) / 4294967296.0
    return (np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * math.pi * u2)).astype(np.float32)


def time_grid(steps: int, shift: float) -> list[float]:
    out = []
    for i in range(steps + 1):
        s = 1.0 - i / steps
        out.append(shift * s / (1.0 + (shift - 1.0) * s))
    return out


def windows(n: int, f: int) -> list[tuple[int, int, int]]:
    """(start, length, first emitted index within the window) per window."""
    if n <= f:
        return [(0, n, 0)]
    out = []
    s = 0
    while s + f <= n:
        out.append((s, f, 0))
        s += f
    r = n % f
    if r:
        out.append((n - f, f, f - r))
    return out


class Graphs:
    """Torch modules with the I/O of the exported graphs (float32, eval mode)."""

    def __init__(self, text_encoder, denoisers: dict, decoder, tokenizer, C=4, h=9, w=16, F=8, K=2):
        self.text_encoder, self.denoisers, self.decoder, self.tok = text_encoder, denoisers, decoder, tokenizer
        self.C, self.h, self.w, self.F, self.K = C, h, w, F, K

    @torch.no_grad()
    def encode_text(self, prompts: list[str]):
        ids = torch.tensor([self.tok.encode(p) for p in prompts], dtype=torch.int64)
        ctx, pooled = self.text_encoder(ids)
        return ctx, (ids != self.tok.pad_id).float(), pooled


def denoiser_at(profile: dict, t: float) -> str:
    """BUNDLE.md: the first expert whose noise range holds t, else the profile's denoiser."""
    for e in profile.get("experts") or []:
        if e["t_min"] <= t <= e["t_max"]:
            return e["denoiser"]
    return profile["denoiser"]


@torch.no_grad()
def generate(g: Graphs, prompts: list[str], seeds: list[int], n: int, profile: dict, negative: str = "",
             return_latents: bool = False):
    """Generate shots of n frames for several prompts at once (batched; identical to doing them one by one).
    profile: {denoiser, steps, guidance, shift, experts?}. Returns decoded base frames float32 [P, n, 3, H, W]."""
    P = len(prompts)
    guidance, steps, shift = float(profile["guidance"]), int(profile["steps"]), float(profile["shift"])
    ctx, cmask, pooled = g.encode_text(prompts)
    if guidance != 1.0:
        uctx, umask, upooled = g.encode_text([negative] * P)
    tgrid = time_grid(steps, shift)
    dens = [g.denoisers[denoiser_at(profile, tgrid[i])] for i in range(steps)]  # one denoiser per step
    taus = (np.arange(n) + 0.5) / n
    made = torch.zeros(P, g.C, n, g.h, g.w)
    for wi, (start, flen, first) in enumerate(windows(n, g.F)):
        size = g.C * flen * g.h * g.w
        x = torch.stack([torch.from_numpy(noise_stream(s, wi, size)).view(g.C, flen, g.h, g.w) for s in seeds])
        ft = torch.tensor(taus[start:start + flen], dtype=torch.float32).unsqueeze(0).expand(P, flen)
        if wi == 0:
            prev = torch.zeros(P, g.C, g.K, g.h, g.w)
            ptime = torch.zeros(P, g.K)
            pvalid = torch.zeros(P)
        else:
            # the K made frames before the window (indices clamped at 0: only when 0 < start < K, e.g. N = 9)
            pidx = [max(0, start - g.K + j) for j in range(g.K)]
            prev = made[:, :, pidx].clone()
            ptime = torch.tensor(taus[pidx], dtype=torch.float32).unsqueeze(0).expand(P, g.K)
            pvalid = torch.ones(P)
        sc = any(getattr(d, "self_cond", False) for d in dens)
        est = torch.zeros(2 * P if guidance != 1.0 else P, g.C, flen, g.h, g.w)  # x0 estimates of the last step
        for i in range(steps):
            den = dens[i]
            t = torch.full((P,), tgrid[i], dtype=torch.float32)
            extra = (est,) if sc else ()
            if guidance != 1.0:
                xx = torch.cat([x, x])
                vv = den(xx, torch.cat([t, t]), torch.cat([ft, ft]), torch.cat([ctx, uctx]),
                         torch.cat([cmask, umask]), torch.cat([pooled, upooled]), torch.cat([prev, prev]),
                         torch.cat([ptime, ptime]), torch.cat([pvalid, pvalid]), *extra)
                vc, vu = vv[:P], vv[P:]
                v = vu + guidance * (vc - vu)
            else:
                xx = x
                vv = v = den(x, t, ft, ctx, cmask, pooled, prev, ptime, pvalid, *extra)
            if sc:  # each half of the batch conditions on its own estimate: x0 = x - t * v
                est = xx - tgrid[i] * vv
            x = x + (tgrid[i + 1] - tgrid[i]) * v
        made[:, :, start + first:start + flen] = x[:, :, first:]
    lat = made.permute(0, 2, 1, 3, 4).reshape(P * n, g.C, g.h, g.w)
    rgb = torch.cat([g.decoder(lat[i:i + 64]) for i in range(0, lat.shape[0], 64)])
    rgb = rgb.view(P, n, 3, rgb.shape[-2], rgb.shape[-1])
    if return_latents:
        return rgb, made
    return rgb
