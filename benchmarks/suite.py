"""The model-quality benchmark suite: each benchmark config run by the real workflow, genoflow's
numbers beside the published ones.

    python benchmarks/suite.py                       # every config, --cores 2
    python benchmarks/suite.py --only cnnprom_ecoli splice_tune --cores 2

Each config (workflow/configs/<name>.yaml, and the demo config.yaml as `demo`) runs as
`snakemake --cores N --configfile <config>` in the repository (the configs' dataset names are
distinct, so their results/ folders sit side by side; a finished benchmark reruns nothing).
Then, per dataset, every model's test metric (mean and sd over seeds), its validation loss,
which model validation selected, and the config's `published` result are collected. The CPU
time of each run (user + system of snakemake and every job, from the kernel's accounting of
waited-for children) and its wall time stand next to the numbers: a rerun that finds
everything done costs seconds, so the CPU time of the run that trained is the one to quote.
Prints a markdown table per config and writes benchmarks/results/suite.json (merged with what
earlier runs of other configs wrote).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import yaml

from genoflow.report.network import NETWORK_METHODS  # the rankings network/metrics.json holds

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results" / "suite.json"
CONFIGS = {
    "demo": ROOT / "config.yaml",
    **{path.stem: path for path in sorted((ROOT / "workflow" / "configs").glob("*.yaml"))},
}
PRIMARY = {  # the metric each task's table shows
    "classification": "accuracy",
    "token_classification": "q3",
    "multilabel": "auroc",
    "regression": "r2",
    "forecasting": "skill",
}


def run_config(name: str, path: Path, cores: int) -> dict:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    command = ["snakemake", "--cores", str(cores), "--configfile", str(path.relative_to(ROOT))]
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        raise SystemExit(f"{name}: snakemake failed\n{result.stderr[-3000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    config = yaml.safe_load(path.read_text())
    return {
        "config": str(path.relative_to(ROOT)),
        "command": " ".join(command),
        "cpu_seconds": round(cpu, 1),
        "wall_seconds": round(wall, 1),
        "cores": cores,
        "datasets": {ds: dataset_result(ds, config["datasets"][ds]) for ds in config["datasets"]},
    }


def dataset_result(dataset: str, entry: dict) -> dict:
    root = ROOT / "results" / dataset
    summary = pd.read_csv(root / "summary.tsv", sep="\t", dtype={"model": str})
    comparison = json.loads((root / "comparison.json").read_text())
    task = entry.get("task", "classification")
    metric = PRIMARY[task]
    models = {}
    for model, rows in summary.groupby("model", sort=False):
        models[model] = {
            "type": str(rows["type"].iloc[0]),
            "seeds": len(rows),
            metric: round(float(rows[metric].mean()), 4),
            f"{metric}_sd": round(float(rows[metric].std(ddof=1)), 4) if len(rows) > 1 else None,
            "mcc": round(float(rows["mcc"].mean()), 4) if "mcc" in rows else None,
            "val_loss": None
            if rows["val_loss"].isna().all()
            else round(float(rows["val_loss"].mean()), 4),
            "train_seconds": round(float(rows["train_seconds"].fillna(0).mean()), 1),
        }
    result = {
        "task": task,
        "metric": metric,
        "selected": comparison.get("selected"),
        "published": entry.get("published"),
        "models": models,
    }
    network = root / "network" / "metrics.json"
    if network.is_file():  # forecasting datasets with a gold standard: every ranking's score
        scores = json.loads(network.read_text())
        result["network"] = {
            method: {key: round(scores[method][key], 4) for key in ("auroc", "aupr")}
            for method, _ in NETWORK_METHODS
            if method in scores
        }
    return result


def markdown(name: str, result: dict) -> str:
    lines = [
        f"### {name}: `{result['command']}` — CPU {result['cpu_seconds'] / 60:.1f} min,"
        f" wall {result['wall_seconds'] / 60:.1f} min on {result['cores']} cores"
    ]
    for dataset, data in result["datasets"].items():
        metric = data["metric"]
        lines += [
            "",
            f"**{dataset}** (test {metric}; selected on validation: {data['selected']})",
            "",
        ]
        lines += [
            f"| model | {metric} (mean ± sd over seeds) | MCC | val. loss | seeds |",
            "|---|---|---|---|---|",
        ]
        for model, row in data["models"].items():
            sd = f" ± {row[metric + '_sd']:.3f}" if row[f"{metric}_sd"] is not None else ""
            mark = " **(selected)**" if model == data["selected"] else ""
            mcc = f"{row['mcc']:.3f}" if row["mcc"] is not None else "—"
            val = f"{row['val_loss']:.4f}" if row["val_loss"] is not None else "—"
            lines.append(
                f"| {model}{mark} | {row[metric]:.3f}{sd} | {mcc} | {val} | {row['seeds']} |"
            )
        if data.get("network"):
            scores = ", ".join(
                f"{method} {value['auroc']:.3f}" for method, value in data["network"].items()
            )
            lines += ["", f"Network AUROC against the gold standard: {scores}"]
        published = data["published"]
        if published:
            lines.append(
                f"| published: {published['source']} | {published['metric']} {published['value']}"
                f" | | | {published.get('note', '')} |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=sorted(CONFIGS), help="these configs only")
    parser.add_argument("--cores", type=int, default=2)
    args = parser.parse_args()
    results = json.loads(OUT.read_text()) if OUT.is_file() else {"runs": {}}
    for name in args.only or list(CONFIGS):
        print(f"== {name}", flush=True)
        result = run_config(name, CONFIGS[name], args.cores)
        result["machine"] = f"{platform.machine()}, {os.cpu_count()} CPUs"
        results["runs"][name] = result
        OUT.parent.mkdir(parents=True, exist_ok=True)
        OUT.write_text(json.dumps(results, indent=2) + "\n")
        print(markdown(name, result), flush=True)


if __name__ == "__main__":
    main()
