"""The denoiser's training data: random windows of random shots of the world (frame count, start, length), rendered
with their clean context frames and captions (numpy only, so a render worker can send them), the caption probe's
targets for each window, and the batches as tensors on the training device with their normalised latents."""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

import config
import world as W
from config import CHUNK_F, CHUNK_K, FRAME_H, FRAME_W, LAT_C, LAT_H, LAT_W, Ctx, to_dev
from generate import windows


def sample_window(rng, split="train"):
    """A random training window: (frames in the shot n, window start, window length)."""
    if rng.random() < 0.15:
        n = int(rng.integers(1, CHUNK_F + 1))  # short shot: one window of n <= 8 frames
        return n, 0, n
    n = int(np.exp(rng.uniform(np.log(CHUNK_F), np.log(300))))
    wins = [(s, f) for (s, f, _) in windows(n, CHUNK_F)]
    if rng.random() < 0.25:
        s, f = wins[0]
    else:
        s, f = wins[int(rng.integers(len(wins)))]
    return n, s, f


# what the caption probe reads out of the pooled caption (CaptionProbe): single-label and multi-label attributes
PROBE_SINGLE = {"motion": W.MOTIONS, "speed": W.SPEEDS, "count": [1, 2], "background": W.BG_NAMES}
PROBE_MULTI = {"colours": ("colour", W.COLOUR_NAMES), "shapes": ("shape", W.SHAPES)}  # head -> (object key, names)
# in reading order: the first and the second object's colour and shape (the world lays two objects out in the order
# they are named, so the caption must say which is which, not only which colours and shapes there are)
PROBE_ORDERED = {f"{key}{i + 1}": (i, key, names) for i in range(2) for key, names in
                 (("colour", W.COLOUR_NAMES), ("shape", W.SHAPES))}
PROBE_SIZES = {**{k: len(v) for k, v in PROBE_SINGLE.items()}, **{k: len(v) for k, (_, v) in PROBE_MULTI.items()},
               **{k: len(v) for k, (_, _, v) in PROBE_ORDERED.items()}}


def scene_attributes(scenes: list[dict], caps: list[str]) -> dict:
    """Targets of the caption probe (numpy, so a render worker can send them); -1 (ignored) where the caption is
    empty or does not say it (a still object's speed)."""
    out = {}
    for k, names in PROBE_SINGLE.items():
        vals = []
        for sc, cap in zip(scenes, caps):
            v = len(sc["objects"]) if k == "count" else sc[k]
            said = bool(cap) and not (k == "speed" and sc["motion"] == "still")
            vals.append(names.index(v) if said else -1)
        out[k] = np.array(vals, dtype=np.int64)
    for k, (key, names) in PROBE_MULTI.items():
        out[k] = np.array([[float(any(o[key] == n for o in sc["objects"])) for n in names] for sc in scenes],
                          dtype=np.float32)
    for k, (i, key, names) in PROBE_ORDERED.items():
        out[k] = np.array([names.index(sc["objects"][i][key]) if cap and i < len(sc["objects"]) else -1
                           for sc, cap in zip(scenes, caps)], dtype=np.int64)
    out["said"] = np.array([1.0 if c else 0.0 for c in caps], dtype=np.float32)
    return out


def draw_flen(rng) -> int:
    """The frame count of a denoiser batch: mostly full windows, sometimes a short shot's 1..7 frames."""
    return CHUNK_F if rng.random() < 0.85 else int(rng.integers(1, CHUNK_F))


