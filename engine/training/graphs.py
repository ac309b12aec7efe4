"""A trained run as the torch modules of the bundle's graphs (generate.Graphs: text encoder, final and preview
denoisers returning velocity, the decoder that undoes the latent normalisation), for the eval, the export and the
sampler sweep."""
from __future__ import annotations

import copy
import os

import torch

from config import CHUNK_F, CHUNK_K, LAT_C, LAT_H, LAT_W, log
from generate import Graphs
from model import NormDecoder, VelocityWrapper
from stage_ae import load_ae
from stage_den import load_den


def build_graphs(ctx):
    """The run's EMA text encoder, its denoiser as the final and its distilled student (or, without one, the teacher)
    as the preview denoiser, and the normalising decoder, all on the CPU in eval mode."""
    enc, dec, stats = load_ae(ctx)
    te, den, st = load_den(ctx)
    dens = {"final_denoiser": VelocityWrapper(den).eval()}
    if os.path.exists(ctx.path("distill.pt")):
        stu = copy.deepcopy(den)
        stu.load_state_dict(torch.load(ctx.path("distill.pt"), map_location="cpu")["student"])
        dens["preview_denoiser"] = VelocityWrapper(stu.eval()).eval()
    else:
        log("[graphs] no distilled student: preview uses the teacher")
        dens["preview_denoiser"] = dens["final_denoiser"]
    ndec = NormDecoder(dec, stats[0], stats[1]).eval()
    return Graphs(te, dens, ndec, ctx.tok, C=LAT_C, h=LAT_H, w=LAT_W, F=CHUNK_F, K=CHUNK_K)
