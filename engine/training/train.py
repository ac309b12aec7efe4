"""scenecast shapes model: every training stage, resumable.

    /usr/bin/python3 engine/training/train.py [--run NAME] [--quick] [--stages ae,den,distill,up,export,eval]
        [--ae-min M] [--den-min M] [--distill-min M] [--up-min M] [--bundle shapes-v1]

Stages (each resumes from engine/training/runs/<run>/<stage>.pt and stops when its time budget is spent;
raising a budget and re-running continues training from the checkpoint):
  ae       latent autoencoder 64x36x3 <-> 16x9x4
  den      text encoder + final denoiser (flow matching, x0-prediction, EMA, caption dropout)
  distill  preview denoiser: reflow-distilled student of the guided teacher (few steps, guidance baked in)
  up       upscalers x4 (64x36 -> 256x144) and x5 (256x144 -> 1280x720)
  export   ONNX graphs + manifest + fixtures into engine/models/<bundle>/
  eval     held-out prompts -> clips -> engine/eval/check-clips.ts (the one checker)
  parallel the held-out scenes in both languages (engine/eval/heldout-parallel.json, 224 prompts): the language gap
           on the same scenes (not in the default stages; the card shows it when it was run)
"""
from __future__ import annotations

import argparse
import copy
import json
import math
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))


def setup_blas() -> None:
    """Debian's torch links the reference BLAS (35x slower): point the alternatives at OpenBLAS (idempotent)."""
    base = "/usr/lib/x86_64-linux-gnu/openblas-openmp"
    for name, lib in (("libblas.so.3-x86_64-linux-gnu", "libblas.so.3"),
                      ("liblapack.so.3-x86_64-linux-gnu", "liblapack.so.3")):
        target = os.path.join(base, lib)
        if not os.path.exists(target):
            print(f"[setup] {target} missing (apt-get install -y libopenblas0-openmp); training will be slow")
            continue
        cur = os.path.realpath(f"/etc/alternatives/{name}")
        if cur != os.path.realpath(target):
            r = subprocess.run(["update-alternatives", "--set", name, target], capture_output=True, text=True)
            print(f"[setup] update-alternatives {name}: rc={r.returncode} {r.stderr.strip()}")


if __name__ == "__main__":
    setup_blas()  # before torch loads BLAS

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

sys.path.insert(0, HERE)
import world as W  # noqa: E402
from model import (CaptionProbe, Encoder, Decoder, NormDecoder, TextEncoder, Denoiser, UNetDenoiser, VelocityWrapper, Upscaler,  # noqa: E402
                   n_params)
from generate import Graphs, generate  # noqa: E402

FRAME_W, FRAME_H = 64, 36
LAT_C, LAT_H, LAT_W = 4, 9, 16
CHUNK_F, CHUNK_K = 8, 2
MAX_LEN = 36
D_TEXT = 128
DEN_CFG = dict(d=128, depth=5, heads=4, patch=2, tp=2)  # arch "dit"
# arch "unet": the configuration of new runs; a checkpoint keeps its own ("cfg"; those without one are UNET_CFG_V1)
UNET_CFG_V1 = dict(widths=(32, 64, 128), d_cond=128, heads=4, cross=(1,), tattn=(1,), mid_blocks=2)
UNET_CFG = dict(widths=(32, 64, 128), d_cond=128, heads=4, cross=(0, 1), tattn=(1,), mid_blocks=2, extra_up=(0, 1),
                cond_mlp=True, self_cond=True)
SELF_COND_P = 0.5  # share of training steps that condition on the model's own (detached) first x0 estimate
MOTION_W = 1.0  # weight of the frame-difference term of the denoiser loss
DEN_LR = {"dit": 5e-4, "unet": 1e-3}
UP4_CFG = dict(scale=4, w=(32, 32), k_last=3)
UP5_CFG = dict(scale=5, w=(16, 16), k_last=1)
PREV_NOISE = 0.1  # max std of the noise added to the clean context latents in training


def log(*a):
    print(time.strftime("%H:%M:%S"), *a, flush=True)


DEV = torch.device("cpu")  # where the stages train: main() picks CUDA when it is there (--device)


def to_dev(x):
    """x on DEV: a tensor, or the tensors in a dict or list (anything else as it is)."""
    if torch.is_tensor(x):
        return x.to(DEV)
    if isinstance(x, dict):
        return {k: to_dev(v) for k, v in x.items()}
    if isinstance(x, list):
        return [to_dev(v) for v in x]
    return x


class Ctx:
    def __init__(self, args):
        self.args = args
        self.run_dir = os.path.join(HERE, "runs", args.run)
        os.makedirs(self.run_dir, exist_ok=True)
        self.vocab = W.build_vocab()
        self.tok = W.Tokenizer(self.vocab, MAX_LEN)
        self.rng = np.random.default_rng(int(time.time() * 1000) % (2**32))

    def path(self, name):
        return os.path.join(self.run_dir, name)


def save(obj, path):
    tmp = path + ".tmp"
    torch.save(obj, tmp)
    os.replace(tmp, path)


# ---------------------------------------------------------------------------------------------- data
def sample_window(rng, split="train"):
    """A random training window: (scene, n, start, flen)."""
    if rng.random() < 0.15:
        n = int(rng.integers(1, CHUNK_F + 1))  # short shot: one window of n <= 8 frames
        return n, 0, n
    n = int(np.exp(rng.uniform(np.log(CHUNK_F), np.log(300))))
    wins = [(s, f) for (s, f, _) in _windows(n)]
    if rng.random() < 0.25:
        s, f = wins[0]
    else:
        s, f = wins[int(rng.integers(len(wins)))]
    return n, s, f


