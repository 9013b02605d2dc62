# The README's commands. The first use installs PyTorch 2.13.0 (libtorch) into
# ~/.cache/glean, unless LIBTORCH or LIBTORCH_USE_PYTORCH is already set; later runs
# reuse it. Data and weights from the registries land in the same cache.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
TORCH := eval "$$(scripts/setup-libtorch.sh)"

.PHONY: demo test test-without-torch build check bench mnist effnet setup results-photos results-cifar10 results-dogs results-backbone results-validation results-busy results-embedding results-vae-settings results-mbo results-strategies results-review results-keypress results-plots results-neighbours results-audit

setup:
	@$(TORCH) && echo "libtorch: $$LIBTORCH$${LIBTORCH_USE_PYTORCH:+ (from the python on PATH)}"

build: setup
	$(TORCH) && cargo build --release

# Label the bundled MNIST sample; the session is kept in the repository's sessions/
# folder, so a second `make demo` resumes it.
# The backbone's weights too: without them photo folders learn from pixels alone.
demo: build effnet
	$(TORCH) && cargo run --release -- label assets/mnist --session demo --session-dir sessions

check: setup
	$(TORCH) && cargo fmt --all -- --check && cargo clippy --workspace --all-targets -- -D warnings

# The tests read the full MNIST and the EfficientNet-Lite weights when they are in the
# cache: fetch them first so nothing is skipped.
test: check mnist effnet test-without-torch
	$(TORCH) && cargo test --workspace --no-fail-fast $(TORCHLESS:-p=--exclude)

# The crates that must not depend on tch (core, dataset, rank, session, tui, test-support) build and pass
# with libtorch out of sight: were one to pull in torch-sys, its build would fail here.
TORCHLESS := -p glean-core -p glean-dataset -p glean-rank -p glean-session -p glean-tui -p glean-test-support
test-without-torch:
	env -u LIBTORCH -u LIBTORCH_USE_PYTORCH -u LIBTORCH_CXX11_ABI -u LIBTORCH_LIB \
		-u LIBTORCH_INCLUDE cargo test --no-fail-fast $(TORCHLESS)

bench: mnist effnet
	$(TORCH) && cargo bench

mnist:
	@scripts/fetch-mnist.sh >/dev/null

# The figures docs/RESULTS.md and the README quote, regenerated into results/ (each takes minutes to an
# hour on 2 cores; the CIFAR-10 photos come from ../shared/datasets).
CIFAR10 := ../shared/datasets/cifar10-test
# Outputs committed before random checks existed (`--audit-every`, default 10), made
# again as they were: pass BEFORE_AUDITS= to make them with the checks. Runs with the
# ImageNet head's prior also fitted their temperature otherwise then, so their `ece`
# column would differ (see docs/RESULTS.md, "Random checks").
BEFORE_AUDITS := --audit-every 0

results-cifar10: effnet
	$(TORCH) && cargo run --release -- simulate $(CIFAR10) $(BEFORE_AUDITS) --holdout 2000 --without-zero-shot \
		--strategies margin,entropy,random --budget 300 --trials 3 --full-baseline \
		--out results/cifar10
	$(TORCH) && cargo run --release -- simulate $(CIFAR10) --holdout 2000 \
		--strategies margin,random --budget 300 --trials 3 --out results/cifar10-zero-shot
	$(TORCH) && cargo run --release -- simulate $(CIFAR10) $(BEFORE_AUDITS) --holdout 2000 --without-zero-shot \
		--strategies margin,random --budget 300 --trials 3 --out results/cifar10-labels-only
	$(TORCH) && cargo run --release -- simulate $(CIFAR10) $(BEFORE_AUDITS) --holdout 2000 --learner cnn \
		--strategies margin,random --budget 300 --trials 3 --out results/cifar10-head
	$(TORCH) && cargo run --release -- simulate $(CIFAR10) $(BEFORE_AUDITS) --holdout 2000 --model effnet-lite0 \
		--strategies margin,random --budget 300 --trials 3 --full-baseline \
		--out results/cifar10-lite0