def render_windows(rng, tok, B: int, flen=None, two_objects=None) -> dict:
    """B random training windows with the same frame count, rendered (numpy only: a render worker sends it).
    rgb [B,K+F,3,H,W] and mask [B,K+F,H,W] hold K zero context frames where a window starts its shot."""
    items = []
    target_f = flen
    while len(items) < B:
        n, s, f = sample_window(rng)
        if target_f is None:
            target_f = f
        if f != target_f:
            # keep the batch's frame count: either short shots of exactly target_f frames or full windows
            if target_f < CHUNK_F:
                n, s, f = target_f, 0, target_f
            else:
                continue
        items.append((n, s, f))
    frames, masks, ft, pt, pv, caps, scenes = [], [], [], [], [], [], []
    for (n, s, f) in items:
        sc = W.random_scene(rng, "train", n_objects=None if two_objects is None else (2 if rng.random() < two_objects else 1))
        scenes.append(sc)
        taus = W.frame_times(n)
        idx = list(range(s, s + f))
        has_prev = s > 0
        pidx = [max(0, s - CHUNK_K + j) for j in range(CHUNK_K)] if has_prev else []
        rgb, m = W.render(sc, taus[pidx + idx], FRAME_W, FRAME_H)
        if not has_prev:
            rgb = np.concatenate([np.zeros((CHUNK_K,) + rgb.shape[1:], np.float32), rgb])
            m = np.concatenate([np.zeros((CHUNK_K,) + m.shape[1:], np.float32), m])
        frames.append(rgb)
        masks.append(m)
        ft.append(taus[idx])
        pt.append(taus[pidx] if has_prev else np.zeros(CHUNK_K))
        pv.append(1.0 if has_prev else 0.0)
        if rng.random() < 0.1:
            caps.append("")
        else:
            caps.append(W.caption(sc, "en" if rng.random() < 0.5 else "zh", rng))
    return {"ft": np.stack(ft).astype(np.float32), "pt": np.stack(pt).astype(np.float32),
            "pv": np.array(pv, dtype=np.float32), "ids": np.array([tok.encode(c) for c in caps], dtype=np.int64),
            "caps": caps, "attrs": scene_attributes(scenes, caps),
            "rgb": np.ascontiguousarray(np.stack(frames).transpose(0, 1, 4, 2, 3)), "mask": np.stack(masks)}


def encode_windows(raw: dict, enc=None, stats=None) -> dict:
    """Rendered windows (render_windows) as tensors on config.DEV, with their normalised latents when enc is given."""
    out = {k: torch.from_numpy(np.asarray(raw[k], dtype=np.float32)) for k in ("ft", "pt", "pv")}
    out["ids"] = torch.from_numpy(raw["ids"])
    out["caps"] = raw["caps"]
    out["attrs"] = {k: torch.from_numpy(v) for k, v in raw["attrs"].items()}
    allf = torch.from_numpy(np.asarray(raw["rgb"], dtype=np.float32))  # [B,K+F,3,H,W]
    m = torch.from_numpy(np.asarray(raw["mask"], dtype=np.float32))  # [B,K+F,H,W]
    B, f = allf.shape[0], allf.shape[1] - CHUNK_K
    if enc is not None:
        with torch.no_grad():
            z = enc(allf.reshape(-1, 3, FRAME_H, FRAME_W).to(config.DEV))
            z = (z - stats[0].view(1, -1, 1, 1)) / stats[1].view(1, -1, 1, 1)
        z = z.view(B, CHUNK_K + f, LAT_C, LAT_H, LAT_W).permute(0, 2, 1, 3, 4)  # [B,C,T,h,w]
        z[:, :, :CHUNK_K] *= out["pv"].to(config.DEV).view(B, 1, 1, 1, 1)
        out["prev"] = z[:, :, :CHUNK_K].contiguous()
        out["x0"] = z[:, :, CHUNK_K:].contiguous()
        mw = F.avg_pool2d(m[:, CHUNK_K:].reshape(-1, 1, FRAME_H, FRAME_W).to(config.DEV), 4)  # [B*F,1,9,16]
        out["w"] = mw.view(B, f, LAT_H, LAT_W).unsqueeze(1)
    out["rgb"], out["mask"] = allf, m
    return to_dev(out)


def make_batch(ctx: Ctx, B: int, enc=None, stats=None, flen=None):
    """Renders B windows with the same frame count. Returns dict of tensors (latents normalised if enc given)."""
    return encode_windows(render_windows(ctx.rng, ctx.tok, B, flen, getattr(ctx.args, "two_objects", None)), enc, stats)
