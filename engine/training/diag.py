"""Diagnostics of a run's denoiser: loss by noise level and teacher-forced x0 predictions (image).
    /usr/bin/python3 engine/training/diag.py RUN"""
import argparse, os, sys
import numpy as np
import torch
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from config import Ctx
from data import make_batch
from stage_ae import load_ae
from stage_den import den_loss, load_den

torch.set_num_threads(1)
ctx = Ctx(argparse.Namespace(run=sys.argv[1]))
ctx.rng = np.random.default_rng(0)
torch.manual_seed(0)
enc, dec, stats = load_ae(ctx)
te, den, st = load_den(ctx)
print("den step", st["step"], "clips", st["clips"])
b = make_batch(ctx, 16, enc, stats, flen=8)
b["ids"] = torch.tensor([ctx.tok.encode(c if c else "a red ball") for c in b["caps"]])
with torch.no_grad():
    for t in (0.05, 0.3, 0.6, 0.9, 1.0):
        torch.manual_seed(1)
        print(f"t={t}: weighted x0 loss {den_loss(te, den, b, t=torch.full((16,), t)).item():.4f}")
    ctxv, pooled = te(b["ids"])
    eps = torch.randn_like(b["x0"])
    rows = []
    for t in (0.5, 1.0):
        xt = (1 - t) * b["x0"] + t * eps
        x0p = den(xt, torch.full((16,), t), b["ft"], ctxv, (b["ids"] != 0).float(), pooled, b["prev"], b["pt"], b["pv"])
        rows.append(x0p)
    from model import NormDecoder
    nd = NormDecoder(dec, *stats)
    ims = []
    for i in range(6):
        r = []
        for z in [b["x0"]] + rows:
            r.append(nd(z[i, :, ::3].permute(1, 0, 2, 3)).permute(0, 2, 3, 1).reshape(-1, 64, 3).numpy())
        ims.append(np.concatenate(r, 1))
        print(i, b["caps"][i])
    im = (np.concatenate(ims, 1) * 255).clip(0, 255).astype(np.uint8)
from PIL import Image
Image.fromarray(im).resize((im.shape[1] * 2, im.shape[0] * 2), 0).save(os.path.join(ctx.run_dir, "diag.png"))
print(os.path.join(ctx.run_dir, "diag.png"))
