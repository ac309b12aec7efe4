"""Networks of the shapes model: latent autoencoder, text encoder, video denoiser (DiT over latent patches with
joint space-time self-attention, token cross-attention to the caption, adaLN from noise level + pooled text), and
ESPCN upscalers. Everything is written so that torch 1.13 exports it to ONNX opset 17 (attention by hand, no
affine-less LayerNorm)."""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F


# ---------------------------------------------------------------------------------------------- autoencoder
class ResBlock(nn.Module):
    def __init__(self, ch: int):
        super().__init__()
        self.c1 = nn.Conv2d(ch, ch, 3, padding=1)
        self.c2 = nn.Conv2d(ch, ch, 3, padding=1)

    def forward(self, x):
        return x + self.c2(F.silu(self.c1(F.silu(x))))


class Encoder(nn.Module):
    """64x36 RGB -> 16x9 x C latent (raw, un-normalised)."""

    def __init__(self, c_lat: int = 4, w=(32, 64, 96)):
        super().__init__()
        a, b, c = w
        self.net = nn.Sequential(
            nn.Conv2d(3, a, 3, padding=1), nn.SiLU(),
            nn.Conv2d(a, b, 3, stride=2, padding=1), nn.SiLU(),
            nn.Conv2d(b, b, 3, padding=1), nn.SiLU(),
            nn.Conv2d(b, c, 3, stride=2, padding=1), nn.SiLU(),
            ResBlock(c), nn.SiLU(),
            nn.Conv2d(c, c_lat, 1))

    def forward(self, x):
        return self.net(x)


class Decoder(nn.Module):
    """16x9 x C latent -> 64x36 RGB in [0, 1]."""

    def __init__(self, c_lat: int = 4, w=(64, 32, 16)):
        super().__init__()
        a, b, c = w
        self.inp = nn.Conv2d(c_lat, a, 3, padding=1)
        self.r1 = ResBlock(a)
        self.up1 = nn.Conv2d(a, b * 4, 3, padding=1)
        self.r2 = ResBlock(b)
        self.up2 = nn.Conv2d(b, c * 4, 3, padding=1)
        self.c3 = nn.Conv2d(c, c, 3, padding=1)
        self.out = nn.Conv2d(c, 3, 3, padding=1)

    def forward(self, z):
        h = self.r1(self.inp(z))
        h = F.pixel_shuffle(self.up1(F.silu(h)), 2)
        h = self.r2(h)
        h = F.pixel_shuffle(self.up2(F.silu(h)), 2)
        h = self.c3(F.silu(h))
        return torch.sigmoid(self.out(F.silu(h)))


class NormDecoder(nn.Module):
    """Exported decoder: takes the normalised latent of the denoisers."""

    def __init__(self, dec: Decoder, mean: torch.Tensor, std: torch.Tensor):
        super().__init__()
        self.dec = dec
        self.register_buffer("mean", mean.view(1, -1, 1, 1).clone())
        self.register_buffer("std", std.view(1, -1, 1, 1).clone())

    def forward(self, latent):
        return self.dec(latent * self.std + self.mean)


# ---------------------------------------------------------------------------------------------- attention
def attention(q, k, v, bias=None):
    """q [B,H,N,d], k/v [B,H,M,d], bias broadcastable to [B,H,N,M]."""
    s = torch.matmul(q, k.transpose(-1, -2)) * (1.0 / math.sqrt(q.shape[-1]))
    if bias is not None:
        s = s + bias
    return torch.matmul(torch.softmax(s, dim=-1), v)


