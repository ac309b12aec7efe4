"""Stage `ae`: the latent autoencoder 64x36x3 <-> 16x9x4 on rendered frames (L1 + L2, object pixels x7, latent noise),
then the per-channel latent mean/std; `load_ae` gives a run's trained pair and statistics."""
from __future__ import annotations

import os
import time

import numpy as np
import torch
import torch.nn.functional as F

import config
import world as W
from config import FRAME_H, FRAME_W, LAT_C, Ctx, log, save
from model import Decoder, Encoder, n_params


def stage_ae(ctx: Ctx, minutes: float):
    p = ctx.path("ae.pt")
    enc, dec = Encoder(LAT_C).to(config.DEV), Decoder(LAT_C).to(config.DEV)
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
        x = torch.from_numpy(np.concatenate(frames)).permute(0, 3, 1, 2).to(config.DEV)
        m = torch.from_numpy(np.concatenate(masks)).unsqueeze(1).to(config.DEV)
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
            zs.append(enc(torch.from_numpy(rgb).permute(0, 3, 1, 2).to(config.DEV)))
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
