"""Synthetic world of scenecast's shapes model: scenes, captions (English + Chinese), anti-aliased rendering.

Coordinates: the frame is 1 unit high and ASPECT (16/9) units wide; y grows downwards. Motion is a function of
normalised shot time tau in [0, 1] (the whole shot is one take of the described action), so any frame of a shot of
any length can be rendered directly. `write_world_json` writes engine/eval/world.json, the single source of world
constants for the TypeScript checker.
"""
from __future__ import annotations

import json
import math
import os
import unicodedata
import re

import numpy as np

ASPECT = 16.0 / 9.0

COLOURS = {  # name -> RGB (0..255)
    "red": (225, 35, 35),
    "orange": (250, 140, 20),
    "yellow": (245, 220, 40),
    "green": (40, 200, 80),
    "blue": (40, 80, 225),
    "purple": (150, 55, 205),
    "white": (242, 242, 242),
}
COLOUR_NAMES = list(COLOURS)

BACKGROUNDS = {  # name -> (top RGB, bottom RGB), a vertical gradient
    "plain": ((120, 120, 120), (120, 120, 120)),
    "sky": ((95, 160, 230), (175, 210, 245)),
    "night": ((10, 14, 40), (35, 45, 95)),
    "sunset": ((250, 185, 120), (190, 80, 110)),
    "grass": ((70, 135, 55), (45, 95, 35)),
}
BG_NAMES = list(BACKGROUNDS)

SHAPES = ["circle", "square", "triangle", "star"]
# extent of the shape (max distance of its outline from the centre) in units of the object size R
SHAPE_EXTENT = {"circle": 1.0, "square": 0.85 * math.sqrt(2), "triangle": 2.0 / math.sqrt(3) * 1.0, "star": 1.25}
SHAPE_SYMMETRY = {"circle": 0.0, "square": 90.0, "triangle": 120.0, "star": 72.0}  # degrees, 0 = none

MOTIONS = ["left", "right", "up", "down", "bounce", "spin", "grow", "shrink", "still"]
SPEEDS = ["slow", "quick"]
# motion parameters by speed (distances in frame heights; angles in degrees; scale factors end/start)
MOTION_PARAMS = {
    "move_h": {"slow": 0.5, "quick": 1.05},
    "move_v": {"slow": 0.2, "quick": 0.38},
    "bounce_height": {"slow": 0.24, "quick": 0.34},
    "bounce_count": {"slow": 1, "quick": 2},
    "spin": {"slow": 60.0, "quick": 180.0},
    "grow": {"slow": 1.35, "quick": 1.8},
    "shrink": {"slow": 0.7, "quick": 0.45},
}
SIZE_SINGLE = (0.18, 0.24)
# Layout of a scene: shapes start upright (angle within +-ANGLE_JITTER degrees of their canonical pose: a star or a
# triangle with a point up, a square with level sides) and objects start near the middle of where their motion
# allows (positions pulled towards the centre of the allowed range by POS_SPREAD). Fewer arbitrary choices per
# clip make the model's job (and its samples) sharper; the draws are the same, so captions and seeds do not move.
ANGLE_JITTER = 6.0
POS_SPREAD = 0.35
# Two objects are laid out in reading order: the first one named is on the left (side by side) or on top (when
# they move left or right). Which object is where is then no longer a coin toss the model has to make on its own;
# with a random side it gave both objects the same colour and shape ("an orange star and a green triangle" drawn as
# two orange stars) in most two-object clips.
# Likewise a spinning shape always turns the same way: the captions never say which way, and a model that has to
# pick a direction on its own blurs both into a round blob.
SIZE_DOUBLE = (0.14, 0.18)

# colour x shape combinations never seen in training (held out for the eval)
HELDOUT_COMBOS = [("red", "star"), ("blue", "triangle"), ("green", "square"), ("white", "circle"),
                  ("orange", "triangle")]

