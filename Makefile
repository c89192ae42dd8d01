# Two commands on a fresh machine: `make run` and `make test`.
# TORCH_SPEC pins the CPU build that lies on this kind of machine; GPU users override it, e.g.
#   make run TORCH_SPEC="torch --index-url https://download.pytorch.org/whl/cu124"
PYTHON ?= python3
VENV ?= .venv
TORCH_SPEC ?= torch==2.13.0
CORES ?= 2
SNAKEMAKE_ARGS ?=

BIN := $(VENV)/bin
# Jobs call `python -m genoflow`: put the venv first on PATH for Snakemake and its jobs.
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: run test lint report install install-test clean

run: $(VENV)/.installed
	snakemake --cores $(CORES) $(SNAKEMAKE_ARGS)

report: $(VENV)/.installed
	snakemake --cores 1 --report results/report.zip $(SNAKEMAKE_ARGS)

test: $(VENV)/.installed-test
	pytest -q

lint: $(VENV)/.installed-test
	ruff check src tests workflow
	ruff format --check src tests
	snakefmt --check Snakefile workflow/rules
	snakemake --lint

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet $(TORCH_SPEC)
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

clean:
	rm -rf results logs benchmarks/*/ .snakemake
