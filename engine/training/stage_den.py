"""Stage `den`: the text encoder and the final denoiser, trained together by flow matching (x0-prediction, uniform t,
object-weighted loss plus the same on frame differences, self-conditioning, EMA, 10% caption dropout), with the caption
probe's loss (training only); `load_den` gives a run's (EMA) text encoder and denoiser."""
from __future__ import annotations

import copy
import os
import time

import numpy as np
import torch
import torch.nn.functional as F

import config
from config import (CHUNK_F, CHUNK_K, D_TEXT, DEN_CFG, DEN_LR, LAT_C, LAT_H, LAT_W, MAX_LEN, MOTION_W, PREV_NOISE,
                    SELF_COND_P, UNET_CFG, UNET_CFG_V1, Ctx, log, save)
from data import PROBE_MULTI, PROBE_ORDERED, PROBE_SINGLE, PROBE_SIZES
from model import CaptionProbe, Denoiser, TextEncoder, UNetDenoiser, n_params
from render_pool import TrainingBatches
from stage_ae import load_ae

PROBE_W = 0.1  # weight of the probe's loss next to the denoiser's


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


def stage_den(ctx: Ctx, minutes: float, batch: int = 32, eval_every_min: float = 0.0, evaluate=None):
    """Trains (or resumes) the text encoder + denoiser for `minutes` of wall-clock time (or `--den-more` minutes
    more). Every `eval_every_min` minutes, at a checkpoint, `evaluate(tag)` runs the held-out eval of the
    checkpoint (train.py hands over evaluate.run_eval: final profile, 48 prompts); its failure does not stop
    training."""
    p = ctx.path("den.pt")
    enc, dec, stats = load_ae(ctx, config.DEV)
    ck = torch.load(p, map_location="cpu") if os.path.exists(p) else None
    arch = ck.get("arch", "dit") if ck else ctx.args.den_arch  # a resumed run keeps its architecture
    cfg = den_cfg(ck) if ck else dict(UNET_CFG)
    grow = bool(ck) and arch == "unet" and getattr(ctx.args, "grow", False) and cfg != UNET_CFG
    if grow:  # the new modules start as identities, so the trained network is where it was
        cfg = dict(UNET_CFG)
    te, den = (m.to(config.DEV) for m in new_text_den(ctx, arch, cfg))
    params = list(te.parameters()) + list(den.parameters())
    base_lr = ctx.args.den_lr or DEN_LR[arch]
    opt = torch.optim.AdamW(params, lr=base_lr, weight_decay=0.01, betas=(0.9, 0.99))
    te_ema, den_ema = copy.deepcopy(te), copy.deepcopy(den)
    # the caption probe (training only) has an optimizer of its own, so checkpoints from before it still resume
    probe = CaptionProbe(D_TEXT, PROBE_SIZES).to(config.DEV)
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
    batches = TrainingBatches(ctx, batch, enc, stats)
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
            b = batches.next()
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
            due = eval_every_min and (time.time() - t0) / 60 - st["last_eval"] >= eval_every_min
            if due and evaluate is not None:
                st["last_eval"] = (time.time() - t0) / 60
                checkpoint()
                try:
                    evaluate(f"den-step{st['step']}")
                except Exception as e:  # noqa: BLE001 - an eval failure must not stop training
                    log(f"[den] periodic eval failed: {e!r}")
                t0 += 0  # eval time counts towards the budget
    checkpoint()
    batches.close()
    log(f"[den] done: step {st['step']} clips {st['clips']}")


def load_den(ctx, ema=True):
    ck = torch.load(ctx.path("den.pt"), map_location="cpu")
    te, den = new_text_den(ctx, ck.get("arch", "dit"), den_cfg(ck))
    te.load_state_dict(ck["te_ema" if ema else "te"]), den.load_state_dict(ck["den_ema" if ema else "den"])
    te.eval(), den.eval()
    return te, den, ck["state"]
