# The README's commands. The first use installs PyTorch 2.13.0 (libtorch) into
# ~/.cache/glean, unless LIBTORCH or LIBTORCH_USE_PYTORCH is already set; later runs
# reuse it. Data and weights from the registries land in the same cache.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
TORCH := eval "$$(scripts/setup-libtorch.sh)"

.PHONY: demo test build check bench mnist effnet setup results-cifar10 results-backbone

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

# The tests read the full MNIST and the EfficientNet-Lite weights when they are in the
# cache: fetch them first so nothing is skipped.
test: check mnist effnet
	$(TORCH) && cargo test

bench: mnist effnet
	$(TORCH) && cargo bench

mnist:
	@scripts/fetch-mnist.sh >/dev/null

# The figures the README quotes, regenerated into results/ (each takes minutes to an
# hour on 2 cores; the CIFAR-10 photos come from ../shared/datasets).
CIFAR10 := ../shared/datasets/cifar10-test

results-cifar10: effnet
	$(TORCH) && cargo run --release -- simulate $(CIFAR10) --holdout 2000 \
		--strategies margin,entropy,random --budget 300 --trials 3 --full-baseline \
		--out results/cifar10
	$(TORCH) && cargo run --release -- simulate $(CIFAR10) --holdout 2000 --learner cnn \
		--strategies margin,random --budget 300 --trials 3 --out results/cifar10-head
	$(TORCH) && cargo run --release -- simulate $(CIFAR10) --holdout 2000 --model effnet-lite0 \
		--strategies margin,random --budget 300 --trials 3 --full-baseline \
		--out results/cifar10-lite0

# Each backbone quiet, then with one core kept busy (a `yes` loop) the whole time.
results-backbone: effnet
	mkdir -p results
	for b in lite2 lite0; do \
		$(TORCH) && GLEAN_BENCH_BACKBONE=$$b cargo bench --bench backbone \
			| tee results/backbone-$$b.txt; \
		$(TORCH) && { yes > /dev/null & busy=$$!; GLEAN_BENCH_BACKBONE=$$b \
			cargo bench --bench backbone | tee results/backbone-$$b-busy.txt; kill $$busy; }; \
	done

# Both backbones: Lite2 (the default for photos) and Lite0 (the fast one).
effnet: setup
	@scripts/setup-effnet.sh lite0 >/dev/null
	@scripts/setup-effnet.sh lite2 >/dev/null
