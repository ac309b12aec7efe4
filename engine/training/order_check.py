"""Does the model lay two objects out in reading order (the first one named on the left, world.py)? For captions
naming two objects in both orders: how alike the two orders' pooled captions are (cosine), and where the guided
teacher puts each colour (mean x of its pixels, frame heights) in a one-window shot, same noise for both orders.
A model that ignores the order shows the same layout for both.
    /usr/bin/python3 engine/training/order_check.py RUN [SEEDS]"""
import sys

import numpy as np

from config import FRAME_H
from probe_run import Teacher, colour_mask

if len(sys.argv) < 2:
    raise SystemExit(__doc__)
tc = Teacher(sys.argv[1])
seeds = int(sys.argv[2]) if len(sys.argv) > 2 else 4
PAIRS = [(("red", "ball"), ("blue", "square")), (("yellow", "star"), ("purple", "triangle")),
         (("green", "triangle"), ("white", "star"))]
caps, cols = [], []
for a, b in PAIRS:
    for first, second in ((a, b), (b, a)):
        caps.append(f"a {first[0]} {first[1]} and a {second[0]} {second[1]} stay still")
        cols.append((first[0], second[0]))
cos = tc.pooled_cosine(caps)
print(tc.header())
print("pooled caption cosine of the two orders: " + ", ".join(
    f"{caps[2 * i]!r} {float(cos[2 * i, 2 * i + 1]):.3f}" for i in range(len(PAIRS))))
right = total = 0
for seed in range(seeds):
    fr = tc.frames(caps, seed, shift=2.0)
    for i, c in enumerate(caps):
        xs = []
        for col in cols[i]:
            _, _, xx = np.nonzero(colour_mask(fr[i], col))
            xs.append(xx.mean() / FRAME_H if len(xx) else np.nan)
        ok = bool(xs[0] < xs[1])
        right += int(ok)
        total += 1
        print(f"  seed {seed} {c:48s} x first {xs[0]:.2f} second {xs[1]:.2f} {'in order' if ok else 'not in order'}")
print(f"in reading order: {right}/{total}")
