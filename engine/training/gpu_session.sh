#!/usr/bin/env bash
# A short session on a borrowed GPU machine (its python3 has torch; no Debian interpreter, no node):
# goes on training a kept run's denoiser for MINUTES more, keeps it (slim checkpoint), distils the preview
# student for DISTILL minutes, with EXPERT_MIN=M trains the low-noise expert M minutes on the new denoiser (below
# EXPERT_BOUNDARY, 0.6; the text encoder it reads is the new one, so an earlier expert no longer fits), and leaves
# them in OUTDIR to bring back. Export, eval and the card run on the CPU afterwards, as the service does:
#   [EXPERT_MIN=M] bash engine/training/gpu_session.sh RUN NEW MINUTES DISTILL OUTDIR [train.py options]
#   then, here: cp OUTDIR/NEW.pt engine/training/checkpoints/ && slim.py restore NEW &&
#   cp OUTDIR/distill.pt OUTDIR/expert.pt engine/training/runs/NEW/ && train.py --run NEW --stages export,eval,parallel,card ...
#   (with an expert: --stages export,attach,eval,parallel,card)
# DEVICE=cpu PYTHON=/usr/bin/python3 runs the same on this machine (a smoke test of the script).
set -euo pipefail
RUN=$1 NEW=$2 MINUTES=$3 DISTILL=$4 OUT_DIR=$5
shift 5
cd "$(dirname "$0")/../.."
PY=${PYTHON:-python3}
export PYTHONUNBUFFERED=1 TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1  # our own checkpoints (torch >= 2.6 loads weights only)
mkdir -p "$OUT_DIR"
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || true
"$PY" -c "import torch, numpy; print('torch', torch.__version__, 'numpy', numpy.__version__, 'cuda', torch.cuda.is_available())"
"$PY" engine/training/slim.py restore "$RUN" "$NEW"
cores=$(nproc); workers=$(( cores > 2 ? cores - 2 : 0 ))  # render workers: the cores the trainer leaves
"$PY" engine/training/train.py --run "$NEW" --stages den --device "${DEVICE:-cuda}" --threads 4 --den-more "$MINUTES" \
  --render-workers "$workers" --ckpt-every-min 2 "$@" 2>&1 | tee "$OUT_DIR/den.log"
"$PY" engine/training/slim.py save "$NEW"
cp "engine/training/checkpoints/$NEW.pt" "$OUT_DIR/"
if [ "$DISTILL" != "0" ]; then
  "$PY" engine/training/train.py --run "$NEW" --stages distill --device "${DEVICE:-cuda}" --threads 4 --distill-min "$DISTILL" \
    2>&1 | tee "$OUT_DIR/distill.log"
  # the student and its stage state, without the pair pool and optimizer (they stay behind)
  "$PY" - "$NEW" "$OUT_DIR" <<'EOF'
import os, sys, torch
run, out = sys.argv[1], sys.argv[2]
ck = torch.load(os.path.join("engine/training/runs", run, "distill.pt"), map_location="cpu")
torch.save({"student": ck["student"], "state": ck["state"], "pool": []}, os.path.join(out, "distill.pt"))
print("student kept:", ck["state"])
EOF
fi
if [ "${EXPERT_MIN:-0}" != "0" ]; then
  "$PY" engine/training/train.py --run "$NEW" --stages expert --device "${DEVICE:-cuda}" --threads 4 --expert-min "$EXPERT_MIN" \
    --expert-boundary "${EXPERT_BOUNDARY:-0.6}" --render-workers "$workers" --ckpt-every-min 2 "$@" 2>&1 | tee "$OUT_DIR/expert.log"
  # the expert's EMA weights and stage state (what attach reads), without the optimizer
  "$PY" - "$NEW" "$OUT_DIR" <<'EOF'
import os, sys, torch
run, out = sys.argv[1], sys.argv[2]
ck = torch.load(os.path.join("engine/training/runs", run, "expert.pt"), map_location="cpu")
torch.save({"low_ema": ck["low_ema"], "state": ck["state"]}, os.path.join(out, "expert.pt"))
print("expert kept:", ck["state"])
EOF
fi
