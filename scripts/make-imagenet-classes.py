#!/usr/bin/env python3
"""Writes assets/imagenet-classes.tsv: the 1,000 ILSVRC-2012 (ImageNet-1k) classes in the
index order of the pretrained heads (wnids sorted), with their WordNet 3.0 words and
hypernyms, for zero-shot label suggestions from the EfficientNet-Lite0 ImageNet head.

    python3 scripts/make-imagenet-classes.py WNID_LIST WORDNET_DICT [OUT]

WNID_LIST    the 1,000 wnids, one a line (`n01440764`): `timm/data/_info/imagenet_synsets.txt`
             of the PyPI package timm==1.0.31 (Apache-2.0), taken from its wheel:
                 pip download --no-deps timm==1.0.31
                 unzip timm-1.0.31-py3-none-any.whl timm/data/_info/imagenet_synsets.txt
WORDNET_DICT the WordNet 3.0 database folder holding data.noun, index.noun and noun.exc:
             /usr/share/wordnet of the Debian package wordnet-base (1:3.0-37; WordNet
             licence), `apt-get install wordnet-base`.
OUT          defaults to assets/imagenet-classes.tsv beside this scripts/ folder.

Standard library only. A wnid `nNNNNNNNN` is the byte offset of its synset in WordNet
3.0's data.noun; the script checks that every wnid is there and that the list is the
1,000 distinct wnids in sorted order (class i of the head is line i). The output
format is described in the header it writes (see HEADER below).
"""
import os
import re
import sys
from collections import defaultdict

HEADER = """\
# ImageNet-1k (ILSVRC-2012) classes, WordNet 3.0 nouns; made by scripts/make-imagenet-classes.py
# from timm==1.0.31 timm/data/_info/imagenet_synsets.txt and Debian wordnet-base (WordNet 3.0).
# Tab-separated; lines starting with # are comments. Words are WordNet lemmas as written there
# (case and _ kept: Great_Dane); a name matches a word when their KEYs (below) are equal.
# INDEX  WNID  WORDS  PARENTS    class INDEX (0..999, the head's output) = synset WNID
# ancestor  WNID  WORDS  PARENTS   a synset above some class (not itself a class)
# sense  KEY  WNID,WNID,...      a word's key naming several synsets of this file, in WordNet's
#                                sense order (most frequent first); KEY = the word lowercased,
#                                ' and . dropped, runs of space - _ made one _, trimmed of _
# plural  FORM  BASE,...          irregular plural (WordNet noun.exc; keys) whose base is a word here
# WORDS and PARENTS are comma-separated; PARENTS are the direct hypernyms (WordNet @ and @i
# pointers), all of them in this file (empty only for entity, the root); a class's ancestors
# are the closure over PARENTS. No class is an ancestor of another class."""


def read_synsets(path):
    """{wnid: (words, parent wnids)} of every noun synset of data.noun."""
    synsets = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("  "):  # licence header
                continue
            fields = line.split(" | ", 1)[0].split()
            offset, count = fields[0], int(fields[3], 16)
            words = [fields[4 + 2 * i] for i in range(count)]
            i = 4 + 2 * count
            pointers = int(fields[i])
            i += 1
            parents = []
            for _ in range(pointers):
                symbol, target, pos = fields[i], fields[i + 1], fields[i + 2]
                i += 4
                if symbol in ("@", "@i") and pos == "n":
                    parents.append("n" + target)
            synsets["n" + offset] = (words, parents)
    return synsets


def normalise(word):
    """The matching key of a word or a user's class name: lowercase, ' and . dropped,
    runs of whitespace, - and _ made one _, no _ at either end (Jack-o'-lantern ->
    jack_o_lantern, R.V. -> rv)."""
    return re.sub(r"[\s_-]+", "_", re.sub(r"['.]", "", word.lower())).strip("_")


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    wnid_list, dict_dir = sys.argv[1], sys.argv[2]
    here = os.path.dirname(os.path.abspath(__file__))
    out = sys.argv[3] if len(sys.argv) == 4 else os.path.join(here, "..", "assets", "imagenet-classes.tsv")

    with open(os.path.join(dict_dir, "data.noun"), encoding="utf-8") as f:
        if not any("WordNet 3.0" in next(f) for _ in range(30)):
            sys.exit(f"{dict_dir}/data.noun is not WordNet 3.0 (wnids are WordNet 3.0 offsets)")
    synsets = read_synsets(os.path.join(dict_dir, "data.noun"))
    with open(wnid_list, encoding="utf-8") as f:
        wnids = [line.strip() for line in f if line.strip()]
    if len(wnids) != 1000 or len(set(wnids)) != 1000 or wnids != sorted(wnids):
        sys.exit(f"{wnid_list}: expected the 1,000 distinct ILSVRC-2012 wnids in sorted order")
    missing = [w for w in wnids if w not in synsets]
    if missing:
        sys.exit(f"{wnid_list}: not in WordNet 3.0 data.noun: {missing[:5]}")

    classes = set(wnids)
    ancestors, todo = set(), list(wnids)
    while todo:
        for parent in synsets[todo.pop()][1]:
            if parent not in ancestors:
                ancestors.add(parent)
                todo.append(parent)
    if ancestors & classes:
        sys.exit("a class is an ancestor of another class; the format assumes none is")
    kept = classes | ancestors
    for w in kept:
        for word in synsets[w][0]:
            if any(c in word for c in ",\t\n"):
                sys.exit(f"{w}: word {word!r} would break the format")

    # Words naming several synsets of this file, in WordNet's sense order.
    naming = defaultdict(set)
    for w in kept:
        for word in synsets[w][0]:
            naming[normalise(word)].add(w)
    order = {}
    with open(os.path.join(dict_dir, "index.noun"), encoding="utf-8") as f:
        for line in f:
            if line.startswith("  "):
                continue
            fields = line.split()
            key = normalise(fields[0])
            senses = ["n" + o for o in fields[-int(fields[2]):]]
            # Two index words that normalise alike (horse-cart, horse_cart) merge in order.
            order.setdefault(key, [])
            order[key] += [s for s in senses if s not in order[key]]
    sense_lines = []
    for key in sorted(naming):
        if len(naming[key]) > 1:
            ranked = [s for s in order[key] if s in naming[key]]
            assert set(ranked) == naming[key], key
            sense_lines.append(f"sense\t{key}\t{','.join(ranked)}")

    plural_lines = []
    with open(os.path.join(dict_dir, "noun.exc"), encoding="utf-8") as f:
        for line in f:
            form, *bases = line.split()
            form = normalise(form)
            bases = [normalise(b) for b in bases if normalise(b) in naming]
            if bases and form not in naming:
                plural_lines.append(f"plural\t{form}\t{','.join(bases)}")

    lines = [HEADER]
    for i, w in enumerate(wnids):
        words, parents = synsets[w]
        lines.append(f"{i}\t{w}\t{','.join(words)}\t{','.join(parents)}")
    for w in sorted(ancestors):
        words, parents = synsets[w]
        lines.append(f"ancestor\t{w}\t{','.join(words)}\t{','.join(parents)}")
    lines += sense_lines + plural_lines
    text = "\n".join(lines) + "\n"
    tmp = out + ".tmp"
    with open(tmp, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)
    os.replace(tmp, out)
    print(
        f"wrote {out}: {len(wnids)} classes, {len(ancestors)} ancestors, {len(sense_lines)} "
        f"ambiguous words, {len(plural_lines)} plurals, {len(text.encode())} bytes",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
