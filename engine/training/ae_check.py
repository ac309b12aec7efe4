"""Ground truth through the autoencoder (decode(encode(frames))) -> clips for the checker: the ceiling that the
latent space allows.   /usr/bin/python3 engine/training/ae_check.py RUN [N]"""
import os, sys
import numpy as np
import torch
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import eval_sets as E
from config import Ctx
from stage_ae import load_ae
import argparse

run = sys.argv[1]
n = int(sys.argv[2]) if len(sys.argv) > 2 else 100
torch.set_num_threads(1)
ctx = Ctx(argparse.Namespace(run=run))
enc, dec, _ = load_ae(ctx)
clips = []
for it, fr in E.render_gt(E.random_items(n, 7)):
    x = torch.from_numpy(fr.astype(np.float32) / 255).permute(0, 3, 1, 2)
    with torch.no_grad():
        y = dec(enc(x))
    clips.append((it, (y.permute(0, 2, 3, 1).numpy() * 255 + 0.5).clip(0, 255).astype(np.uint8)))
    if len(clips) == 1:
        from PIL import Image
        im = np.concatenate([np.concatenate(list(fr[:6]), 1), np.concatenate(list(clips[0][1][:6]), 1)], 0)
        Image.fromarray(im).resize((im.shape[1] * 3, im.shape[0] * 3), 0).save(os.path.join(ctx.run_dir, "ae_recon.png"))
out = os.path.join(ctx.run_dir, "eval", "ae-recon")
E.write_clips(out, clips)
print(out)
