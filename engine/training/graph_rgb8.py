"""Adds an `rgb8` output to an upscaler graph: the frame as uint8 RGB, channels last ([N, H, W, 3]),
rounded from `rgb_up`, so the engine hands frames to the encoder without a per-pixel conversion in
JavaScript (about 10 ms per 720p frame on this CPU). `rgb_up` stays (parity tests, chaining).

    /usr/bin/python3 engine/training/graph_rgb8.py engine/models/shapes-v1 upscaler_x5

Updates the graph file, its I/O and sha256 in manifest.json. Idempotent.
"""
from __future__ import annotations

import hashlib
import json
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def add_rgb8(path: str) -> bool:
    model = onnx.load(path)
    graph = model.graph
    if any(o.name == "rgb8" for o in graph.output):
        return False
    src = next(o for o in graph.output if o.name == "rgb_up")
    dims = [d.dim_param or d.dim_value for d in src.type.tensor_type.shape.dim]
    graph.initializer.extend([
        numpy_helper.from_array(np.array(255.0, dtype=np.float32), "rgb8_scale"),
        numpy_helper.from_array(np.array(0.5, dtype=np.float32), "rgb8_half"),
    ])
    graph.node.extend([
        helper.make_node("Mul", ["rgb_up", "rgb8_scale"], ["rgb8_scaled"]),
        helper.make_node("Add", ["rgb8_scaled", "rgb8_half"], ["rgb8_shifted"]),
        helper.make_node("Floor", ["rgb8_shifted"], ["rgb8_rounded"]),
        helper.make_node("Cast", ["rgb8_rounded"], ["rgb8_nchw"], to=TensorProto.UINT8),
        helper.make_node("Transpose", ["rgb8_nchw"], ["rgb8"], perm=[0, 2, 3, 1]),
    ])
    n, c, h, w = dims
    graph.output.append(helper.make_tensor_value_info("rgb8", TensorProto.UINT8, [n, h, w, c]))
    onnx.checker.check_model(model)
    onnx.save(model, path)
    return True


def main(bundle: str, graph_name: str) -> None:
    manifest_path = os.path.join(bundle, "manifest.json")
    with open(manifest_path, encoding="utf-8") as f:
        manifest = json.load(f)
    spec = manifest["graphs"][graph_name]
    path = os.path.join(bundle, spec["file"])
    changed = add_rgb8(path)
    out = spec["outputs"]["rgb_up"]["shape"]
    spec["outputs"]["rgb8"] = {"dtype": "uint8", "shape": [out[0], out[2], out[3], out[1]]}
    with open(path, "rb") as f:
        manifest.setdefault("sha256", {})[spec["file"]] = hashlib.sha256(f.read()).hexdigest()
    with open(manifest_path, "w", encoding="utf-8") as f:
        json.dump(manifest, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print(f"{graph_name}: rgb8 output {'added' if changed else 'already there'}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
