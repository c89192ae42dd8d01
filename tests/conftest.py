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
    from genoflow.io.ingest import ingest
    from genoflow.io.sources import FastaInput
    from genoflow.preprocess.sequences import preprocess

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
    from genoflow.evaluate.metrics import evaluate
    from genoflow.formats.files import write_json
    from genoflow.formats.predictions import write_predictions

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
        "best_val_loss": round(1.0 / (1.0 + skill), 6),  # a better model validates better too
        "device": "cpu",
        "precision": "32-true",
        "stopped_early": False,
        "resumed": False,
        "model_args": {"hidden": 16},
        "train": {"max_epochs": epochs, "lr": 0.001},
    }
    write_json(run / "train.json", info)
    return run


def _write_info(
    run: Path, model: str, kind: str, seed: int, epochs: int, val_loss: float = 0.5
) -> None:
    from genoflow.formats.files import write_json

    write_json(
        run / "train.json",
        {
            "model": model,
            "type": kind,
            "seed": seed,
            "params": 0 if kind == "persistence" else 20_000 + 1000 * len(model),
            "train_seconds": 12.5 + seed,
            "epochs": epochs,
            "best_epoch": max(0, epochs - 2),
            "best_val_loss": val_loss,
            "device": "cpu",
            "precision": "32-true",
            "stopped_early": False,
            "resumed": False,
            "model_args": {"hidden": 16},
            "train": {"max_epochs": epochs, "lr": 0.001},
        },
    )


def _write_loss_history(run: Path, kind: str, epochs: int) -> int:
    """history.csv as training leaves it: epochs for neural models, one row per ridge penalty
    for the ridge baselines, the header only for persistence. Returns the rows written."""
    from genoflow.formats.predictions import write_history

    if kind == "persistence":
        rows = []
    elif kind in ("ridge_ar", "kmer_ridge"):
        penalties = (0.01, 0.1, 1.0, 10.0, 100.0)
        rows = [
            {"epoch": i, "seconds": 0.0, "train_loss": 0.2 + 0.01 * i, "val_loss": 0.3, "lr": a}
            for i, a in enumerate(penalties)
        ]
    else:
        rows = [
            {
                "epoch": epoch,
                "seconds": 1.5,
                "train_loss": 1.1 / (1 + 0.3 * epoch),
                "val_loss": 1.0 / (1 + 0.2 * epoch) + 0.01 * epoch,
                "lr": 0.001,
            }
            for epoch in range(epochs)
        ]
    write_history(run / "history.csv", rows)
    return len(rows)


def make_regression_run(
    root: Path,
    model: str,
    kind: str,
    seed: int,
    targets: list[str],
    *,
    n: int = 120,
    noise: float = 0.5,
    epochs: int = 6,
) -> Path:
    """A regression run folder without training: measured values and predictions with noise
    of scale `noise` (smaller, better), written by train.write_regression_predictions and
    scored by the real metrics.evaluate."""
    from genoflow.evaluate.metrics import evaluate
    from genoflow.formats.predictions import write_regression_predictions

    truth_rng = np.random.default_rng([len(targets), n])  # the same records for every model
    truth = truth_rng.normal(size=(n, len(targets))) * (1 + np.arange(len(targets)))
    rng = np.random.default_rng([seed, len(model), len(targets), n, 7])
    predicted = truth + rng.normal(scale=noise, size=truth.shape) * (1 + np.arange(len(targets)))
    run = root / model / f"seed{seed}"
    ids = [f"rec{i}" for i in range(n)]
    write_regression_predictions(run / "predictions.tsv", ids, truth, predicted, targets)
    evaluate(run / "predictions.tsv", run / "metrics.json", n_boot=30, seed=seed)
    rows = _write_loss_history(run, kind, epochs)
    _write_info(run, model, kind, seed, rows, val_loss=round(noise**2, 6))
    return run


def forecast_truth(genes: list[str], series: list[str], length: int) -> dict[str, np.ndarray]:
    """Measured values (length, genes) per series: waves whose amplitude grows with the gene's
    index, so the genes with the largest variance are the last ones."""
    time = np.arange(length, dtype=float)
    return {
        name: np.stack(
            [1.0 + 0.1 * (g + 1) * np.sin(0.6 * time + g + s) for g in range(len(genes))],
            axis=1,
        )
        for s, name in enumerate(series)
    }


