"""Shared fixtures: small generated datasets with a learnable rule, and the repository paths."""

from __future__ import annotations

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
