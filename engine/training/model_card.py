"""Writes MODEL_CARD.md of a bundle from what the run recorded: parameters, file sizes, the commands, stage times,
the held-out eval (engine/eval/check-clips.ts) and onnxruntime-node parity + timings (ort_check.ts --bench)."""
from __future__ import annotations

import json
import os
import platform
import subprocess

import torch

from config import DEN_CFG, FINAL, HERE, LAT_C, MAX_LEN, PREVIEW, REPO
from model import Encoder, n_params
from stage_den import den_cfg

ATTRS = ["background", "count", "colour", "shape", "motion", "speed"]


def _table(summary: dict, tags: bool = True) -> str:
    head = "| profile | set | clips | " + " | ".join(ATTRS) + " | attributes right | all right |"
    sep = "|" + "---|" * (len(ATTRS) + 5)
    rows = [head, sep]
    for prof, s in summary.items():
        if not s:
            continue
        groups = [("all", s["overall"])] + [(f"lang={k}", v) for k, v in s["byLanguage"].items()] + \
                 ([(f"tag={k}", v) for k, v in s["byTag"].items()] if tags else [])
        for name, g in groups:
            pa = g["perAttribute"]
            rows.append(f"| {prof} | {name} | {g['clips']} | " + " | ".join(f"{pa[a]:.1f}" for a in ATTRS) +
                        f" | {g['attributesRight']:.1f} | {g['allRight']:.1f} |")
    return "\n".join(rows)


def _state(path):
    if not os.path.exists(path):
        return None
    return torch.load(path, map_location="cpu").get("state")