def make_forecast_run(
    root: Path,
    model: str,
    kind: str,
    seed: int,
    *,
    genes: list[str] = ("G1", "G2", "G3", "G4", "G5"),
    series: list[str] = ("ts9", "ts10"),
    length: int = 12,
    input: int = 3,
    horizon: int = 2,
    noise: float = 0.05,
    epochs: int = 6,
) -> Path:
    """A forecasting run folder without training: the long predictions table in the documented
    columns (window, series, origin_time, horizon, time, gene, last, truth, predicted), written
    with pandas and scored by the real metrics.evaluate. `kind` persistence predicts the last
    observed value; any other model predicts truth plus noise of scale `noise` that grows
    with the horizon (smaller `noise`, better)."""
    import pandas as pd

    from genoflow.evaluate.metrics import evaluate
    from genoflow.formats.predictions import FORECAST_COLUMNS

    genes, series = list(genes), list(series)
    values = forecast_truth(genes, series, length)
    rng = np.random.default_rng([seed, len(model), horizon, 11])
    rows, window = [], 0
    for name in series:
        for start in range(length - input - horizon + 1):
            origin = start + input - 1
            for h in range(1, horizon + 1):
                truth = values[name][origin + h]
                last = values[name][origin]
                if kind == "persistence":
                    predicted = last
                else:
                    predicted = truth + rng.normal(scale=noise * h, size=len(genes))
                for g, gene in enumerate(genes):
                    rows.append(
                        (
                            window,
                            name,
                            float(origin),
                            h,
                            float(origin + h),
                            gene,
                            last[g],
                            truth[g],
                            predicted[g],
                        )
                    )
            window += 1
    table = pd.DataFrame(rows, columns=FORECAST_COLUMNS[:9])
    for name in ("last", "truth", "predicted"):  # a standardised scale: 3x the raw values
        table[f"{name}_z"] = 3 * table[name]
    run = root / model / f"seed{seed}"
    run.mkdir(parents=True, exist_ok=True)
    table.to_csv(run / "predictions.tsv", sep="\t", index=False, float_format="%.6g")
    evaluate(run / "predictions.tsv", run / "metrics.json", n_boot=20, seed=seed)
    rows_written = _write_loss_history(run, kind, epochs)
    # persistence repeats the last value: its validation error is not the noise's
    val_loss = 0.02 if kind == "persistence" else round(noise**2, 6)
    _write_info(run, model, kind, seed, rows_written, val_loss=val_loss)
    return run


def write_motif_count_data(root: Path, n: int = 400, length: int = 50, seed: int = 0) -> None:
    """Sequences with 0-3 copies of MOTIF and a values table whose targets follow a known rule:
    `count` = number of copies (plus small noise), `double` = 2 * count + 1 (plus noise)."""
    rng = np.random.default_rng(seed)
    records, rows = [], ["id\tcount\tdouble"]
    for i in range(n):
        sequence = list(rng.choice(list("ACGT"), size=length))
        text = "".join(sequence).replace(MOTIF, "TATTAT")
        sequence = list(text)
        copies = int(rng.integers(0, 4))
        starts = rng.choice(
            np.arange(0, length - len(MOTIF) + 1, len(MOTIF) + 2), copies, replace=False
        )
        for start in starts:
            sequence[start : start + len(MOTIF)] = MOTIF
        count = "".join(sequence).count(MOTIF)
        records.append(f">r{i}\n{''.join(sequence)}\n")
        noise = rng.normal(0, 0.05, size=2)
        rows.append(f"r{i}\t{count + noise[0]:.4f}\t{2 * count + 1 + noise[1]:.4f}")
    (root / "motifs.fa").write_text("".join(records))
    (root / "values.tsv").write_text("\n".join(rows) + "\n")


ARTIFACTS = REPO / "test-artifacts"  # screenshots for a person to look at (gitignored)


def open_in_chromium(page_path: Path, screenshot: str) -> dict:
    """Open a local HTML file in headless Chromium (Debian's, driven by playwright) with the
    network cut off; return the problems seen (console errors, page errors, failed or outside
    requests, images that did not load, empty inline SVGs), the page title and its height, and
    save a full-page screenshot to test-artifacts/<screenshot>."""
    import shutil

    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium")
    assert chromium, "chromium is missing: run scripts/install-chromium.sh (make test does)"
    problems: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})

            def outside(route) -> None:  # the page must work offline: no CDN, no fonts
                problems.append(f"request outside the file: {route.request.url}")
                route.abort()

            page.route(
                lambda url: not url.startswith(("file:", "data:", "blob:", "about:")), outside
            )
            page.on(
                "console", lambda m: m.type == "error" and problems.append(f"console: {m.text}")
            )
            page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
            page.on("requestfailed", lambda r: problems.append(f"failed: {r.url}"))
            page.goto(page_path.resolve().as_uri(), wait_until="load")
            page.wait_for_timeout(300)
            broken = page.evaluate(
                "[...document.images].filter(i => !i.complete || i.naturalWidth === 0)"
                ".map(i => i.src.slice(0, 80))"
            )
            problems += [f"image not loaded: {src}" for src in broken]
            empty = page.evaluate(
                "[...document.querySelectorAll('svg')].filter(s => s.closest('figure'))"
                ".filter(s => s.getBoundingClientRect().width < 50).length"
            )
            if empty:
                problems.append(f"{empty} figure SVG(s) render with no width")
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / screenshot), full_page=True)
            result = {
                "problems": problems,
                "title": page.title(),
                "height": page.evaluate("document.documentElement.scrollHeight"),
                "figures": page.locator("figure svg").count(),
            }
        finally:
            browser.close()
    return result
