"""Stage `expert`: the two experts of the final profile (Wan2.2's mixture of experts: a high-noise expert lays the
picture out, a low-noise expert draws its detail, one of them per step by the step's noise level). Each starts as a
copy of the run's EMA denoiser and is fine-tuned with the same loss on its own noise levels only: the low-noise expert
on t in [0, boundary), the high-noise expert on t in [boundary, 1]; the text encoder is shared and stays frozen (the
bundle has one). Resumable from runs/<run>/expert.pt (low) and expert_high.pt (high); `attach_expert` exports what the
run holds into a bundle (the low expert beside the final denoiser, the high expert as the final denoiser) and names
both in the final profile's `experts` (engine/BUNDLE.md)."""
from __future__ import annotations

import copy
import json
import os
import time

import numpy as np
import torch

import config
from config import DEN_LR, Ctx, log, save
from render_pool import TrainingBatches
from stage_ae import load_ae
from stage_den import den_loss, ema_update, load_den

LOW = "final_denoiser_low"
SIDES = ("low", "high")


def expert_file(side: str) -> str:
    if side not in SIDES:
        raise SystemExit(f"[expert] the side is low or high, not {side!r}")
    return "expert.pt" if side == "low" else "expert_high.pt"


def stage_expert(ctx: Ctx, minutes: float, boundary: float, batch: int = 32, lr_scale: float = 0.3, side: str = "low",
                 init: str | None = None):
    """Fine-tunes (or resumes) the low- or high-noise expert for `minutes` of wall-clock time in all. `init`: an
    expert checkpoint (its EMA weights) to start from instead of the run's denoiser, for an expert going on over
    another range (a new boundary); a run that already holds this side's checkpoint resumes it instead."""
    p = ctx.path(expert_file(side))
    enc, dec, stats = load_ae(ctx, config.DEV)
    te, den, _ = load_den(ctx)
    te = te.to(config.DEV).eval()
    for q in te.parameters():
        q.requires_grad_(False)
    low = copy.deepcopy(den).to(config.DEV).train()
    ema = copy.deepcopy(low)
    base_lr = DEN_LR["unet"] * lr_scale
    opt = torch.optim.AdamW(low.parameters(), lr=base_lr, weight_decay=0.01, betas=(0.9, 0.99))
    st = {"step": 0, "elapsed": 0.0, "clips": 0, "boundary": boundary}
    if os.path.exists(p):
        ck = torch.load(p, map_location="cpu")
        if abs(ck["state"]["boundary"] - boundary) > 1e-9:
            raise SystemExit(f"[expert] {p} was trained at the boundary t = {ck['state']['boundary']}, not {boundary}")
        low.load_state_dict(ck["low"]), ema.load_state_dict(ck["low_ema"]), opt.load_state_dict(ck["opt"])
        st = ck["state"]
    elif init:
        start = torch.load(init, map_location="cpu")
        low.load_state_dict(start["low_ema"]), ema.load_state_dict(start["low_ema"])
        log(f"[expert] starting from {init} (trained at t = {start['state']['boundary']})")
    log(f"[expert] {side}-noise expert ({'below' if side == 'low' else 'from'} t = {boundary}): lr {base_lr}, batch {batch}, resume step {st['step']} "
        f"elapsed {st['elapsed'] / 60:.1f} of {minutes:.1f} min")
    batches = TrainingBatches(ctx, batch, enc, stats)  # render workers on a GPU, as in stage `den`
    t0 = time.time() - st["elapsed"]
    last_save = time.time()
    losses, tl = [], time.time()

    def checkpoint():
        st["elapsed"] = time.time() - t0
        # the keys keep their first names ("low") for either side, so earlier checkpoints load as they are
        save({"low": low.state_dict(), "low_ema": ema.state_dict(), "opt": opt.state_dict(), "state": st}, p)

    b = None
    while time.time() - t0 < minutes * 60:
        if b is None or st["step"] % max(1, ctx.args.den_reuse) == 0:
            b = batches.next()
            st["clips"] += batch
        frac = (time.time() - t0) / 60 / max(minutes, 1e-6)
        lr = base_lr * min(1.0, (st["step"] + 1) / 100) * (1.0 if frac < 0.75 else max(0.1, 1 - 0.9 * (frac - 0.75) / 0.25))
        for g in opt.param_groups:
            g["lr"] = lr
        u = torch.rand(batch, device=b["x0"].device)
        t = u * boundary if side == "low" else boundary + u * (1 - boundary)
        loss = den_loss(te, low, b, t=t)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(low.parameters(), 1.0)
        opt.step()
        ema_update(ema, low, min(ctx.args.ema, (1 + st["step"]) / (10 + st["step"])))
        st["step"] += 1
        losses.append(loss.item())
        if st["step"] % 50 == 0:
            log(f"[expert] step {st['step']} clips {st['clips']} loss {np.mean(losses):.4f} "
                f"{50 * batch / (time.time() - tl):.1f} windows/s elapsed {(time.time() - t0) / 60:.1f} min")
            losses, tl = [], time.time()
        if time.time() - last_save > 60 * ctx.args.ckpt_every_min:
            checkpoint()
            last_save = time.time()
    checkpoint()
    batches.close()
    log(f"[expert] done: step {st['step']} clips {st['clips']}")


