#!/usr/bin/env bash
# GPU training speed: every model family for a fixed number of steps, in fp32 and in bf16
# mixed precision (torch.autocast), printing samples/s and peak GPU memory
# (torch.cuda.max_memory_allocated) per family, length and precision; writes
# benchmarks/results/gpu.json. Under 5 minutes on one GPU (each measurement is a fresh process:
# about 5 s of start-up each, 20 in all with the defaults).
#
#   benchmarks/gpu.sh                          # needs a CUDA GPU and torch built for CUDA
#   STEPS=50 LENGTHS=200,1000,2000 BATCH=64 benchmarks/gpu.sh
#   PYTHON=.venv/bin/python benchmarks/gpu.sh
#
# The same worker as benchmarks/training.py --part families (there on the CPU, in fp32).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python}
STEPS=${STEPS:-20}
LENGTHS=${LENGTHS:-200,1000}
BATCH=${BATCH:-128}
if ! PYTHONPATH=src "$PYTHON" -c 'import sys, torch; sys.exit(not torch.cuda.is_available())'; then
    echo "benchmarks/gpu.sh: no CUDA GPU visible to $PYTHON (torch.cuda.is_available() is False);" \
        "the GPU figures stay pending" >&2
    exit 2
fi
PYTHONPATH=src "$PYTHON" -c 'import torch; print("GPU:", torch.cuda.get_device_name(), "| torch", torch.__version__, "| CUDA", torch.version.cuda)'
PYTHONPATH=src "$PYTHON" benchmarks/training.py --part families --device cuda \
    --precision 32-true,bf16-mixed --lengths "$LENGTHS" --family-batch "$BATCH" --steps "$STEPS" \
    --results benchmarks/results/gpu.json