def _windows(n):
    from generate import windows
    return windows(n, CHUNK_F)


# what the caption probe reads out of the pooled caption (CaptionProbe): single-label and multi-label attributes
PROBE_SINGLE = {"motion": W.MOTIONS, "speed": W.SPEEDS, "count": [1, 2], "background": W.BG_NAMES}
PROBE_MULTI = {"colours": ("colour", W.COLOUR_NAMES), "shapes": ("shape", W.SHAPES)}  # head -> (object key, names)
# in reading order: the first and the second object's colour and shape (the world lays two objects out in the order
# they are named, so the caption must say which is which, not only which colours and shapes there are)
PROBE_ORDERED = {f"{key}{i + 1}": (i, key, names) for i in range(2) for key, names in
                 (("colour", W.COLOUR_NAMES), ("shape", W.SHAPES))}
PROBE_SIZES = {**{k: len(v) for k, v in PROBE_SINGLE.items()}, **{k: len(v) for k, (_, v) in PROBE_MULTI.items()},
               **{k: len(v) for k, (_, _, v) in PROBE_ORDERED.items()}}
PROBE_W = 0.1  # weight of the probe's loss next to the denoiser's


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


def probe_loss(probe, pooled, attrs) -> torch.Tensor:
    logits = probe(pooled)
    loss = pooled.new_zeros(())
    for k in (*PROBE_SINGLE, *PROBE_ORDERED):
        if (attrs[k] >= 0).any():
            loss = loss + F.cross_entropy(logits[k], attrs[k], ignore_index=-1)
    said = attrs["said"].view(-1, 1)
    for k in PROBE_MULTI:
        bce = F.binary_cross_entropy_with_logits(logits[k], attrs[k], reduction="none")
        loss = loss + (bce * said).sum() / said.sum().clamp(min=1.0) / attrs[k].shape[1]
    return loss


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
    """Rendered windows (render_windows) as tensors on DEV, with their normalised latents when enc is given."""
    out = {k: torch.from_numpy(np.asarray(raw[k], dtype=np.float32)) for k in ("ft", "pt", "pv")}
    out["ids"] = torch.from_numpy(raw["ids"])
    out["caps"] = raw["caps"]
    out["attrs"] = {k: torch.from_numpy(v) for k, v in raw["attrs"].items()}
    allf = torch.from_numpy(np.asarray(raw["rgb"], dtype=np.float32))  # [B,K+F,3,H,W]
    m = torch.from_numpy(np.asarray(raw["mask"], dtype=np.float32))  # [B,K+F,H,W]
    B, f = allf.shape[0], allf.shape[1] - CHUNK_K
    if enc is not None:
        with torch.no_grad():
            z = enc(allf.reshape(-1, 3, FRAME_H, FRAME_W).to(DEV))
            z = (z - stats[0].view(1, -1, 1, 1)) / stats[1].view(1, -1, 1, 1)
        z = z.view(B, CHUNK_K + f, LAT_C, LAT_H, LAT_W).permute(0, 2, 1, 3, 4)  # [B,C,T,h,w]
        z[:, :, :CHUNK_K] *= out["pv"].to(DEV).view(B, 1, 1, 1, 1)
        out["prev"] = z[:, :, :CHUNK_K].contiguous()
        out["x0"] = z[:, :, CHUNK_K:].contiguous()
        mw = F.avg_pool2d(m[:, CHUNK_K:].reshape(-1, 1, FRAME_H, FRAME_W).to(DEV), 4)  # [B*F,1,9,16]
        out["w"] = mw.view(B, f, LAT_H, LAT_W).unsqueeze(1)
    out["rgb"], out["mask"] = allf, m
    return to_dev(out)


def make_batch(ctx: Ctx, B: int, enc=None, stats=None, flen=None):
    """Renders B windows with the same frame count. Returns dict of tensors (latents normalised if enc given)."""
    return encode_windows(render_windows(ctx.rng, ctx.tok, B, flen, getattr(ctx.args, "two_objects", None)), enc, stats)