def load_expert(ctx: Ctx, side: str = "low"):
    """The run's low- or high-noise expert (EMA weights, eval mode) and its boundary, or None without one."""
    p = ctx.path(expert_file(side))
    if not os.path.exists(p):
        return None
    ck = torch.load(p, map_location="cpu")
    _, den, _ = load_den(ctx)
    den.load_state_dict(ck["low_ema"])
    return den.eval(), float(ck["state"]["boundary"])


def expert_profile(final: dict, boundary: float) -> dict:
    """The final profile with its two experts: the final denoiser above the boundary, the low-noise one below."""
    return {**final, "experts": [{"denoiser": final["denoiser"], "t_min": boundary, "t_max": 1.0},
                                 {"denoiser": LOW, "t_min": 0.0, "t_max": boundary}]}


def attach_expert(ctx: Ctx, bundle_dir: str):
    """Exports the run's experts into an exported bundle (its final denoiser must be this run's, or the high-noise
    expert trained from it): the low-noise expert as `final_denoiser_low`, the high-noise one over the final
    denoiser; the final profile names both. A side the run lacks keeps the bundle's graph (its boundary must be the
    run's). The manifest's hashes follow; the reference fixture is not touched (`expert_reference`)."""
    from export import den_graph_entry, export_denoiser, sha256  # export imports this module's callers
    from model import VelocityWrapper

    got = {side: load_expert(ctx, side) for side in SIDES}
    if not any(got.values()):
        raise SystemExit(f"[expert] no {ctx.path('expert.pt')} nor {ctx.path('expert_high.pt')}")
    boundaries = {b for _, b in filter(None, got.values())}
    if len(boundaries) > 1:
        raise SystemExit(f"[expert] the run's experts were trained at different boundaries: {sorted(boundaries)}")
    boundary = boundaries.pop()
    mpath = os.path.join(bundle_dir, "manifest.json")
    with open(mpath, encoding="utf-8") as f:
        manifest = json.load(f)
    final = manifest["profiles"]["final"]
    if got["low"] is None and not any(e["denoiser"] == LOW and abs(e["t_max"] - boundary) < 1e-9 for e in final.get("experts", [])):
        raise SystemExit(f"[expert] the run has no low-noise expert and the bundle none below t = {boundary}")
    names = {"low": LOW, "high": final["denoiser"]}
    for side, entry in got.items():
        if entry is None:
            continue
        wrapped = VelocityWrapper(entry[0]).eval()
        export_denoiser(wrapped, os.path.join(bundle_dir, f"{names[side]}.onnx"))
        manifest["graphs"][names[side]] = den_graph_entry(wrapped, f"{names[side]}.onnx")
        log(f"[expert] attached the {side}-noise expert as {names[side]} ({'t < ' if side == 'low' else 't >= '}{boundary})")
    manifest["profiles"]["final"] = expert_profile(final, boundary)
    files = sorted(v["file"] for v in manifest["graphs"].values())
    manifest["sha256"] = {fn: sha256(os.path.join(bundle_dir, fn)) for fn in files}
    with open(mpath, "w", encoding="utf-8") as f:
        json.dump(manifest, f, ensure_ascii=False, indent=1)
        f.write("\n")


