#!/usr/bin/env bash
# GPU training speed, in fp32 and in bf16 mixed precision:
#  - every model family for a fixed number of steps, printing samples/s and peak GPU memory
#    (torch.cuda.max_memory_allocated) per family, length and precision;
#  - genoflow's full training path (Lightning, the token arrays, deterministic mode) against
#    a raw PyTorch loop over tensors already on the GPU: the LSTM of benchmarks/training.py's
#    throughput part, REPS alternating repetitions, TRAIN_BATCHES batches of 128 per epoch.
# Writes benchmarks/results/gpu.json (families) and gpu_throughput.json. About 5 minutes on one
# GPU (each measurement is a fresh process, about 5 s of start-up each: 20 family and 8
# throughput measurements with the defaults).
#
#   benchmarks/gpu.sh                          # needs a CUDA GPU and torch built for CUDA
#   STEPS=50 LENGTHS=200,1000,2000 BATCH=64 benchmarks/gpu.sh
#   PYTHON=.venv/bin/python benchmarks/gpu.sh
#
# The same workers as benchmarks/training.py (there on the CPU, in fp32).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python}
STEPS=${STEPS:-20}
LENGTHS=${LENGTHS:-200,1000}
BATCH=${BATCH:-128}
REPS=${REPS:-2}
TRAIN_BATCHES=${TRAIN_BATCHES:-100}
if ! PYTHONPATH=src "$PYTHON" -c 'import sys, torch; sys.exit(not torch.cuda.is_available())'; then
    echo "benchmarks/gpu.sh: no CUDA GPU visible to $PYTHON (torch.cuda.is_available() is False);" \
        "the GPU figures stay pending" >&2
    exit 2
fi
PYTHONPATH=src "$PYTHON" -c 'import torch; print("GPU:", torch.cuda.get_device_name(), "| torch", torch.__version__, "| CUDA", torch.version.cuda)'
PYTHONPATH=src "$PYTHON" benchmarks/training.py --part families --device cuda \
    --precision 32-true,bf16-mixed --lengths "$LENGTHS" --family-batch "$BATCH" --steps "$STEPS" \
    --results benchmarks/results/gpu.json
PYTHONPATH=src "$PYTHON" benchmarks/training.py --part throughput --device cuda \
    --precision 32-true,bf16-mixed --reps "$REPS" --train-batches "$TRAIN_BATCHES" \
    --results benchmarks/results/gpu_throughput.json
