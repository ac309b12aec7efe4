"""The held-out paraphrase set (engine/eval/heldout-paraphrase.json): scenes of the shapes world captioned the way
people write, with words and phrasings the world's captions never use (world.py's EN / ZH and templates), for the
prompt reader to map. Written by hand from everyday English and Chinese, not from the reader's lexicon; a word
here that the reader does not map is a gap of the reader, and the eval shows what it costs.

    /usr/bin/python3 engine/training/eval_sets.py paraphrase
"""
from __future__ import annotations

import re

import numpy as np

EN = {
    "colour": {"red": ["crimson", "scarlet", "ruby", "cherry"], "orange": ["tangerine", "amber", "apricot"],
               "yellow": ["golden", "lemon", "canary"], "green": ["emerald", "lime", "jade"],
               "blue": ["azure", "navy", "cobalt", "sapphire"], "purple": ["violet", "lilac", "plum"],
               "white": ["ivory", "snowy", "pearly"]},
    "shape": {"circle": ["orb", "sphere", "disc", "dot"], "square": ["cube", "tile", "crate"],
              "triangle": ["wedge", "pyramid"], "star": ["pentagram", "starburst"]},
    # (3rd person singular, plural)
    "motion": {"left": [("drifts left", "drift left"), ("glides leftward", "glide leftward"),
                        ("heads to the left", "head to the left"), ("travels left", "travel left"),
                        ("scoots left", "scoot left")],
               "right": [("drifts right", "drift right"), ("glides rightward", "glide rightward"),
                         ("heads to the right", "head to the right"), ("travels right", "travel right"),
                         ("cruises right", "cruise right")],
               "up": [("ascends", "ascend"), ("climbs", "climb"), ("soars", "soar"), ("floats upward", "float upward"),
                      ("lifts off", "lift off")],
               "down": [("descends", "descend"), ("sinks", "sink"), ("plunges", "plunge"),
                        ("tumbles down", "tumble down"), ("dips", "dip")],
               "bounce": [("leaps", "leap"), ("springs up and down", "spring up and down"), ("bobs", "bob"),
                          ("skips", "skip")],
               "spin": [("whirls", "whirl"), ("twirls", "twirl"), ("revolves", "revolve"), ("gyrates", "gyrate")],
               "grow": [("swells", "swell"), ("enlarges", "enlarge"), ("inflates", "inflate"),
                        ("balloons", "balloon")],
               "shrink": [("contracts", "contract"), ("dwindles", "dwindle"), ("deflates", "deflate"),
                          ("shrivels", "shrivel")],
               "still": [("rests", "rest"), ("remains motionless", "remain motionless"), ("stays put", "stay put"),
                         ("is stationary", "are stationary")]},
    "speed": {"slow": ["leisurely", "unhurriedly", "lazily", "calmly"],
              "quick": ["swiftly", "speedily", "briskly", "hastily"]},
    "background": {"plain": ["on a blank backdrop", "on an empty background", "against a neutral backdrop"],
                   "sky": ["in the blue heavens", "beneath a clear sky", "high in the air"],
                   "night": ["after dark", "at nighttime", "at midnight"],
                   "sunset": ["at dusk", "at twilight", "at sundown"],
                   "grass": ["on a meadow", "in a field", "on the turf", "in a pasture"]},
}
EN_TEMPLATES = ["{obj} {m} {speed} {bg}", "{Bg}, {obj} {m} {speed}", "{Speed}, {obj} {m} {bg}",
                "{bg} {obj} {speed} {m}", "{obj} {bg} {m} {speed}"]

ZH = {
    "colour": {"red": ["朱红色", "鲜红色", "大红色"], "orange": ["橘色", "橘黄色", "橙黄色"],
               "yellow": ["金黄色", "金色", "柠檬黄色"], "green": ["翠绿色", "碧绿色", "草绿色"],
               "blue": ["天蓝色", "湛蓝色", "深蓝色"], "purple": ["紫罗兰色", "淡紫色", "深紫色"],
               "white": ["雪白色", "洁白的", "乳白色"]},
    "shape": {"circle": ["圆球", "圆盘", "圆点", "球体"], "square": ["立方体", "方砖", "方盒"],
              "triangle": ["三角块", "楔形"], "star": ["五芒星", "星状物", "星标"]},
    "motion": {"left": ["朝左移动", "向左漂移", "往左边挪", "向左滑行"],
               "right": ["朝右移动", "向右漂移", "往右边挪", "向右滑行"],
               "up": ["升空", "攀升", "腾起", "往上飞", "飘升"],
               "down": ["坠落", "下沉", "往下掉", "跌落"],
               "bounce": ["蹦跳", "跳来跳去", "上下弹跳", "弹起弹落"],
               "spin": ["打转", "自转", "转个不停", "打着转"],
               "grow": ["膨胀", "变得越来越大", "扩大", "胀大"],
               "shrink": ["收缩", "越变越小", "变得越来越小", "缩水"],
               "still": ["纹丝不动", "停着不动", "静静地待着", "停在原地"]},
    "speed": {"slow": ["缓缓地", "徐徐地", "不紧不慢地", "悠闲地"], "quick": ["飞快地", "急速地", "飞速地", "疾速地"]},
    "background": {"plain": ["在空白背景上", "素色背景上", "在单色背景前"],
                   "sky": ["在天上", "晴空中", "在空中"],
                   "night": ["深夜里", "夜幕下", "星空下"],
                   "sunset": ["傍晚", "日暮时分", "落日余晖中"],
                   "grass": ["草原上", "草丛中", "牧场上"]},
}
ZH_TEMPLATES = ["{bg}，{obj}{speed}{m}", "{obj}{bg}{speed}{m}", "{bg}{speed}{m}的{obj}", "{obj}{speed}{m}，{bg}"]


def _article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


def caption(scene: dict, lang: str, rng: np.random.Generator) -> str:
    pick = lambda xs: xs[int(rng.integers(len(xs)))]  # noqa: E731
    objs, motion, speed, bg = scene["objects"], scene["motion"], scene["speed"], scene["background"]
    if lang == "en":
        parts = []
        for o in objs:
            c = pick(EN["colour"][o["colour"]])
            parts.append(f"{_article(c)} {c} {pick(EN['shape'][o['shape']])}")
        m = pick(EN["motion"][motion])[1 if len(objs) > 1 else 0]
        sp = "" if motion == "still" else pick(EN["speed"][speed])
        bgp = pick(EN["background"][bg])
        tpl = pick(EN_TEMPLATES)
        if not sp and "{Speed}" in tpl:
            tpl = "{obj} {m} {bg}"
        text = tpl.format(obj=" and ".join(parts), m=m, speed=sp, Speed=sp.capitalize(), bg=bgp, Bg=bgp[:1].upper() + bgp[1:])
        return re.sub(r"\s+", " ", text).strip()
    parts = [f"一个{pick(ZH['colour'][o['colour']])}{pick(ZH['shape'][o['shape']])}" for o in objs]
    m = pick(ZH["motion"][motion])
    if len(objs) > 1 and rng.random() < 0.5:
        m = "都" + m
    sp = "" if motion == "still" else pick(ZH["speed"][speed])
    return pick(ZH_TEMPLATES).format(obj="和".join(parts), m=m, speed=sp, bg=pick(ZH["background"][bg]))
