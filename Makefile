# Two commands on a fresh machine: `make run` and `make test`.
# TORCH_SPEC pins the CPU build that lies on this kind of machine; GPU users override it, e.g.
#   make run TORCH_SPEC="torch --index-url https://download.pytorch.org/whl/cu124"
PYTHON ?= python3
VENV ?= .venv
TORCH_SPEC ?= torch==2.13.0
CORES ?= 2
# Every other package is installed at the version in the lock of this Python (pip
# constraints; one file per Python minor version, as wheels are); `make lock` writes it anew,
# `make run LOCK=` installs without it (the newest versions pyproject's ranges allow). A Python
# without a lock installs from the ranges.
PYVER := $(shell $(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])')
LOCK ?= $(wildcard requirements-py$(PYVER).lock)
CONFIG ?=
SNAKEMAKE_ARGS ?=

BIN := $(VENV)/bin
# Jobs call `python -m genoflow`: put the venv first on PATH for Snakemake and its jobs.
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: run test test-slow test-reruns test-faults test-cluster lint report bench benchmarks install install-test install-cluster lock clean

# make run CONFIG=mine.yaml CORES=4: your own config instead of the demo's.
run: $(VENV)/.installed
	snakemake --cores $(CORES) $(if $(CONFIG),--configfile $(CONFIG)) $(SNAKEMAKE_ARGS)
	@echo "Report: results/report/index.html. Your own data: genoflow init (README); run"
	@echo "'source $(VENV)/bin/activate' first to have snakemake and genoflow on your PATH."

report: $(VENV)/.installed
	snakemake --cores 1 --report results/report.zip $(SNAKEMAKE_ARGS)

# The report tests open the report in a real headless Chromium (Debian's; installed if missing).
SLOW_TESTS := --ignore=tests/cluster --ignore=tests/test_workflow_reruns.py \
	--ignore=tests/test_faults.py --ignore=tests/test_hostile_paths.py --ignore=tests/test_crashes.py

test: $(VENV)/.installed-test
	scripts/install-chromium.sh
	pytest -q $(SLOW_TESTS) -m "not slow"

# Extra whole workflow runs (~6 min): a config written by `genoflow init`, the workflow from a
# shell with no python on PATH, two runs compared byte for byte, Snakemake's --report, and the
# splice-site interpretation check; kept apart so `make test` stays under 15 minutes.
test-slow: $(VENV)/.installed-test
	pytest -q $(SLOW_TESTS) -m slow

# Slower end-to-end checks of reruns (~2 min): the between-workflow cache, a kill -9 resume,
# DDP with 2 processes and the code-change rerun lists; kept apart so `make test` stays fast.
test-reruns: $(VENV)/.installed-test
	pytest -q tests/test_workflow_reruns.py

# Bad and hostile input, planted files, crashes and faults (~6 min): a battery of malformed
# inputs and configs, planted checkpoints, each stage killed at a random point, a full disk
# (a small tmpfs; needs root, as on CI), and the whole workflow on hostile paths.
test-faults: $(VENV)/.installed-test
	pytest -q tests/test_faults.py tests/test_crashes.py tests/test_hostile_paths.py

# The workflow through workflow/profiles/slurm on a real single-node SLURM cluster that
# scripts/slurm-cluster.sh installs (Debian packages; needs root) and starts on this machine.
# The daemons are stopped (by their recorded pids) whatever happens, Ctrl-C included.
test-cluster: $(VENV)/.installed-cluster
	scripts/slurm-cluster.sh install
	trap 'scripts/slurm-cluster.sh stop' EXIT; trap 'exit 130' INT TERM; \
	scripts/slurm-cluster.sh start && GENOFLOW_SLURM=1 pytest -q tests/cluster

lint: $(VENV)/.installed-test
	ruff check src tests workflow benchmarks scripts
	ruff format --check src tests benchmarks scripts
	snakefmt --check Snakefile workflow/rules
	snakemake --lint