# ---------------------------------------------------------------------------------------------- words
EN = {
    "colour": {c: [c] for c in COLOUR_NAMES},
    "shape": {"circle": ["circle", "ball"], "square": ["square", "box", "block"], "triangle": ["triangle"],
              "star": ["star"]},
    # motion: list of (3rd person singular, plural, -ing)
    "motion": {
        "left": [("moves left", "move left", "moving left"), ("moves to the left", "move to the left",
                 "moving to the left"), ("goes left", "go left", "going left"), ("slides left", "slide left",
                 "sliding left")],
        "right": [("moves right", "move right", "moving right"), ("moves to the right", "move to the right",
                  "moving to the right"), ("goes right", "go right", "going right"), ("slides right",
                  "slide right", "sliding right")],
        "up": [("moves up", "move up", "moving up"), ("rises", "rise", "rising"), ("goes up", "go up", "going up")],
        "down": [("moves down", "move down", "moving down"), ("falls", "fall", "falling"),
                 ("goes down", "go down", "going down"), ("drops", "drop", "dropping")],
        "bounce": [("bounces", "bounce", "bouncing"), ("hops", "hop", "hopping"),
                   ("jumps up and down", "jump up and down", "jumping up and down")],
        "spin": [("spins", "spin", "spinning"), ("rotates", "rotate", "rotating"),
                 ("turns around", "turn around", "turning around")],
        "grow": [("grows", "grow", "growing"), ("gets bigger", "get bigger", "getting bigger"),
                 ("expands", "expand", "expanding")],
        "shrink": [("shrinks", "shrink", "shrinking"), ("gets smaller", "get smaller", "getting smaller")],
        "still": [("stays still", "stay still", "staying still"), ("does not move", "do not move", "not moving"),
                  ("sits still", "sit still", "sitting still")],
    },
    "speed": {"slow": ["slowly", "gently"], "quick": ["quickly", "fast", "rapidly"]},
    "background": {"plain": ["on a grey background", "on a plain background", ""],
                   "sky": ["in the sky", "against a blue sky", "under a blue sky"],
                   "night": ["at night", "in the night sky"],
                   "sunset": ["at sunset", "during sunset"],
                   "grass": ["on grass", "on the grass", "on a lawn"]},
}
ZH = {
    "colour": {"red": ["红色", "红"], "orange": ["橙色", "橙"], "yellow": ["黄色", "黄"], "green": ["绿色", "绿"],
               "blue": ["蓝色", "蓝"], "purple": ["紫色", "紫"], "white": ["白色", "白"]},
    "shape": {"circle": ["圆", "圆形", "球", "小球"], "square": ["方块", "正方形", "方形"],
              "triangle": ["三角形", "三角"], "star": ["星星", "星形", "五角星"]},
    "motion": {"left": ["向左移动", "往左移动", "向左走", "向左滑动"],
               "right": ["向右移动", "往右移动", "向右走", "向右滑动"],
               "up": ["向上移动", "往上升", "上升", "向上飘"],
               "down": ["向下移动", "往下落", "下落", "掉下来"],
               "bounce": ["弹跳", "跳动", "上下跳动", "蹦蹦跳跳"],
               "spin": ["旋转", "转动", "转圈"],
               "grow": ["变大", "长大", "放大"],
               "shrink": ["变小", "缩小"],
               "still": ["静止不动", "一动不动", "保持不动"]},
    "speed": {"slow": ["慢慢地", "缓慢地", "慢慢"], "quick": ["快速地", "迅速地", "很快地", "快速"]},
    # (location phrase, bare name for "背景是X")
    "background": {"plain": (["灰色背景上", "纯色背景上", ""], ["灰色"]),
                   "sky": (["天空中", "蓝天下", "在天空里"], ["天空", "蓝天"]),
                   "night": (["夜空中", "夜晚", "在夜里"], ["夜空"]),
                   "sunset": (["日落时", "夕阳下", "黄昏时"], ["日落", "夕阳"]),
                   "grass": (["草地上", "草坪上", "在草地上"], ["草地", "草坪"])},
}

