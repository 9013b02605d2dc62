#!/usr/bin/env python3
"""Prints docs/RESULTS.md's table of the graph papers' protocol from the curves.csv files of
scripts/results-embedding.sh: one row per embedding, one column per label count, the
mean ± standard deviation over trials, and (for auto) which graph each trial used.

usage: protocol-table.py DIR [--counts 10,20,40] [--embeddings pca,pca-mbo,vae,vae-mbo,auto]
(DIR holds <embedding>-<count>/curves.csv, e.g. results/embedding/mnist-papers)
"""
import argparse
import collections
import csv
import statistics
from pathlib import Path


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("dir", type=Path)
    parser.add_argument("--counts", default="10,20,40")
    parser.add_argument("--embeddings", default="pca,pca-mbo,vae,vae-mbo,auto")
    args = parser.parse_args()
    counts = [int(c) for c in args.counts.split(",")]
    print("| embedding | " + " | ".join(f"{c} labels" for c in counts) + " |")
    print("| --- |" + " --- |" * len(counts))
    for embedding in args.embeddings.split(","):
        cells = []
        for count in counts:
            path = args.dir / f"{embedding}-{count}" / "curves.csv"
            if not path.exists():
                cells.append("-")
                continue
            with path.open() as f:
                rows = [r for r in csv.DictReader(f) if int(r["labels"]) == count]
            accs = [100 * float(r["accuracy"]) for r in rows]
            sd = statistics.stdev(accs) if len(accs) > 1 else 0.0
            cell = f"{statistics.mean(accs):.1f} ± {sd:.1f} %"
            if embedding == "auto":
                used = collections.Counter(r["graph"] for r in rows)
                cell += " (" + ", ".join(f"{g} ×{n}" for g, n in sorted(used.items())) + ")"
            cells.append(cell)
        print(f"| {embedding} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