class SelfAttention(nn.Module):
    def __init__(self, d: int, heads: int):
        super().__init__()
        self.h = heads
        self.qkv = nn.Linear(d, 3 * d)
        self.o = nn.Linear(d, d)

    def forward(self, x, bias=None):
        B, N, D = x.shape
        qkv = self.qkv(x).reshape(B, N, 3, self.h, D // self.h).permute(2, 0, 3, 1, 4)
        y = attention(qkv[0], qkv[1], qkv[2], bias)
        return self.o(y.transpose(1, 2).reshape(B, N, D))


class CrossAttention(nn.Module):
    def __init__(self, d: int, d_ctx: int, heads: int):
        super().__init__()
        self.h = heads
        self.q = nn.Linear(d, d)
        self.kv = nn.Linear(d_ctx, 2 * d)
        self.o = nn.Linear(d, d)

    def forward(self, x, ctx, bias):
        B, N, D = x.shape
        L = ctx.shape[1]
        q = self.q(x).reshape(B, N, self.h, D // self.h).transpose(1, 2)
        kv = self.kv(ctx).reshape(B, L, 2, self.h, D // self.h).permute(2, 0, 3, 1, 4)
        y = attention(q, kv[0], kv[1], bias)
        return self.o(y.transpose(1, 2).reshape(B, N, D))


def sinusoid(x, dim: int, max_period: float = 10000.0):
    """x [...] -> [..., dim] sin/cos features."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32, device=x.device) / half)
    a = x.unsqueeze(-1) * freqs
    return torch.cat([torch.cos(a), torch.sin(a)], dim=-1)


# ---------------------------------------------------------------------------------------------- text encoder
class TextLayer(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.n1 = nn.LayerNorm(d)
        self.att = SelfAttention(d, heads)
        self.n2 = nn.LayerNorm(d)
        self.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))

    def forward(self, x, bias):
        x = x + self.att(self.n1(x), bias)
        return x + self.mlp(self.n2(x))


class TextEncoder(nn.Module):
    def __init__(self, vocab_size: int, max_len: int, d: int = 128, layers: int = 2, heads: int = 4):
        super().__init__()
        self.emb = nn.Embedding(vocab_size, d)
        self.pos = nn.Parameter(torch.randn(max_len, d) * 0.02)
        self.layers = nn.ModuleList([TextLayer(d, heads) for _ in range(layers)])
        self.norm = nn.LayerNorm(d)

    def forward(self, input_ids):
        mask = (input_ids != 0).float()  # pad_id = 0
        L = input_ids.shape[1]
        x = self.emb(input_ids) + self.pos[:L].unsqueeze(0)
        bias = ((1.0 - mask) * -1e4)[:, None, None, :]
        for lyr in self.layers:
            x = lyr(x, bias)
        ctx = self.norm(x)
        pooled = (ctx * mask.unsqueeze(-1)).sum(1) / mask.sum(1, keepdim=True).clamp(min=1.0)
        return ctx, pooled


class CaptionProbe(nn.Module):
    """Training only (never exported): linear read-outs of the scene's attributes from the pooled caption. Its loss
    keeps every attribute the caption names apart in the text encoder's output; without it the encoder of run u4 had
    folded "left" into "right", "up" into "down" and "grows" into "shrinks" (cosine 0.99 between their pooled
    vectors), and the denoiser, seeing no difference, moved objects the way the noise happened to point."""

    def __init__(self, d: int, sizes: dict[str, int]):
        super().__init__()
        self.heads = nn.ModuleDict({k: nn.Linear(d, n) for k, n in sizes.items()})

    def forward(self, pooled):
        return {k: h(pooled) for k, h in self.heads.items()}


# ---------------------------------------------------------------------------------------------- denoiser
class DiTBlock(nn.Module):
    def __init__(self, d, d_ctx, heads):
        super().__init__()
        self.n1 = nn.LayerNorm(d, elementwise_affine=False)
        self.att = SelfAttention(d, heads)
        self.n2 = nn.LayerNorm(d)
        self.xatt = CrossAttention(d, d_ctx, heads)
        self.n3 = nn.LayerNorm(d, elementwise_affine=False)
        self.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))
        self.ada = nn.Linear(d, 6 * d)
        nn.init.zeros_(self.ada.weight)
        nn.init.zeros_(self.ada.bias)

    def forward(self, x, c, self_bias, ctx, ctx_bias):
        s1, b1, g1, s2, b2, g2 = self.ada(F.silu(c)).unsqueeze(1).chunk(6, dim=-1)
        x = x + g1 * self.att(self.n1(x) * (1 + s1) + b1, self_bias)
        x = x + self.xatt(self.n2(x), ctx, ctx_bias)
        x = x + g2 * self.mlp(self.n3(x) * (1 + s2) + b2)
        return x


class Denoiser(nn.Module):
    """Predicts x0 of a latent chunk (the exported wrapper turns it into velocity). Tokens are patches of
    tp frames x patch x patch latent cells; the K clean context frames are tokens of the same sequence (their
    keys are masked when prev_valid = 0); joint space-time self-attention, cross-attention to the caption tokens,
    adaLN-zero modulation from (noise level, pooled caption)."""

    def __init__(self, c_lat=4, h=9, w=16, patch=2, tp=2, d=128, depth=6, heads=4, d_ctx=128, K=2):
        super().__init__()
        self.c, self.h, self.w, self.p, self.tp, self.d, self.K = c_lat, h, w, patch, tp, d, K
        assert K % tp == 0
        self.hp = (h + patch - 1) // patch
        self.wp = (w + patch - 1) // patch
        self.pad_h = self.hp * patch - h
        self.pad_w = self.wp * patch - w
        pin = c_lat * patch * patch * tp
        self.inp = nn.Linear(pin, d)
        self.pos = nn.Parameter(torch.randn(self.hp * self.wp, d) * 0.02)
        self.is_prev = nn.Parameter(torch.zeros(2, d))
        self.ftime = nn.Sequential(nn.Linear(64 * tp, d), nn.SiLU(), nn.Linear(d, d))
        self.temb = nn.Sequential(nn.Linear(128, d), nn.SiLU(), nn.Linear(d, d))
        self.pool = nn.Linear(d_ctx, d)
        self.blocks = nn.ModuleList([DiTBlock(d, d_ctx, heads) for _ in range(depth)])
        self.nout = nn.LayerNorm(d, elementwise_affine=False)
        self.ada_out = nn.Linear(d, 2 * d)
        self.out = nn.Linear(d, pin)
        nn.init.zeros_(self.ada_out.weight)
        nn.init.zeros_(self.ada_out.bias)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def patchify(self, z):  # z [B,C,T,h,w] (T multiple of tp) -> [B, T/tp, hp*wp, C*tp*p*p]
        B, C = z.shape[0], z.shape[1]
        if self.pad_h or self.pad_w:
            z = F.pad(z, (0, self.pad_w, 0, self.pad_h))
        p, tp = self.p, self.tp
        z = z.reshape(B, C, -1, tp, self.hp, p, self.wp, p).permute(0, 2, 4, 6, 1, 3, 5, 7)
        return z.reshape(B, -1, self.hp * self.wp, C * tp * p * p)

    def unpatchify(self, y):  # [B, Tt, hp*wp, C*tp*p*p] -> [B,C,Tt*tp,h,w]
        B = y.shape[0]
        p, tp = self.p, self.tp
        y = y.reshape(B, -1, self.hp, self.wp, self.c, tp, p, p).permute(0, 4, 1, 5, 2, 6, 3, 7)
        y = y.reshape(B, self.c, -1, self.hp * p, self.wp * p)
        return y[:, :, :, : self.h, : self.w]

    def forward(self, x, t, frame_time, context, context_mask, pooled, prev, prev_time, prev_valid):
        B, F_ = x.shape[0], x.shape[2]
        K, S, tp, d = self.K, self.hp * self.wp, self.tp, self.d
        if tp > 1:  # pad the chunk to a multiple of tp frames by repeating its last frame
            Fp = (F_ + tp - 1) // tp * tp
            x = torch.cat([x] + [x[:, :, -1:]] * (tp - 1), dim=2)[:, :, :Fp]
            frame_time = torch.cat([frame_time] + [frame_time[:, -1:]] * (tp - 1), dim=1)[:, :Fp]
        z = torch.cat([prev, x], dim=2)  # [B,C,K+Fp,h,w]
        times = torch.cat([prev_time, frame_time], dim=1)  # [B,K+Fp]
        tok = self.inp(self.patchify(z))  # [B,Tt,S,d]
        Tt = tok.shape[1]
        fe = self.ftime(sinusoid(times * 100.0, 64).reshape(B, Tt, 64 * tp))  # [B,Tt,d]
        Kt = K // tp
        kind = torch.cat([self.is_prev[0:1].expand(Kt, d), self.is_prev[1:2].expand(Tt - Kt, d)], dim=0)
        tok = tok + self.pos.unsqueeze(0).unsqueeze(0) + fe.unsqueeze(2) + kind.unsqueeze(0).unsqueeze(2)
        tok = tok.reshape(B, Tt * S, d)
        # prev tokens are masked out as keys when prev_valid = 0
        ones = torch.ones_like(tok[:, :, 0])
        key_valid = torch.cat([ones[:, : Kt * S] * prev_valid.unsqueeze(1), ones[:, Kt * S:]], dim=1)
        self_bias = ((1.0 - key_valid) * -1e4)[:, None, None, :]
        ctx_bias = ((1.0 - context_mask) * -1e4)[:, None, None, :]
        c = self.temb(sinusoid(t * 1000.0, 128)) + self.pool(pooled)
        for blk in self.blocks:
            tok = blk(tok, c, self_bias, context, ctx_bias)
        s, b = self.ada_out(F.silu(c)).unsqueeze(1).chunk(2, dim=-1)
        y = self.out(self.nout(tok) * (1 + s) + b)
        y = y.reshape(B, Tt, S, -1)[:, Kt:]
        return self.unpatchify(y)[:, :, :F_]  # x0 prediction [B,C,F,h,w]


class VelocityWrapper(nn.Module):
    """The exported denoiser graph: x0-prediction turned into flow-matching velocity v = (x - x0) / t."""

    def __init__(self, den: Denoiser):
        super().__init__()
        self.den = den
        # a self-conditioned denoiser takes one more input, `x0_self`: its x0 estimate at the previous step
        self.self_cond = bool(getattr(den, "self_cond", False))

    def forward(self, x, t, frame_time, context, context_mask, pooled, prev, prev_time, prev_valid, x0_self=None):
        if self.self_cond:
            x0 = self.den(x, t, frame_time, context, context_mask, pooled, prev, prev_time, prev_valid, x0_self)
        else:
            x0 = self.den(x, t, frame_time, context, context_mask, pooled, prev, prev_time, prev_valid)
        tt = t.clamp(min=1e-3).view(-1, 1, 1, 1, 1)
        return (x - x0) / tt


# ---------------------------------------------------------------------------------------------- upscaler
class Upscaler(nn.Module):
    """ESPCN: rgb [N,3,H,W] -> [N,3,sH,sW] in [0,1]. The last conv sees [features, rgb] and starts as a
    nearest-neighbour copy of the input, so the network learns the residual; the clamp sits before the
    PixelShuffle, where onnxruntime fuses it into the conv."""

    def __init__(self, scale: int, w=(32, 32), k_last: int = 3):
        super().__init__()
        self.s = scale
        a, b = w
        self.c1 = nn.Conv2d(3, a, 5, padding=2)
        self.c2 = nn.Conv2d(a, b, 3, padding=1)
        self.c3 = nn.Conv2d(b + 3, 3 * scale * scale, k_last, padding=k_last // 2)
        with torch.no_grad():
            self.c3.weight.zero_()
            self.c3.bias.zero_()
            # the rgb part starts as an upsampling of the input: bilinear when the kernel is 3x3, else nearest
            wts = []
            for i in range(scale):
                u = (i + 0.5) / scale - 0.5
                wts.append([-u, 1 + u, 0.0] if u < 0 else [0.0, 1 - u, u])
            for c in range(3):
                for i in range(scale):
                    for j in range(scale):
                        o = c * scale * scale + i * scale + j
                        if k_last == 3:
                            for ki in range(3):
                                for kj in range(3):
                                    self.c3.weight[o, b + c, ki, kj] = wts[i][ki] * wts[j][kj]
                        else:
                            self.c3.weight[o, b + c, k_last // 2, k_last // 2] = 1.0

    def forward(self, rgb):
        h = F.silu(self.c1(rgb))
        h = F.silu(self.c2(h))
        y = self.c3(torch.cat([h, rgb], dim=1)).clamp(0.0, 1.0)
        return F.pixel_shuffle(y, self.s)


def fix_layernorms_for_export(m: nn.Module) -> None:
    """torch 1.13 exports LayerNorm(elementwise_affine=False) as an invalid node: give it weight 1 / bias 0."""
    for mod in m.modules():
        if isinstance(mod, nn.LayerNorm) and not mod.elementwise_affine:
            mod.elementwise_affine = True
            mod.weight = nn.Parameter(torch.ones(mod.normalized_shape))
            mod.bias = nn.Parameter(torch.zeros(mod.normalized_shape))


def n_params(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


# ---------------------------------------------------------------------------------------------- UNet denoiser
# Written so that the exported graph has (almost) no shape arithmetic: the chunk is padded to the full F frames
# (repeating its last frame, as the DiT pads to its temporal patch) so the number of frames T = K + F is a
# constant; the batch is the only dynamic size (-1 in every reshape). onnxruntime then runs mostly the convs.
def small_attention(q, k, v, bias=None):
    """attention() for very short sequences (T ~ 10): broadcast-multiply-sum instead of batched matmuls of tiny
    matrices (2x faster in torch on CPU for thousands of 10x10 problems; same maths)."""
    s = (q.unsqueeze(-2) * k.unsqueeze(-3)).sum(-1) * (1.0 / math.sqrt(q.shape[-1]))
    if bias is not None:
        s = s + bias
    return (torch.softmax(s, dim=-1).unsqueeze(-1) * v.unsqueeze(-3)).sum(-2)


class USelfAttention(SelfAttention):
    """SelfAttention (same parameters) written with -1 batch reshapes for export, optionally small_attention."""

    def __init__(self, d: int, heads: int, small: bool = False):
        super().__init__(d, heads)
        self.small = small

    def forward(self, x, bias=None):  # x [N,S,D] with S and D constants
        N_, S, D = x.shape
        qkv = self.qkv(x).reshape(-1, S, 3, self.h, D // self.h).permute(2, 0, 3, 1, 4)
        y = (small_attention if self.small else attention)(qkv[0], qkv[1], qkv[2], bias)
        return self.o(y.transpose(1, 2).reshape(-1, S, D))


class UCrossAttention(CrossAttention):
    """CrossAttention (same parameters) whose caption keys/values are computed once per call (`keys`)."""

    def forward(self, x, kv, bias):  # x [B,S,D]; kv = precomputed [2,B,h,L,dh] of the caption (per module)
        S, D = x.shape[1], x.shape[2]
        q = self.q(x).reshape(-1, S, self.h, D // self.h).transpose(1, 2)
        y = attention(q, kv[0], kv[1], bias)
        return self.o(y.transpose(1, 2).reshape(-1, S, D))

    def keys(self, ctx):  # ctx [B,L,d_ctx] -> [2,B,h,L,dh]
        D = self.q.out_features
        return self.kv(ctx).reshape(ctx.shape[0], ctx.shape[1], 2, self.h, D // self.h).permute(2, 0, 3, 1, 4)


def temporal_shift_cat(h, T: int):
    """[B*T,C,H,W] -> [B*T,3C,H,W]: the features of frames t-1, t, t+1 (zeros outside the clip), so a 1x1 conv on
    the result is a k=3 temporal conv (a GEMM; no Conv3d, no transposes)."""
    C, H, W_ = h.shape[1], h.shape[2], h.shape[3]
    x = F.pad(h.reshape(-1, T, C, H, W_), (0, 0, 0, 0, 0, 0, 1, 1))
    return torch.cat([x[:, 0:T], x[:, 1:T + 1], x[:, 2:T + 2]], dim=2).reshape(-1, 3 * C, H, W_)


class UResBlock(nn.Module):
    """(2+1)D residual block, frames folded into the batch: GN-SiLU-conv3x3, per-frame FiLM (scale/shift given),
    GN-SiLU-conv3x3, then a residual k=3 temporal conv (frames t-1, t, t+1 -> 1x1 conv)."""

    def __init__(self, cin: int, cout: int, groups: int = 8):
        super().__init__()
        self.cout = cout
        self.n1 = nn.GroupNorm(groups, cin)
        self.c1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.n2 = nn.GroupNorm(groups, cout)
        self.c2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else None
        self.ct = nn.Conv2d(3 * cout, cout, 1)
        nn.init.zeros_(self.c2.weight)
        nn.init.zeros_(self.c2.bias)
        nn.init.zeros_(self.ct.weight)
        nn.init.zeros_(self.ct.bias)

    def forward(self, x, film, T: int):  # film [B*T, 2*cout, 1, 1]
        s, b = film.chunk(2, dim=1)
        h = self.c1(F.silu(self.n1(x)))
        h = self.c2(F.silu(self.n2(h) * (1 + s) + b))
        x = (self.skip(x) if self.skip is not None else x) + h
        return x + self.ct(temporal_shift_cat(F.silu(x), T))


class UAttn(nn.Module):
    """Attention on [B*T,C,H,W] features of one UNet level.
    'cross': every cell of every frame attends to the caption tokens;
    'time': each cell attends to the same cell in all frames (context frames masked as keys when invalid);
    'st': joint space-time self-attention over all cells of all frames (lowest resolution).
    A per-frame embedding (tau, chunk/context) is added to the inputs of 'time' and 'st' (and a learned spatial
    position to 'st')."""

    def __init__(self, ch: int, mode: str, d_cond: int, d_ctx: int = 128, heads: int = 4, hw: int = 0):
        super().__init__()
        self.mode = mode
        self.norm = nn.GroupNorm(8, ch)
        if mode == "cross":
            self.att = UCrossAttention(ch, d_ctx, heads)
        else:
            self.att = USelfAttention(ch, heads, small=(mode == "time"))
            self.fe = nn.Linear(d_cond, ch)
            if mode == "st":
                self.pos = nn.Parameter(torch.randn(hw, ch) * 0.02)
        nn.init.zeros_(self.att.o.weight)
        nn.init.zeros_(self.att.o.bias)

    def forward(self, x, T: int, a: dict):
        C, H, W_ = x.shape[1], x.shape[2], x.shape[3]
        HW = H * W_
        h = self.norm(x).reshape(-1, T, C, HW)  # [B,T,C,HW]
        if self.mode == "cross":
            q = h.permute(0, 1, 3, 2).reshape(-1, T * HW, C)
            y = self.att(q, self.att.keys(a["ctx"]), a["ctx_bias"]).reshape(-1, T, HW, C).permute(0, 1, 3, 2)
        elif self.mode == "time":
            q = (h.permute(0, 3, 1, 2) + self.fe(a["fe"]).unsqueeze(1)).reshape(-1, T, C)  # [B*HW,T,C]
            bias = a["kbias"].unsqueeze(1).expand(-1, HW, -1).reshape(-1, 1, 1, T)
            y = self.att(q, bias).reshape(-1, HW, T, C).permute(0, 2, 3, 1)
        else:  # 'st'
            q = (h.permute(0, 1, 3, 2) + self.fe(a["fe"]).unsqueeze(2) + self.pos).reshape(-1, T * HW, C)
            bias = a["kbias"].unsqueeze(2).expand(-1, T, HW).reshape(-1, 1, 1, T * HW)
            y = self.att(q, bias).reshape(-1, T, HW, C).permute(0, 1, 3, 2)
        return x + y.reshape(-1, C, H, W_)


class UNetDenoiser(nn.Module):
    """Conv (2+1)D UNet over the latent chunk; predicts x0 (the exported wrapper turns it into velocity).
    The K clean context frames are concatenated before the chunk along time, so every temporal op sees them
    (their per-frame conditioning says 'clean context' with t = 0; when prev_valid = 0 they are zeros and masked
    as attention keys). Input: latent + 2 coordinate channels + a context-frame flag. Per-frame conditioning
    = emb(t of the frame) + emb(tau) + kind (chunk / valid context / invalid context) + pooled caption, into a
    FiLM in every residual block. Levels 16x9 / 8x5 / 4x3 with widths `widths`; a k=3 temporal conv in every
    block; cross-attention to the caption tokens at the levels in `cross` (0 = 16x9, 1 = 8x5; always at 4x3),
    temporal self-attention at the levels in `tattn`; joint space-time self-attention at 4x3."""

    def __init__(self, c_lat=4, h=9, w=16, K=2, F=8, d_ctx=128, widths=(32, 64, 128), d_cond=128, heads=4,
                 cross=(1,), tattn=(1,), mid_blocks=2, extra_up=(), cond_mlp=False, self_cond=False):
        super().__init__()
        self.c, self.h, self.w, self.K, self.Fmax = c_lat, h, w, K, F
        self.T = K + F
        c1, c2, c3 = widths
        self.temb = nn.Sequential(nn.Linear(128, d_cond), nn.SiLU(), nn.Linear(d_cond, d_cond))
        self.ftime = nn.Sequential(nn.Linear(64, d_cond), nn.SiLU(), nn.Linear(d_cond, d_cond))
        self.pool = nn.Linear(d_ctx, d_cond)
        self.kind = nn.Parameter(torch.zeros(3, d_cond))  # chunk frame, valid context, invalid context
        ys = torch.linspace(-1, 1, h).view(1, 1, h, 1).expand(1, 1, h, w)
        xs = torch.linspace(-1, 1, w).view(1, 1, 1, w).expand(1, 1, h, w)
        self.register_buffer("coords", torch.cat([xs, ys], dim=1).clone())
        self.inp = nn.Conv2d(c_lat + 3, c1, 3, padding=1)
        # self-conditioning: the previous sampling step's x0 estimate of the chunk as a second input (zero at init)
        self.self_cond = bool(self_cond)
        if self.self_cond:
            self.inp_sc = nn.Conv2d(c_lat, c1, 3, padding=1)
            nn.init.zeros_(self.inp_sc.weight)
            nn.init.zeros_(self.inp_sc.bias)
        self.d1 = UResBlock(c1, c1)
        self.a1 = nn.ModuleList(self._attn(c1, 0, cross, tattn, d_cond, d_ctx, heads))
        self.down1 = nn.Conv2d(c1, c2, 3, stride=2, padding=1)
        self.d2 = UResBlock(c2, c2)
        self.a2 = nn.ModuleList(self._attn(c2, 1, cross, tattn, d_cond, d_ctx, heads))
        self.down2 = nn.Conv2d(c2, c3, 3, stride=2, padding=1)
        h3, w3 = (h + 1) // 2, (w + 1) // 2
        h3, w3 = (h3 + 1) // 2, (w3 + 1) // 2
        self.mid = nn.ModuleList([UResBlock(c3, c3) for _ in range(mid_blocks)])
        self.mid_st = UAttn(c3, "st", d_cond, d_ctx, heads, hw=h3 * w3)
        self.mid_x = UAttn(c3, "cross", d_cond, d_ctx, heads)
        self.up2 = nn.Conv2d(c3, c2, 1)
        self.u2 = UResBlock(2 * c2, c2)
        self.ua2 = nn.ModuleList(self._attn(c2, 1, cross, tattn, d_cond, d_ctx, heads))
        self.up1 = nn.Conv2d(c2, c1, 1)
        self.u1 = UResBlock(2 * c1, c1)
        self.ua1 = nn.ModuleList(self._attn(c1, 0, cross, tattn, d_cond, d_ctx, heads))
        # optional second residual block after the up block of a level (identity at init, with its own FiLM layer,
        # so a trained network can grow into it)
        self.extra_up = tuple(extra_up)
        self.u2x = UResBlock(c2, c2) if 1 in self.extra_up else None
        self.u1x = UResBlock(c1, c1) if 0 in self.extra_up else None
        self.xblocks = [b for b in (self.u2x, self.u1x) if b is not None]
        if self.xblocks:
            self.film_x_sizes = [2 * b.cout for b in self.xblocks]
            self.film_x = nn.Linear(d_cond, sum(self.film_x_sizes))
            nn.init.zeros_(self.film_x.weight)
            nn.init.zeros_(self.film_x.bias)
        self.nout = nn.GroupNorm(8, c1)
        self.out = nn.Conv2d(c1, c_lat, 3, padding=1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)
        # all FiLMs from one linear layer (zero-initialised: identity at start)
        self.res_blocks = [self.d1, self.d2, *self.mid, self.u2, self.u1]
        self.film_sizes = [2 * b.cout for b in self.res_blocks]
        self.film = nn.Linear(d_cond, sum(self.film_sizes))
        nn.init.zeros_(self.film.weight)
        nn.init.zeros_(self.film.bias)
        # optional residual MLP on the per-frame conditioning (zero at init): products of caption and frame time,
        # e.g. how far along its path a moving object is in this frame
        self.cmix = nn.Sequential(nn.Linear(d_cond, d_cond), nn.SiLU(), nn.Linear(d_cond, d_cond)) if cond_mlp else None
        if self.cmix is not None:
            nn.init.zeros_(self.cmix[2].weight)
            nn.init.zeros_(self.cmix[2].bias)

    @staticmethod
    def _attn(ch, level, cross, tattn, d_cond, d_ctx, heads):
        mods = []
        if level in cross:
            mods.append(UAttn(ch, "cross", d_cond, d_ctx, heads))
        if level in tattn:
            mods.append(UAttn(ch, "time", d_cond, d_ctx, heads))
        return mods

    def forward(self, x, t, frame_time, context, context_mask, pooled, prev, prev_time, prev_valid, x0_sc=None):
        C, H, W_, K, Fm, T = self.c, self.h, self.w, self.K, self.Fmax, self.T
        F_ = x.shape[2]
        # pad the chunk to Fmax frames by repeating its last frame (and its time)
        x = torch.cat([x, x[:, :, -1:].expand(-1, -1, Fm, -1, -1)], dim=2)[:, :, :Fm]
        if self.self_cond:
            if x0_sc is None:
                x0_sc = torch.zeros_like(x)
            else:
                x0_sc = torch.cat([x0_sc, x0_sc[:, :, -1:].expand(-1, -1, Fm, -1, -1)], dim=2)[:, :, :Fm]
            sc = torch.cat([torch.zeros_like(prev), x0_sc], dim=2).permute(0, 2, 1, 3, 4).reshape(-1, C, H, W_)
        frame_time = torch.cat([frame_time, frame_time[:, -1:].expand(-1, Fm)], dim=1)[:, :Fm]
        z = torch.cat([prev, x], dim=2)  # [B,C,T,h,w]
        times = torch.cat([prev_time, frame_time], dim=1)  # [B,T]
        isprev = torch.cat([torch.ones_like(prev_time), torch.zeros_like(frame_time)], dim=1)  # [B,T]
        pv = prev_valid.unsqueeze(1)
        key_valid = 1.0 - isprev * (1.0 - pv)  # [B,T]: 0 for the context frames of a shot's first chunk
        tf = t.unsqueeze(1) * (1.0 - isprev)  # noise level per frame: context frames are clean
        kind = (1.0 - isprev).unsqueeze(-1) * self.kind[0] + (isprev * pv).unsqueeze(-1) * self.kind[1] + \
            (isprev * (1.0 - pv)).unsqueeze(-1) * self.kind[2]
        fe = self.ftime(sinusoid(times * 100.0, 64)) + kind  # [B,T,d]
        cf = self.temb(sinusoid(tf * 1000.0, 128)) + fe + self.pool(pooled).unsqueeze(1)  # [B,T,d]
        if self.cmix is not None:
            cf = cf + self.cmix(F.silu(cf))
        films = self.film(F.silu(cf)).reshape(-1, sum(self.film_sizes), 1, 1).split(self.film_sizes, dim=1)
        fx = []
        if self.xblocks:
            fx = list(self.film_x(F.silu(cf)).reshape(-1, sum(self.film_x_sizes), 1, 1).split(self.film_x_sizes, dim=1))
        a = {"ctx": context, "ctx_bias": ((1.0 - context_mask) * -1e4)[:, None, None, :], "fe": fe,
             "kbias": (1.0 - key_valid) * -1e4}
        hfr = z.permute(0, 2, 1, 3, 4).reshape(-1, C, H, W_)  # frames folded into the batch [B*T,C,h,w]
        flag = isprev.reshape(-1, 1, 1, 1).expand(-1, 1, H, W_)
        hfr = torch.cat([hfr, self.coords.expand(hfr.shape[0], -1, -1, -1), flag], dim=1)
        h0 = self.inp(hfr)
        if self.self_cond:
            h0 = h0 + self.inp_sc(sc)
        h1 = self.d1(h0, films[0], T)
        for m in self.a1:
            h1 = m(h1, T, a)
        h2 = self.d2(self.down1(F.silu(h1)), films[1], T)
        for m in self.a2:
            h2 = m(h2, T, a)
        h3 = self.down2(F.silu(h2))
        nm = len(self.mid)
        h3 = self.mid[0](h3, films[2], T)
        h3 = self.mid_st(h3, T, a)
        h3 = self.mid_x(h3, T, a)
        for i in range(1, nm):
            h3 = self.mid[i](h3, films[2 + i], T)
        u = F.interpolate(self.up2(h3), scale_factor=2.0, mode="nearest")[:, :, : h2.shape[2], : h2.shape[3]]
        u = self.u2(torch.cat([u, h2], dim=1), films[2 + nm], T)
        for m in self.ua2:
            u = m(u, T, a)
        if self.u2x is not None:
            u = self.u2x(u, fx.pop(0), T)
        u = F.interpolate(self.up1(u), scale_factor=2.0, mode="nearest")[:, :, :H, :W_]
        u = self.u1(torch.cat([u, h1], dim=1), films[3 + nm], T)
        for m in self.ua1:
            u = m(u, T, a)
        if self.u1x is not None:
            u = self.u1x(u, fx.pop(0), T)
        y = self.out(F.silu(self.nout(u)))  # [B*T,C,h,w]
        y = y.reshape(-1, T, C, H, W_)[:, K:].permute(0, 2, 1, 3, 4)
        return y[:, :, :F_]  # x0 prediction [B,C,F,h,w]