EN_TEMPLATES_TRAIN = ["{obj} {m_s} {speed} {bg}", "{bg}, {obj} {m_s} {speed}", "{bg}, {obj} {speed} {m_ing}",
                      "{obj} {m_ing} {speed} {bg}", "{obj} that {m_s} {speed} {bg}"]
EN_TEMPLATES_HELDOUT = ["{Speed}, {obj} {m_s} {bg}", "{obj} {bg} {m_s} {speed}"]
ZH_TEMPLATES_TRAIN = ["{bg}{obj}{speed}{m}", "{bg}，{obj}正在{speed}{m}", "{bg}，有{obj}{speed}{m}",
                      "{obj}{speed}{m}，背景是{bgname}"]
ZH_TEMPLATES_HELDOUT = ["{bg}{speed}{m}的是{obj}", "{obj}在{bgname}上{speed}{m}"]


# ---------------------------------------------------------------------------------------------- tokenizer
def tokenize_words(text: str) -> list[str]:
    text = unicodedata.normalize("NFKC", text).lower()
    out, cur = [], []
    for ch in text:
        o = ord(ch)
        if "a" <= ch <= "z":
            cur.append(ch)
            continue
        if cur:
            out.append("".join(cur))
            cur = []
        if 0x3400 <= o <= 0x4DBF or 0x4E00 <= o <= 0x9FFF:
            out.append(ch)
    if cur:
        out.append("".join(cur))
    return out


class Tokenizer:
    def __init__(self, vocab: list[str], max_length: int):
        self.vocab = vocab
        self.index = {w: i for i, w in enumerate(vocab)}
        self.max_length = max_length
        self.pad_id, self.unk_id, self.bos_id, self.eos_id = 0, 1, 2, 3

    def encode(self, text: str) -> list[int]:
        ids = [self.index.get(w, self.unk_id) for w in tokenize_words(text)]
        seq = [self.bos_id] + ids[: self.max_length - 2] + [self.eos_id]
        return seq + [self.pad_id] * (self.max_length - len(seq))


# ---------------------------------------------------------------------------------------------- scenes
def _article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


def caption(scene: dict, lang: str, rng: np.random.Generator, heldout_template: bool = False) -> str:
    """A caption for the scene. heldout_template=True uses the eval-only templates."""
    objs = scene["objects"]
    motion, speed, bg = scene["motion"], scene["speed"], scene["background"]
    pick = lambda xs: xs[int(rng.integers(len(xs)))]  # noqa: E731
    if lang == "en":
        parts = []
        for o in objs:
            c = pick(EN["colour"][o["colour"]])
            parts.append(f"{_article(c)} {c} {pick(EN['shape'][o['shape']])}")
        obj = " and ".join(parts)
        plural = len(objs) > 1
        m = pick(EN["motion"][motion])
        m_s, m_ing = (m[1] if plural else m[0]), m[2]
        sp = "" if motion == "still" else pick(EN["speed"][speed])
        bgp = pick(EN["background"][bg])
        tpl = pick(EN_TEMPLATES_HELDOUT if heldout_template else EN_TEMPLATES_TRAIN)
        if plural and "that" in tpl:
            tpl = tpl.replace(" that ", " that ")
        if tpl.startswith("{Speed}") and not sp:
            tpl = "{obj} {m_s} {bg}" if not heldout_template else "{obj} {bg} {m_s}"
        text = tpl.format(obj=obj, m_s=m_s, m_ing=m_ing, speed=sp, Speed=sp.capitalize(), bg=bgp)
        if not bgp:
            text = text.replace(", ", " ", 1) if text.startswith(", ") else text
        text = re.sub(r"\s+", " ", text).strip().strip(",").strip()
        text = re.sub(r"\s+,", ",", text)
        text = re.sub(r"^,\s*", "", text)
        return text
    # Chinese
    parts = []
    for o in objs:
        c = pick(ZH["colour"][o["colour"]])
        de = "的" if rng.random() < 0.6 else ""
        parts.append(f"一个{c}{de}{pick(ZH['shape'][o['shape']])}")
    obj = "和".join(parts)
    m = pick(ZH["motion"][motion])
    if len(objs) > 1 and rng.random() < 0.5:
        m = "都" + m
    sp = "" if motion == "still" else pick(ZH["speed"][speed])
    locs, names = ZH["background"][bg]
    bgp, bgname = pick(locs), pick(names)
    tpl = pick(ZH_TEMPLATES_HELDOUT if heldout_template else ZH_TEMPLATES_TRAIN)
    if bg == "plain" and "{bgname}" in tpl and "背景是" in tpl:
        bgname = "灰色的"
    text = tpl.format(obj=obj, m=m, speed=sp, bg=bgp, bgname=bgname)
    return text.lstrip("，")


