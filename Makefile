# `make repro` and `make test` work on a fresh clone with nothing else done first: each creates
# .venv when missing and installs the pinned package into it.
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
STAMP := $(VENV)/.installed-stamp
export PATH := $(BIN):$(PATH)

.PHONY: repro test lint bench report install clean-venv

# --no-compile: modules are byte-compiled on first import instead, only those the runs use
$(STAMP): pyproject.toml
	test -x $(BIN)/python || python3 -m venv $(VENV)
	$(BIN)/python -m pip install -q --no-compile -e '.[dev]' > $(VENV)/pip.log 2>&1 || (cat $(VENV)/pip.log; exit 1)
	touch $(STAMP)

install: $(STAMP)

repro: $(STAMP)
	dvc repro

lint: $(STAMP)
	ruff check src stages tests bench
	ruff format --check src stages tests bench

# two pytest-xdist workers: most of the end-to-end tests' time is single-threaded process start-up
# (DVC, torch imports), so two of them keep both cores of a small machine busy; worksteal: the
# end-to-end tests take 10-130 s each, and an idle worker takes over the other's remaining tests
TEST_WORKERS ?= 2
test: lint
	pytest -n $(TEST_WORKERS) --dist worksteal

bench: $(STAMP)
	python bench/throughput.py

# every method as a DVC experiment on the committed params, then results/ and the README's results
report: $(STAMP)
	python -m ltr.report.compare

clean-venv:
	rm -rf $(VENV)
