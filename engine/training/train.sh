#!/usr/bin/env bash
# Entry point of `npm run model:train`: every stage of the shapes model from nothing (resumable).
#   bash engine/training/train.sh                 # full first-bundle schedule -> engine/models/shapes-v1
#   bash engine/training/train.sh --quick         # smoke test (a few minutes) -> engine/training/runs/quick/models/
#   bash engine/training/train.sh --run long --ae-min 30 --den-min 360 ...   # see engine/training/README.md
# Needs Debian's python3-torch (1.13) and python3-onnx in /usr/bin/python3 and libopenblas0-openmp (train.py
# points the BLAS alternatives at OpenBLAS itself; root only).
set -euo pipefail
cd "$(dirname "$0")/../.."
exec /usr/bin/python3 engine/training/train.py "$@"