def random_scene(rng: np.random.Generator, split: str = "train", n_objects: int | None = None,
                 attrs: dict | None = None) -> dict:
    """A random scene. split 'train' avoids HELDOUT_COMBOS; 'heldout' uses at least one of them.
    attrs may fix motion/speed/background/objects."""
    attrs = attrs or {}
    if n_objects is None:
        n_objects = 1 if rng.random() < 0.7 else 2
    motion = attrs.get("motion") or MOTIONS[int(rng.integers(len(MOTIONS)))]
    speed = attrs.get("speed") or SPEEDS[int(rng.integers(2))]
    if motion == "still":
        speed = "slow"
    bg = attrs.get("background") or BG_NAMES[int(rng.integers(len(BG_NAMES)))]
    held = set(HELDOUT_COMBOS)
    objs = attrs.get("objects")
    if objs is None:
        while True:
            objs = []
            for _ in range(n_objects):
                while True:
                    c = COLOUR_NAMES[int(rng.integers(len(COLOUR_NAMES)))]
                    s = SHAPES[int(rng.integers(len(SHAPES)))]
                    if motion == "spin" and s == "circle":
                        continue  # a spinning circle is invisible; the world never shows one
                    if split == "train" and (c, s) in held:
                        continue
                    if any(o["colour"] == c for o in objs):
                        continue  # two objects always differ in colour
                    break
                objs.append({"colour": c, "shape": s})
            if split != "heldout" or any((o["colour"], o["shape"]) in held for o in objs):
                break
    objs = [dict(o) for o in objs]
    _place(objs, motion, speed, rng)
    rng.random()  # was: which way a spin turns (the draw kept, so later draws stay as they were)
    return {"background": bg, "motion": motion, "speed": speed, "objects": objs, "spin_dir": 1.0}


