"""Render workers for the denoiser's training windows: on a GPU the single-process renderer (about 40 ms per batch of
32 windows on one core) would leave the GPU idle most of the time, so processes render batches ahead while the main
process encodes and trains. Each batch comes from its own seed, so the stream of batches does not depend on which
worker is fast. Only numpy crosses the process boundary (no shared-memory tensors), frames as float16."""
from __future__ import annotations

import collections
import multiprocessing as mp

import numpy as np

from data import draw_flen, encode_windows, make_batch, render_windows

_W = None  # each worker's setting: the trainer's tokenizer, the two-object share


def _init(tok, two_objects):
    global _W
    _W = (tok, two_objects)


def _job(job):
    tok, two_objects = _W
    seed, batch = job
    rng = np.random.default_rng(seed)
    raw = render_windows(rng, tok, batch, draw_flen(rng), two_objects)
    # half the bytes through the pipe; frames and coverage are in [0, 1], where float16 is within 2.5e-4
    raw["rgb"], raw["mask"] = raw["rgb"].astype(np.float16), raw["mask"].astype(np.float16)
    return raw


class RenderPool:
    """`next()` gives the next rendered batch (data.render_windows' dict); `ahead` batches are rendered in advance."""

    def __init__(self, workers: int, batch: int, seed: int, tok, two_objects=None, ahead: int | None = None):
        # spawn, not fork: the parent may already hold CUDA and OpenMP threads
        self.pool = mp.get_context("spawn").Pool(workers, initializer=_init, initargs=(tok, two_objects))
        self.batch = batch
        self.seeds = np.random.SeedSequence(seed)
        self.pending: collections.deque = collections.deque()
        for _ in range(ahead or 2 * workers):
            self._submit()

    def _submit(self):
        seed = int(self.seeds.spawn(1)[0].generate_state(1)[0])
        self.pending.append(self.pool.apply_async(_job, ((seed, self.batch),)))

    def next(self) -> dict:
        raw = self.pending.popleft().get()
        self._submit()
        return raw

    def close(self):
        self.pool.terminate()
        self.pool.join()


class TrainingBatches:
    """A stage's training batches, encoded: from render workers when `--render-workers` is set (a GPU), else
    rendered in this process. `next()` gives a batch; `close()` stops the workers."""

    def __init__(self, ctx, batch: int, enc, stats):
        self.ctx, self.batch, self.enc, self.stats = ctx, batch, enc, stats
        self.pool = None
        if ctx.args.render_workers:
            self.pool = RenderPool(ctx.args.render_workers, batch, int(ctx.rng.integers(2**63)), ctx.tok, ctx.args.two_objects)

    def next(self) -> dict:
        if self.pool is not None:
            return encode_windows(self.pool.next(), self.enc, self.stats)
        return make_batch(self.ctx, self.batch, self.enc, self.stats, flen=draw_flen(self.ctx.rng))

    def close(self):
        if self.pool is not None:
            self.pool.close()
