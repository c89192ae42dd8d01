"""Gene-network ranking at genome scale: 1,000 genes, 100 candidate regulators, on 2 CPU cores.

A simulated network (each of the 900 non-regulators has 2 regulators among the 100; linear
dynamics with noise, 10 series x 21 time points, values kept positive as expression is) goes
through the workflow's own stages, each as its `genoflow` command: ingest-matrix,
preprocess-series, train (one GRU forecaster, 30 epochs at most), network with a regulators
file and 2 threads. Reported per stage: wall seconds, CPU seconds and peak memory (max RSS of
the process); and the rankings' AUROC against the simulated truth.

Run from the repository root (about 3 minutes):
    python benchmarks/network_scale.py [--genes 1000] [--regulators 100] [--out FILE]
(default FILE: benchmarks/results/network_scale.json).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def simulate(root: Path, genes: int, regulators: int, series: int = 10, points: int = 21) -> None:
    rng = np.random.default_rng(0)
    names = [f"g{i}" for i in range(genes)]
    a = np.zeros((genes, genes))
    edges = set()
    for target in range(regulators, genes):
        for regulator in rng.choice(regulators, size=2, replace=False):
            a[target, regulator] = rng.choice([-1, 1]) * rng.uniform(0.4, 0.8)
            edges.add((int(regulator), target))
    for target in range(regulators):  # regulators drift on their own
        a[target, target] = 0.9
    rows, samples = [], []
    for s in range(series):
        x = rng.normal(0, 1, genes)
        for t in range(points):
            rows.append(x + 10.0)  # positive, as expression is
            samples.append((f"s{s}_t{t}", f"s{s}", t))
            x = x + 0.3 * (a @ x - x) + rng.normal(0, 0.1, genes)
    matrix = ["\t".join(["sample", *names])]
    matrix += [
        "\t".join([n, *(f"{v:.4f}" for v in row)])
        for (n, _, _), row in zip(samples, rows, strict=True)
    ]
    (root / "matrix.tsv").write_text("\n".join(matrix) + "\n")
    table = ["sample\tseries\ttime", *(f"{n}\t{s}\t{t}" for n, s, t in samples)]
    (root / "samples.tsv").write_text("\n".join(table) + "\n")
    (root / "tfs.txt").write_text("\n".join(names[:regulators]) + "\n")
    gold = [
        f"{names[r]}\t{names[t]}\t{int((r, t) in edges)}"
        for r in range(regulators)
        for t in range(genes)
        if r != t
    ]
    (root / "gold.tsv").write_text("\n".join(gold) + "\n")


def stage(name: str, args: list[str]) -> dict:
    """Run one `genoflow` command; wall, CPU and peak memory of that child."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "genoflow", *args], check=True, capture_output=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    # ru_maxrss of RUSAGE_CHILDREN is the largest child so far (KiB on Linux); stages run in
    # order of growing size here, and each row reports the running maximum.
    return {
        "stage": name,
        "wall_s": round(wall, 1),
        "cpu_s": round(cpu, 1),
        "max_rss_mib_so_far": round(after.ru_maxrss / 1024),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--genes", type=int, default=1000)
    parser.add_argument("--regulators", type=int, default=100)
    parser.add_argument("--out", default="benchmarks/results/network_scale.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        root = Path(work)
        simulate(root, args.genes, args.regulators)
        train = json.dumps({"max_epochs": 30, "batch_size": 32, "patience": 5})
        model = json.dumps({"hidden": 32, "pool": "flatten"})
        rows = [
            stage(
                "ingest-matrix",
                [
                    "ingest-matrix",
                    "--matrix",
                    f"{root}/matrix.tsv",
                    "--samples",
                    f"{root}/samples.tsv",
                    "--out",
                    f"{root}/i",
                ],
            ),
            stage(
                "preprocess-series",
                [
                    "preprocess-series",
                    "--ingest",
                    f"{root}/i",
                    "--out",
                    f"{root}/p",
                    "--input",
                    "3",
                ],
            ),
            stage(
                "train gru",
                [
                    "train",
                    "--data",
                    f"{root}/p",
                    "--out",
                    f"{root}/gru/seed0",
                    "--model",
                    "gru",
                    "--type",
                    "gru",
                    "--model-args",
                    model,
                    "--train",
                    train,
                    "--threads",
                    "2",
                ],
            ),
            stage(
                "network",
                [
                    "network",
                    "--models",
                    f"{root}/gru/seed0/model.ckpt",
                    "--data",
                    f"{root}/p",
                    "--out",
                    f"{root}/n",
                    "--gold-standard",
                    f"{root}/gold.tsv",
                    "--regulators-file",
                    f"{root}/tfs.txt",
                    "--threads",
                    "2",
                ],
            ),
        ]
        metrics = json.loads((root / "n" / "metrics.json").read_text())
    scores = {
        k: round(metrics[k]["auroc"], 3)
        for k in ("neural", "regulation", "ridge", "ridge_ar1", "dyngenie3")
    }
    print("| stage | wall s | CPU s | peak RSS so far (MiB) |\n|---|---|---|---|")
    for row in rows:
        print(
            f"| {row['stage']} | {row['wall_s']} | {row['cpu_s']} | {row['max_rss_mib_so_far']} |"
        )
    print("AUROC against the simulated network:", scores)
    result = {
        "genes": args.genes,
        "regulators": args.regulators,
        "stages": rows,
        "auroc": scores,
        "pairs_scored": metrics["neural"]["edges_scored"],
    }
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
