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
  expert   an expert fine-tuned from the denoiser on its noise levels only (stage_expert.py): --expert-side low (the
           default) below --expert-boundary, high from it up
  attach   export the run's experts into the bundle (low beside the final denoiser, high over it), name both in the
           final profile's experts, and
           rewrite the final part of the reference fixture with them (4 steps, so both run)
  data     engine/eval/world.json, heldout.json, heldout-parallel.json (deterministic)
  card     MODEL_CARD.md of the bundle

This file is the command line only: it parses the options and calls the stages in order. The configuration is in
config.py, the training windows in data.py, the stages in stage_ae.py, stage_den.py, stage_distill.py, stage_up.py,
export.py, evaluate.py (eval, parallel) and model_card.py (card), the data stage in eval_sets.py.
"""
from __future__ import annotations

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import blas  # noqa: E402  (no torch: the BLAS alternatives must be set before torch loads them)

if __name__ == "__main__":
    blas.setup_blas()

import argparse  # noqa: E402
import time  # noqa: E402

import torch  # noqa: E402

import config  # noqa: E402
import eval_sets  # noqa: E402
import evaluate  # noqa: E402
import export  # noqa: E402
import model_card  # noqa: E402
from config import REPO, Ctx, log  # noqa: E402
from stage_ae import stage_ae  # noqa: E402
from stage_den import stage_den  # noqa: E402
from stage_distill import stage_distill  # noqa: E402
from stage_expert import attach_expert, expert_reference, stage_expert  # noqa: E402
from stage_up import stage_up  # noqa: E402


def parse_args(argv=None):
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
    ap.add_argument("--expert-min", type=float, default=60.0, help="training budget of the low-noise expert")
    ap.add_argument("--expert-boundary", type=float, default=0.6, help="noise level below which the low-noise expert runs")
    ap.add_argument("--expert-lr-scale", type=float, default=0.3,
                    help="the expert's learning rate as a share of the denoiser's (lower to go on from --expert-init)")
    ap.add_argument("--expert-init", default=None,
                    help="an expert checkpoint to start the expert stage from (its EMA weights) instead of the denoiser")
    ap.add_argument("--expert-side", default="low", choices=("low", "high"),
                    help="which expert the expert stage trains: low (t below the boundary) or high (t from it up)")
    ap.add_argument("--ckpt-every-min", type=float, default=10.0, help="denoiser checkpoint interval")
    return ap.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    dev = config.set_device(args.device)
    if args.quick:
        args.ae_min, args.den_min, args.distill_min, args.up_min = 0.6, 1.2, 0.6, 0.4
        if args.run == "main":
            args.run = "quick"
    ctx = Ctx(args)
    torch.manual_seed(int(ctx.rng.integers(2**31)))
    log(f"[main] run {ctx.run_dir} stages {args.stages} quick={args.quick} device {dev}"
        + (f" ({torch.cuda.get_device_name(0)})" if dev.type == "cuda" else ""))
    stages = args.stages.split(",")
    with open(os.path.join(ctx.run_dir, "commands.log"), "a") as f:
        f.write(time.strftime("%Y-%m-%d %H:%M:%S ") + " ".join(["engine/training/train.py"] + sys.argv[1:]) + "\n")
    if "data" in stages:
        eval_sets.write_data()
    if "ae" in stages:
        stage_ae(ctx, args.ae_min)
    if "den" in stages:
        stage_den(ctx, args.den_min, batch=8 if args.quick else args.den_batch, eval_every_min=args.eval_every_min,
                  evaluate=lambda tag: evaluate.run_eval(ctx, profiles=("final",), limit=48, tag=tag))
    if "expert" in stages:
        stage_expert(ctx, args.expert_min, args.expert_boundary, batch=8 if args.quick else args.den_batch,
                     side=args.expert_side, init=args.expert_init, lr_scale=args.expert_lr_scale)
    if "distill" in stages:
        stage_distill(ctx, args.distill_min, batch=8 if args.quick else 24)
    if "up" in stages:
        stage_up(ctx, args.up_min)
    out_root = args.out_root or (os.path.join(ctx.run_dir, "models") if args.quick else None)
    bundle_dir = os.path.join(out_root or os.path.join(REPO, "engine", "models"), args.bundle)
    if "export" in stages:
        export.export_bundle(ctx, args.bundle, quick=args.quick, out_root=out_root)
    if "attach" in stages:
        attach_expert(ctx, bundle_dir)
        expert_reference(ctx, bundle_dir)
    if "eval" in stages:
        evaluate.stage_eval(ctx, args.bundle, limit=(8 if args.quick else (args.eval_limit or None)))
    if "parallel" in stages:
        evaluate.stage_parallel(ctx, args.bundle, limit=(8 if args.quick else None))
    if "card" in stages:
        model_card.write_card(ctx, args.bundle, bundle_dir, bench=not args.quick)


if __name__ == "__main__":
    main()
