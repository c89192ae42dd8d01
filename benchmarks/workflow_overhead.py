"""Workflow overhead: the share of a `make run` that is not inside any job.

    python benchmarks/workflow_overhead.py                 # the demo, 2 runs, --cores 2
    python benchmarks/workflow_overhead.py --reps 1

Each repetition runs the bundled demo from scratch, exactly as `make run` does
(`snakemake --cores 2` with the repository's Snakefile and config.yaml), in a fresh temporary
folder that links Snakefile, config.yaml, workflow/ and src/ (so the relative paths of the
config resolve as in the repository; no results/ or .snakemake/ are shared).

Every job of the demo is a shell command that runs `<python> -m genoflow ...`. A small shim,
given to the workflow as that Python ($GENOFLOW_PYTHON), writes each job's start and end (wall
clock, ns) to a log and execs the interpreter (its own cost is a bash start, a few ms per
job). From these intervals:
  wall      the snakemake process, from launch to exit;
  in jobs   the union over time of the job intervals (with --cores 2 two jobs may run at once,
            so the union is the time during which at least one job runs; summing the jobs'
            times would count parallel work twice);
  overhead  wall - in jobs: Snakemake's startup (imports, config validation, DAG), the
            scheduling gaps between one job's end and the next job's start, and the wrap-up
            after the last job. Goal: under 10 % of the wall time.
The jobs' own times are cross-checked with Snakemake's `benchmark:` files where rules have one
(train: benchmarks/train/{dataset}/{model}/seed{seed}.tsv, column s). Prints a table
(median and min-max over repetitions) and writes benchmarks/results/workflow_overhead.json.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from stats import fmt, summary  # benchmarks/stats.py: scripts run from this folder

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
LINKED = ("Snakefile", "config.yaml", "workflow", "src")
SHIM = """#!/bin/bash
# Records a job's python command: start end exit-status arguments (see workflow_overhead.py).
start=$(date +%s.%N)
"$GENOFLOW_BENCH_PYTHON" "$@"
status=$?
echo "$start $(date +%s.%N) $status $*" >> "$GENOFLOW_BENCH_JOBS"
exit $status
"""


def union_seconds(intervals: list[tuple[float, float]]) -> float:
    total, current_start, current_end = 0.0, None, None
    for start, end in sorted(intervals):
        if current_end is None or start > current_end:
            if current_end is not None:
                total += current_end - current_start
            current_start, current_end = start, end
        else:
            current_end = max(current_end, end)
    if current_end is not None:
        total += current_end - current_start
    return total


def job_name(arguments: str) -> str:
    """`-m genoflow train --data ...` -> genoflow train."""
    words = arguments.split()
    return " ".join(words[1:3]) if words[:1] == ["-m"] else words[0] if words else "?"


def run_once(root: Path, cores: int, extra: list[str]) -> dict:
    work = root / "work"
    work.mkdir(parents=True)
    for name in LINKED:
        (work / name).symlink_to(REPO / name)
    shim_dir = root / "shim"
    shim_dir.mkdir()
    (shim_dir / "python").write_text(SHIM)
    (shim_dir / "python").chmod(0o755)
    jobs_log = root / "jobs.log"
    env = dict(os.environ)
    env["PATH"] = f"{shim_dir}{os.pathsep}{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    env["GENOFLOW_BENCH_PYTHON"], env["GENOFLOW_BENCH_JOBS"] = sys.executable, str(jobs_log)
    env["GENOFLOW_PYTHON"] = str(shim_dir / "python")  # the Python the jobs run
    command = [sys.executable, "-m", "snakemake", "--cores", str(cores), *extra]
    with open(root / "snakemake.log", "w") as log:
        started = time.time()
        status = subprocess.call(command, cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT)
        ended = time.time()
    if status != 0:
        sys.exit(f"snakemake failed ({status}):\n{(root / 'snakemake.log').read_text()[-4000:]}")
    return analyse(root, started, ended)


def analyse(root: Path, started: float, ended: float) -> dict:
    """The measures of one run from its folder (jobs.log, work/benchmarks/) and wall clock."""
    work = root / "work"
    jobs = []
    for line in (root / "jobs.log").read_text().splitlines():
        start, end, code, arguments = line.split(" ", 3)
        jobs.append(
            {
                "job": job_name(arguments),
                "start": float(start),
                "end": float(end),
                "status": int(code),
            }
        )
    intervals = [(j["start"], j["end"]) for j in jobs]
    in_jobs = union_seconds(intervals)
    wall = ended - started
    first, last = min(s for s, _ in intervals), max(e for _, e in intervals)
    benchmark_seconds = {}
    for path in sorted((work / "benchmarks").rglob("*.tsv")):
        with open(path) as handle:
            row = next(csv.DictReader(handle, delimiter="\t"))
        benchmark_seconds[str(path.relative_to(work / "benchmarks"))] = float(row["s"])
    train_jobs = sorted(j["end"] - j["start"] for j in jobs if j["job"] == "genoflow train")
    per_kind: dict[str, list[float]] = {}
    for j in jobs:
        per_kind.setdefault(j["job"], []).append(j["end"] - j["start"])
    return {
        "wall_seconds": wall,
        "in_jobs_seconds": in_jobs,
        "overhead_seconds": wall - in_jobs,
        "overhead_share": (wall - in_jobs) / wall,
        "startup_seconds": first - started,  # before the first job starts
        "gaps_seconds": (last - first) - in_jobs,  # no job running, between first and last
        "wrapup_seconds": ended - last,  # after the last job ends
        "jobs": len(jobs),
        "job_seconds_sum": sum(e - s for s, e in intervals),
        "per_job_kind": {k: {"n": len(v), "seconds": sum(v)} for k, v in sorted(per_kind.items())},
        "benchmark_files_train_seconds": sorted(benchmark_seconds.values()),
        "shim_train_seconds": train_jobs,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=2)
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--keep", type=Path, help="keep the last run's folder here")
    parser.add_argument(
        "--snakemake-args", default="", help="extra snakemake arguments (quoted), to compare"
    )
    parser.add_argument("--results", type=Path, default=HERE / "results" / "workflow_overhead.json")
    args = parser.parse_args(argv)

    runs = []
    for rep in range(args.reps):
        root = Path(tempfile.mkdtemp(prefix="genoflow-bench-wf-"))
        try:
            run = run_once(root, args.cores, args.snakemake_args.split())
            if args.keep and rep == args.reps - 1:
                shutil.rmtree(args.keep, ignore_errors=True)
                shutil.copytree(root, args.keep, symlinks=True)
        finally:
            shutil.rmtree(root, ignore_errors=True)
        runs.append(run)
        print_run(rep, run)
    write_results(runs, args)


def print_run(rep: int, run: dict) -> None:
    print(
        f"  rep {rep}: wall {run['wall_seconds']:.1f} s,"
        f" in jobs {run['in_jobs_seconds']:.1f} s,"
        f" overhead {run['overhead_seconds']:.1f} s ({100 * run['overhead_share']:.1f} %):"
        f" startup {run['startup_seconds']:.1f}, gaps {run['gaps_seconds']:.1f},"
        f" wrap-up {run['wrapup_seconds']:.1f}; {run['jobs']} jobs"
    )


def write_results(runs: list[dict], args) -> None:
    keys = (
        "wall_seconds",
        "in_jobs_seconds",
        "overhead_seconds",
        "startup_seconds",
        "gaps_seconds",
        "wrapup_seconds",
        "job_seconds_sum",
    )
    result = {k: summary([r[k] for r in runs]) for k in keys}
    result["overhead_percent"] = summary([100 * r["overhead_share"] for r in runs])
    result["goal"] = "overhead < 10 % of the wall time"
    result["cores"] = args.cores
    result["snakemake_args"] = args.snakemake_args
    result["runs"] = runs
    snakemake_version = subprocess.run(
        [sys.executable, "-m", "snakemake", "--version"], capture_output=True, text=True
    ).stdout.strip()
    result["machine"] = {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "snakemake": snakemake_version,
    }
    result["when"] = time.strftime("%Y-%m-%d %H:%M:%S")

    print()
    print(
        f"the demo workflow (`make run`: snakemake --cores {args.cores}), {runs[0]['jobs']} jobs;"
        f" median (min-max) over {len(runs)} runs"
    )
    rows = [
        ("wall time, s", "wall_seconds"),
        ("inside jobs (union), s", "in_jobs_seconds"),
        ("sum of job times, s", "job_seconds_sum"),
        ("not inside a job, s", "overhead_seconds"),
        ("  startup before 1st job", "startup_seconds"),
        ("  gaps between jobs", "gaps_seconds"),
        ("  after the last job", "wrapup_seconds"),
        ("not inside a job, %", "overhead_percent"),
    ]
    for label, key in rows:
        print(f"{label:<28}{fmt(result[key]):>24}")
    kinds = runs[-1]["per_job_kind"].items()
    print(
        "per job kind (last run): "
        + ", ".join(f"{k} {v['n']}x {v['seconds']:.1f} s" for k, v in kinds)
    )
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nwrote {args.results}")


if __name__ == "__main__":
    main()
