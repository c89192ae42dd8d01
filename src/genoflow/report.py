"""Report: every dataset's results -> one self-contained HTML page (results/report/index.html).

The page needs no server, no network and no JavaScript: CSS is inline and the figures are the
SVGs written by `genoflow figures`, embedded as markup. Each embedded SVG gets its ids prefixed,
because matplotlib reuses ids such as `figure_1` and `axes_1` in every file and several inline
SVGs share one id space. Everything read from files or given by the user is autoescaped.
"""

from __future__ import annotations

import datetime
import importlib.metadata
import json
import math
import platform
import re
import subprocess
from pathlib import Path

import jinja2
import pandas as pd
from markupsafe import Markup

import genoflow
from genoflow.errors import InputError
from genoflow.figures import BASELINE_TYPES
from genoflow.io import atomic_path, read_json
from genoflow.metrics import CLASSIFICATION_METRICS

METRIC_LABELS = {
    "accuracy": "Accuracy",
    "balanced_accuracy": "Balanced accuracy",
    "auroc": "AUROC",
    "auprc": "AUPRC",
    "f1": "F1",
    "mcc": "MCC",
}
PACKAGES = ("torch", "lightning", "numpy", "pandas", "scikit-learn", "matplotlib", "snakemake")
# The figures `genoflow figures` writes, in page order: (title, one-sentence caption).
FIGURES = {
    "comparison": (
        "Model comparison",
        "Test-set accuracy and AUROC of every model with 95% bootstrap confidence intervals, "
        "one marker per seed; the dotted line marks the k-mer baseline.",
    ),
    "roc": (
        "ROC curves",
        "Receiver operating characteristic on the test split (first seed of each model; with "
        "more than two classes one panel per class, one-vs-rest), area under each curve in the "
        "legend.",
    ),
    "pr": (
        "Precision-recall curves",
        "Precision against recall on the test split (first seed of each model), average "
        "precision in the legend; the dotted line is the precision of random guessing.",
    ),
    "confusion": (
        "Confusion matrices",
        "Test-split predictions of the first seed of each model: cells give counts, colour the "
        "fraction of each true class, so a perfect model has a dark diagonal.",
    ),
    "loss": (
        "Training curves",
        "Training (dashed) and validation (solid) loss per epoch of each neural model; the star "
        "marks the epoch whose weights were kept.",
    ),
}


def write_report(
    results_dir: str | Path,
    datasets: list[str],
    out: str | Path,
    *,
    config: dict,
    command: str,
    workflow_dir: str | Path,
) -> Path:
    """Render the report for `datasets` under `results_dir` into `out` (written atomically)."""
    results_dir, out = Path(results_dir), Path(out)
    if not datasets:
        raise InputError(None, "no datasets given for the report")
    sections = [dataset_section(results_dir, name, i) for i, name in enumerate(datasets)]
    html = render(
        datasets=sections,
        config_text=config_text(config),
        command=command,
        versions=package_versions(),
        git=git_commit(workflow_dir),
        workflow_dir=str(workflow_dir),
        generated=datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"),
    )
    with atomic_path(out) as tmp:
        tmp.write_text(html, encoding="utf-8")
    return out


def render(**context) -> str:
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("genoflow", "templates"),
        # Always on: the template's name ends in .j2, which select_autoescape would not match.
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["thousands"] = _count
    return environment.get_template("report.html.j2").render(**context)


