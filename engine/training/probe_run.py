"""Shared by the diagnostics that ask a trained run's guided teacher questions (cond_check.py, order_check.py):
load the run, and sample one-window shots of several captions from the same noise."""
import argparse
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from config import CHUNK_K, FRAME_H, FRAME_W, LAT_C, LAT_H, LAT_W, Ctx  # noqa: E402
import world as W  # noqa: E402
from model import NormDecoder  # noqa: E402
from stage_ae import load_ae  # noqa: E402
from stage_den import load_den  # noqa: E402
from stage_distill import teacher_sample  # noqa: E402


class Teacher:
    def __init__(self, run: str):
        torch.set_num_threads(1)
        self.ctx = Ctx(argparse.Namespace(run=run))
        _, dec, stats = load_ae(self.ctx)
        self.te, self.den, self.state = load_den(self.ctx)
        self.nd = NormDecoder(dec, *stats).eval()

    def header(self) -> str:
        return f"den step {self.state['step']}, {self.state['elapsed'] / 60:.1f} min"

    def ids(self, caps: list[str]) -> torch.Tensor:
        return torch.tensor([self.ctx.tok.encode(c) for c in caps])

    def pooled_cosine(self, caps: list[str]) -> torch.Tensor:
        """[N,N] cosine of the captions' pooled text vectors."""
        with torch.no_grad():
            _, pooled = self.te(self.ids(caps))
        pn = torch.nn.functional.normalize(pooled, dim=-1)
        return pn @ pn.T

    def frames(self, caps: list[str], seed: int, n: int = 8, steps: int = 10, guidance: float = 3.0,
               shift: float = 1.0) -> np.ndarray:
        """RGB frames [len(caps), n, H, W, 3] in 0..1 of a one-window shot per caption, all from the same noise."""
        B = len(caps)
        b = {"ids": self.ids(caps), "ft": torch.tensor(np.stack([W.frame_times(n)] * B), dtype=torch.float32),
             "prev": torch.zeros(B, LAT_C, CHUNK_K, LAT_H, LAT_W), "pt": torch.zeros(B, CHUNK_K),
             "pv": torch.zeros(B)}
        torch.manual_seed(seed)
        eps = torch.randn(1, LAT_C, n, LAT_H, LAT_W).repeat(B, 1, 1, 1, 1)
        x = teacher_sample(self.te, self.den, b, eps, steps, guidance, shift)
        with torch.no_grad():
            fr = self.nd(x.permute(0, 2, 1, 3, 4).reshape(-1, LAT_C, LAT_H, LAT_W))
        return fr.reshape(B, n, 3, FRAME_H, FRAME_W).permute(0, 1, 3, 4, 2).numpy()


def colour_mask(frames: np.ndarray, colour: str) -> np.ndarray:
    """Pixels within 0.25 (per channel) of one of the world's object colours."""
    return np.abs(frames - np.array(W.COLOURS[colour]) / 255.0).max(-1) < 0.25
