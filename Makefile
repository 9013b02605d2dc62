# The README's commands. The first use installs PyTorch 2.13.0 (libtorch) into
# ~/.cache/glean, unless LIBTORCH or LIBTORCH_USE_PYTORCH is already set; later runs
# reuse it. Data and weights from the registries land in the same cache.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
TORCH := eval "$$(scripts/setup-libtorch.sh)"

.PHONY: demo test build check bench mnist effnet setup

setup:
	@$(TORCH) && echo "libtorch: $$LIBTORCH$${LIBTORCH_USE_PYTORCH:+ (from the python on PATH)}"

build: setup
	$(TORCH) && cargo build --release

# Label the bundled MNIST sample; the session is kept in the repository's sessions/
# folder, so a second `make demo` resumes it.
demo: build
	$(TORCH) && cargo run --release -- label assets/mnist --session demo --session-dir sessions

check: setup
	$(TORCH) && cargo fmt --all -- --check && cargo clippy --all-targets -- -D warnings

# The tests read the full MNIST and the EfficientNet-Lite0 weights when they are in the
# cache: fetch both first so nothing is skipped.
test: check mnist effnet
	$(TORCH) && cargo test

bench: mnist effnet
	$(TORCH) && cargo bench

mnist:
	@scripts/fetch-mnist.sh >/dev/null

effnet: setup
	@scripts/setup-effnet.sh >/dev/null
