"""Slim checkpoints: what a later session needs to go on training a run (committed under
engine/training/checkpoints/, since runs/ is not kept across machines).

    /usr/bin/python3 engine/training/slim.py save RUN            # runs/RUN/*.pt -> checkpoints/RUN.pt
    /usr/bin/python3 engine/training/slim.py restore RUN [NEW]   # checkpoints/RUN.pt -> runs/NEW (default RUN)/*.pt

Kept: the autoencoder, the EMA text encoder + denoiser (resumed as both the trained and the EMA weights), the
training-only caption probe's heads (small; its optimizer starts afresh), the upscalers, each stage's state (step,
elapsed minutes). Left out: optimizer states (AdamW starts afresh, with its
warm-up), the distilled student and its pair pool (distillation is redone from the resumed teacher). About 10 MB.
After a restore, the usual train.py command with a larger --den-min goes on where the run stopped."""
from __future__ import annotations

import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
CKPT_DIR = os.path.join(HERE, "checkpoints")


def _load(path):
    return torch.load(path, map_location="cpu") if os.path.exists(path) else None


def save(run: str) -> str:
    rd = os.path.join(HERE, "runs", run)
    out = {"run": run}
    ae = _load(os.path.join(rd, "ae.pt"))
    if ae is None:
        raise SystemExit(f"no autoencoder checkpoint in {rd}")
    out["ae"] = {k: ae[k] for k in ("enc", "dec", "mean", "std", "state", "stats_v") if k in ae}
    den = _load(os.path.join(rd, "den.pt"))
    if den is not None:
        out["den"] = {"te_ema": den["te_ema"], "den_ema": den["den_ema"], "state": den["state"],
                      "arch": den.get("arch", "dit"), "cfg": den.get("cfg"),
                      **({"probe": den["probe"]} if "probe" in den else {})}
    for name in ("up4", "up5"):
        up = _load(os.path.join(rd, f"{name}.pt"))
        if up is not None:
            out[name] = {"net": up["net"], "state": up["state"]}
    os.makedirs(CKPT_DIR, exist_ok=True)
    path = os.path.join(CKPT_DIR, f"{run}.pt")
    tmp = path + ".tmp"
    torch.save(out, tmp)
    os.replace(tmp, path)
    print(f"{path}: {os.path.getsize(path) / 1e6:.1f} MB")
    return path


def restore(run: str, new: str | None = None) -> None:
    src = _load(os.path.join(CKPT_DIR, f"{run}.pt"))
    if src is None:
        raise SystemExit(f"no checkpoints/{run}.pt")
    rd = os.path.join(HERE, "runs", new or run)
    os.makedirs(rd, exist_ok=True)

    def put(name, obj):
        p = os.path.join(rd, f"{name}.pt")
        if os.path.exists(p):
            print(f"kept {p} (exists)")
            return
        torch.save(obj, p)
        print(f"wrote {p}")

    put("ae", src["ae"])
    if "den" in src:
        d = src["den"]
        put("den", {"te": d["te_ema"], "den": d["den_ema"], "te_ema": d["te_ema"], "den_ema": d["den_ema"],
                    "state": d["state"], "arch": d["arch"], "cfg": d.get("cfg"),
                    **({"probe": d["probe"]} if "probe" in d else {})})
    for name in ("up4", "up5"):
        if name in src:
            put(name, src[name])


if __name__ == "__main__":
    if len(sys.argv) < 3 or sys.argv[1] not in ("save", "restore"):
        raise SystemExit(__doc__)
    if sys.argv[1] == "save":
        save(sys.argv[2])
    else:
        restore(sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else None)