def expert_reference(ctx: Ctx, bundle_dir: str, steps: int = 4, shift: float = 3.0):
    """Rewrites the final profile's part of the bundle's reference fixture (fixtures/reference.json + .bin) with the
    experts as the manifest names them, at `steps` steps (enough that both experts run: at 4 steps and shift 3 the
    noise levels are 1, 0.9, 0.75 and 0.5), so the parity test checks both. The preview and upscaler parts are kept
    as they are (the run need not hold the preview student)."""
    from generate import Graphs, generate
    from graphs import build_graphs
    from model import VelocityWrapper

    fx = os.path.join(bundle_dir, "fixtures")
    with open(os.path.join(fx, "reference.json"), encoding="utf-8") as f:
        meta = json.load(f)
    with open(os.path.join(fx, "reference.bin"), "rb") as f:
        blob = f.read()
    with open(os.path.join(bundle_dir, "manifest.json"), encoding="utf-8") as f:
        final = json.load(f)["profiles"]["final"]
    low, high = load_expert(ctx, "low"), load_expert(ctx, "high")
    if low is None:
        raise SystemExit(f"[expert] the reference needs the run's low-noise expert ({ctx.path('expert.pt')})")
    g0 = build_graphs(ctx)
    dens = {**g0.denoisers, LOW: VelocityWrapper(low[0]).eval()}
    if high is not None:
        dens[final["denoiser"]] = VelocityWrapper(high[0]).eval()
    g = Graphs(g0.text_encoder, dens, g0.decoder, g0.tok,
               C=g0.C, h=g0.h, w=g0.w, F=g0.F, K=g0.K)
    prof = {**final, "steps": steps, "shift": shift}
    _, lat = generate(g, [meta["prompt"]], [meta["seed"]], meta["n"], prof, negative=meta["negative"], return_latents=True)
    with torch.no_grad():
        frames = np.concatenate([g.decoder(lat[:, :, j]).numpy() for j in range(meta["n"])])

    # The entries kept are copied byte for byte; the final profile's two go at the end.
    out = []

    def add(arr):
        arr = np.ascontiguousarray(arr, dtype="<f4")
        ent = {"offset": sum(len(b) for b in out), "shape": list(arr.shape)}
        out.append(arr.tobytes())
        return ent

    def keep(ent):
        n = int(np.prod(ent["shape"])) * 4
        return add(np.frombuffer(blob[ent["offset"]:ent["offset"] + n], dtype="<f4").reshape(ent["shape"]))

    meta["pooled"] = keep(meta["pooled"])
    pv = meta["profiles"]["preview"]
    pv["latents"], pv["frames"] = keep(pv["latents"]), keep(pv["frames"])
    for u in meta["upscalers"].values():
        u["input"], u["output"] = keep(u["input"]), keep(u["output"])
    meta["profiles"]["final"] = {"denoiser": final["denoiser"], "experts": final.get("experts"), "steps": steps,
                                 "guidance": final["guidance"], "shift": shift, "latents": add(lat[0].numpy()),
                                 "frames": add(frames)}
    with open(os.path.join(fx, "reference.bin"), "wb") as f:
        for b in out:
            f.write(b)
    with open(os.path.join(fx, "reference.json"), "w", encoding="utf-8") as f:
        json.dump(meta, f, ensure_ascii=False, indent=1)
    log(f"[expert] reference fixture: final profile with its experts at {steps} steps, shift {shift}")