# The committed plots drawn again from what their runs wrote (each folder's curves.csv or
# review.csv and the plot.json beside it), without simulating: seconds, not hours.
results-plots: setup
	$(TORCH) && cargo run --release -- plot \
		$$(find results \( -name curves.csv -o -name review.csv \) -printf '%h\n' | sort -u)

# Random checks (`--audit-every N`) chosen on validation splits cut from the pools (the
# test images are not read): CIFAR-10 (6,000 pool, 2,000 validation) and the full MNIST
# (55,000 pool, 5,000 validation), margin, without checks and with one in 10 (and in 5
# on CIFAR-10).
results-audit: mnist effnet
	for a in 0 5 10; do \
		$(TORCH) && cargo run --release -- simulate $(CIFAR10) --holdout 2000 --validation 2000 \
			--strategies margin --budget 300 --trials 3 --audit-every $$a \
			--out results/audit/cifar10-every-$$a || exit 1; \
	done
	for a in 0 10; do \
		$(TORCH) && cargo run --release -- simulate $$(scripts/fetch-mnist.sh) --validation 5000 \
			--strategies margin --budget 150 --trials 1 --audit-every $$a \
			--out results/audit/mnist-every-$$a || exit 1; \
	done

, the breed in the file name): how right the
# predicted rows (what `export --all` writes) are after 0, 12 and 30 labels from the
# auto-oracle (margin), with the head's prior and without; then the keypresses to label
# the whole folder with review pages from label 0, and after 12 single labels.
DOGS := ../shared/datasets/imagenet-dogs
DOG_BREEDS := --label-pattern '^n[0-9]+_(.+)\.JPEG$$'
results-dogs: effnet
	$(TORCH) && cargo run --release -- simulate $(DOGS) $(DOG_BREEDS) --accuracy-on pool \
		--strategies margin --init 12 --batch 18 --budget 30 --trials 1 --out results/dogs-zero-shot
	$(TORCH) && cargo run --release -- simulate $(DOGS) $(DOG_BREEDS) --accuracy-on pool \
		--strategies margin --init 12 --batch 18 --budget 30 --trials 1 --without-zero-shot \
		--out results/dogs-labels-only
	$(TORCH) && cargo run --release -- simulate $(DOGS) $(DOG_BREEDS) --review --strategies margin \
		--budget 0 --trials 1 --out results/dogs-review
	$(TORCH) && cargo run --release -- simulate $(DOGS) $(DOG_BREEDS) --review --strategies margin \
		--init 12 --budget 12 --trials 1 --out results/dogs-review-12

# The backbone choices, measured on a validation split cut from CIFAR-10's pool (6,000
# pool, 2,000 validation; the 2,000 test images are not read): Lite2 and Lite0 in
# float32, and Lite2 in bfloat16.
results-validation: effnet
	for m in lite2 lite0; do \
		$(TORCH) && cargo run --release -- simulate $(CIFAR10) $(BEFORE_AUDITS) --holdout 2000 --validation 2000 \
			--model effnet-$$m --strategies margin,random --budget 100 --trials 3 --full-baseline \
			--out results/validation/cifar10-$$m || exit 1; \
	done
	$(TORCH) && GLEAN_BACKBONE_PRECISION=bf16 cargo run --release -- simulate $(CIFAR10) $(BEFORE_AUDITS) \
		--holdout 2000 --validation 2000 --model effnet-lite2 --strategies margin,random \
		--budget 100 --trials 3 --full-baseline --out results/validation/cifar10-lite2-bf16

