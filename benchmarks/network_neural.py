"""Trials for issue 22: a neural gene-network model fitted directly to the time series (not yet
a method of `genoflow network`), on DREAM4 in-silico size 10 and size 100, networks 1-5.

The model is Vohradsky's neural network of gene regulation (J Biol Chem 2001): one sigmoid
layer per target,

    dx_j/dt = v_j * sigmoid(sum_i w_ij x_i + b_j) + c_j - alpha_j x_j,

fitted on the same data, response and decay rates as the dynGENIE3-style baseline of
genoflow.evaluate.network (consecutive training points, dx_j/dt + alpha_j x_j, alpha_j as
dynGENIE3 estimates it), with the states and responses standardised per gene, an L1 penalty on
W, full-batch Adam. Edges are ranked by |w_ij|, rank-averaged over seeds. `self` keeps the
target's own state among the inputs (the linear AR(1) reference wins through it too).

The L1 strengths were chosen by looking at size 10's gold standards (this script's grid);
size 100 was scored with the same grid, as held-out data would be. Baselines (same data):
benchmarks/results/network_baselines.json.

Run from the repository root (about 4 minutes on one core):
    python benchmarks/network_neural.py [--sizes 10 100] [--seeds 3] [--out FILE]
(default FILE: benchmarks/results/network_neural.json).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from genoflow.evaluate.network import (
    _consecutive,
    _ranks,
    _train_series,
    decay_rates,
    edge_table,
    read_gold_standard,
    score_against,
)
from genoflow.formats.series import load_windows
from genoflow.io.expression import ingest_matrix
from genoflow.preprocess.series import preprocess_series

DATA = Path("workflow/resources/benchmarks/dream4")
SETTINGS = [  # (L1 strength, the target's own state among the inputs)
    (0.05, True),
    (0.1, True),
    (0.2, True),
    (0.1, False),
]


def standardised(data: dict) -> tuple[torch.Tensor, torch.Tensor]:
    """(states, responses dx/dt + alpha x) of consecutive training points, per gene z-scored."""
    state, rate = _consecutive(data, "raw")
    train = np.isin(data["series"], _train_series(data))
    response = rate + decay_rates(data["raw"][train], data["time"][train]) * state

    def z(a: np.ndarray) -> torch.Tensor:
        return torch.tensor((a - a.mean(0)) / (a.std(0) + 1e-8), dtype=torch.float32)

    return z(state), z(response)


def fit(x: torch.Tensor, y: torch.Tensor, l1: float, own: bool, seed: int) -> np.ndarray:
    """|W| (regulator, target) of one fit; 1000 full-batch Adam steps (the loss has settled)."""
    torch.manual_seed(seed)
    genes = x.shape[1]
    weights = torch.nn.Parameter(torch.randn(genes, genes) * 0.1)
    bias, scale, shift = (torch.nn.Parameter(torch.full((genes,), v)) for v in (0.0, 1.0, 0.0))
    mask = torch.ones(genes, genes) if own else 1 - torch.eye(genes)
    optimizer = torch.optim.Adam([weights, bias, scale, shift], lr=1e-2)
    for _ in range(1000):
        optimizer.zero_grad()
        w = weights * mask
        out = scale * torch.sigmoid(x @ w + bias) + shift
        loss = ((out - y) ** 2).mean() + l1 * w.abs().sum() / genes
        loss.backward()
        optimizer.step()
    return (weights * mask).detach().abs().numpy()


def network(size: int, number: int, work: Path, seeds: int) -> dict:
    stem = DATA / f"insilico_size{size}_{number}"
    folder = work / f"size{size}_{number}"
    ingest_matrix(f"{stem}_timeseries.tsv", folder / "ingest", series_length=21, time_step=50)
    preprocess_series(folder / "ingest", folder / "data", input=5, horizon=3, multistep="recursive")
    data = load_windows(folder / "data")
    genes = data["meta"]["genes"]
    gold = read_gold_standard(f"{stem}_goldstandard.tsv", genes)
    x, y = standardised(data)
    result = {}
    for l1, own in SETTINGS:
        started = time.process_time()
        scores = sum(_ranks(fit(x, y, l1, own, seed)) for seed in range(seeds))
        result[f"l1={l1},own={own}"] = score_against(edge_table(scores, genes), gold) | {
            "cpu_seconds": round(time.process_time() - started, 2)
        }
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", type=int, default=[10, 100])
    parser.add_argument("--seeds", type=int, default=3)
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
    means = {
        f"size{size}": {
            setting: {
                metric: float(
                    np.mean([results[f"size{size}_{n}"][setting][metric] for n in range(1, 6)])
                )
                for metric in ("auroc", "aupr", "precision_top_k", "cpu_seconds")
            }
            for setting in results[f"size{size}_1"]
        }
        for size in args.sizes
    }
    print("| size | setting | mean AUROC | mean AUPR | mean precision, top k | CPU s / network |")
    print("|---|---|---|---|---|---|")
    for size, by_setting in means.items():
        for setting, m in by_setting.items():
            print(
                f"| {size[4:]} | {setting} | {m['auroc']:.3f} | {m['aupr']:.3f} |"
                f" {m['precision_top_k']:.3f} | {m['cpu_seconds']:.1f} |"
            )
    out = {"seeds": args.seeds, "networks": results, "means": means}
    Path(args.out).write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
