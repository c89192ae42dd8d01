"""Shared fixtures: small generated datasets with a learnable rule, and the repository paths."""

from __future__ import annotations

import csv
import os
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parent / "data"
MOTIF = "TATAAT"


def write_motif_fasta(path: Path, n: int = 300, length: int = 40, seed: int = 0) -> None:
    """DNA records labelled pos when they hold MOTIF (planted at a random place), else neg."""
    rng = np.random.default_rng(seed)
    lines = []
    for i in range(n):
        sequence = list(rng.choice(list("ACGT"), size=length))
        label = "pos" if i % 2 else "neg"
        if label == "pos":
            start = rng.integers(0, length - len(MOTIF))
            sequence[start : start + len(MOTIF)] = MOTIF
        text = "".join(sequence)
        if label == "neg":
            text = text.replace(MOTIF, "TATTAT")  # keep negatives motif-free
        lines.append(f">seq{i} {label}\n{text}\n")
    path.write_text("".join(lines))


@pytest.fixture(scope="session")
def motif_data(tmp_path_factory) -> Path:
    """A preprocessed binary dataset (300 x 40 nt) in a session-wide folder."""
    from genoflow.ingest import FastaInput, ingest
    from genoflow.preprocess import preprocess

    root = tmp_path_factory.mktemp("motif")
    fasta = root / "motif.fa"
    write_motif_fasta(fasta)
    ingest([FastaInput(fasta)], root / "ingest", alphabet="dna", label_pattern=r"^\S+\s+(\S+)")
    preprocess(root / "ingest", root / "preprocess")
    return root / "preprocess"


def genoflow_env() -> dict[str, str]:
    """Environment for subprocesses: this interpreter's bin first on PATH, as `make` does."""
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = str(REPO / "src")
    return env


def make_run(
    root: Path,
    model: str,
    kind: str,
    seed: int,
    classes: list[str],
    *,
    n: int = 150,
    skill: float = 1.5,
    epochs: int = 6,
) -> Path:
    """A run folder as `genoflow train` + `genoflow evaluate` leave it, without training:
    synthetic predictions (higher `skill`, better) written by the real writers."""
    from genoflow.io import write_json
    from genoflow.metrics import evaluate
    from genoflow.train import write_predictions

    rng = np.random.default_rng([seed, len(model), len(classes), n])
    y = np.arange(n) % len(classes)
    logits = rng.normal(size=(n, len(classes)))
    logits[np.arange(n), y] += skill
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    run = root / model / f"seed{seed}"
    write_predictions(run / "predictions.tsv", [f"rec{i}" for i in range(n)], y, probs, classes)
    evaluate(run / "predictions.tsv", run / "metrics.json", n_boot=50, seed=seed)
    with open(run / "history.csv", "w", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(
            ["epoch", "seconds", "train_loss", "train_accuracy", "val_loss", "val_accuracy", "lr"]
        )
        for epoch in range(epochs):
            train_loss, val_loss = 1.1 / (1 + 0.3 * epoch), 1.0 / (1 + 0.2 * epoch) + 0.01 * epoch
            writer.writerow([epoch, 1.5, train_loss, 0.5, val_loss, 0.5, 0.001])
    info = {
        "model": model,
        "type": kind,
        "seed": seed,
        "params": 20_000 + 1000 * len(model),
        "train_seconds": 12.5 + seed,
        "epochs": epochs,
        "best_epoch": epochs - 2,
        "device": "cpu",
        "precision": "32-true",
        "stopped_early": False,
        "resumed": False,
        "model_args": {"hidden": 16},
        "train": {"max_epochs": epochs, "lr": 0.001},
    }
    write_json(run / "train.json", info)
    return run
