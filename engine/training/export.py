"""Export of a trained run to a bundle engine/models/<name>/ per engine/BUNDLE.md: ONNX graphs (opset 17),
manifest.json, fixtures/ (tokenizer, noise, reference generation) and MODEL_CARD.md (written by model_card.py)."""
from __future__ import annotations

import copy
import hashlib
import json
import os
import time

import numpy as np
import torch

import graph_rgb8
from config import CHUNK_F, CHUNK_K, D_TEXT, FINAL, FRAME_H, FRAME_W, LAT_C, LAT_H, LAT_W, MAX_LEN, PREVIEW, REPO
from generate import Graphs, generate, noise_stream, windows
from graphs import build_graphs
from model import fix_layernorms_for_export, n_params
from stage_up import load_up

DEN_INPUTS = ["x", "t", "frame_time", "context", "context_mask", "pooled", "prev", "prev_time", "prev_valid"]


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for blk in iter(lambda: f.read(1 << 20), b""):
            h.update(blk)
    return h.hexdigest()


def _export(module, args, path, inputs, outputs, dyn):
    module = copy.deepcopy(module).eval()
    fix_layernorms_for_export(module)
    with torch.no_grad():
        torch.onnx.export(module, args, path, input_names=inputs, output_names=outputs, dynamic_axes=dyn,
                          opset_version=17, do_constant_folding=True)


def _den_io(self_cond: bool):
    """Input names, example inputs, dynamic axes and the manifest's I/O of a denoiser graph (BUNDLE.md)."""
    C, h, w, Fc, K, L, D, B = LAT_C, LAT_H, LAT_W, CHUNK_F, CHUNK_K, MAX_LEN, D_TEXT, 2
    args = (torch.randn(B, C, Fc, h, w), torch.rand(B), torch.rand(B, Fc), torch.randn(B, L, D), torch.ones(B, L),
            torch.randn(B, D), torch.randn(B, C, K, h, w), torch.rand(B, K), torch.ones(B))
    dyn = {n: {0: "B"} for n in DEN_INPUTS}
    dyn.update({"x": {0: "B", 2: "F"}, "frame_time": {0: "B", 1: "F"}, "context": {0: "B", 1: "L"},
                "context_mask": {0: "B", 1: "L"}, "velocity": {0: "B", 2: "F"}})
    io = {"inputs": {"x": {"dtype": "float32", "shape": ["B", C, "F", h, w]},
                     "t": {"dtype": "float32", "shape": ["B"]},
                     "frame_time": {"dtype": "float32", "shape": ["B", "F"]},
                     "context": {"dtype": "float32", "shape": ["B", "L", D]},
                     "context_mask": {"dtype": "float32", "shape": ["B", "L"]},
                     "pooled": {"dtype": "float32", "shape": ["B", D]},
                     "prev": {"dtype": "float32", "shape": ["B", C, K, h, w]},
                     "prev_time": {"dtype": "float32", "shape": ["B", K]},
                     "prev_valid": {"dtype": "float32", "shape": ["B"]}},
          "outputs": {"velocity": {"dtype": "float32", "shape": ["B", C, "F", h, w]}}}
    names = list(DEN_INPUTS)
    if self_cond:  # BUNDLE.md: optional `x0_self`
        io["inputs"]["x0_self"] = {"dtype": "float32", "shape": ["B", C, "F", h, w]}
        names.append("x0_self")
        args = args + (torch.randn(B, C, Fc, h, w),)
        dyn["x0_self"] = {0: "B", 2: "F"}
    return names, args, dyn, io


def export_denoiser(den, path: str):
    """A denoiser (a VelocityWrapper) as an ONNX graph with the bundle's denoiser I/O."""
    names, args, dyn, _ = _den_io(bool(getattr(den, "self_cond", False)))
    _export(den, args, path, names, ["velocity"], dyn)


def den_graph_entry(den, file: str) -> dict:
    """The manifest's `graphs` entry of an exported denoiser."""
    return {"file": file, **_den_io(bool(getattr(den, "self_cond", False)))[3]}


