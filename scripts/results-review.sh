#!/usr/bin/env bash
# Labeling the whole folder (issue #15): `glean simulate --review` on the full MNIST
# (60,000 pool) and on CIFAR-10 (8,000 pool, 2,000 held out, Lite2 features), 3 trials
# each: 300 single labels chosen by margin (k-means first batch of 20, batches of 10),
# then pages of 60 (what a 120x40 terminal shows), one per class each round, an oracle
# marking exactly the wrong images; up to 3,000 keypresses. Writes review.csv,
# review.json and review.svg/png into results/review/<run>/. Needs a release build, the
# full MNIST (make mnist), the Lite2 weights (make effnet) and ../shared/datasets. About
# two hours on 2 cores.
#
# usage: scripts/results-review.sh [mnist|cifar]... (default: both)
set -euo pipefail
glean=${GLEAN:-target/release/glean}
# Committed before random checks existed (`--audit-every`): made again as they were.
before_audits=${BEFORE_AUDITS---audit-every 0}
mnist=$(scripts/fetch-mnist.sh)
cifar=../shared/datasets/cifar10-test
out=results/review
common=(--review --strategies margin --budget 300 --trials 3 --keypresses 3000)

for part in "${@:-mnist cifar}"; do
  for p in $part; do
    case $p in
      mnist) "$glean" simulate $before_audits "$mnist" "${common[@]}" --out "$out/mnist-hybrid" ;;
      cifar) "$glean" simulate $before_audits "$cifar" --holdout 2000 --model effnet-lite2 "${common[@]}" \
        --out "$out/cifar10-lite2-hybrid" ;;
      *) echo "unknown part $p (mnist, cifar)" >&2; exit 2 ;;
    esac
  done
done
