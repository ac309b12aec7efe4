"""Does the model follow the caption's motion? For captions that differ in one word (left/right, up/down,
grows/shrinks, ...): how alike the text encoder's pooled vectors are (cosine), and where the guided teacher puts the
object in the first and last frame of a one-window shot (same noise for every caption). A model that ignores the
word shows the same positions for both captions of a pair.
    /usr/bin/python3 engine/training/cond_check.py RUN [SEEDS]"""
import sys

import numpy as np

from config import FRAME_H
from probe_run import Teacher, colour_mask

if len(sys.argv) < 2:
    raise SystemExit(__doc__)
tc = Teacher(sys.argv[1])
seeds = int(sys.argv[2]) if len(sys.argv) > 2 else 4
PAIRS = [("moves left", "moves right"), ("moves up", "moves down"), ("grows", "shrinks"), ("spins", "stays still")]
caps = [f"a red {'star' if 'spins' in pair else 'ball'} {w}" for pair in PAIRS for w in pair]  # the world never spins a ball
cos = tc.pooled_cosine(caps)
print(tc.header())
print("pooled caption cosine: " + ", ".join(f"{a}/{b} {float(cos[2 * i, 2 * i + 1]):.3f}" for i, (a, b) in enumerate(PAIRS)))

n = 8
moves = {c: [] for c in caps}
for seed in range(seeds):
    fr = tc.frames(caps, seed, n)
    for i, c in enumerate(caps):
        pos = []
        for f in (0, n - 1):
            obj = colour_mask(fr[i, f], "red")
            ys, xs = np.nonzero(obj)
            pos.append((xs.mean() / FRAME_H, ys.mean() / FRAME_H, obj.sum()) if len(xs) else (np.nan, np.nan, 0))
        (x0, y0, a0), (x1, y1, a1) = pos
        moves[c].append((x1 - x0, y1 - y0, a1 / max(a0, 1)))
print(f"guided teacher, 10 steps, {seeds} seeds: mean travel over the shot (frame heights) and area ratio last/first")
for c in caps:
    m = np.array(moves[c])
    print(f"  {c:26s} dx {np.nanmean(m[:, 0]):+.2f}  dy {np.nanmean(m[:, 1]):+.2f}  area x{np.nanmean(m[:, 2]):.2f}")