def dataset_section(results_dir: Path, name: str, index: int) -> dict:
    """Everything the page shows about one dataset."""
    root = results_dir / name
    summary_path = root / "summary.tsv"
    if not summary_path.is_file():
        raise InputError(summary_path, "missing (run `genoflow summarize` for this dataset)")
    summary = pd.read_csv(summary_path, sep="\t", dtype={"model": str})
    if summary.empty or "model" not in summary:
        raise InputError(summary_path, "no runs in the summary table")
    ingest = _read_optional(root / "ingest" / "summary.json")
    meta = _read_optional(root / "preprocess" / "meta.json")
    train_records = sum((meta or {}).get("split_sizes", {}).get("train", {}).values())
    anchor = f"dataset-{index + 1}"
    runs = [_run_facts(root, row) for row in summary.to_dict("records")]
    return {
        "name": name,
        "anchor": anchor,
        "metrics": [(key, METRIC_LABELS[key]) for key in CLASSIFICATION_METRICS],
        "table": comparison_table(summary, train_records),
        "multi_seed": bool(summary.groupby("model").size().gt(1).any()),
        "runs": runs,
        "figures": figures(root / "figures", prefix=f"d{index + 1}"),
        "data": data_summary(ingest, meta),
        "inputs": (ingest or {}).get("inputs", []),
        "seeds": {
            model: [_seed(seed) for seed in sorted(group["seed"])]
            for model, group in _groups(summary)
        },
        "split_seed": (meta or {}).get("split", {}).get("seed"),
    }


def _read_optional(path: Path) -> dict | None:
    return read_json(path) if path.is_file() else None