# Benchmarks (not tests: they never fail for being slow). Each prints a table and writes
# benchmarks/results/<name>.json; the Keras comparison runs tensorflow-cpu in its own venv.
# benchmarks/large_data.py (minutes, ~7 GB of disk) and benchmarks/gpu.sh (needs a CUDA GPU)
# are run by hand. BENCH_ARGS reach every script, e.g. BENCH_ARGS="--reps 1".
KERAS_VENV ?= .venv-keras
KERAS_SPEC ?= tensorflow-cpu==2.21.*
BENCH_ARGS ?=
BENCHMARKS := $(wildcard benchmarks/ingest.py) benchmarks/training.py \
	benchmarks/keras_forecaster.py benchmarks/workflow_overhead.py

bench: $(VENV)/.installed-bench $(KERAS_VENV)/.installed
	set -e; for script in $(BENCHMARKS); do \
		echo "== $$script"; \
		if [ $$script = benchmarks/keras_forecaster.py ]; then \
			$(BIN)/python $$script --keras-python $(KERAS_VENV)/bin/python $(BENCH_ARGS); \
		else \
			$(BIN)/python $$script $(BENCH_ARGS); \
		fi; \
	done

# The model-quality suite (not part of make test): every config of workflow/configs/ and the
# demo through the real workflow, genoflow's numbers beside the published ones; prints a table
# per config with its CPU time and writes benchmarks/results/suite.json. About 94 min wall
# (135 CPU-minutes) on 2 cores, measured config by config (README, "Benchmark suite");
# one config: make benchmarks SUITE="cnnprom_ecoli".
SUITE ?=
benchmarks: $(VENV)/.installed
	$(BIN)/python benchmarks/suite.py --cores $(CORES) $(if $(SUITE),--only $(SUITE))

$(VENV)/.installed-bench: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[bench]' $(if $(LOCK),-c $(LOCK))
	touch $@

$(KERAS_VENV)/.installed:
	test -x $(KERAS_VENV)/bin/python || $(PYTHON) -m venv $(KERAS_VENV)
	$(KERAS_VENV)/bin/python -m pip install --quiet "$(KERAS_SPEC)"
	touch $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test
install-cluster: $(VENV)/.installed-cluster

# Installing compiles genoflow's C kernels (src/genoflow/kernels.c; needs a C compiler, cc or
# $$CC); the last step checks the build. An edited kernels.c is rebuilt by the next make.
$(VENV)/.installed: pyproject.toml $(LOCK) src/genoflow/kernels.c
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet $(TORCH_SPEC)
	$(BIN)/python -m pip install --quiet -e . $(if $(LOCK),-c $(LOCK))
	$(BIN)/python -m genoflow.kernels
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[test]' $(if $(LOCK),-c $(LOCK))
	touch $@

$(VENV)/.installed-cluster: $(VENV)/.installed-test
	$(BIN)/python -m pip install --quiet -e '.[test,cluster]' $(if $(LOCK),-c $(LOCK))
	touch $@

# The lock: every package that pyproject's ranges resolve to today, with all extras, in a
# fresh venv (torch is left to TORCH_SPEC, which GPU users change). Commit the file it writes.
lock:
	rm -rf $(VENV)-lock && $(PYTHON) -m venv $(VENV)-lock
	$(VENV)-lock/bin/python -m pip install --quiet $(TORCH_SPEC)
	$(VENV)-lock/bin/python -m pip install --quiet -e '.[test,cluster,bench]'
	{ echo "# pip constraints: make run / make test install these versions (make lock: anew)"; \
	  echo "# written by make lock with Python $$($(VENV)-lock/bin/python -c 'import platform; print(platform.python_version())'); torch: TORCH_SPEC"; \
	  $(VENV)-lock/bin/python -m pip freeze --exclude-editable | grep -v -E '^(torch|nvidia-|triton)=='; \
	} > requirements-py$(PYVER).lock
	rm -rf $(VENV)-lock

clean:  # workflow outputs; keeps benchmarks/results and benchmarks/configs (committed)
	rm -rf results logs .snakemake
	find benchmarks -mindepth 1 -maxdepth 1 -type d ! -name results ! -name configs -exec rm -rf {} +
