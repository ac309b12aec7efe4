"""Does the model follow the caption's motion? For captions that differ in one word (left/right, up/down,
grows/shrinks, ...): how alike the text encoder's pooled vectors are (cosine), and where the guided teacher puts the
object in the first and last frame of a one-window shot (same noise for every caption). A model that ignores the
word shows the same positions for both captions of a pair.
    /usr/bin/python3 engine/training/cond_check.py RUN [SEEDS]"""
import argparse
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import train as T  # noqa: E402
import world as W  # noqa: E402
from model import NormDecoder  # noqa: E402

torch.set_num_threads(1)
if len(sys.argv) < 2:
    raise SystemExit(__doc__)
ctx = T.Ctx(argparse.Namespace(run=sys.argv[1]))
seeds = int(sys.argv[2]) if len(sys.argv) > 2 else 4
enc, dec, stats = T.load_ae(ctx)
te, den, st = T.load_den(ctx)
nd = NormDecoder(dec, *stats).eval()
PAIRS = [("moves left", "moves right"), ("moves up", "moves down"), ("grows", "shrinks"), ("spins", "stays still")]
caps = [f"a red {'star' if 'spins' in pair else 'ball'} {w}" for pair in PAIRS for w in pair]  # the world never spins a ball
ids = torch.tensor([ctx.tok.encode(c) for c in caps])
with torch.no_grad():
    _, pooled = te(ids)
pn = torch.nn.functional.normalize(pooled, dim=-1)
print(f"den step {st['step']}, {st['elapsed'] / 60:.1f} min")
print("pooled caption cosine: " + ", ".join(f"{a}/{b} {float(pn[2 * i] @ pn[2 * i + 1]):.3f}" for i, (a, b) in enumerate(PAIRS)))

n, B = 8, len(caps)
b = {"ids": ids, "ft": torch.tensor(np.stack([W.frame_times(n)] * B), dtype=torch.float32),
     "prev": torch.zeros(B, T.LAT_C, T.CHUNK_K, T.LAT_H, T.LAT_W), "pt": torch.zeros(B, T.CHUNK_K), "pv": torch.zeros(B)}
rgb = np.array(W.COLOURS["red"]) / 255.0
moves = {c: [] for c in caps}
for seed in range(seeds):
    torch.manual_seed(seed)
    eps = torch.randn(1, T.LAT_C, n, T.LAT_H, T.LAT_W).repeat(B, 1, 1, 1, 1)
    x = T.teacher_sample(te, den, b, eps, 10, 3.0, 1.0)
    with torch.no_grad():
        fr = nd(x.permute(0, 2, 1, 3, 4).reshape(-1, T.LAT_C, T.LAT_H, T.LAT_W)).reshape(B, n, 3, T.FRAME_H, T.FRAME_W)
    fr = fr.permute(0, 1, 3, 4, 2).numpy()
    for i, c in enumerate(caps):
        pos = []
        for f in (0, n - 1):
            obj = np.abs(fr[i, f] - rgb).max(-1) < 0.25
            ys, xs = np.nonzero(obj)
            pos.append((xs.mean() / T.FRAME_H, ys.mean() / T.FRAME_H, obj.sum()) if len(xs) else (np.nan, np.nan, 0))
        (x0, y0, a0), (x1, y1, a1) = pos
        moves[c].append((x1 - x0, y1 - y0, a1 / max(a0, 1)))
print(f"guided teacher, 10 steps, {seeds} seeds: mean travel over the shot (frame heights) and area ratio last/first")
for c in caps:
    m = np.array(moves[c])
    print(f"  {c:26s} dx {np.nanmean(m[:, 0]):+.2f}  dy {np.nanmean(m[:, 1]):+.2f}  area x{np.nanmean(m[:, 2]):.2f}")
