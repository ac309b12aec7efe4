"""Sampler sweep on a run's latest checkpoint: held-out prompts (balanced subset) with several (steps, guidance,
shift) settings of the final denoiser, judged by the checker.
    /usr/bin/python3 engine/training/sweep.py RUN LIMIT steps,guidance,shift [steps,guidance,shift ...]"""
import argparse, json, os, subprocess, sys, time
import numpy as np
import torch
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from config import REPO, Ctx
from eval_sets import write_clips
from generate import generate
from graphs import build_graphs

torch.set_num_threads(int(os.environ.get("THREADS", "1")))
run, limit = sys.argv[1], int(sys.argv[2])
ctx = Ctx(argparse.Namespace(run=run))
items = json.load(open(os.path.join(REPO, "engine/eval/heldout.json"), encoding="utf-8"))["prompts"]
en = [i for i in items if i["lang"] == "en"]; zh = [i for i in items if i["lang"] == "zh"]
items = [x for p in zip(en, zh) for x in p][:limit]
g = build_graphs(ctx)
for cfg in sys.argv[3:]:
    steps, gd, sh = cfg.split(",")
    prof = {"denoiser": os.environ.get("DEN", "final_denoiser"), "steps": int(steps), "guidance": float(gd), "shift": float(sh)}
    t0 = time.time(); clips = []
    by_n = {}
    for it in items:
        by_n.setdefault(max(1, round(it["duration"] * it["fps"])), []).append(it)
    for n, its in by_n.items():
        rgb = generate(g, [c["prompt"] for c in its], [c["seed"] for c in its], n, prof)
        for c, r in zip(its, rgb):
            clips.append((c, (r.permute(0, 2, 3, 1).numpy() * 255 + 0.5).clip(0, 255).astype(np.uint8)))
    out = os.path.join(ctx.run_dir, "eval", f"sweep-{cfg.replace(',', '_')}")
    write_clips(out, clips)
    r = subprocess.run(["npx", "tsx", "engine/eval/check-clips.ts", out + ".json"], cwd=REPO, capture_output=True, text=True)
    line = [l for l in r.stdout.splitlines() if l.replace(" ", "").startswith("|all|")]
    print(f"{cfg:>12} ({time.time() - t0:.0f}s): {line[0] if line else r.stdout[-500:]}", flush=True)