def export_bundle(ctx, name: str, quick: bool = False, out_root: str | None = None):
    out = os.path.join(out_root or os.path.join(REPO, "engine", "models"), name)
    os.makedirs(os.path.join(out, "fixtures"), exist_ok=True)
    g = build_graphs(ctx)
    C, h, w, Fc, K, L, D = LAT_C, LAT_H, LAT_W, CHUNK_F, CHUNK_K, MAX_LEN, D_TEXT
    graphs = {}
    # text encoder
    ids = torch.tensor([ctx.tok.encode("a red ball moves left")], dtype=torch.int64)
    _export(g.text_encoder, (ids,), os.path.join(out, "text_encoder.onnx"), ["input_ids"], ["context", "pooled"],
            {"input_ids": {0: "B", 1: "L"}, "context": {0: "B", 1: "L"}, "pooled": {0: "B"}})
    graphs["text_encoder"] = {"file": "text_encoder.onnx",
                              "inputs": {"input_ids": {"dtype": "int64", "shape": ["B", "L"]}},
                              "outputs": {"context": {"dtype": "float32", "shape": ["B", "L", D]},
                                          "pooled": {"dtype": "float32", "shape": ["B", D]}}}
    # denoisers
    for dn in ("final_denoiser", "preview_denoiser"):
        export_denoiser(g.denoisers[dn], os.path.join(out, f"{dn}.onnx"))
        graphs[dn] = den_graph_entry(g.denoisers[dn], f"{dn}.onnx")
    # decoder
    _export(g.decoder, (torch.randn(1, C, h, w),), os.path.join(out, "decoder.onnx"), ["latent"], ["rgb"],
            {"latent": {0: "N"}, "rgb": {0: "N"}})
    graphs["decoder"] = {"file": "decoder.onnx",
                         "inputs": {"latent": {"dtype": "float32", "shape": ["N", C, h, w]}},
                         "outputs": {"rgb": {"dtype": "float32", "shape": ["N", 3, FRAME_H, FRAME_W]}}}
    # upscalers (H and W are dynamic in the graphs; the shapes below are the ones the profiles use)
    ups = {}
    hw = (FRAME_H, FRAME_W)
    for un, key in (("upscaler_x4", "up4"), ("upscaler_x5", "up5")):
        net = load_up(ctx, key)
        s = net.s
        _export(net, (torch.rand(1, 3, hw[0], hw[1]),), os.path.join(out, f"{un}.onnx"), ["rgb"], ["rgb_up"],
                {"rgb": {0: "N", 2: "H", 3: "W"}, "rgb_up": {0: "N", 2: "H_up", 3: "W_up"}})
        graphs[un] = {"file": f"{un}.onnx", "scale": s,
                      "inputs": {"rgb": {"dtype": "float32", "shape": ["N", 3, hw[0], hw[1]]}},
                      "outputs": {"rgb_up": {"dtype": "float32", "shape": ["N", 3, hw[0] * s, hw[1] * s]}}}
        ups[un] = net
        hw = (hw[0] * s, hw[1] * s)
    profiles = {
        "preview": {**{k: v for k, v in PREVIEW.items()}, "upscalers": [], "size": [128, 72]},
        "final": {**{k: v for k, v in FINAL.items()}, "upscalers": ["upscaler_x4", "upscaler_x5"],
                  "size": [1280, 720]},
    }
    manifest = {
        "format": 1,
        "name": name,
        "frame": {"width": FRAME_W, "height": FRAME_H},
        "latent": {"channels": C, "width": w, "height": h},
        "chunk": {"frames": Fc, "context": K},
        "tokenizer": {"vocab": ctx.vocab, "max_length": L, "pad_id": 0, "unk_id": 1, "bos_id": 2, "eos_id": 3},
        "graphs": graphs,
        "profiles": profiles,
    }
    # fixtures
    fx = os.path.join(out, "fixtures")
    write_tokenizer_fixture(ctx, os.path.join(fx, "tokenizer.json"))
    write_noise_fixture(os.path.join(fx, "noise.json"))
    write_reference(g, ups, profiles, fx)
    files = sorted(v["file"] for v in graphs.values())
    manifest["sha256"] = {f: sha256(os.path.join(out, f)) for f in files}
    with open(os.path.join(out, "manifest.json"), "w", encoding="utf-8") as f:
        json.dump(manifest, f, ensure_ascii=False, indent=1)
        f.write("\n")
    # The last upscaler of the final profile also gives uint8 RGB (channels last), ready for the encoder.
    graph_rgb8.main(out, profiles["final"]["upscalers"][-1])
    sizes = {f: os.path.getsize(os.path.join(out, f)) for f in files}
    info = {"params": {"text_encoder": n_params(g.text_encoder),
                       "denoiser": n_params(g.denoisers["final_denoiser"]),
                       "decoder": n_params(g.decoder), **{k: n_params(v) for k, v in ups.items()}},
            "sizes": sizes, "total_bytes": sum(sizes.values())}
    with open(os.path.join(ctx.run_dir, f"export-{name}.json"), "w") as f:
        json.dump(info, f, indent=1)
    print(time.strftime("%H:%M:%S"), f"[export] {out}: {info}", flush=True)
    return out


