#!/usr/bin/env bash
# Keypress -> next frame (`cargo bench --bench tui`) in two trees, alternating, quiet and
# then with `yes > /dev/null` holding one core, ROUNDS runs each (default 10). Each run's
# p99 is its second-slowest key of 110; the pooled p99 over all runs is the figure, with
# a 95 % interval of after - before from resampling whole runs. Both trees' bench must
# honour GLEAN_BENCH_KEYPRESS_MS (patch the before tree's benches/tui.rs if it is older).
# Run from the after tree; needs ../shared/datasets/imagenet-dogs.
#
# usage: scripts/keypress-before-after.sh BEFORE_TREE OUT_FILE [ROUNDS]
set -euo pipefail
before=$(cd "$1" && pwd)
out=$2
rounds=${3:-10}
after=$(pwd)
for tree in "$before" "$after"; do
  grep -q GLEAN_BENCH_KEYPRESS_MS "$tree/benches/tui.rs" ||
    { echo "$tree/benches/tui.rs does not write GLEAN_BENCH_KEYPRESS_MS" >&2; exit 2; }
  (cd "$tree" && cargo bench --bench tui --no-run -q)
done
times=$(mktemp -d)
busy=
# `yes` is started by this shell, not a subshell, so that the trap can stop it on Ctrl-C.
trap 'rm -rf "$times"; [ -z "$busy" ] || kill "$busy" 2>/dev/null' EXIT
exec > >(tee "$out")
tee_pid=$!

echo "# scripts/keypress-before-after.sh $1 $out $rounds"
echo "# before: $(git -C "$before" log -1 --format='%h %s' | cut -c1-80)"
echo "# after:  $(git -C "$after" log -1 --format='%h %s' | cut -c1-80)"
for tree in "$before" "$after"; do
  changed=$(git -C "$tree" status --short --untracked-files=no | tr '\n' ' ')
  [ -z "$changed" ] || echo "# uncommitted in $tree: $changed"
done
for load in quiet busy; do
  if [ "$load" = busy ]; then yes > /dev/null & busy=$!; fi
  for round in $(seq 1 "$rounds"); do
    for side in before after; do
      tree=$before; [ "$side" = after ] && tree=$after
      echo "== $side $load round $round"
      (cd "$tree" && GLEAN_BENCH_KEYPRESS_MS="$times/$side-$load-$round" cargo bench -q --bench tui \
        2>/dev/null | grep '^keypress')
    done
  done
  [ -z "$busy" ] || kill "$busy"
  busy=
done
echo "== pooled over the runs"
python3 - "$times" <<'EOF'
import glob, random, sys
folder = sys.argv[1]
def pct(xs, p):
    s = sorted(xs)
    return s[round((len(s) - 1) * p)]
random.seed(7)
for load in ("quiet", "busy"):
    def in_rounds(side):  # round 1, 2, … 10: the order the runs were made
        files = glob.glob(f"{folder}/{side}-{load}-*")
        return sorted(files, key=lambda f: int(f.rsplit("-", 1)[1]))
    runs = {side: [[float(l) for l in open(f)] for f in in_rounds(side)] for side in ("before", "after")}
    keys = {side: [k for r in rs for k in r] for side, rs in runs.items()}
    for side, xs in keys.items():
        print(f"{load:5} {side:6} n={len(xs)} mean {sum(xs) / len(xs):.2f} ms, p50 {pct(xs, .5):.2f} ms, "
              f"p90 {pct(xs, .9):.2f} ms, p99 {pct(xs, .99):.2f} ms, max {max(xs):.2f} ms")
    diffs = sorted(
        pct([k for r in random.choices(runs["after"], k=len(runs["after"])) for k in r], .99)
        - pct([k for r in random.choices(runs["before"], k=len(runs["before"])) for k in r], .99)
        for _ in range(2000))
    print(f"{load:5} p99 after - before: {pct(keys['after'], .99) - pct(keys['before'], .99):+.2f} ms, "
          f"95 % interval (runs resampled) {pct(diffs, .025):+.2f} .. {pct(diffs, .975):+.2f} ms")
EOF
# Let tee write the last lines before the script ends.
exec >&-
wait "$tee_pid"
