"""Stages `eval` and `parallel`: the held-out prompts (engine/eval/heldout.json, or heldout-parallel.json) generated
exactly per BUNDLE.md with each profile by the Python reference (generate.py), written as clip files and judged by
the one checker, engine/eval/check-clips.ts. Also the periodic eval of stage `den` (train.py hands it over)."""
from __future__ import annotations

import json
import os
import subprocess
import time

import numpy as np

from config import FINAL, PREVIEW, REPO, log
from eval_sets import write_clips
from generate import generate
from graphs import build_graphs


def run_eval(ctx, profiles=("final", "preview"), limit=None, tag="eval", heldout_path=None):
    """Generates the held-out prompts with each profile, writes clips, runs the TypeScript checker."""
    heldout_path = heldout_path or os.path.join(REPO, "engine", "eval", "heldout.json")
    items = json.load(open(heldout_path, encoding="utf-8"))["prompts"]
    if limit:  # a balanced subset: English and Chinese interleaved
        en = [i for i in items if i["lang"] == "en"]
        zh = [i for i in items if i["lang"] == "zh"]
        items = [x for pair in zip(en, zh) for x in pair][:limit]
    g = build_graphs(ctx)
    results = {}
    for prof_name in profiles:
        prof = FINAL if prof_name == "final" else PREVIEW
        t0 = time.time()
        clips = []
        by_n = {}
        for it in items:
            n = max(1, round(it["duration"] * it["fps"]))
            by_n.setdefault(n, []).append(it)
        for n, its in by_n.items():
            for i in range(0, len(its), 16):
                chunk = its[i:i + 16]
                rgb = generate(g, [c["prompt"] for c in chunk], [c["seed"] for c in chunk], n, prof)
                for c, r in zip(chunk, rgb):
                    clips.append((c, (r.permute(0, 2, 3, 1).numpy() * 255 + 0.5).clip(0, 255).astype(np.uint8)))
        out = os.path.join(ctx.run_dir, "eval", f"{tag}-{prof_name}")
        write_clips(out, clips)
        gen_s = time.time() - t0
        r = subprocess.run(["npx", "tsx", "engine/eval/check-clips.ts", out + ".json", "--json", out + "-result.json"],
                           cwd=REPO, capture_output=True, text=True)
        log(f"[eval] {tag} {prof_name}: {len(clips)} clips generated in {gen_s:.0f}s\n{r.stdout}{r.stderr[-2000:]}")
        try:
            results[prof_name] = json.load(open(out + "-result.json"))
        except Exception as e:  # noqa: BLE001
            log(f"[eval] no result: {e}")
    with open(os.path.join(ctx.run_dir, "eval-history.jsonl"), "a") as f:
        f.write(json.dumps({"tag": tag, "time": time.time(),
                            "summary": {k: v.get("summary") for k, v in results.items()}}) + "\n")
    return results


def _summaries(results: dict) -> dict:
    return {k: v.get("summary") for k, v in results.items()}


def stage_eval(ctx, bundle: str, limit: int | None = None) -> dict:
    """Stage `eval`: both profiles on heldout.json (the first `limit` prompts, balanced, or all), the summaries into
    runs/<run>/eval-<bundle>.json (the card reads them)."""
    res = run_eval(ctx, limit=limit, tag=f"{bundle}")
    with open(os.path.join(ctx.run_dir, f"eval-{bundle}.json"), "w") as f:
        json.dump(_summaries(res), f, indent=1)
    return res


def stage_parallel(ctx, bundle: str, limit: int | None = None) -> dict:
    """Stage `parallel`: both profiles on heldout-parallel.json (each held-out scene in both languages), the
    summaries into runs/<run>/eval-<bundle>-parallel.json."""
    res = run_eval(ctx, limit=limit, tag=f"{bundle}-parallel",
                   heldout_path=os.path.join(REPO, "engine", "eval", "heldout-parallel.json"))
    with open(os.path.join(ctx.run_dir, f"eval-{bundle}-parallel.json"), "w") as f:
        json.dump(_summaries(res), f, indent=1)
    return res
