"""Builds the English side of the bundle's prompt reader (engine/models/<bundle>/reader.json) from
WordNet 3.0 (Debian's wordnet-base, /usr/share/wordnet): for each thing the model knows (its caption
words), the synsets of the chosen senses, their synonyms and (for motion verbs) their hyponyms map to
the model's word. Words written by hand in reader.json (its `words`) win; the model's own words are
never mapped; the world's own caption phrases are listed in `keep` (the reader never rewrites them). Chinese
phrases and camera patterns are written by hand and kept as they are.

  /usr/bin/python3 engine/training/build_reader.py [--bundle engine/models/shapes-v1] [--wordnet /usr/share/wordnet]

Run by hand when the targets change (not at install or run time: the service never needs WordNet).
"""
import argparse
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import world as W  # noqa: E402

# (the model's reading, part of speech, lemma, a word the gloss of a chosen sense holds, take hyponyms)
TARGETS = [
    ("moves", "verb", "travel", "change location", True),
    ("moves", "verb", "move", "change location", True),
    ("moves", "verb", "roll", "rotating", False),
    ("moves", "verb", "glide", "smoothly", False),
    ("moves up", "verb", "rise", "upward", True),
    ("moves up", "verb", "ascend", "upward", True),
    ("moves down", "verb", "descend", "downward", True),
    ("moves down", "verb", "fall", "descend", True),
    ("spins", "verb", "spin", "revolve", True),
    ("spins", "verb", "rotate", "axis", True),
    ("grows", "verb", "expand", "larger", False),
    ("grows", "verb", "swell", "expand", False),
    ("shrinks", "verb", "shrink", "smaller", False),
    ("shrinks", "verb", "contract", "smaller", False),
    ("stays", "verb", "stay", "remain", False),
    ("stays", "verb", "hover", "air", False),
    ("bounces", "verb", "jump", "upward", True),
    ("bounces", "verb", "bounce", "spring back", False),
    ("ball", "noun", "ball", "round object", False),
    ("ball", "noun", "sphere", "three-dimensional", False),
    ("box", "noun", "cube", "six square faces", False),
    ("circle", "noun", "circle", "ellipse", False),
    ("square", "noun", "square", "four equal sides", False),
    ("triangle", "noun", "triangle", "three sides", False),
    ("grass", "noun", "grass", "narrow leaves", False),
    ("grass", "noun", "lawn", "grass", False),
    ("grass", "noun", "meadow", "grass", False),
    ("sky", "noun", "sky", "atmosphere", False),
    ("night", "noun", "night", "dark", False),
    ("sunset", "noun", "sunset", "sun", False),
    ("sunset", "noun", "twilight", "sunset", False),
    ("red", "adj", "red", "blood", False),
    ("blue", "adj", "blue", "sky", False),
    ("green", "adj", "green", "grass", False),
    ("yellow", "adj", "yellow", "egg yolk", False),
    ("purple", "adj", "purple", "red and blue", False),
    ("orange", "adj", "orange", "orange", False),
    ("white", "adj", "white", "snow", False),
    ("grey", "adj", "grey", "black and white", False),
    # the colours as nouns, with their shades (crimson, azure, canary, lilac, ivory...)
    ("red", "noun", "red", "pigment", True),
    ("blue", "noun", "blue", "pigment", True),
    ("green", "noun", "green", "pigment", True),
    ("yellow", "noun", "yellow", "pigment", True),
    ("purple", "noun", "purple", "pigment", True),
    ("orange", "noun", "orange", "pigment", True),
    ("white", "noun", "white", "greatest lightness", True),
    ("star", "noun", "star", "plane figure", True),
    ("background", "noun", "background", "scenery", False),
    ("background", "noun", "background", "behind objects", False),
    ("still", "adj", "motionless", "not in physical motion", False),
    ("quickly", "adv", "quickly", "rapid", False),
    ("slowly", "adv", "slowly", "slow", False),
]
POS = {"noun": "noun", "verb": "verb", "adj": "adj", "adv": "adv"}
# Senses WordNet puts under a target that read wrong as that word in a prompt (read, checked by hand).
EXCLUDE = set("""swap seek whine repair resort spread carry round push come ghost ease whish circulate set light correct
decline precipitate settle pitch crash unhorse dismount prolapse dark chromatic violent colored coloured colorful covered
easy foursquare screw reel bloody flushed reddened slump subside bubble uplift mount alight avalanche plunk change transfer
draw play blow cast drive continue back lead return follow pan arise uprise angle circuit propagate bang shack precess
withdraw retire err accompany surpass outflank lance steam steamer automobile motor taxi ferry tram caravan ski snowshoe
beetle career swing trail hiss whistle ground bleach bone straw wheat chalk""".split())