# Each backbone quiet, then with one core kept busy (a `yes` loop) the whole time; last,
# Lite0 busy with OpenMP's own waiting (a short spin) instead of glean's passive one, and
# Lite2 quiet in bfloat16.
BUSY = yes > /dev/null & busy=$$!; trap 'kill $$busy' EXIT;
results-backbone: effnet
	mkdir -p results
	for b in lite2 lite0; do \
		$(TORCH) && GLEAN_BENCH_BACKBONE=$$b cargo bench --bench backbone \
			| tee results/backbone-$$b.txt; \
		( $(BUSY) $(TORCH) && GLEAN_BENCH_BACKBONE=$$b cargo bench --bench backbone \
			| tee results/backbone-$$b-busy.txt ); \
	done
	( $(BUSY) $(TORCH) && OMP_WAIT_POLICY= GLEAN_BENCH_BACKBONE=lite0 cargo bench --bench backbone \
		| tee results/backbone-lite0-busy-openmp-default.txt )
	$(TORCH) && GLEAN_BACKBONE_PRECISION=bf16 GLEAN_BENCH_BACKBONE=lite2 cargo bench --bench backbone \
		| tee results/backbone-lite2-bf16.txt

effnet: setup
	@scripts/setup-effnet.sh lite0 >/dev/null
	@scripts/setup-effnet.sh lite2 >/dev/null

# A round's time quiet and beside a `yes` on one core: with glean's passive OpenMP
# waiting, with OpenMP's default (OMP_WAIT_POLICY set empty), and with spinning threads.
results-busy: mnist effnet
	mkdir -p results
	$(TORCH) && cargo bench --bench busy | tee results/busy-passive.txt
	$(TORCH) && OMP_WAIT_POLICY= cargo bench --bench busy | tee results/busy-openmp-default.txt
	$(TORCH) && OMP_WAIT_POLICY=ACTIVE cargo bench --bench busy | tee results/busy-active.txt

# Keypress -> next frame (`benches/tui.rs`): the dog photos, and the full MNIST pool with
# whole-pool rankings arriving; quiet, and with one core busy besides the bench's own
# busy trainer.
# The kNN graph's neighbours, exact against nearest-neighbour descent, on the full
# MNIST and on 300,000 shifted digits (both searches and the recall; about 6 minutes),
# again with one core busy (the descent only), and the descent on 1,020,000 digits.
results-neighbours: mnist
	mkdir -p results
	$(TORCH) && GLEAN_BENCH_EXACT_LARGE=1 cargo bench --bench neighbours | tee results/neighbours.txt
	( $(BUSY) $(TORCH) && cargo bench --bench neighbours | tee results/neighbours-busy.txt )
	$(TORCH) && GLEAN_BENCH_COPIES=16 cargo bench --bench neighbours | tee results/neighbours-million.txt

results-keypress: mnist
	mkdir -p results
	$(TORCH) && cargo bench --bench tui | tee results/keypress.txt
	( $(BUSY) $(TORCH) && cargo bench --bench tui | tee results/keypress-busy.txt )