def _place(objs: list[dict], motion: str, speed: str, rng: np.random.Generator) -> None:
    """Start size, position and angle of each object, so that the whole motion stays inside the frame."""
    n = len(objs)
    lo, hi = SIZE_SINGLE if n == 1 else SIZE_DOUBLE
    P = MOTION_PARAMS
    for i, o in enumerate(objs):
        R = float(rng.uniform(lo, hi))
        if motion == "grow":
            R = R / (1.0 + 0.5 * (P["grow"][speed] - 1.0))
        if motion == "shrink":
            R = R * 1.15
        o["size"] = R
        o["angle"] = (float(rng.uniform(0, 360)) - 180.0) * ANGLE_JITTER / 180.0
    ext = [SHAPE_EXTENT[o["shape"]] * o["size"] for o in objs]
    scale_end = P["grow"][speed] if motion == "grow" else 1.0
    ext_max = [e * scale_end for e in ext]
    W = ASPECT
    if motion in ("left", "right"):
        d = P["move_h"][speed]
        for i, o in enumerate(objs):
            e = ext[i]
            if n == 1:
                y = _draw(rng, e + 0.02, 1 - e - 0.02)
            else:
                y = (0.27 if i == 0 else 0.73) + float(rng.uniform(-0.03, 0.03))
            x_lo, x_hi = e + 0.02, W - e - 0.02 - d
            x = _draw(rng, x_lo, max(x_lo, x_hi))
            o["x0"], o["y0"] = (x + d, y) if motion == "left" else (x, y)
    elif motion in ("up", "down"):
        d = P["move_v"][speed]
        xs = _spread_x(n, ext, rng)
        for i, o in enumerate(objs):
            e = ext[i]
            y_lo, y_hi = e + 0.01, 1 - e - 0.01 - d
            y = _draw(rng, y_lo, max(y_lo, y_hi))
            o["x0"], o["y0"] = (xs[i], y + d) if motion == "up" else (xs[i], y)
    elif motion == "bounce":
        xs = _spread_x(n, ext, rng)
        for i, o in enumerate(objs):
            o["x0"] = xs[i]
            o["y0"] = 1 - ext[i] - 0.01  # ground level
    else:
        xs = _spread_x(n, ext_max, rng)
        for i, o in enumerate(objs):
            e = ext_max[i]
            o["x0"] = xs[i]
            o["y0"] = _draw(rng, e + 0.01, max(e + 0.01, 1 - e - 0.01))


def _narrow(v: float, lo: float, hi: float) -> float:
    """A position drawn uniformly in [lo, hi], pulled towards the middle of the range (POS_SPREAD)."""
    mid = 0.5 * (lo + hi)
    return mid + (v - mid) * POS_SPREAD


def _draw(rng: np.random.Generator, lo: float, hi: float) -> float:
    return _narrow(float(rng.uniform(lo, hi)), lo, hi)


def _spread_x(n: int, ext: list[float], rng: np.random.Generator) -> list[float]:
    W = ASPECT
    if n == 1:
        return [_draw(rng, ext[0] + 0.02, W - ext[0] - 0.02)]
    # two objects side by side with a gap (the draws as before; the layout pulled towards the two halves' middles)
    while True:
        a = float(rng.uniform(ext[0] + 0.02, W / 2 - 0.02))
        b = float(rng.uniform(W / 2 + 0.02, W - ext[1] - 0.02))
        if b - a > ext[0] + ext[1] + 0.12:
            a = _narrow(a, ext[0] + 0.02, W / 2 - 0.02)
            b = _narrow(b, W / 2 + 0.02, W - ext[1] - 0.02)
            rng.random()  # was: which side the first object takes (kept, so later draws stay as they were)
            return [a, b]  # reading order (see above): the first object named is on the left


def object_state(scene: dict, o: dict, tau: np.ndarray):
    """(x, y, size, angle_deg) arrays of one object at normalised times tau."""
    tau = np.asarray(tau, dtype=np.float64)
    P = MOTION_PARAMS
    m, sp = scene["motion"], scene["speed"]
    x = np.full_like(tau, o["x0"])
    y = np.full_like(tau, o["y0"])
    R = np.full_like(tau, o["size"])
    a = np.full_like(tau, o["angle"])
    if m == "left":
        x = o["x0"] - P["move_h"][sp] * tau
    elif m == "right":
        x = o["x0"] + P["move_h"][sp] * tau
    elif m == "up":
        y = o["y0"] - P["move_v"][sp] * tau
    elif m == "down":
        y = o["y0"] + P["move_v"][sp] * tau
    elif m == "bounce":
        y = o["y0"] - P["bounce_height"][sp] * np.abs(np.sin(math.pi * P["bounce_count"][sp] * tau))
    elif m == "spin":
        a = o["angle"] + scene["spin_dir"] * P["spin"][sp] * tau
    elif m == "grow":
        R = o["size"] * (1 + (P["grow"][sp] - 1) * tau)
    elif m == "shrink":
        R = o["size"] * (1 + (P["shrink"][sp] - 1) * tau)
    return x, y, R, a


