"""The gene-network baselines on DREAM4 in-silico size 10 and size 100, networks 1-5.

For each network: `genoflow ingest-matrix` + `preprocess-series` (stacked trajectories of 21
points, 50 time units apart; the last trajectory is test, the one before it validation, as in
workflow/configs/dream4_size10.yaml), then the three baseline rankings of `genoflow network`
(ridge on the input windows, ridge AR(1), dynGENIE3-style trees), all fitted on the training
trajectories, scored against the gold standard: AUROC, AUPR, precision of the top k, and the
CPU seconds of each ranking. The neural ranking needs trained forecasters: the workflow
configs give it (README, "Gene-interaction ranking").

Run from the repository root (about 3 minutes on one core):
    python benchmarks/network_baselines.py [--sizes 10 100] [--out FILE]
(default FILE: benchmarks/results/network_baselines.json).
Data: workflow/resources/benchmarks/dream4/ (provenance in its README).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from genoflow.evaluate.network import (
    _ar1_scores,
    edge_table,
    read_gold_standard,
    ridge_scores,
    score_against,
    tree_scores,
)
from genoflow.formats.series import load_windows, window_arrays
from genoflow.io.expression import ingest_matrix
from genoflow.preprocess.series import preprocess_series

DATA = Path("workflow/resources/benchmarks/dream4")
METHODS = ("ridge", "ridge_ar1", "dyngenie3")


def rank(data: dict, method: str) -> np.ndarray:
    if method == "ridge":
        _, inputs, targets = window_arrays(data, "train")
        return ridge_scores(inputs, targets)
    return _ar1_scores(data) if method == "ridge_ar1" else tree_scores(data)


def prepare(size: int, number: int, work: Path) -> tuple[dict, list[str], object]:
    """One DREAM4 network through ingest-matrix + preprocess-series: (windows, genes, gold)."""
    stem = DATA / f"insilico_size{size}_{number}"
    folder = work / f"size{size}_{number}"
    ingest_matrix(f"{stem}_timeseries.tsv", folder / "ingest", series_length=21, time_step=50)
    preprocess_series(folder / "ingest", folder / "data", input=5, horizon=3, multistep="recursive")
    data = load_windows(folder / "data")
    genes = data["meta"]["genes"]
    return data, genes, read_gold_standard(f"{stem}_goldstandard.tsv", genes)


def network(size: int, number: int, work: Path) -> dict:
    data, genes, gold = prepare(size, number, work)
    result = {}
    for method in METHODS:
        started = time.process_time()
        scores = rank(data, method)
        seconds = time.process_time() - started
        result[method] = score_against(edge_table(scores, genes), gold) | {
            "cpu_seconds": round(seconds, 2)
        }
    return result


def mean_table(results: dict, sizes: list[int], label: str) -> dict:
    """Each size's mean over networks 1-5 of every row's scores (`results["size{s}_{n}"]` maps a
    method or setting to its scores), printed as a markdown table; `label` heads the row names."""
    means = {
        f"size{size}": {
            name: {
                metric: float(
                    np.mean([results[f"size{size}_{n}"][name][metric] for n in range(1, 6)])
                )
                for metric in ("auroc", "aupr", "precision_top_k", "cpu_seconds")
            }
            for name in results[f"size{size}_1"]
        }
        for size in sizes
    }
    print(f"| size | {label} | mean AUROC | mean AUPR | mean precision, top k | CPU s / network |")
    print("|---|---|---|---|---|---|")
    for size, rows in means.items():
        for name, m in rows.items():
            print(
                f"| {size[4:]} | {name} | {m['auroc']:.3f} | {m['aupr']:.3f} |"
                f" {m['precision_top_k']:.3f} | {m['cpu_seconds']:.1f} |"
            )
    return means


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", type=int, default=[10, 100])
    parser.add_argument("--out", default="benchmarks/results/network_baselines.json")
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as work:
        for size in args.sizes:
            for number in range(1, 6):
                results[f"size{size}_{number}"] = network(size, number, Path(work))
                row = results[f"size{size}_{number}"]
                print(
                    f"size {size} network {number}: "
                    + ", ".join(f"{m} {row[m]['auroc']:.3f}" for m in METHODS),
                    flush=True,
                )
    means = mean_table(results, args.sizes, "method")
    Path(args.out).write_text(json.dumps({"networks": results, "means": means}, indent=1) + "\n")


if __name__ == "__main__":
    main()
