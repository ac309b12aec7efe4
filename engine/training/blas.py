"""The machine set-up of a training process that has to happen before torch loads: Debian's torch links the reference
BLAS (35x slower than OpenBLAS), so point the alternatives at OpenBLAS. No torch here: train.py calls it first."""
from __future__ import annotations

import os
import subprocess


def setup_blas() -> None:
    """Debian's torch links the reference BLAS (35x slower): point the alternatives at OpenBLAS (idempotent)."""
    base = "/usr/lib/x86_64-linux-gnu/openblas-openmp"
    for name, lib in (("libblas.so.3-x86_64-linux-gnu", "libblas.so.3"),
                      ("liblapack.so.3-x86_64-linux-gnu", "liblapack.so.3")):
        target = os.path.join(base, lib)
        if not os.path.exists(target):
            print(f"[setup] {target} missing (apt-get install -y libopenblas0-openmp); training will be slow")
            continue
        cur = os.path.realpath(f"/etc/alternatives/{name}")
        if cur != os.path.realpath(target):
            r = subprocess.run(["update-alternatives", "--set", name, target], capture_output=True, text=True)
            print(f"[setup] update-alternatives {name}: rc={r.returncode} {r.stderr.strip()}")