# ---------------------------------------------------------------------------------------------- SDFs
def sdf(shape: str, px: np.ndarray, py: np.ndarray, R) -> np.ndarray:
    """Signed distance (same units as px, py) of a shape of size R centred at the origin, pointing up (y down)."""
    if shape == "circle":
        return np.sqrt(px * px + py * py) - R
    if shape == "square":
        h = 0.85 * R
        qx, qy = np.abs(px) - h, np.abs(py) - h
        return np.sqrt(np.maximum(qx, 0) ** 2 + np.maximum(qy, 0) ** 2) + np.minimum(np.maximum(qx, qy), 0)
    if shape == "triangle":
        r = 1.0 * R  # half side; circumradius 2r/sqrt(3)
        k = math.sqrt(3.0)
        x = np.abs(px) - r
        y = -py + r / k
        cond = x + k * y > 0
        x2 = np.where(cond, (x - k * y) / 2, x)
        y2 = np.where(cond, (-k * x - y) / 2, y)
        x2 = x2 - np.clip(x2, -2 * r, 0)
        return -np.sqrt(x2 * x2 + y2 * y2) * np.sign(y2)
    if shape == "star":
        r, rf = 1.25 * R, 0.5
        k1x, k1y = 0.809016994375, -0.587785252292
        k2x, k2y = -k1x, k1y
        x = np.abs(px)
        y = -py
        d = np.maximum(k1x * x + k1y * y, 0)
        x, y = x - 2 * d * k1x, y - 2 * d * k1y
        d = np.maximum(k2x * x + k2y * y, 0)
        x, y = x - 2 * d * k2x, y - 2 * d * k2y
        x = np.abs(x)
        y = y - r
        bax, bay = rf * (-k1y) - 0.0, rf * k1x - 1.0
        h = np.clip((x * bax + y * bay) / (bax * bax + bay * bay), 0, r)
        return np.sqrt((x - bax * h) ** 2 + (y - bay * h) ** 2) * np.sign(y * bax - x * bay)
    raise ValueError(shape)


def background_image(bg: str, ys: np.ndarray) -> np.ndarray:
    """RGB in [0,1] of background rows at normalised heights ys [...]. Returns [..., 3]."""
    top, bot = BACKGROUNDS[bg]
    top = np.asarray(top, np.float64) / 255.0
    bot = np.asarray(bot, np.float64) / 255.0
    t = np.clip(ys, 0, 1)[..., None]
    return top * (1 - t) + bot * t


def render(scene: dict, taus, width: int, height: int, view=(0.0, 0.0, ASPECT, 1.0), jitter=(0.0, 0.0)):
    """Frames at times taus. view = (x0, y0, x1, y1) region of the world mapped onto the width x height grid
    (the whole frame by default; a sub-region renders a crop at higher resolution). jitter shifts the sampling
    grid by a fraction of a pixel. Returns (rgb float32 [T,H,W,3] in [0,1], mask float32 [T,H,W] object coverage)."""
    taus = np.atleast_1d(np.asarray(taus, np.float64))
    x0, y0, x1, y1 = view
    px_size = (y1 - y0) / height  # world units per pixel (square pixels)
    xs = x0 + (np.arange(width) + 0.5 + jitter[0]) * (x1 - x0) / width
    ys = y0 + (np.arange(height) + 0.5 + jitter[1]) * (y1 - y0) / height
    X, Y = np.meshgrid(xs, ys)  # [H,W]
    bgimg = background_image(scene["background"], Y)  # [H,W,3]
    T = len(taus)
    img = np.broadcast_to(bgimg, (T, height, width, 3)).copy()
    mask = np.zeros((T, height, width))
    for o in scene["objects"]:
        ox, oy, R, ang = object_state(scene, o, taus)
        col = np.asarray(COLOURS[o["colour"]], np.float64) / 255.0
        th = np.deg2rad(ang)[:, None, None]
        dx = X[None] - ox[:, None, None]
        dy = Y[None] - oy[:, None, None]
        c, s = np.cos(th), np.sin(th)
        rx = c * dx + s * dy
        ry = -s * dx + c * dy
        d = sdf(o["shape"], rx, ry, R[:, None, None])
        alpha = np.clip(0.5 - d / px_size, 0.0, 1.0)
        img = img * (1 - alpha[..., None]) + col * alpha[..., None]
        mask = np.maximum(mask, alpha)
    return img.astype(np.float32), mask.astype(np.float32)