TOKENIZER_TEXTS = [
    "a red ball moves left quickly on grass", "A Red Ball Moves LEFT Quickly On Grass!",
    "on the grass, a red circle quickly moving to the left", "草地上一个红色的球快速向左移动",
    "a red ball and a blue star move right slowly at sunset", "夕阳下，一个红色的球和一个蓝色的星星慢慢向右移动",
    "", "   ", "!!!", "a purple triangle spins fast in the night sky.", "夜空中一个紫色三角形快速旋转。",
    "a  white   square\tgrows\nslowly", "ＡＢＣ ｒｅｄ ｂａｌｌ", "a red ball, a green star; a blue box...",
    "a red giraffe dances elegantly on the moon", "一只粉色的长颈鹿在月亮上跳舞",
    "red2ball3moves", "a yellow star bounces (quickly) under a blue sky", "天空中，有一个黄色的星星迅速地弹跳",
    "gently, an orange box shrinks at night", "一个橙色方块在夜空上缓慢地缩小",
    "Café crème brûlée", "a red ball 🎈 moves left", "ＲＥＤ，ＢＬＵＥ。",
    "a green square does not move on a lawn", "草坪上一个绿色正方形一动不动",
    "a blue circle rises slowly against a blue sky", "蓝天下，一个蓝色的圆正在慢慢上升",
    "a white triangle jumps up and down during sunset", "黄昏时一个白色三角形蹦蹦跳跳",
    "x" * 40, "a red ball " * 12, "红色的球" * 12,
    "a purple star and a white ball turn around rapidly", "一个紫色的五角星和一个白色的小球都很快地转圈",
    "a red ball moves left quickly on the grass while a blue star spins slowly at sunset in the sky",
    "㐀㐁 一 丁 龥 ぁ ア 한", "don't stop: it's a RED ball", "a red-orange ball", "1 2 3 red",
]


def write_tokenizer_fixture(ctx, path):
    pairs = [{"text": t, "ids": ctx.tok.encode(t)} for t in TOKENIZER_TEXTS]
    with open(path, "w", encoding="utf-8") as f:
        json.dump({"max_length": ctx.tok.max_length, "pairs": pairs}, f, ensure_ascii=False, indent=1)


def write_noise_fixture(path):
    cases = [(0, 0), (1, 0), (42, 0), (42, 1), (42, 2), (123456789, 3), (4294967295, 0), (7, 1000)]
    data = [{"seed": s, "window": wdx, "values": [float(v) for v in noise_stream(s, wdx, 16)]} for s, wdx in cases]
    with open(path, "w", encoding="utf-8") as f:
        json.dump({"cases": data}, f, indent=1)


REF = {"prompt": "a red ball and a blue star move right quickly at sunset", "negative": "", "seed": 1234,
       "duration": 1.3, "fps": 10.0}


def write_reference(g: Graphs, ups: dict, profiles: dict, fx: str):
    """Reference generation of one shot per profile (small step counts), decoded base frames (one frame at a time,
    float32) and one input -> output pair of each upscaler, into reference.json + reference.bin."""
    n = max(1, round(REF["duration"] * REF["fps"]))
    assert n % g.F != 0 and n > g.F
    blobs, meta = [], {**REF, "n": n, "windows": [list(x) for x in windows(n, g.F)], "profiles": {},
                       "upscalers": {}, "bin": "reference.bin", "dtype": "float32", "endianness": "little"}
    off = [0]

    def add(arr):
        arr = np.ascontiguousarray(arr, dtype="<f4")
        ent = {"offset": off[0], "shape": list(arr.shape)}
        blobs.append(arr.tobytes())
        off[0] += arr.nbytes
        return ent

    ids = g.tok.encode(REF["prompt"])
    ctxv, cmask, pooled = g.encode_text([REF["prompt"]])
    meta["input_ids"] = ids
    meta["pooled"] = add(pooled.numpy())
    for pname, steps in (("preview", None), ("final", 3)):
        prof = dict(profiles[pname])
        if steps:
            prof["steps"] = steps
        prof["shift"] = 3.0 if pname == "final" else prof["shift"]
        _, lat = generate(g, [REF["prompt"]], [REF["seed"]], n, prof, negative=REF["negative"], return_latents=True)
        frames = []
        with torch.no_grad():
            for j in range(n):  # one frame at a time, as the engine decodes
                frames.append(g.decoder(lat[:, :, j]).numpy())
        frames = np.concatenate(frames)  # [n,3,H,W]
        meta["profiles"][pname] = {"denoiser": prof["denoiser"], "steps": prof["steps"],
                                   "guidance": prof["guidance"], "shift": prof["shift"],
                                   "latents": add(lat[0].numpy()), "frames": add(frames)}
        if pname == "preview":
            x4_in = frames[n // 2:n // 2 + 1]
    with torch.no_grad():
        y4 = ups["upscaler_x4"](torch.from_numpy(x4_in)).numpy()
        meta["upscalers"]["upscaler_x4"] = {"input": add(x4_in), "output": add(y4)}
        x5_in = np.ascontiguousarray(y4[:, :, 40:64, 100:140])  # a 24x40 crop keeps the fixture small
        y5 = ups["upscaler_x5"](torch.from_numpy(x5_in)).numpy()
        meta["upscalers"]["upscaler_x5"] = {"input": add(x5_in), "output": add(y5)}
    with open(os.path.join(fx, "reference.bin"), "wb") as f:
        for b in blobs:
            f.write(b)
    with open(os.path.join(fx, "reference.json"), "w", encoding="utf-8") as f:
        json.dump(meta, f, ensure_ascii=False, indent=1)
