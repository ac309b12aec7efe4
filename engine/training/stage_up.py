"""Stage `up`: the upscalers x4 (64x36 -> 256x144) and x5 (256x144 -> 1280x720), trained on renders of the same view at
both resolutions (random zooms, sub-pixel shifts, blur and noise on the input); `load_up` gives a run's trained one."""
from __future__ import annotations

import math
import os
import time

import numpy as np
import torch
import torch.nn.functional as F

import config
import world as W
from config import UP4_CFG, UP5_CFG, Ctx, log, save
from model import Upscaler, n_params


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
    return x.to(config.DEV), y.to(config.DEV)


def stage_up(ctx: Ctx, minutes: float):
    for name, cfg, in_w, in_h, bs in (("up4", UP4_CFG, 64, 36, 16), ("up5", UP5_CFG, 48, 32, 8)):
        p = ctx.path(f"{name}.pt")
        net = Upscaler(cfg["scale"], cfg["w"], cfg["k_last"]).to(config.DEV)
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
