"""Eval data: engine/eval/world.json (world constants for the checker), engine/eval/heldout.json (held-out prompts),
engine/eval/heldout-parallel.json (the same scenes in both languages), engine/eval/heldout-paraphrase.json (the
scenes in words the captions never use: paraphrase.py), engine/eval/dev-paraphrase.json (its development twin:
other scenes, the same words, for choosing settings) and ground-truth clip sets rendered by the world
(to validate the checker; engine/eval/fixtures/ for its test), and the writer of clip files (engine/eval's format) that
the eval and the diagnostics use too.

    /usr/bin/python3 engine/training/eval_sets.py world|heldout|parallel|paraphrase|dev|gt [--n 300] [--out DIR]|fixture
"""
from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
import paraphrase as P  # noqa: E402
import world as W  # noqa: E402

DURATIONS = [(1.5, 8.0), (1.3, 10.0), (2.0, 10.0), (2.0, 16.0)]  # N = 12, 13, 20, 32


def make_heldout(n_per_lang: int = 56, seed: int = 20261125):
    rng = np.random.default_rng(seed)
    prompts = []
    kinds = ["combo", "template", "seen"]
    for lang in ("en", "zh"):
        for i in range(n_per_lang):
            kind = kinds[i % 3]
            n_obj = 2 if rng.random() < 0.25 else 1
            split = "heldout" if kind == "combo" else "train"
            sc = W.random_scene(rng, split, n_objects=n_obj)
            text = W.caption(sc, lang, rng, heldout_template=(kind == "template"))
            dur, fps = DURATIONS[int(rng.integers(len(DURATIONS)))]
            tags = [kind] + (["two-objects"] if n_obj == 2 else [])
            prompts.append({"id": f"{lang}-{i:03d}", "prompt": text, "lang": lang, "seed": int(rng.integers(2**32)),
                            "duration": dur, "fps": fps, "expected": W.describe(sc), "tags": tags, "scene": sc})
    return prompts


def make_parallel(seed: int = 20261126):
    """The held-out prompts and, for each, its twin: the same scene, seed, duration and fps captioned in the other
    language (a held-out phrasing where the original has one). In heldout.json the two languages have different
    scenes (English happens to draw more two-object and spinning scenes), so its per-language figures mix the
    language with the scenes; here each scene is judged in both languages, and the gap is the language's alone."""
    rng = np.random.default_rng(seed)
    out = []
    for p in make_heldout():
        other = "zh" if p["lang"] == "en" else "en"
        text = W.caption(p["scene"], other, rng, heldout_template="template" in p["tags"])
        out.append({**p, "tags": p["tags"] + ["original"]})
        out.append({**p, "id": f"{p['id']}-{other}", "prompt": text, "lang": other, "tags": p["tags"] + ["twin"]})
    return out


def make_paraphrase(n_per_lang: int = 56, seed: int = 20261202, prefix: str = "p"):
    """Held-out scenes captioned with paraphrase.py's words and phrasings (none of them the captions'), half English
    half Chinese; colour x shape combinations both seen and held out, a quarter of them two-object scenes. Another
    seed gives the development set (other scenes and seeds, the same words), for choosing settings without
    looking at the held-out one."""
    rng = np.random.default_rng(seed)
    prompts = []
    for lang in ("en", "zh"):
        for i in range(n_per_lang):
            n_obj = 2 if rng.random() < 0.25 else 1
            split = "heldout" if i % 3 == 0 else "train"
            sc = W.random_scene(rng, split, n_objects=n_obj)
            dur, fps = DURATIONS[int(rng.integers(len(DURATIONS)))]
            tags = ["paraphrase", "combo" if split == "heldout" else "seen"] + (["two-objects"] if n_obj == 2 else [])
            prompts.append({"id": f"{prefix}{lang}-{i:03d}", "prompt": P.caption(sc, lang, rng), "lang": lang,
                            "seed": int(rng.integers(2**32)), "duration": dur, "fps": fps,
                            "expected": W.describe(sc), "tags": tags, "scene": sc})
    return prompts


PARAPHRASE_DESCRIPTION = ("Held-out paraphrase prompts (engine/training/paraphrase.py): scenes of the shapes world "
                          "captioned with words and phrasings the world's captions never use, half English, half "
                          "Chinese, for the bundle's prompt reader to map. tags: 'combo' = a colour x shape "
                          "combination never seen in training, 'seen' = one seen in training.")

HELDOUT_DESCRIPTION = ("Held-out eval prompts of the shapes world: half English, half Chinese. tags: 'combo' = a "
                       "colour x shape combination never seen in training, 'template' = a caption phrasing never "
                       "seen in training, 'seen' = seen combinations and phrasings (new prompts). 'scene' is the "
                       "world's ground-truth scene (only for rendering ground-truth clips).")
