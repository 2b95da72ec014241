# The two README commands: `make run` (set up + run the default workflow) and `make test`.
# Setup is idempotent: the venv is rebuilt only when pyproject.toml changes. `device-slots` is the
# number of GPUs, or of cores on a CPU-only machine (training/sampling/critic jobs hold 1 thread).

PY      ?= python3
VENV    ?= .venv
CORES   ?= all
STAMP   := $(VENV)/.divrec-installed
BIN     := $(VENV)/bin

.PHONY: setup run test test-fast pin lint report clean-results

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.14.1 torchvision==0.29.1
	$(BIN)/pip install -q -e ".[workflow,test]"
	touch $(STAMP)

run: setup
	$(BIN)/snakemake --cores $(CORES) --resources gpu=$$($(BIN)/python -m divrec device-slots) \
	    --rerun-incomplete
	$(BIN)/snakemake --report results/report.html

test: setup
	$(BIN)/python -m pytest -q -rs --durations=10

test-fast: setup  # day-to-day: everything but the real workflow runs (marked slow)
	$(BIN)/python -m pytest -q -rs -m "not slow"

pin: setup  # record this machine's digests of the tiny run's tables (tests/pinned.py)
	DIVREC_PIN=1 $(BIN)/python -m pytest -q -rs tests/test_workflow.py -k pinned_tables

lint: setup
	$(BIN)/ruff check .
	$(BIN)/snakemake --lint

report: setup
	$(BIN)/snakemake --report results/report.html

clean-results:
	rm -rf results .snakemake