def load(wordnet, pos):
    index, data = {}, {}
    with open(os.path.join(wordnet, f"index.{pos}"), encoding="latin-1") as f:
        for line in f:
            if line.startswith(" "):
                continue
            parts = line.split()
            lemma, synset_cnt, p_cnt = parts[0], int(parts[2]), int(parts[3])
            index[lemma] = parts[-synset_cnt:]
    with open(os.path.join(wordnet, f"data.{pos}"), encoding="latin-1") as f:
        for line in f:
            if line.startswith(" "):
                continue
            head, _, gloss = line.partition("|")
            parts = head.split()
            offset, w_cnt = parts[0], int(parts[3], 16)
            words = [parts[4 + 2 * i].lower() for i in range(w_cnt)]
            at = 4 + 2 * w_cnt
            p_cnt = int(parts[at])
            pointers = [(parts[at + 1 + 4 * i], parts[at + 2 + 4 * i]) for i in range(p_cnt)]
            data[offset] = {"words": [re.sub(r"\(.*\)$", "", w) for w in words], "pointers": pointers, "gloss": gloss.strip()}
    return index, data


def caption_phrases():
    """The world's caption words of more than one word or character (world.py's EN and ZH): the reader keeps them as
    they are, so no phrase of the lexicon ever rewrites what the model was trained on ("变小" stays "变小")."""
    out = set()

    def add(x):
        if isinstance(x, str):
            if len(x) > 1 and (" " in x or not x.isascii()):
                out.add(x)
        elif isinstance(x, dict):
            for v in x.values():
                add(v)
        else:
            for v in x:
                add(v)

    add(W.EN["motion"])
    add(W.EN["background"])
    add(W.ZH)
    for tpl in W.ZH_TEMPLATES_TRAIN + W.ZH_TEMPLATES_HELDOUT:
        for lit in re.split(r"\{[a-z]+\}", tpl):
            add(lit.strip("，"))
    return sorted(out, key=lambda x: (-len(x), x))


def main():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    parser = argparse.ArgumentParser()
    parser.add_argument("--bundle", default=os.path.join(root, "engine", "models", "shapes-v1"))
    parser.add_argument("--wordnet", default="/usr/share/wordnet")
    args = parser.parse_args()
    manifest = json.load(open(os.path.join(args.bundle, "manifest.json")))
    vocab = set(manifest["tokenizer"]["vocab"])
    path = os.path.join(args.bundle, "reader.json")
    reader = json.load(open(path))
    manual = reader.get("manual_words", reader["words"])
    derived = {}
    wn = {pos: load(args.wordnet, pos) for pos in POS.values()}
    for reading, pos, lemma, hint, hyponyms in TARGETS:
        index, data = wn[pos]
        for offset in index.get(lemma, []):
            synset = data[offset]
            if hint not in synset["gloss"]:
                continue
            synsets = [synset]
            if hyponyms:
                synsets += [data[o] for symbol, o in synset["pointers"] if symbol == "~" and o in data]
            if pos == "adj":
                synsets += [data[o] for symbol, o in synset["pointers"] if symbol == "&" and o in data]
            for s in synsets:
                for word in s["words"]:
                    if "_" in word or "-" in word or len(word) < 3 or not word.isalpha():
                        continue
                    if word in vocab or word in manual or word in derived or word in EXCLUDE:
                        continue
                    derived[word] = reading
    reader["keep"] = caption_phrases()
    reader["manual_words"] = manual
    reader["words"] = {**derived, **manual}
    reader["derived"] = {"source": "WordNet 3.0 (Debian wordnet-base)", "words": len(derived), "script": "engine/training/build_reader.py"}
    reader["version"] = reader.get("version", 1) + (0 if reader.get("derived_from_wordnet") else 1)
    reader["derived_from_wordnet"] = True
    with open(path, "w", encoding="utf-8") as f:
        json.dump(reader, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print(f"{len(manual)} words by hand, {len(derived)} from WordNet -> {path}")


if __name__ == "__main__":
    main()
