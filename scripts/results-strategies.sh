#!/usr/bin/env bash
# The query strategies of issue #16 (cluster-errors, adversarial, neighbour-kl) next to
# margin and random, regenerated into results/strategies/ (each a `glean simulate`
# output: summary.json, curves.csv, curves.svg/png): 3 trials, k-means first batch of
# 20, batches of 10, to 300 labels. Needs a release build, the full MNIST (make mnist),
# the EfficientNet-Lite2 weights (make effnet) and the CIFAR-10 photos in
# ../shared/datasets. About an hour and a half on 2 cores.
#
# usage: scripts/results-strategies.sh [cifar|mnist-cnn|mnist-hybrid|table]... (default: all)
# table: docs/RESULTS.md's tables from the curves (scripts/curve-table.py), into
# results/strategies/table.md.
# Margin and random with the hybrid learner are the runs of results/embedding/
# (mnist-hybrid-margin-auto, cifar10-lite2-hybrid-auto: the same flags, the same
# seeds), not made again here.
set -euo pipefail
glean=${GLEAN:-target/release/glean}
# Committed before random checks existed (`--audit-every`): made again as they were.
before_audits=${BEFORE_AUDITS---audit-every 0}
mnist=$(scripts/fetch-mnist.sh)
cifar=../shared/datasets/cifar10-test
out=results/strategies
new=cluster-errors,adversarial,neighbour-kl

table() {
  local mnist_at="--at 100,300 --to 0.9,0.95,0.98" cifar_at="--at 100,300 --to 0.65,0.68"
  echo "MNIST, the network alone (cnn): accuracy at 100 / 300 labels (median of 3), labels to 90 / 95 / 98 % per trial"
  scripts/curve-table.py "$out/mnist-cnn/curves.csv" $mnist_at
  echo
  echo "MNIST, hybrid"
  scripts/curve-table.py results/embedding/mnist-hybrid-margin-auto/curves.csv $mnist_at
  scripts/curve-table.py "$out/mnist-hybrid/curves.csv" $mnist_at
  echo
  echo "CIFAR-10, hybrid on Lite2 features: accuracy at 100 / 300, labels to 65 / 68 % per trial"
  scripts/curve-table.py results/embedding/cifar10-lite2-hybrid-auto/curves.csv $cifar_at
  scripts/curve-table.py "$out/cifar10-lite2-hybrid/curves.csv" $cifar_at
}

for part in "${@:-cifar mnist-cnn mnist-hybrid table}"; do
  for p in $part; do
    case $p in
      # CIFAR-10: 8,000 pool, 2,000 held out, the hybrid learner on Lite2 features.
      cifar) "$glean" simulate $before_audits "$cifar" --holdout 2000 --model effnet-lite2 --strategies "$new" \
        --budget 300 --trials 3 --out "$out/cifar10-lite2-hybrid" ;;
      # The full MNIST, the network alone (no graph): all five strategies.
      mnist-cnn) "$glean" simulate $before_audits "$mnist" --learner cnn \
        --strategies "margin,random,$new" --budget 300 --trials 3 --out "$out/mnist-cnn" ;;
      # The full MNIST, the hybrid learner (graph and network).
      mnist-hybrid) "$glean" simulate $before_audits "$mnist" --learner hybrid --strategies "random,$new" \
        --budget 300 --trials 3 --out "$out/mnist-hybrid" ;;
      table) table > "$out/table.md" ;;
      *) echo "unknown part $p (cifar, mnist-cnn, mnist-hybrid, table)" >&2; exit 2 ;;
    esac
  done
done