# The autoencoder's batch and learning rate against its cost, on the MNIST pool: its
# own loss (no labels) and the time for 50 epochs, with the papers' table beside them.
results-vae-settings: mnist
	mkdir -p results/embedding-vae-settings
	for s in 128:0.001 256:0.0015 512:0.001 512:0.002; do \
		$(TORCH) && GLEAN_BENCH_VAE_BATCH=$${s%%:*} GLEAN_BENCH_VAE_LR=$${s##*:} \
			cargo bench --bench embedding \
			| tee results/embedding-vae-settings/batch$${s%%:*}-lr$${s##*:}.txt || exit 1; \
	done

# The graph's embeddings: the autoencoder's cost and each embedding's accuracy on the
# MNIST pool (quiet, then with one core busy), and the graph papers' protocol and the
# rule on MNIST and CIFAR-10 (scripts/results-embedding.sh, about two hours).
results-embedding: mnist effnet build
	mkdir -p results
	$(TORCH) && cargo bench --bench embedding | tee results/embedding-mnist.txt
	( $(BUSY) $(TORCH) && cargo bench --bench embedding | tee results/embedding-mnist-busy.txt )
	$(TORCH) && scripts/results-embedding.sh

# Poisson-MBO on deskewed MNIST after Poisson learning, at the labels' class shares and
# at the shares Poisson predicts, beside the reweighting alone, quiet and with one core
# busy (about 10 minutes). The autoencoder, not measured here, trains one epoch only.
results-mbo: mnist
	mkdir -p results
	$(TORCH) && GLEAN_BENCH_MBO=1 GLEAN_BENCH_EMBEDDINGS="deskew + PCA 50" GLEAN_BENCH_EPOCHS=1 \
		cargo bench --bench embedding | tee results/embedding-mbo-deskew.txt
	( $(BUSY) $(TORCH) && GLEAN_BENCH_MBO=1 GLEAN_BENCH_EMBEDDINGS="deskew + PCA 50" \
		GLEAN_BENCH_EPOCHS=1 cargo bench --bench embedding | tee results/embedding-mbo-deskew-busy.txt )

# The query strategies of issue 16 next to margin and random (scripts/results-strategies.sh,
# results/strategies/), and each strategy's share of a round on the full MNIST, quiet and
# with another program busy on one core.
results-strategies: mnist effnet
	$(TORCH) && cargo build --release && scripts/results-strategies.sh
	$(TORCH) && cargo bench --bench strategies | tee results/strategies-bench.txt
	( $(BUSY) $(TORCH) && cargo bench --bench strategies | tee results/strategies-bench-busy.txt )

# Labeling the whole folder with review pages (issue 15): folder accuracy against
# keypresses on the full MNIST and CIFAR-10 (scripts/results-review.sh, results/review/),
# and how many of 25 flipped labels in a 500-label session the likely-mistakes queue
# puts in its first 50 (seeds 1-3 chose plain Poisson over Poisson-MBO for it, 4-6
# check that choice), quiet and with another program busy on one core.
results-review: mnist effnet
	$(TORCH) && cargo build --release && scripts/results-review.sh
	$(TORCH) && GLEAN_BENCH_SEEDS=6 cargo bench --bench mistakes | tee results/mistakes-bench.txt
	( $(BUSY) $(TORCH) && GLEAN_BENCH_SEEDS=6 cargo bench --bench mistakes | tee results/mistakes-bench-busy.txt )

# Phone-size photos (the dog photos upscaled to 4000x3000 JPEGs, some grayscale, CMYK or
# EXIF-rotated: scripts/make-phone-photos.py): decoding alone (the dataset crate's photos
# bench) and the backbone's whole pass from the files, quiet and with one core busy.
PHONE := $(HOME)/.cache/glean/bench/phone-photos
results-photos: effnet
	mkdir -p results
	$(TORCH) && test -d $(PHONE) || { "$$GLEAN_PYTHON" -m pip install --quiet pillow && \
		"$$GLEAN_PYTHON" scripts/make-phone-photos.py ../shared/datasets/imagenet-dogs $(PHONE); }
	env -u LIBTORCH cargo bench -p glean-dataset --bench photos | tee results/decode-photos.txt
	( $(BUSY) env -u LIBTORCH cargo bench -p glean-dataset --bench photos | tee results/decode-photos-busy.txt )
	for b in lite2 lite0; do \
		$(TORCH) && GLEAN_BENCH_PHOTOS=$(PHONE) GLEAN_BENCH_BACKBONE=$$b cargo bench --bench backbone \
			| tee results/backbone-$$b-phone.txt; \
		( $(BUSY) $(TORCH) && GLEAN_BENCH_PHOTOS=$(PHONE) GLEAN_BENCH_BACKBONE=$$b cargo bench --bench backbone \
			| tee results/backbone-$$b-phone-busy.txt ); \
	done
