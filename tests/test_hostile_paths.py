"""The whole workflow from a checkout folder, and on data files, whose names hold a space,
quotes, `$(...)`, backticks and `;`: every rule runs, and nothing outside the results runs or is
created (every value reaches a shell quoted)."""

from __future__ import annotations

import random
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from conftest import REPO, genoflow_env, write_motif_fasta

pytestmark = pytest.mark.e2e

# Each would create a file named PWNED_* if a shell ever ran it.
HOSTILE = "gf 'q' \"dq\" $(touch PWNED_A) `touch PWNED_B`; touch PWNED_C & x"
DREAM4 = REPO / "workflow" / "resources" / "demo" / "dream4"


def copy_checkout(target: Path) -> Path:
    """The parts of a checkout a run needs: Snakefile, workflow/ and src/."""
    target.mkdir(parents=True)
    shutil.copy(REPO / "Snakefile", target / "Snakefile")
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info")
    for folder in ("workflow", "src", "envs"):
        shutil.copytree(REPO / folder, target / folder, ignore=ignore)
    return target


def write_project(root: Path) -> dict:
    """Data files with hostile names, and a config that reaches every rule: ingest (a FASTA
    with a label table; BED regions on a reference), ingest-matrix with a gold standard
    (network), preprocess, train, evaluate, summarize, figures, interpret, predict, report."""
    data = root / f"data {HOSTILE}"
    data.mkdir(parents=True)
    fasta = data / f"seqs {HOSTILE}.fa"
    write_motif_fasta(fasta, n=160, length=30)
    labels = ["id\tlabel"] + [f"seq{i}\t{'pos' if i % 2 else 'neg'}" for i in range(160)]
    (data / f"labels {HOSTILE}.tsv").write_text("\n".join(labels) + "\n")
    genome = "".join(random.Random(1).choices("ACGT", k=3000))
    (data / f"genome {HOSTILE}.fa").write_text(
        ">chr1\n" + "\n".join(genome[k : k + 60] for k in range(0, 3000, 60)) + "\n"
    )
    bed_lines = [f"chr1\t{k * 100}\t{k * 100 + 40}\tr{k}\t0\t+\t{'ab'[k % 2]}" for k in range(28)]
    (data / f"regions {HOSTILE}.bed").write_text("\n".join(bed_lines) + "\n")
    shutil.copy(DREAM4 / "insilico_size10_1_timeseries.tsv", data / f"net {HOSTILE}.tsv")
    shutil.copy(DREAM4 / "insilico_size10_1_goldstandard.tsv", data / f"gold {HOSTILE}.tsv")
    (data / f"new {HOSTILE}.fa").write_text(">n1\nACGTTATAATACGTACGTACGTACGTACGT\n")
    rel = data.relative_to(root)
    config = {
        "datasets": {
            "motifs": {
                "alphabet": "dna",
                "fasta": [f"{rel}/seqs {HOSTILE}.fa"],
                "labels": f"{rel}/labels {HOSTILE}.tsv",
                "models": ["gru", "kmer_logreg"],
            },
            "regions": {
                "alphabet": "dna",
                "regions": {
                    "bed": f"{rel}/regions {HOSTILE}.bed",
                    "reference": f"{rel}/genome {HOSTILE}.fa",
                    "label_column": 7,
                },
                "split": {"method": "random", "val": 0.2, "test": 0.3},
                "models": ["kmer_logreg"],
            },
            "net": {
                "task": "forecasting",
                "matrix": f"{rel}/net {HOSTILE}.tsv",
                "series_length": 21,
                "gold_standard": f"{rel}/gold {HOSTILE}.tsv",
                "forecast": {"input": 3, "horizon": 1},
                "models": ["gru", "persistence"],
            },
        },
        "models": {
            "gru": {"type": "gru", "hidden": 8},
            "kmer_logreg": {"type": "kmer_logreg", "k": 2},
            "persistence": {"type": "persistence"},
        },
        "seeds": [0],
        "train": {"max_epochs": 2, "batch_size": 32},
        "evaluate": {"bootstrap": 20},
        "interpret": {"records": 20},
        "predict": {
            "new": {"dataset": "motifs", "model": "gru", "fasta": [f"{rel}/new {HOSTILE}.fa"]}
        },
    }
    return config


def test_hostile_checkout_and_data_paths_run_everything_and_nothing_else(tmp_path):
    checkout = copy_checkout(tmp_path / f"checkout {HOSTILE}")
    project = tmp_path / f"project {HOSTILE}"
    config = write_project(project)
    config_file = project / f"config {HOSTILE}.yaml"
    config_file.write_text(yaml.safe_dump(config))
    inputs = {p for p in project.rglob("*")}
    result = subprocess.run(
        [
            "snakemake",
            "--snakefile",
            str(checkout / "Snakefile"),
            "--directory",
            str(project),
            "--configfile",
            str(config_file),
            "--cores",
            "2",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=genoflow_env(),
        timeout=900,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    for name in ("PWNED_A", "PWNED_B", "PWNED_C"):
        found = [p for root in (tmp_path, Path.cwd(), Path.home()) for p in root.rglob(name)]
        assert not found, f"a shell ran {name}: {found}"
    results = project / "results"
    for dataset in ("motifs", "regions", "net"):
        assert (results / dataset / "summary.tsv").is_file()
    assert (results / "net" / "network" / "metrics.json").is_file()
    assert (results / "motifs" / "interpret" / "summary.json").is_file()
    assert (results / "predict" / "new.tsv").read_text().count("\n") == 2
    assert (results / "report" / "index.html").is_file()
    made = {p for p in project.rglob("*")} - inputs
    tops = {p.relative_to(project).parts[0] for p in made}
    assert tops <= {"results", "logs", "benchmarks", ".snakemake"}, tops
