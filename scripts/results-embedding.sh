#!/usr/bin/env bash
# The graph-embedding figures docs/RESULTS.md quotes, regenerated into results/embedding/
# (each a `glean simulate` output: summary.json, curves.csv, curves.svg/png). Needs a
# release build, the full MNIST (make mnist), the EfficientNet-Lite2 weights (make
# effnet) and the CIFAR-10 photos in ../shared/datasets. About two hours on 2 cores.
#
# usage: scripts/results-embedding.sh [validation|papers|cifar|mnist-margin|mnist-margin-long]...
# (default: all)
# VARIANTS="pca-mbo auto" limits papers and cifar to those rows (default: all five).
set -euo pipefail
glean=target/release/glean
# Committed before random checks existed (`--audit-every`): made again as they were.
before_audits=${BEFORE_AUDITS---audit-every 0}
mnist=$(scripts/fetch-mnist.sh)
cifar=../shared/datasets/cifar10-test
out=results/embedding
variants=${VARIANTS:-pca pca-mbo vae vae-mbo auto}

# The graph papers' protocol (Calder et al. 2020): random class-balanced labels, 5
# trials, the graph alone; on MNIST measured on the unlabeled pool as the papers do, on
# CIFAR-10 on the 2,000 held-out photos. Variants: pca and vae alone, each also followed
# by Poisson-MBO (pca-mbo, vae-mbo: --class-prior on), and auto (cross-validation on
# the labels picks the graph and whether MBO follows).
protocol() { # name data variant labels [simulate flags]
  local name=$1 data=$2 variant=$3 n=$4
  shift 4
  local embedding=${variant%-mbo} prior=off
  [ "$variant" != "$embedding" ] && prior=on
  [ "$embedding" = auto ] && prior=auto
  "$glean" simulate $before_audits "$data" --learner graph --cold-start balanced --strategies random \
    --init "$n" --budget "$n" --trials 5 --embedding "$embedding" --class-prior "$prior" \
    "$@" --out "$out/$name/$variant-$n"
}

papers() {
  for n in 10 20 40; do
    for e in $variants; do
      protocol mnist-papers "$mnist" "$e" "$n" --accuracy-on pool
    done
  done
}

cifar() {
  for n in 10 20 40; do
    for e in $variants; do
      protocol cifar10-lite2 "$cifar" "$e" "$n" --holdout 2000 --model effnet-lite2
      protocol cifar10-pixels "$cifar" "$e" "$n" --holdout 2000 --model cnn
    done
  done
  # Active learning as docs/RESULTS.md's CIFAR-10 table runs it, with the rule.
  "$glean" simulate $before_audits "$cifar" --holdout 2000 --model effnet-lite2 --strategies margin,random \
    --budget 300 --trials 3 --out "$out/cifar10-lite2-hybrid-auto"
}

# Whether the rule starts with Poisson-MBO's class-size step on or off (auto), chosen
# on validation splits cut from the pools (--validation: the test splits are not read):
# each embedding with and without it, in the protocol above.
validation() {
  for n in 10 20 40; do
    for e in pca pca-mbo vae vae-mbo; do
      protocol validation/mnist "$mnist" "$e" "$n" --validation 10000
      protocol validation/cifar10-pixels "$cifar" "$e" "$n" --holdout 2000 --validation 2000 \
        --model cnn
    done
    for e in pca pca-mbo; do
      protocol validation/cifar10-lite2 "$cifar" "$e" "$n" --holdout 2000 --validation 2000 \
        --model effnet-lite2
    done
  done
  # And active learning with the hybrid, with and without it.
  for p in on off; do
    "$glean" simulate $before_audits "$cifar" --holdout 2000 --validation 2000 --model effnet-lite2 \
      --strategies random,margin --budget 300 --trials 3 --class-prior "$p" \
      --out "$out/validation/cifar10-lite2-hybrid-mbo-$p"
  done
}

# docs/RESULTS.md's MNIST table (k-means first batch of 20, margin, batches of 10) with the
# rule, to 300 labels: is it still as good?
mnist_margin() {
  "$glean" simulate $before_audits "$mnist" --learner hybrid --strategies margin --budget 300 --trials 3 \
    --out "$out/mnist-hybrid-margin-auto"
}

# One trial of the same past 99 % (docs/RESULTS.md's table reaches it at 600-730 labels).
mnist_margin_long() {
  "$glean" simulate $before_audits "$mnist" --learner hybrid --strategies margin --budget 800 --trials 1 \
    --out "$out/mnist-hybrid-margin-auto-800"
}

[ $# -eq 0 ] && set -- validation papers cifar mnist-margin mnist-margin-long
for part in "$@"; do
  case $part in
    validation) validation ;;
    papers) papers ;;
    cifar) cifar ;;
    mnist-margin) mnist_margin ;;
    mnist-margin-long) mnist_margin_long ;;
    *) echo "unknown part $part (validation, papers, cifar, mnist-margin, mnist-margin-long)" >&2; exit 2 ;;
  esac
done
