"""Contact sheet of judged clips: 8 frames of each of the first N clips of a clip file (engine/eval format), one row
per clip, with the prompts printed in row order.
    /usr/bin/python3 engine/training/clip_grid.py runs/u1/eval/den-step5314-final OUT.png [N]"""
import json
import sys

import numpy as np
from PIL import Image

if len(sys.argv) < 3:
    raise SystemExit(__doc__)
p, out = sys.argv[1], sys.argv[2]
n = int(sys.argv[3]) if len(sys.argv) > 3 else 12
meta = json.load(open(p + ".json", encoding="utf-8"))
raw = np.fromfile(p + ".bin", np.uint8)
rows = []
for c in meta["clips"][:n]:
    size = c["frames"] * c["height"] * c["width"] * 3
    fr = raw[c["offset"]: c["offset"] + size].reshape(c["frames"], c["height"], c["width"], 3)
    idx = np.linspace(0, c["frames"] - 1, 8).round().astype(int)
    rows.append(np.concatenate([np.pad(fr[i], ((1, 1), (1, 1), (0, 0))) for i in idx], 1))
    print(len(rows) - 1, c["prompt"], "->", c["expected"]["motion"])
im = np.concatenate(rows, 0)
Image.fromarray(im).resize((im.shape[1] * 2, im.shape[0] * 2), Image.NEAREST).save(out)
