# `make repro` and `make test` work on a fresh clone with nothing else done first: each creates
# .venv when missing and installs the pinned package into it.
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
STAMP := $(VENV)/.installed-stamp
export PATH := $(BIN):$(PATH)

.PHONY: repro test lint docs bench gpu-check report install clean-venv

# Byte-compiled on every core after pip, which compiles on one: where PYTHONDONTWRITEBYTECODE is set
# (this machine), nothing is cached on first import, and each stage would compile torch and DVC from
# source again (6 to 7 s a process here; 26 s once for the whole environment)
$(STAMP): pyproject.toml
	test -x $(BIN)/python || python3 -m venv $(VENV)
	$(BIN)/python -m pip install -q --no-compile -e '.[dev]' > $(VENV)/pip.log 2>&1 || (cat $(VENV)/pip.log; exit 1)
	$(BIN)/python -m compileall -q -j 0 $(VENV)/lib > /dev/null || true  # torch ships a test file in 3.12 syntax
	touch $(STAMP)

install: $(STAMP)

repro: $(STAMP)
	dvc repro

lint: $(STAMP)
	ruff check src stages tests bench
	ruff format --check src stages tests bench

# the manual (docs/, MkDocs + Material) into site/, offline: no fonts or scripts from the internet;
# --strict fails on a broken link or anchor. NO_MKDOCS_2_WARNING: Material 9.8 prints a notice otherwise
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 mkdocs build --strict --quiet -d site

# three pytest-xdist workers on a 2-core machine: the end-to-end tests wait on their subprocesses
# (DVC, stage start-up, queue polling), so two workers kept 1.05 cores busy on average (850 s of CPU
# in 875 s); three took pytest from 583 to 467 s on the 2-core Xeon. worksteal: the end-to-end
# tests take 10-300 s each, and an idle worker takes over another's remaining tests
TEST_WORKERS ?= 3
test: lint docs
	pytest -n $(TEST_WORKERS) --dist worksteal

# the input pipelines (throughput.py), then the model's ceiling under the CPU settings a stage can run
# with: the instruction set held at AVX2 or not, threads, channels_last, torch.compile (cpu_settings.py)
bench: $(STAMP)
	python bench/throughput.py
	python bench/cpu_settings.py

# on a CUDA machine: the default pipeline on the GPU beside the committed CPU metrics, stage-1 speed with
# and without torch.compile, ResNet-50 image lists through both decoders, 2 processes over NCCL; one
# table, also in results/gpu_check.md. Without CUDA: one line, nothing measured, exit 0
gpu-check: $(STAMP)
	python bench/gpu_check.py

# every method over several training seeds, each a DVC experiment on the committed params, then
# results/ and the README's results; SEEDS="0 1 2", JOBS (experiments at a time; default: the cores
# over runtime.threads) and METHODS="..." override the defaults of ltr.report.compare
report: $(STAMP)
	python -m ltr.report.compare $(if $(METHODS),--methods $(METHODS)) $(if $(SEEDS),--seeds $(SEEDS)) \
		$(if $(JOBS),--jobs $(JOBS))

clean-venv:
	rm -rf $(VENV)