def frame_times(n: int) -> np.ndarray:
    return (np.arange(n) + 0.5) / n


# ---------------------------------------------------------------------------------------------- vocabulary
def caption_vocabulary() -> list[str]:
    """All tokens that training captions can contain (English words, Chinese characters), sorted."""
    words = set()
    texts = []
    for lang_tbl in (EN, ZH):
        for key, table in lang_tbl.items():
            for v in table.values():
                if isinstance(v, tuple):
                    for xs in v:
                        texts.extend(xs)
                else:
                    for x in v:
                        texts.extend(x if isinstance(x, tuple) else [x])
    texts += EN_TEMPLATES_TRAIN + ZH_TEMPLATES_TRAIN + ["a an and 的 一个 和 都 灰色的"]
    for t in texts:
        t = re.sub(r"\{[a-zA-Z_]+\}", " ", t)
        words.update(tokenize_words(t))
    return sorted(words)


def build_vocab() -> list[str]:
    return ["<pad>", "<unk>", "<bos>", "<eos>"] + caption_vocabulary()


def describe(scene: dict) -> dict:
    """Expected attributes for the checker."""
    return {"background": scene["background"], "count": len(scene["objects"]),
            "objects": [{"colour": o["colour"], "shape": o["shape"]} for o in scene["objects"]],
            "motion": scene["motion"], "speed": None if scene["motion"] == "still" else scene["speed"]}


def write_world_json(path: str, vocab: list[str]) -> None:
    data = {
        "aspect": ASPECT,
        "colours": COLOURS,
        "backgrounds": {k: {"top": v[0], "bottom": v[1]} for k, v in BACKGROUNDS.items()},
        "shapes": SHAPES,
        "shape_extent": SHAPE_EXTENT,
        "shape_symmetry_deg": SHAPE_SYMMETRY,
        "shape_sdf": {"square_half_side": 0.85, "triangle_half_side": 1.0, "star_outer": 1.25,
                      "star_inner_ratio": 0.5},
        "motions": MOTIONS,
        "speeds": SPEEDS,
        "motion_params": MOTION_PARAMS,
        "size_single": SIZE_SINGLE,
        "size_double": SIZE_DOUBLE,
        "heldout_combos": HELDOUT_COMBOS,
        "words": {"en": EN, "zh": {k: (v if k != "background" else {b: {"location": p[0], "name": p[1]}
                                                                      for b, p in v.items()})
                                   for k, v in ZH.items()}},
        "templates": {"en_train": EN_TEMPLATES_TRAIN, "en_heldout": EN_TEMPLATES_HELDOUT,
                      "zh_train": ZH_TEMPLATES_TRAIN, "zh_heldout": ZH_TEMPLATES_HELDOUT},
        "vocab": vocab,
    }
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(data, f, ensure_ascii=False, indent=1)
        f.write("\n")


if __name__ == "__main__":
    rng = np.random.default_rng(0)
    v = build_vocab()
    print(len(v), "tokens")
    tok = Tokenizer(v, 32)
    mx = 0
    for i in range(3000):
        sc = random_scene(rng, "train")
        for lang in ("en", "zh"):
            for held in (False, True):
                c = caption(sc, lang, rng, held)
                n = len(tokenize_words(c))
                mx = max(mx, n)
                unk = [w for w in tokenize_words(c) if w not in tok.index]
                if unk:
                    print("UNK", c, unk)
                if i < 4:
                    print(lang, held, c)
    print("max tokens", mx)
