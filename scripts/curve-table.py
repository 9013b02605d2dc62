#!/usr/bin/env python3
"""Prints docs/RESULTS.md's learning-curve table rows from `glean simulate`'s curves.csv.

usage: curve-table.py CURVES.csv [--at 20,100,200,300] [--to 0.65,0.68] [--name PREFIX] [--ece]

Each row: a strategy, its median test accuracy over the trials at each label count,
and the labels each trial needed to first reach each accuracy ("not" if never). With
--ece, the median expected calibration error at each label count instead."""

import argparse
import csv
import statistics
from collections import defaultdict


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("curves")
    parser.add_argument("--at", default="20,100,200,300")
    parser.add_argument("--to", default="0.65,0.68")
    parser.add_argument("--name", default="")
    parser.add_argument("--ece", action="store_true")
    args = parser.parse_args()
    at = [int(x) for x in args.at.split(",")]
    to = [float(x) for x in args.to.split(",")]

    # strategy -> trial -> [(labels, accuracy)] in file order
    curves = defaultdict(lambda: defaultdict(list))
    column = "accuracy"
    if args.ece:
        column, to = "ece", []
    with open(args.curves) as f:
        for row in csv.DictReader(f):
            if row.get(column):
                curves[row["strategy"]][row["trial"]].append(
                    (int(row["labels"]), float(row[column]))
                )
    for strategy, trials in curves.items():
        cells = []
        for n in at:
            values = [acc for t in trials.values() for labels, acc in t if labels == n]
            cells.append(f"{100 * statistics.median(values):.1f} %" if values else "")
        for target in to:
            needed = []
            for t in trials.values():
                first = next((labels for labels, acc in t if acc >= target), None)
                needed.append(str(first) if first is not None else "not")
            cells.append(" / ".join(needed))
        print(f"| {args.name}{strategy} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