# ---------------------------------------------------------------------------------------------- stage: ae
def stage_ae(ctx: Ctx, minutes: float):
    p = ctx.path("ae.pt")
    enc, dec = Encoder(LAT_C).to(DEV), Decoder(LAT_C).to(DEV)
    opt = torch.optim.Adam(list(enc.parameters()) + list(dec.parameters()), lr=2e-3)
    st = {"step": 0, "elapsed": 0.0}
    ck = {}
    if os.path.exists(p):
        ck = torch.load(p, map_location="cpu")
        enc.load_state_dict(ck["enc"]), dec.load_state_dict(ck["dec"])
        if "opt" in ck:  # a slim checkpoint (checkpoints/) has no optimizer state: AdamW starts afresh
            opt.load_state_dict(ck["opt"])
        st = ck["state"]
    log(f"[ae] enc {n_params(enc)} dec {n_params(dec)} params, resume step {st['step']}, "
        f"elapsed {st['elapsed']/60:.1f} min of {minutes}")
    if st["elapsed"] >= minutes * 60 and "mean" in ck and ck.get("stats_v") == 2:
        log("[ae] already done (the latent statistics stay as they are)")
        return
    rng = ctx.rng
    t0 = time.time() - st["elapsed"]
    last_save = time.time()
    while time.time() - t0 < minutes * 60:
        frames, masks = [], []
        for _ in range(16):
            sc = W.random_scene(rng, "train")
            rgb, m = W.render(sc, rng.uniform(0, 1, 4), FRAME_W, FRAME_H)
            frames.append(rgb)
            masks.append(m)
        x = torch.from_numpy(np.concatenate(frames)).permute(0, 3, 1, 2).to(DEV)
        m = torch.from_numpy(np.concatenate(masks)).unsqueeze(1).to(DEV)
        prog = min(1.0, (time.time() - t0) / (minutes * 60))
        for g in opt.param_groups:  # linear decay to 10% over the stage's budget
            g["lr"] = 2e-3 * (1.0 - 0.9 * prog)
        z = enc(x)
        zn = z + 0.1 * torch.randn_like(z) * z.detach().std()
        y = dec(zn)
        wgt = 1.0 + 6.0 * F.max_pool2d(m, 3, 1, 1)
        loss = ((y - x).abs() * wgt).mean() + 4 * (((y - x) ** 2) * wgt).mean() + 1e-4 * (z ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        st["step"] += 1
        if st["step"] % 100 == 0:
            with torch.no_grad():
                psnr = -10 * torch.log10(((dec(z) - x) ** 2).mean())
            log(f"[ae] step {st['step']} loss {loss.item():.4f} psnr {psnr.item():.2f} z.std {z.std().item():.3f}")
        if time.time() - last_save > 300:
            st["elapsed"] = time.time() - t0
            save({"enc": enc.state_dict(), "dec": dec.state_dict(), "opt": opt.state_dict(), "state": st}, p)
            last_save = time.time()
    st["elapsed"] = time.time() - t0
    # latent statistics (per channel) for normalisation
    srng = np.random.default_rng(12345)  # fixed sample: the statistics are reproducible
    with torch.no_grad():
        zs = []
        for _ in range(400):
            sc = W.random_scene(srng, "train")
            rgb, _ = W.render(sc, srng.uniform(0, 1, 8), FRAME_W, FRAME_H)
            zs.append(enc(torch.from_numpy(rgb).permute(0, 3, 1, 2).to(DEV)))
        zs = torch.cat(zs)
        mean = zs.mean(dim=(0, 2, 3)).cpu()
        std = zs.std(dim=(0, 2, 3)).cpu()
    save({"enc": enc.state_dict(), "dec": dec.state_dict(), "opt": opt.state_dict(), "state": st,
          "mean": mean, "std": std, "stats_v": 2}, p)
    log(f"[ae] done: step {st['step']}, latent mean {mean.numpy().round(3)} std {std.numpy().round(3)}")


def load_ae(ctx, device="cpu"):
    ck = torch.load(ctx.path("ae.pt"), map_location="cpu")
    enc, dec = Encoder(LAT_C), Decoder(LAT_C)
    enc.load_state_dict(ck["enc"]), dec.load_state_dict(ck["dec"])
    enc.eval(), dec.eval()
    return enc.to(device), dec.to(device), (ck["mean"].to(device), ck["std"].to(device))


# ---------------------------------------------------------------------------------------------- stage: den
def den_cfg(ck) -> dict:
    """The UNet configuration of a denoiser checkpoint (older ones carry none: they are UNET_CFG_V1)."""
    return dict(ck.get("cfg") or UNET_CFG_V1)


def new_text_den(ctx, arch: str, cfg: dict | None = None):
    te = TextEncoder(len(ctx.vocab), MAX_LEN, d=D_TEXT)
    if arch == "unet":
        den = UNetDenoiser(c_lat=LAT_C, h=LAT_H, w=LAT_W, K=CHUNK_K, F=CHUNK_F, d_ctx=D_TEXT, **(cfg or UNET_CFG))
    elif arch == "dit":
        den = Denoiser(c_lat=LAT_C, h=LAT_H, w=LAT_W, K=CHUNK_K, d_ctx=D_TEXT, **DEN_CFG)
    else:
        raise ValueError(f"unknown denoiser architecture {arch!r}")
    return te, den


def den_lr(base: float, step: int, elapsed_min: float, minutes: float) -> float:
    """Warm-up over 300 steps, constant, then a linear decay to 10% over the last quarter of the budget."""
    warm = min(1.0, (step + 1) / 300)
    frac = elapsed_min / max(minutes, 1e-6)
    decay = 1.0 if frac < 0.75 else max(0.1, 1.0 - 0.9 * (frac - 0.75) / 0.25)
    return base * warm * decay


def den_loss(te, den, b, rng_t=None, t=None, probe=None):
    B = b["x0"].shape[0]
    if t is None:
        t = torch.rand(B, device=b["x0"].device)
    eps = torch.randn_like(b["x0"])
    tt = t.view(B, 1, 1, 1, 1)
    xt = (1 - tt) * b["x0"] + tt * eps
    ctxv, pooled = te(b["ids"])
    cmask = (b["ids"] != 0).float()
    # the context frames are the model's own output at generation time: small noise makes it robust to that
    prev = b["prev"] + PREV_NOISE * torch.rand(B, 1, 1, 1, 1, device=t.device) * torch.randn_like(b["prev"]) * b["pv"].view(B, 1, 1, 1, 1)
    sc = None
    if getattr(den, "self_cond", False) and float(torch.rand(())) < SELF_COND_P:
        with torch.no_grad():
            sc = den(xt, t, b["ft"], ctxv.detach(), cmask, pooled.detach(), prev, b["pt"], b["pv"]).detach()
    x0p = den(xt, t, b["ft"], ctxv, cmask, pooled, prev, b["pt"], b["pv"], *(() if sc is None else (sc,)))
    wgt = 1.0 + 8.0 * b["w"]
    loss = (((x0p - b["x0"]) ** 2) * wgt).mean()
    if MOTION_W and x0p.shape[2] > 1:
        # frame differences, weighted on cells an object covers in either frame: the same minimiser as the plain
        # loss (both are quadratic in x0p), but a static guess of a moving object costs more, so motion is learnt
        # sooner
        d_p = x0p[:, :, 1:] - x0p[:, :, :-1]
        d_t = b["x0"][:, :, 1:] - b["x0"][:, :, :-1]
        wd = 1.0 + 8.0 * torch.maximum(b["w"][:, :, 1:], b["w"][:, :, :-1])
        loss = loss + MOTION_W * (((d_p - d_t) ** 2) * wd).mean()
    if probe is not None:
        loss = loss + PROBE_W * probe_loss(probe, pooled, b["attrs"])
    return loss


def ema_update(ema, model, decay):
    with torch.no_grad():
        for pe, pm in zip(ema.parameters(), model.parameters()):
            pe.mul_(decay).add_(pm.detach(), alpha=1 - decay)


def stage_den(ctx: Ctx, minutes: float, batch: int = 32, eval_every_min: float = 0.0):
    p = ctx.path("den.pt")
    enc, dec, stats = load_ae(ctx, DEV)
    ck = torch.load(p, map_location="cpu") if os.path.exists(p) else None
    arch = ck.get("arch", "dit") if ck else ctx.args.den_arch  # a resumed run keeps its architecture
    cfg = den_cfg(ck) if ck else dict(UNET_CFG)
    grow = bool(ck) and arch == "unet" and getattr(ctx.args, "grow", False) and cfg != UNET_CFG
    if grow:  # the new modules start as identities, so the trained network is where it was
        cfg = dict(UNET_CFG)
    te, den = (m.to(DEV) for m in new_text_den(ctx, arch, cfg))
    params = list(te.parameters()) + list(den.parameters())
    base_lr = ctx.args.den_lr or DEN_LR[arch]
    opt = torch.optim.AdamW(params, lr=base_lr, weight_decay=0.01, betas=(0.9, 0.99))
    te_ema, den_ema = copy.deepcopy(te), copy.deepcopy(den)
    # the caption probe (training only) has an optimizer of its own, so checkpoints from before it still resume
    probe = CaptionProbe(D_TEXT, PROBE_SIZES).to(DEV)
    popt = torch.optim.AdamW(probe.parameters(), lr=base_lr, weight_decay=0.01, betas=(0.9, 0.99))
    st = {"step": 0, "elapsed": 0.0, "clips": 0, "last_eval": 0.0}
    warm_from = 0  # the learning-rate warm-up starts again with a fresh optimizer
    if ck:
        te.load_state_dict(ck["te"])
        r = den.load_state_dict(ck["den"], strict=not grow)
        if grow:
            if r.unexpected_keys:
                raise SystemExit(f"[den] cannot grow: unexpected keys {r.unexpected_keys}")
            log(f"[den] grown to {cfg}: {len(r.missing_keys)} new tensors")
        if "opt" in ck and not grow:
            opt.load_state_dict(ck["opt"])
        else:
            warm_from = ck["state"]["step"]
        te_ema.load_state_dict(ck["te_ema"]), den_ema.load_state_dict(ck["den_ema"], strict=not grow)
        if "probe" in ck:  # a slim checkpoint keeps the probe's heads without their optimizer
            r = probe.load_state_dict(ck["probe"], strict=False)  # heads added since start afresh
            if "probe_opt" in ck and not r.missing_keys:
                popt.load_state_dict(ck["probe_opt"])
        st = ck["state"]
    # --den-more M: M minutes more from where the run stands, with the learning-rate schedule over these M minutes
    # (a run moved to a faster machine would otherwise resume deep in the decay of its old budget)
    sched_from = 0.0
    if ctx.args.den_more:
        sched_from = st["elapsed"] / 60
        minutes = sched_from + ctx.args.den_more
    log(f"[den] {arch}: text {n_params(te)} denoiser {n_params(den)} params, lr {base_lr}, batch {batch}, resume step "
        f"{st['step']} elapsed {st['elapsed']/60:.1f} of {minutes:.1f} min")
    pool = None
    if ctx.args.render_workers:
        from render_pool import RenderPool
        pool = RenderPool(ctx.args.render_workers, batch, int(ctx.rng.integers(2**63)), ctx.tok, ctx.args.two_objects)
    t0 = time.time() - st["elapsed"]
    last_save = time.time()
    losses = []
    tl = time.time()

    def checkpoint():
        st["elapsed"] = time.time() - t0
        save({"te": te.state_dict(), "den": den.state_dict(), "opt": opt.state_dict(),
              "te_ema": te_ema.state_dict(), "den_ema": den_ema.state_dict(), "state": st, "arch": arch,
              "cfg": cfg, "probe": probe.state_dict(), "probe_opt": popt.state_dict()}, p)

    b = None
    while time.time() - t0 < minutes * 60:
        # each rendered + encoded batch (encoding costs about half a step) serves `reuse` steps, with fresh noise
        # and noise levels each time
        if b is None or st["step"] % max(1, ctx.args.den_reuse) == 0:
            if pool is not None:
                b = encode_windows(pool.next(), enc, stats)
            else:
                b = make_batch(ctx, batch, enc, stats, flen=draw_flen(ctx.rng))
            st["clips"] += batch  # distinct training windows
        lr = den_lr(base_lr, st["step"] - warm_from, (time.time() - t0) / 60 - sched_from, minutes - sched_from)
        for g in opt.param_groups + popt.param_groups:
            g["lr"] = lr
        loss = den_loss(te, den, b, probe=probe)
        opt.zero_grad()
        popt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        popt.step()
        decay = min(ctx.args.ema, (1 + st["step"]) / (10 + st["step"]))
        ema_update(te_ema, te, decay)
        ema_update(den_ema, den, decay)
        st["step"] += 1
        losses.append(loss.item())
        if st["step"] % 50 == 0:
            el = time.time() - tl
            log(f"[den] step {st['step']} clips {st['clips']} loss {np.mean(losses):.4f} "
                f"{50 * batch / el:.1f} windows/s trained elapsed {(time.time() - t0)/60:.1f} min")
            losses = []
            tl = time.time()
        if time.time() - last_save > 60 * ctx.args.ckpt_every_min:
            checkpoint()
            last_save = time.time()
            if eval_every_min and (time.time() - t0) / 60 - st["last_eval"] >= eval_every_min:
                st["last_eval"] = (time.time() - t0) / 60
                checkpoint()
                try:
                    run_eval(ctx, profiles=("final",), limit=48, tag=f"den-step{st['step']}")
                except Exception as e:  # noqa: BLE001 - an eval failure must not stop training
                    log(f"[den] periodic eval failed: {e!r}")
                t0 += 0  # eval time counts towards the budget
    checkpoint()
    if pool is not None:
        pool.close()
    log(f"[den] done: step {st['step']} clips {st['clips']}")


def load_den(ctx, ema=True):
    ck = torch.load(ctx.path("den.pt"), map_location="cpu")
    te, den = new_text_den(ctx, ck.get("arch", "dit"), den_cfg(ck))
    te.load_state_dict(ck["te_ema" if ema else "te"]), den.load_state_dict(ck["den_ema" if ema else "den"])
    te.eval(), den.eval()
    return te, den, ck["state"]


# ---------------------------------------------------------------------------------------------- stage: distill
PREVIEW = {"denoiser": "preview_denoiser", "sampler": "euler", "steps": 2, "guidance": 1.0, "shift": 1.0}
FINAL = {"denoiser": "final_denoiser", "sampler": "euler", "steps": 10, "guidance": 3.0, "shift": 2.0}


@torch.no_grad()
def teacher_sample(te, den, b, eps, steps, guidance, shift):
    from generate import time_grid
    B = eps.shape[0]
    ctxv, pooled = te(b["ids"])
    cmask = (b["ids"] != 0).float()
    empty = torch.zeros_like(b["ids"])
    empty[:, 0], empty[:, 1] = 2, 3
    uctx, upooled = te(empty)
    umask = (empty != 0).float()
    vw = VelocityWrapper(den)
    x = eps.clone()
    tg = time_grid(steps, shift)
    est = eps.new_zeros((2 * B,) + tuple(eps.shape[1:]))  # self-conditioning: each half's last x0 estimate
    for i in range(steps):
        t = eps.new_full((B,), tg[i])
        xx = torch.cat([x, x])
        vv = vw(xx, torch.cat([t, t]), torch.cat([b["ft"]] * 2), torch.cat([ctxv, uctx]),
                torch.cat([cmask, umask]), torch.cat([pooled, upooled]), torch.cat([b["prev"]] * 2),
                torch.cat([b["pt"]] * 2), torch.cat([b["pv"]] * 2), *((est,) if vw.self_cond else ()))
        est = xx - tg[i] * vv
        v = vv[B:] + guidance * (vv[:B] - vv[B:])
        x = x + (tg[i + 1] - tg[i]) * v
    return x


def stage_distill(ctx: Ctx, minutes: float, batch: int = 24):
    """Reflow distillation: pairs (noise, guided teacher sample) with the real clean context; the student
    (initialised from the teacher's EMA) learns to jump along the straight line between them, so 1-4 Euler
    steps with guidance 1 reproduce the guided teacher."""
    p = ctx.path("distill.pt")
    enc, dec, stats = load_ae(ctx, DEV)
    te, teacher, _ = load_den(ctx)
    te, teacher = te.to(DEV), teacher.to(DEV)
    student = copy.deepcopy(teacher).train()
    opt = torch.optim.AdamW(student.parameters(), lr=2e-4, weight_decay=0.0)
    st = {"step": 0, "elapsed": 0.0, "pairs": 0}
    pool = []
    if os.path.exists(p):
        ck = torch.load(p, map_location="cpu")
        student.load_state_dict(ck["student"])
        if "opt" in ck:
            opt.load_state_dict(ck["opt"])
        st, pool = ck["state"], to_dev(ck.get("pool", []))
    log(f"[distill] resume step {st['step']}, {len(pool)} pair batches, elapsed {st['elapsed']/60:.1f} of {minutes}")
    t0 = time.time() - st["elapsed"]
    last_save = time.time()
    grid = [1.0, 0.5]
    while time.time() - t0 < minutes * 60:
        # grow the pair pool (about 1/3 of the time), train on it the rest
        if len(pool) < (1 if ctx.args.quick else 4) or (st["step"] % 6 == 0 and len(pool) < 400):
            b = make_batch(ctx, batch, enc, stats, flen=draw_flen(ctx.rng))
            keep = [i for i, c in enumerate(b["caps"]) if c != ""]
            b = {k: (v[keep] if torch.is_tensor(v) else [v[i] for i in keep]) for k, v in b.items()
                 if k in ("ids", "ft", "pt", "pv", "prev", "x0", "w", "caps")}
            eps = torch.randn_like(b["x0"])
            xT = teacher_sample(te, teacher, b, eps, FINAL["steps"], FINAL["guidance"], FINAL["shift"])
            pool.append({"ids": b["ids"], "ft": b["ft"], "pt": b["pt"], "pv": b["pv"], "prev": b["prev"],
                         "eps": eps, "x0": xT, "w": b["w"]})
            st["pairs"] += eps.shape[0]
        b = pool[int(ctx.rng.integers(len(pool)))]
        B = b["eps"].shape[0]
        r = torch.rand(B, device=DEV)
        gi = torch.tensor([grid[int(i)] for i in ctx.rng.integers(0, len(grid), B)], device=DEV)
        t = torch.where(r < 0.7, gi, torch.rand(B, device=DEV))
        tt = t.view(B, 1, 1, 1, 1)
        xt = (1 - tt) * b["x0"] + tt * b["eps"]
        with torch.no_grad():
            ctxv, pooled = te(b["ids"])
        sargs = (xt, t, b["ft"], ctxv, (b["ids"] != 0).float(), pooled, b["prev"], b["pt"], b["pv"])
        if getattr(student, "self_cond", False) and float(torch.rand(())) < SELF_COND_P:
            with torch.no_grad():
                sargs = sargs + (student(*sargs).detach(),)
        x0p = student(*sargs)
        loss = (((x0p - b["x0"]) ** 2) * (1 + 8 * b["w"])).mean()
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(student.parameters(), 1.0)
        opt.step()
        st["step"] += 1
        if st["step"] % 50 == 0:
            log(f"[distill] step {st['step']} pairs {st['pairs']} loss {loss.item():.4f} "
                f"elapsed {(time.time() - t0)/60:.1f} min")
        if time.time() - last_save > 600:
            st["elapsed"] = time.time() - t0
            save({"student": student.state_dict(), "opt": opt.state_dict(), "state": st, "pool": pool}, p)
            last_save = time.time()
    st["elapsed"] = time.time() - t0
    save({"student": student.state_dict(), "opt": opt.state_dict(), "state": st, "pool": pool}, p)
    log(f"[distill] done: step {st['step']} pairs {st['pairs']}")


# ---------------------------------------------------------------------------------------------- stage: up
def gauss_blur(x, sigma):
    if sigma < 0.05:
        return x
    r = max(1, int(math.ceil(2.5 * sigma)))
    k = torch.exp(-0.5 * (torch.arange(-r, r + 1, dtype=torch.float32) / sigma) ** 2)
    k = k / k.sum()
    C = x.shape[1]
    x = F.conv2d(F.pad(x, (r, r, 0, 0), mode="replicate"), k.view(1, 1, 1, -1).repeat(C, 1, 1, 1), groups=C)
    return F.conv2d(F.pad(x, (0, 0, r, r), mode="replicate"), k.view(1, 1, -1, 1).repeat(C, 1, 1, 1), groups=C)


def up_pair(ctx, scale, in_w, in_h, batch):
    """Input (degraded) / target renders of the same random view: sub-pixel shifts, zooms, slight blur, noise."""
    rng = ctx.rng
    xs, ys = [], []
    for _ in range(batch):
        sc = W.random_scene(rng, "train")
        tau = rng.uniform(0, 1, 1)
        # a random view: zoom 1..1.6 (the camera stage crops), window of in_h/(frame height in px)
        if scale == 4:
            zoom = rng.uniform(1.0, 1.5) if rng.random() < 0.5 else 1.0
            vh = 1.0 / zoom
        else:  # crop of a 256x144 frame at a random zoom
            zoom = rng.uniform(1.0, 1.5)
            vh = in_h / 144.0 / zoom
        vw = vh * in_w / in_h
        x0 = rng.uniform(0, max(1e-6, W.ASPECT - vw))
        y0 = rng.uniform(0, max(1e-6, 1.0 - vh))
        view = (x0, y0, x0 + vw, y0 + vh)
        jit = tuple(rng.uniform(-0.5, 0.5, 2))
        lo, _ = W.render(sc, tau, in_w, in_h, view=view)
        hi, _ = W.render(sc, tau, in_w * scale, in_h * scale, view=view)
        xs.append(lo[0])
        ys.append(hi[0])
        del jit
    x = torch.from_numpy(np.stack(xs)).permute(0, 3, 1, 2)
    y = torch.from_numpy(np.stack(ys)).permute(0, 3, 1, 2)
    x = torch.cat([gauss_blur(x[i:i + 1], float(rng.uniform(0, 0.7))) for i in range(batch)])
    x = (x + torch.randn_like(x) * float(rng.uniform(0, 0.015))).clamp(0, 1)
    return x.to(DEV), y.to(DEV)


def stage_up(ctx: Ctx, minutes: float):
    for name, cfg, in_w, in_h, bs in (("up4", UP4_CFG, 64, 36, 16), ("up5", UP5_CFG, 48, 32, 8)):
        p = ctx.path(f"{name}.pt")
        net = Upscaler(cfg["scale"], cfg["w"], cfg["k_last"]).to(DEV)
        opt = torch.optim.Adam(net.parameters(), lr=1e-3)
        st = {"step": 0, "elapsed": 0.0}
        if os.path.exists(p):
            ck = torch.load(p, map_location="cpu")
            net.load_state_dict(ck["net"])
            if "opt" in ck:
                opt.load_state_dict(ck["opt"])
            st = ck["state"]
        t0 = time.time() - st["elapsed"]
        log(f"[{name}] {n_params(net)} params, resume step {st['step']}")
        base_l1 = []
        while time.time() - t0 < minutes * 60 / 2:
            x, y = up_pair(ctx, cfg["scale"], in_w, in_h, bs)
            out = net(x)
            loss = (out - y).abs().mean() + ((out - y) ** 2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            st["step"] += 1
            if st["step"] % 100 == 0:
                with torch.no_grad():
                    bl = (F.interpolate(x, scale_factor=cfg["scale"], mode="bilinear") - y).abs().mean()
                log(f"[{name}] step {st['step']} l1 {(out - y).abs().mean().item():.4f} "
                    f"(bilinear {bl.item():.4f})")
        st["elapsed"] = time.time() - t0
        save({"net": net.state_dict(), "opt": opt.state_dict(), "state": st}, p)
        log(f"[{name}] done step {st['step']}")


def load_up(ctx, name):
    cfg = UP4_CFG if name == "up4" else UP5_CFG
    net = Upscaler(cfg["scale"], cfg["w"], cfg["k_last"])
    net.load_state_dict(torch.load(ctx.path(f"{name}.pt"), map_location="cpu")["net"])
    return net.eval()


# ---------------------------------------------------------------------------------------------- graphs
def build_graphs(ctx):
    enc, dec, stats = load_ae(ctx)
    te, den, st = load_den(ctx)
    dens = {"final_denoiser": VelocityWrapper(den).eval()}
    if os.path.exists(ctx.path("distill.pt")):
        stu = copy.deepcopy(den)
        stu.load_state_dict(torch.load(ctx.path("distill.pt"), map_location="cpu")["student"])
        dens["preview_denoiser"] = VelocityWrapper(stu.eval()).eval()
    else:
        log("[graphs] no distilled student: preview uses the teacher")
        dens["preview_denoiser"] = dens["final_denoiser"]
    ndec = NormDecoder(dec, stats[0], stats[1]).eval()
    return Graphs(te, dens, ndec, ctx.tok, C=LAT_C, h=LAT_H, w=LAT_W, F=CHUNK_F, K=CHUNK_K)


# ---------------------------------------------------------------------------------------------- eval
def run_eval(ctx, profiles=("final", "preview"), limit=None, tag="eval", heldout_path=None):
    """Generates the held-out prompts with each profile, writes clips, runs the TypeScript checker."""
    heldout_path = heldout_path or os.path.join(REPO, "engine", "eval", "heldout.json")
    items = json.load(open(heldout_path, encoding="utf-8"))["prompts"]
    if limit:  # a balanced subset: English and Chinese interleaved
        en = [i for i in items if i["lang"] == "en"]
        zh = [i for i in items if i["lang"] == "zh"]
        items = [x for pair in zip(en, zh) for x in pair][:limit]
    g = build_graphs(ctx)
    results = {}
    for prof_name in profiles:
        prof = FINAL if prof_name == "final" else PREVIEW
        t0 = time.time()
        clips = []
        by_n = {}
        for it in items:
            n = max(1, round(it["duration"] * it["fps"]))
            by_n.setdefault(n, []).append(it)
        for n, its in by_n.items():
            for i in range(0, len(its), 16):
                chunk = its[i:i + 16]
                rgb = generate(g, [c["prompt"] for c in chunk], [c["seed"] for c in chunk], n, prof)
                for c, r in zip(chunk, rgb):
                    clips.append((c, (r.permute(0, 2, 3, 1).numpy() * 255 + 0.5).clip(0, 255).astype(np.uint8)))
        out = os.path.join(ctx.run_dir, "eval", f"{tag}-{prof_name}")
        write_clips(out, clips)
        gen_s = time.time() - t0
        r = subprocess.run(["npx", "tsx", "engine/eval/check-clips.ts", out + ".json", "--json", out + "-result.json"],
                           cwd=REPO, capture_output=True, text=True)
        log(f"[eval] {tag} {prof_name}: {len(clips)} clips generated in {gen_s:.0f}s\n{r.stdout}{r.stderr[-2000:]}")
        try:
            results[prof_name] = json.load(open(out + "-result.json"))
        except Exception as e:  # noqa: BLE001
            log(f"[eval] no result: {e}")
    with open(os.path.join(ctx.run_dir, "eval-history.jsonl"), "a") as f:
        f.write(json.dumps({"tag": tag, "time": time.time(),
                            "summary": {k: v.get("summary") for k, v in results.items()}}) + "\n")
    return results


def write_clips(path_noext, clips):
    """Clip file format of engine/eval (see engine/eval/README.md): <name>.bin holds uint8 RGB frames of all
    clips back to back (frame-major, row-major, RGB); <name>.json describes them."""
    os.makedirs(os.path.dirname(path_noext), exist_ok=True)
    meta = {"format": "scenecast-clips-1", "bin": os.path.basename(path_noext) + ".bin", "clips": []}
    off = 0
    with open(path_noext + ".bin", "wb") as f:
        for it, frames in clips:
            n, h, w, _ = frames.shape
            f.write(frames.tobytes())
            meta["clips"].append({"id": it["id"], "prompt": it["prompt"], "lang": it["lang"], "width": w,
                                  "height": h, "frames": n, "offset": off, "expected": it["expected"],
                                  "tags": it.get("tags", [])})
            off += frames.nbytes
    with open(path_noext + ".json", "w", encoding="utf-8") as f:
        json.dump(meta, f, ensure_ascii=False, indent=1)


# ---------------------------------------------------------------------------------------------- main
def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--run", default="main")
    ap.add_argument("--quick", action="store_true", help="a few minutes in all: proves the path")
    ap.add_argument("--stages", default="data,ae,den,distill,up,export,eval,card")
    ap.add_argument("--ae-min", type=float, default=5)
    ap.add_argument("--den-min", type=float, default=20)
    ap.add_argument("--distill-min", type=float, default=5)
    ap.add_argument("--up-min", type=float, default=4)
    ap.add_argument("--eval-every-min", type=float, default=0.0, help="periodic held-out eval during den")
    ap.add_argument("--eval-limit", type=int, default=0)
    ap.add_argument("--bundle", default="shapes-v1")
    ap.add_argument("--out-root", default=None, help="where bundles go (default engine/models; --quick: runs/<run>/models)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"],
                    help="where the stages train (auto: CUDA when torch sees a GPU); eval and export run on the CPU")
    ap.add_argument("--den-arch", default="unet", choices=["unet", "dit"],
                    help="denoiser of a new run (a resumed run keeps its checkpoint's)")
    ap.add_argument("--two-objects", type=float, default=None,
                    help="share of two-object scenes in the training windows (default: the world's, 0.3)")
    ap.add_argument("--den-lr", type=float, default=0.0, help="peak learning rate (default per architecture)")
    ap.add_argument("--grow", action="store_true",
                    help="resume a UNet checkpoint of a smaller configuration as UNET_CFG (new modules start as identities)")
    ap.add_argument("--ema", type=float, default=0.999, help="EMA decay of the denoiser (lower: a fine-tune shows sooner)")
    ap.add_argument("--den-reuse", type=int, default=2, help="steps per rendered batch")
    ap.add_argument("--den-batch", type=int, default=32, help="denoiser training windows per step (--quick: 8)")
    ap.add_argument("--den-more", type=float, default=0.0,
                    help="train the denoiser this many minutes more than it has, the learning-rate schedule over them "
                         "(instead of --den-min)")
    ap.add_argument("--render-workers", type=int, default=0,
                    help="processes that render the denoiser's training windows ahead (0: in the training process)")
    ap.add_argument("--ckpt-every-min", type=float, default=10.0, help="denoiser checkpoint interval")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    global DEV
    DEV = torch.device("cuda" if args.device == "cuda" or (args.device == "auto" and torch.cuda.is_available()) else "cpu")
    if DEV.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    if args.quick:
        args.ae_min, args.den_min, args.distill_min, args.up_min = 0.6, 1.2, 0.6, 0.4
        if args.run == "main":
            args.run = "quick"
    ctx = Ctx(args)
    torch.manual_seed(int(ctx.rng.integers(2**31)))
    log(f"[main] run {ctx.run_dir} stages {args.stages} quick={args.quick} device {DEV}"
        + (f" ({torch.cuda.get_device_name(0)})" if DEV.type == "cuda" else ""))
    stages = args.stages.split(",")
    with open(os.path.join(ctx.run_dir, "commands.log"), "a") as f:
        f.write(time.strftime("%Y-%m-%d %H:%M:%S ") + " ".join(["engine/training/train.py"] + sys.argv[1:]) + "\n")
    if "data" in stages:
        import eval_sets
        W.write_world_json(os.path.join(REPO, "engine", "eval", "world.json"), W.build_vocab())
        eval_sets.write_heldout()
        eval_sets.write_parallel()
    if "ae" in stages:
        stage_ae(ctx, args.ae_min)
    if "den" in stages:
        stage_den(ctx, args.den_min, batch=8 if args.quick else args.den_batch, eval_every_min=args.eval_every_min)
    if "distill" in stages:
        stage_distill(ctx, args.distill_min, batch=8 if args.quick else 24)
    if "up" in stages:
        stage_up(ctx, args.up_min)
    out_root = args.out_root or (os.path.join(ctx.run_dir, "models") if args.quick else None)
    bundle_dir = os.path.join(out_root or os.path.join(REPO, "engine", "models"), args.bundle)
    if "export" in stages:
        import export
        export.export_bundle(ctx, args.bundle, quick=args.quick, out_root=out_root)
    if "eval" in stages:
        res = run_eval(ctx, limit=(8 if args.quick else (args.eval_limit or None)), tag=f"{args.bundle}")
        with open(os.path.join(ctx.run_dir, f"eval-{args.bundle}.json"), "w") as f:
            json.dump({k: v.get("summary") for k, v in res.items()}, f, indent=1)
    if "parallel" in stages:
        res = run_eval(ctx, limit=(8 if args.quick else None), tag=f"{args.bundle}-parallel",
                       heldout_path=os.path.join(REPO, "engine", "eval", "heldout-parallel.json"))
        with open(os.path.join(ctx.run_dir, f"eval-{args.bundle}-parallel.json"), "w") as f:
            json.dump({k: v.get("summary") for k, v in res.items()}, f, indent=1)
    if "card" in stages:
        import model_card
        model_card.write_card(ctx, args.bundle, bundle_dir, bench=not args.quick)


if __name__ == "__main__":
    main()