def write_card(ctx, bundle: str, bundle_dir: str, bench: bool = True) -> None:
    info = json.load(open(os.path.join(ctx.run_dir, f"export-{bundle}.json")))
    ev_path = os.path.join(ctx.run_dir, f"eval-{bundle}.json")
    ev = json.load(open(ev_path)) if os.path.exists(ev_path) else {}
    par_path = os.path.join(ctx.run_dir, f"eval-{bundle}-parallel.json")
    par = json.load(open(par_path)) if os.path.exists(par_path) else {}
    parallel = "" if not par else f"""
The same scenes in both languages (`engine/eval/heldout-parallel.json`: the 112 prompts above and each scene's twin,
captioned in the other language at the same seed, duration and fps; `train.py --stages parallel` or
`npm run eval -- --set parallel`). Above, the two languages have different scenes (English drew more two-object and
spinning scenes); here each scene is judged in both, so the per-language rows differ only by the language:

{_table({k: v for k, v in par.items() if k in ('final', 'preview')}, tags=False)}
"""
    r = subprocess.run(["npx", "tsx", "engine/training/ort_check.ts", bundle_dir] + (["--bench"] if bench else []), cwd=REPO,
                       capture_output=True, text=True)
    bench = (r.stdout + r.stderr).strip()
    cmds = open(os.path.join(ctx.run_dir, "commands.log")).read().strip() if os.path.exists(
        os.path.join(ctx.run_dir, "commands.log")) else ""
    st = {k: _state(ctx.path(f"{k}.pt")) for k in ("ae", "den", "distill", "up4", "up5")}
    cpu = ""
    try:
        cpu = [ln.split(":", 1)[1].strip() for ln in open("/proc/cpuinfo") if ln.startswith("model name")][0]
    except Exception:  # noqa: BLE001
        pass
    mins = lambda s: f"{s['elapsed'] / 60:.1f} min" if s else "-"  # noqa: E731
    total_min = sum(s["elapsed"] for s in st.values() if s) / 60
    p = info["params"]
    den_ck = torch.load(ctx.path("den.pt"), map_location="cpu") if os.path.exists(ctx.path("den.pt")) else {}
    arch = den_ck.get("arch", "dit")
    probe = ("  plus a caption probe's loss (training only: linear read-outs of motion, speed, count, background, colours and\n"
             "  shapes from the pooled caption, so the text encoder keeps every word the caption names apart),\n") if "probe" in den_ck else ""
    common = ("  Trained with flow matching (`x_t = (1-t) x0 + t eps`, uniform t) as an x0-predictor with an object-weighted loss\n"
              "  (x9 on object cells) plus the same on frame differences,\n" + probe +
              "  10% caption dropout (for guidance), an EMA of the weights (`--ema`, 0.999 unless the commands below say otherwise); the exported graph returns\n"
              "  `velocity = (x - x0_hat) / t`. Chunks of F=8 frames (dynamic 1..8) conditioned on the K=2 frames before them;\n"
              "  trained on random windows of shots of 1..300 frames, so shots of any length stay one take.")
    if arch == "unet":
        u = den_cfg(den_ck)
        lv = {0: "16x9", 1: "8x5"}
        at = lambda levels: " and ".join([lv[i] for i in sorted(levels)])  # noqa: E731
        extra = (f"; a second residual block after the up block at {at(u['extra_up'])}" if u.get("extra_up") else "")
        mlp = ("; a residual MLP on the per-frame conditioning" if u.get("cond_mlp") else "")
        den_desc = (f"- **Denoiser** {p['denoiser']:,} parameters: a conv (2+1)D UNet over the latent frames (frames folded into\n"
                    f"  the batch: 3x3 convs per frame, then a k=3 temporal conv in every residual block), widths {tuple(u['widths'])} at\n"
                    "  16x9, 8x5 and 4x3; the K=2 clean context frames are concatenated before the chunk along time, so every\n"
                    "  temporal op sees them (masked as attention keys when `prev_valid = 0`); cross-attention to the caption tokens\n"
                    f"  at {at(u['cross'])} and 4x3, temporal self-attention at {at(u['tattn'])}, joint space-time self-attention at 4x3; FiLM\n"
                    f"  in every block from (noise level t, frame time tau, context/chunk flag, pooled caption){mlp}{extra};\n"
                    "  two coordinate channels at the input.\n"
                    + common)
    else:
        den_desc = (f"- **Denoiser** {p['denoiser']:,} parameters: a DiT over latent patches of 2 frames x 2x2 cells (the 9 rows are padded\n"
                    f"  to 10), d {DEN_CFG['d']}, {DEN_CFG['depth']} blocks of joint space-time self-attention (the K=2 clean context\n"
                    "  frames are tokens of the same sequence, masked out when `prev_valid = 0`), cross-attention to the caption tokens,\n"
                    "  and MLP; adaLN-zero modulation from (noise level t, pooled caption); per-token frame-time (tau) embedding.\n"
                    + common)
    card = f"""# {bundle}: scenecast shapes model

A small bilingual (English / Chinese) text-to-video flow-matching model of the synthetic shapes world
(`engine/training/world.py`): one or two objects (circle/ball, square/box, triangle, star; 7 colours) on one of 5
backgrounds, moving left/right/up/down, bouncing, spinning, growing, shrinking or staying still, slowly or quickly.
In the world two objects are laid out in the order the caption names them (the first on the left, or on top when
they move left or right); a spinning shape always turns the same way. Camera moves are applied by the engine after
decoding, not by the model. Contract: `engine/BUNDLE.md`.

## Files and size
| file | bytes |
|---|---|
""" + "\n".join(f"| {k} | {v:,} |" for k, v in info["sizes"].items()) + f"""
| **total** | **{info['total_bytes']:,}** ({info['total_bytes'] / 1e6:.1f} MB) |

## Architecture
- **Frames** 64x36 RGB (the base frame), **latent** 16x9x4 (normalised per channel; the exported decoder undoes it).
- **Autoencoder** (conv, stride 4): encoder {n_params(Encoder(LAT_C)):,} parameters (training only), decoder
  {p['decoder']:,} (3x3 convs, two ResBlocks, PixelShuffle up).
- **Tokenizer** per BUNDLE.md: lower-case English words + single CJK characters, vocabulary of {len(ctx.vocab)} tokens
  (the world's caption vocabulary), max length {MAX_LEN}.
- **Text encoder** {p['text_encoder']:,} parameters: token + position embedding, 2 pre-LN transformer layers (d 128,
  4 heads); `context` = the token states, `pooled` = their masked mean.
{den_desc}
- **Preview denoiser**: same architecture, reflow-distilled from the guided teacher (pairs of noise and the
  teacher's {FINAL['steps']}-step, guidance {FINAL['guidance']} sample with the real clean context); runs
  {PREVIEW['steps']} Euler steps with guidance 1.
- **Upscalers** (ESPCN with a fixed nearest-neighbour skip, PixelShuffle): x4 64x36 -> 256x144 ({p['upscaler_x4']:,}
  parameters), x5 256x144 -> 1280x720 ({p['upscaler_x5']:,} parameters); trained on renders of the same world at both
  resolutions with random zooms, sub-pixel view shifts, blur and noise on the input.

## Profiles
```json
{json.dumps(json.load(open(os.path.join(bundle_dir, 'manifest.json')))['profiles'], indent=1)}
```

## Training
This card (export, eval, timings) was made on {cpu or platform.processor()} ({os.cpu_count()} cores), Debian PyTorch
{torch.__version__} with OpenBLAS, 2 threads; the lineage below says on which machines each run trained (2 CPU cores
unless it names a GPU). Stage times on all of them: autoencoder {mins(st['ae'])}, text encoder + denoiser {mins(st['den'])}
({st['den']['step'] if st['den'] else 0} steps, {st['den']['clips'] if st['den'] else 0:,} training windows),
distillation {mins(st['distill'])}, upscalers {mins(st['up4'])} + {mins(st['up5'])}; total {total_min:.0f} min.
Commands (run `{os.path.relpath(ctx.run_dir, REPO)}`):
```
{cmds}
```

## Held-out eval
`engine/eval/heldout.json` ({'the first ' + str(ev.get('limit')) + ' ' if ev.get('limit') else ''}prompts, half
English half Chinese; tags: `combo` = colour x shape never seen in training, `template` = phrasing never seen in
training), generated per BUNDLE.md at each prompt's seed/duration/fps, base frames judged by
`engine/eval/check-clips.ts` (which scores 100% of the attributes on ground-truth renders of the world).

{_table({k: v for k, v in ev.items() if k in ('final', 'preview')}) if ev else '(not run)'}
{parallel}
## onnxruntime-node: parity with the fixtures and timings
`npx tsx engine/training/ort_check.ts {os.path.relpath(bundle_dir, REPO)} --bench` (the engine's pipeline, 2 intra-op threads, no spinning):
```
{bench}
```
"""
    notes = os.path.join(HERE, "card-notes", f"{bundle}.md")  # hand-written history and known limits, kept in git
    if os.path.exists(notes):
        card += "\n" + open(notes, encoding="utf-8").read().strip() + "\n"
    with open(os.path.join(bundle_dir, "MODEL_CARD.md"), "w", encoding="utf-8") as f:
        f.write(card)
    print(f"[card] wrote {os.path.join(bundle_dir, 'MODEL_CARD.md')}", flush=True)