PARALLEL_DESCRIPTION = ("The held-out prompts of heldout.json (tag 'original') and, for each, the same scene, seed, "
                        "duration and fps captioned in the other language (tag 'twin'): every scene is judged in "
                        "both languages, so the per-language figures differ only by the language. Other tags as "
                        "in heldout.json.")


def write_prompts(name: str, description: str, prompts: list[dict]) -> None:
    """engine/eval/<name>: a prompt set for the eval (run-eval.ts, train.py --stages eval|parallel)."""
    path = os.path.join(REPO, "engine", "eval", name)
    doc = {"description": description, "heldout_combos": W.HELDOUT_COMBOS, "prompts": prompts}
    with open(path, "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print(f"wrote {path}: {len(prompts)} prompts")


def write_heldout():
    write_prompts("heldout.json", HELDOUT_DESCRIPTION, make_heldout())


def write_parallel():
    write_prompts("heldout-parallel.json", PARALLEL_DESCRIPTION, make_parallel())


def write_paraphrase():
    write_prompts("heldout-paraphrase.json", PARAPHRASE_DESCRIPTION, make_paraphrase())


DEV_DESCRIPTION = ("Development paraphrase prompts: as heldout-paraphrase.json (paraphrase.py's words and phrasings), "
                   "other scenes and seeds, in two halves of 112 (ids d… and e…, each half English half Chinese). Settings (the reader's choices, the samplers) are chosen on this set; "
                   "the held-out sets only report them.")


def write_dev():
    write_prompts("dev-paraphrase.json", DEV_DESCRIPTION,
                  make_paraphrase(seed=20261203, prefix="d") + make_paraphrase(seed=20261204, prefix="e"))


def write_clips(path_noext, clips):
    """Clip file format of engine/eval (see engine/eval/README.md): <name>.bin holds uint8 RGB frames of all
    clips back to back (frame-major, row-major, RGB); <name>.json describes them. clips: [(item, frames uint8
    [n,H,W,3])], item with id, prompt, lang, expected and optional tags."""
    os.makedirs(os.path.dirname(path_noext), exist_ok=True)
    meta = {"format": "scenecast-clips-1", "bin": os.path.basename(path_noext) + ".bin", "clips": []}
    off = 0
    with open(path_noext + ".bin", "wb") as f:
        for it, frames in clips:
            n, h, w, _ = frames.shape
            f.write(frames.tobytes())
            meta["clips"].append({"id": it["id"], "prompt": it["prompt"], "lang": it["lang"], "width": w,
                                  "height": h, "frames": n, "offset": off, "expected": it["expected"],
                                  "tags": it.get("tags", [])})
            off += frames.nbytes
    with open(path_noext + ".json", "w", encoding="utf-8") as f:
        json.dump(meta, f, ensure_ascii=False, indent=1)


def write_world():
    W.write_world_json(os.path.join(REPO, "engine", "eval", "world.json"), W.build_vocab())


def write_data():
    """Stage `data` of train.py: world.json, heldout.json and heldout-parallel.json (deterministic)."""
    write_world()
    write_heldout()
    write_parallel()
    write_paraphrase()
    write_dev()


def render_gt(items):
    """[(item, frames uint8 [n,H,W,3])] of ground-truth renders."""
    out = []
    for it in items:
        n = max(1, round(it["duration"] * it["fps"]))
        rgb, _ = W.render(it["scene"], W.frame_times(n), 64, 36)
        out.append((it, (rgb * 255 + 0.5).clip(0, 255).astype(np.uint8)))
    return out


def random_items(n, seed, lang_mix=True):
    rng = np.random.default_rng(seed)
    items = []
    for i in range(n):
        sc = W.random_scene(rng, "train" if i % 2 else "heldout")
        lang = "en" if i % 2 == 0 else "zh"
        dur, fps = DURATIONS[int(rng.integers(len(DURATIONS)))]
        items.append({"id": f"gt-{i:04d}", "prompt": W.caption(sc, lang, rng), "lang": lang, "duration": dur,
                      "fps": fps, "expected": W.describe(sc), "scene": sc, "tags": ["ground-truth"]})
    return items


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=["world", "heldout", "parallel", "paraphrase", "dev", "gt", "fixture"])
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--out", default="/tmp/gt/gt")
    args = ap.parse_args()
    if args.what == "world":
        write_world()
    elif args.what == "heldout":
        write_heldout()
    elif args.what == "parallel":
        write_parallel()
    elif args.what == "paraphrase":
        write_paraphrase()
    elif args.what == "dev":
        write_dev()
    elif args.what == "gt":
        write_clips(args.out, render_gt(random_items(args.n, 7)))
        print("wrote", args.out)
    elif args.what == "fixture":
        items = random_items(10, 99)
        for it in items:
            it["duration"], it["fps"] = 1.0, 8.0
        write_clips(os.path.join(REPO, "engine", "eval", "fixtures", "ground-truth"), render_gt(items))


if __name__ == "__main__":
    main()
