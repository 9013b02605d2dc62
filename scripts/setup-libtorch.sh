#!/usr/bin/env bash
# Prints the environment that lets torch-sys find libtorch, installing PyTorch 2.13.0
# from PyPI into a cache folder outside the repository when nothing is configured yet.
# Usage: eval "$(scripts/setup-libtorch.sh)"
set -euo pipefail
TORCH_VERSION=2.13.0

# A set-up the user already has wins.
if [ -n "${LIBTORCH:-}" ]; then
  echo "export LIBTORCH='${LIBTORCH}'"
  exit 0
fi
if [ -n "${LIBTORCH_USE_PYTORCH:-}" ]; then
  echo "export LIBTORCH_USE_PYTORCH='${LIBTORCH_USE_PYTORCH}'"
  exit 0
fi

cache="${GLEAN_CACHE_DIR:-${GLEAN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/glean}}"
venv="$cache/torch-$TORCH_VERSION"
# Bump the stamp when the package list changes so existing caches pick it up.
stamp="$venv/.glean-setup-1"
if [ ! -f "$stamp" ]; then
  echo "glean: installing PyTorch $TORCH_VERSION into $venv (once; about 5 GB)" >&2
  mkdir -p "$cache"
  python3 -m venv "$venv" >&2
  "$venv/bin/pip" install --quiet "torch==$TORCH_VERSION" numpy >&2
  touch "$stamp"
fi
read -r site abi < <("$venv/bin/python" -c 'import torch, os; print(os.path.dirname(torch.__file__), int(torch._C._GLIBCXX_USE_CXX11_ABI))' 2>/dev/null)
echo "export LIBTORCH='$site'"
echo "export LIBTORCH_CXX11_ABI='$abi'"
echo "export GLEAN_PYTHON='$venv/bin/python'"