def _groups(summary: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """(model, rows) in the order the models first appear in summary.tsv."""
    order = list(dict.fromkeys(summary["model"]))
    return [(model, summary[summary["model"] == model]) for model in order]


def _number(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def comparison_table(summary: pd.DataFrame, train_records: int = 0) -> list[dict]:
    """One row per model: metric cells (value [CI] for one seed, mean ± sd over several).

    The best value of each metric column (after rounding to the shown 3 decimals, so ties are
    all marked) gets `best: True`; every metric here is better when higher.
    """
    rows = []
    for model, group in _groups(summary):
        first = group.iloc[0]
        kind = first.get("type")
        kind = kind if isinstance(kind, str) else ""  # NaN when summary.tsv has no type
        cells = {}
        for metric in CLASSIFICATION_METRICS:
            values = _column(group, metric).dropna()
            if values.empty:
                cells[metric] = {"text": "—", "ci": "", "value": math.nan}
            elif len(values) > 1:
                text = f"{values.mean():.3f} ± {values.std(ddof=1):.3f}"
                cells[metric] = {"text": text, "ci": "", "value": float(values.mean())}
            else:
                ci = _ci(first.to_dict(), metric) if len(group) == 1 else ""
                cells[metric] = {"text": _fixed(values.iloc[0]), "ci": ci, "value": values.iloc[0]}
        seconds = _column(group, "train_seconds").mean()
        epochs = _column(group, "epochs")
        baseline = kind in BASELINE_TYPES
        rows.append(
            {
                "model": model,
                "type": kind,
                "baseline": baseline,
                "seeds": [_seed(seed) for seed in group["seed"]],
                "cells": cells,
                "params": _count(first.get("params")),
                "time": _duration(seconds),
                "epochs": _epochs(epochs),
                "best_epoch": _best_epoch(_column(group, "best_epoch")) if len(group) == 1 else "",
                "throughput": "—"
                if baseline
                else _throughput(train_records, epochs.mean(), seconds),
            }
        )
    for metric in CLASSIFICATION_METRICS:
        shown = [round(row["cells"][metric]["value"], 3) for row in rows]
        best = max((value for value in shown if not math.isnan(value)), default=None)
        for row, value in zip(rows, shown, strict=True):
            row["cells"][metric]["best"] = best is not None and value == best
    return rows


def _column(table: pd.DataFrame, name: str) -> pd.Series:
    """A numeric column; all NaN if summary.tsv lacks it."""
    if name not in table:
        return pd.Series(math.nan, index=table.index)
    return pd.to_numeric(table[name], errors="coerce")


def _seed(value) -> str:
    number = _number(value)
    return str(int(number)) if number.is_integer() else str(value)


def _count(value) -> str:
    number = _number(value)
    return "—" if math.isnan(number) else f"{int(number):,}"


def _duration(seconds: float) -> str:
    if math.isnan(seconds):
        return "—"
    if seconds < 90:
        return f"{seconds:.1f} s"
    if seconds < 5400:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def _epochs(epochs: pd.Series) -> str:
    """Epochs run: one number, or the range over seeds."""
    epochs = epochs.dropna()
    if epochs.empty:
        return "—"
    low, high = int(epochs.min()), int(epochs.max())
    return str(low) if low == high else f"{low}–{high}"


def _best_epoch(best: pd.Series) -> str:
    number = _number(best.iloc[0])
    return "" if math.isnan(number) else f"best {int(number)}"


def _throughput(records: int, epochs: float, seconds: float) -> str:
    if not records or math.isnan(epochs) or math.isnan(seconds) or seconds <= 0:
        return "—"
    return f"{records * epochs / seconds:,.0f}"


def _run_facts(root: Path, row: dict) -> dict:
    """Settings of one run from its train.json (missing file: the summary's facts only)."""
    seed = _seed(row.get("seed"))
    path = root / str(row["model"]) / f"seed{seed}" / "train.json"
    info = _read_optional(path) or {}
    return {
        "model": row["model"],
        "seed": seed,
        "type": info.get("type", row.get("type", "")),
        "device": info.get("device", "—"),
        "precision": info.get("precision", "—"),
        "stopped_early": _yes_no(info.get("stopped_early")),
        "resumed": _yes_no(info.get("resumed")),
        "model_args": json.dumps(info.get("model_args", {}), sort_keys=True),
        "train": json.dumps(info["train"], sort_keys=True) if "train" in info else "—",
        "cells": {
            metric: {"text": _fixed(row.get(metric)), "ci": _ci(row, metric)}
            for metric in CLASSIFICATION_METRICS
        },
    }


def _fixed(value) -> str:
    number = _number(value)
    return "—" if math.isnan(number) else f"{number:.3f}"


def _ci(row: dict, metric: str) -> str:
    """'[0.946–0.975]' from a summary row's <metric>_ci_low/_ci_high ('' when missing)."""
    low, high = _number(row.get(f"{metric}_ci_low")), _number(row.get(f"{metric}_ci_high"))
    return "" if math.isnan(low + high) else f"[{low:.3f}–{high:.3f}]"


def _yes_no(value) -> str:
    return "—" if value is None else ("yes" if value else "no")


_PROLOG = re.compile(r"<\?xml.*?\?>|<!DOCTYPE[^>]*>", re.S)
_DROPPED = re.compile(r"<metadata>.*?</metadata>|<script\b.*?</script\s*>", re.S | re.I)
_REFERENCE = re.compile(r'(\bid="|href="#|url\(#)')


def inline_svg(text: str, prefix: str) -> Markup:
    """SVG file text -> markup to embed in HTML: no prolog or doctype, ids made unique.

    Every id, `href="#id"` and `url(#id)` gets `prefix-`: all references in a figure point
    into the same figure, so one rule covers them. The RDF metadata block is dropped (it only
    carries tool names, and its namespace URLs would look like external resources), and so is
    any script, since the page promises to need none.
    """
    text = _DROPPED.sub("", _PROLOG.sub("", text))
    text = _REFERENCE.sub(lambda match: f"{match.group(1)}{prefix}-", text)
    return Markup(text.strip())


def figures(folder: Path, prefix: str) -> list[dict]:
    """The known figures in their order, then any other SVG in the folder, alphabetically."""
    found = {path.stem: path for path in sorted(folder.glob("*.svg"))}
    names = list(FIGURES) + sorted(set(found) - set(FIGURES))
    result = []
    for stem in names:
        path = found.get(stem)
        slug = re.sub(r"[^A-Za-z0-9_-]", "_", stem)
        title, caption = FIGURES.get(stem, (stem, "Additional figure."))
        result.append(
            {
                "name": stem,
                "title": title,
                "caption": caption,
                "svg": inline_svg(path.read_text(encoding="utf-8"), f"{prefix}-{slug}")
                if path
                else None,
                "path": str(folder / f"{stem}.svg"),
            }
        )
    return result


def data_summary(ingest: dict | None, meta: dict | None) -> dict:
    """Records, classes, lengths, split sizes, rejected records and leakage, where known."""
    ingest, meta = ingest or {}, meta or {}
    classes = meta.get("classes") or list(ingest.get("classes", {}))
    sizes = meta.get("split_sizes", {})
    splits = [split for split in ("train", "val", "test") if split in sizes]
    split_rows = [
        {
            "name": name,
            "counts": [_count(sizes[split].get(name, 0)) for split in splits],
        }
        for name in classes
    ]
    facts = []
    if ingest:
        length = ingest.get("length", {})
        facts += [
            ("Alphabet", ingest.get("alphabet", "—")),
            ("Records kept", _count(ingest.get("records"))),
            ("Records rejected", _rejected(ingest)),
            (
                "Sequence length",
                f"{_count(length.get('min'))}–{_count(length.get('max'))} "
                f"(mean {_number(length.get('mean')):.1f}, "
                f"median {_number(length.get('median')):.1f})"
                if length
                else "—",
            ),
            ("Records with ambiguity codes", _count(ingest.get("records_with_ambiguity_codes"))),
            ("Duplicate ids dropped", _count(ingest.get("duplicate_ids_dropped"))),
        ]
    if meta:
        split = meta.get("split", {})
        facts += [
            (
                "Model input length",
                f"{meta.get('max_length', '—')} (trim: {meta.get('trim', '—')})",
            ),
            ("Records trimmed", _count(meta.get("trimmed_records"))),
            (
                "Split",
                f"{split.get('method', '—')}: validation {split.get('val', '—')}, "
                f"test {split.get('test', '—')}, seed {split.get('seed', '—')}",
            ),
        ]
    leakage = [(key.replace("_", " ").capitalize(), value) for key, value in _leakage(meta)]
    return {
        "available": bool(ingest or meta),
        "facts": facts,
        "classes": [(name, _count(ingest.get("classes", {}).get(name))) for name in classes],
        "splits": splits,
        "split_rows": split_rows,
        "split_totals": [_count(sum(sizes[split].values())) for split in splits],
        "leakage": leakage,
    }


def _rejected(ingest: dict) -> str:
    count = _count(ingest.get("rejected"))
    reasons = ingest.get("rejected_reasons") or {}
    if not reasons:
        return count
    return f"{count} ({', '.join(f'{reason}: {n}' for reason, n in reasons.items())})"


def _leakage(meta: dict) -> list[tuple[str, str]]:
    leakage = meta.get("leakage") or {}
    return [
        (key, value if isinstance(value, (int, float, str)) else json.dumps(value))
        for key, value in leakage.items()
    ]


def config_text(config: dict) -> str:
    """The config as YAML, the format users write it in (JSON if PyYAML is missing)."""
    try:
        import yaml
    except ImportError:
        return json.dumps(config, indent=2)
    return yaml.safe_dump(config, sort_keys=False, default_flow_style=False, allow_unicode=True)


def package_versions() -> list[tuple[str, str]]:
    """(name, version) of genoflow, Python and the libraries that shape the numbers."""
    try:
        own = importlib.metadata.version("genoflow")
    except importlib.metadata.PackageNotFoundError:
        own = f"{genoflow.__version__} (source tree, not installed)"
    versions = [("genoflow", own), ("python", platform.python_version())]
    for name in PACKAGES:
        try:
            versions.append((name, importlib.metadata.version(name)))
        except importlib.metadata.PackageNotFoundError:
            versions.append((name, "not installed"))
    return versions


def git_commit(directory: str | Path) -> str:
    """HEAD of the git work tree at `directory`, flagged if it has uncommitted changes.

    Never raises: a report must still be written from an unpacked tarball or without git.
    """

    def git(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["git", "-C", str(directory), *args],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    try:
        head = git("rev-parse", "--verify", "HEAD")
        if head.returncode != 0:
            inside = git("rev-parse", "--is-inside-work-tree")
            if inside.returncode == 0:
                return "git repository without commits"
            problem = (inside.stderr.strip().splitlines() or [""])[0]
            if not problem or "not a git repository" in problem or not Path(directory).is_dir():
                return "not a git repository"
            return f"unknown ({problem})"  # e.g. git refusing a repository of another user
        status = git("status", "--porcelain")
    except (OSError, subprocess.SubprocessError):
        return "not a git repository"  # no git executable, or it hung
    commit = head.stdout.strip()
    if status.returncode != 0:
        return f"{commit} (working tree state unknown)"
    return f"{commit} (uncommitted changes)" if status.stdout.strip() else commit
