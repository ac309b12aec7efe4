"""Stage `distill`: the preview denoiser, a reflow-distilled student of the guided teacher (pairs of noise and the
teacher's FINAL-profile sample with the real clean context), so 1-4 Euler steps with guidance 1 reproduce it;
`teacher_sample` is the guided teacher's sampler (also used by the probe diagnostics)."""
from __future__ import annotations

import copy
import os
import time

import torch

import config
from config import FINAL, SELF_COND_P, Ctx, log, save, to_dev
from data import draw_flen, make_batch
from generate import time_grid
from model import VelocityWrapper
from stage_ae import load_ae
from stage_den import load_den


@torch.no_grad()
def teacher_sample(te, den, b, eps, steps, guidance, shift):
    """The guided teacher's Euler sample from noise eps for a batch b (ids, ft, prev, pt, pv): the empty caption as
    the unconditional half, self-conditioned per half as generate.py does."""
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
    enc, dec, stats = load_ae(ctx, config.DEV)
    te, teacher, _ = load_den(ctx)
    te, teacher = te.to(config.DEV), teacher.to(config.DEV)
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
        r = torch.rand(B, device=config.DEV)
        gi = torch.tensor([grid[int(i)] for i in ctx.rng.integers(0, len(grid), B)], device=config.DEV)
        t = torch.where(r < 0.7, gi, torch.rand(B, device=config.DEV))
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
