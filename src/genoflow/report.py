"""Report: every dataset's results -> one self-contained HTML page (results/report/index.html).

The page needs no server, no network and no JavaScript: CSS is inline and the figures are the
SVGs written by `genoflow figures`, embedded as markup. Each embedded SVG gets its ids prefixed,
because matplotlib reuses ids such as `figure_1` and `axes_1` in every file and several inline
SVGs share one id space. Everything read from files or given by the user is autoescaped.

Each dataset's section follows its task (classification, regression, forecasting): the
comparison table shows that task's metrics (`genoflow.metrics.METRICS_BY_TASK`), forecasting
adds a per-horizon table and, when `network/metrics.json` exists, the gene-interaction ranking.
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
from genoflow.figures import BASELINE_TYPES, FIGURES_BY_TASK
from genoflow.io import atomic_path, read_json
from genoflow.metrics import METRICS_BY_TASK

METRIC_LABELS = {
    "accuracy": "Accuracy",
    "q3": "Q3",
    "exact_match": "Exact match",
    "balanced_accuracy": "Balanced accuracy",
    "auroc": "AUROC",
    "auprc": "AUPRC",
    "f1": "F1",
    "mcc": "MCC",
    "mse": "MSE",
    "mae": "MAE",
    "r2": "R²",
    "pearson": "Pearson r",
    "spearman": "Spearman ρ",
    "skill": "Skill",
}
# Errors: lower is better, unbounded, so shown with 3 significant digits instead of 3 decimals.
LOWER_IS_BETTER = frozenset({"mse", "mae"})
DIRECTION_NOTES = {
    "classification": "All metrics: higher is better.",
    "token_classification": (
        "Per residue (residues without a label left out); Q3 = share of residues whose class is "
        "right. Confidence intervals resample whole sequences. All metrics: higher is better."
    ),
    "multilabel": (
        "AUROC and AUPRC: per label, then the mean over labels; F1 (micro) and exact match (every "
        "label right) at probability 0.5. All metrics: higher is better."
    ),
    "regression": "MSE and MAE: lower is better; R², Pearson r and Spearman ρ: higher is better.",
    "forecasting": (
        "MSE and MAE (original units, over all horizons and genes): lower is better; skill = "
        "1 − MSE / MSE of persistence: higher is better, and 0 means no better than repeating "
        "the last observed value."
    ),
}
RECORD_UNITS = {
    "classification": "sequences",
    "token_classification": "residues",  # labelled training residues
    "multilabel": "sequences",
    "regression": "sequences",
    "forecasting": "windows",
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
    "scatter": (
        "Predicted vs measured",
        "Test-split predictions of the first seed of each model against the measured values, "
        "with the identity line and R² and Pearson r (mean over targets) in each panel title.",
    ),
    "forecast": (
        "Forecasts over time",
        "Measured expression of a test series (black) with each model's one-step-ahead forecast "
        "and the persistence baseline (dashed) for the genes that vary most on that series.",
    ),
    "logo": (
        "What the model looks at: mutagenesis logo",
        "In-silico mutagenesis of the best neural model (by validation loss, named in each "
        "panel): every position of up to 300 test records set to every other letter and "
        "rescored. A letter's height is the drop in the log-probability of the class when it is "
        "mutated away, averaged over the correctly classified records of that class.",
    ),
    "maps": (
        "Per-record explanations",
        "For a few correctly classified test records: the change in the class log-probability "
        "for every letter at every position (blue raises it, red lowers it), gradient × input "
        "saliency and, for a Transformer, the attention each position receives.",
    ),
    "network": (
        "Gene interactions",
        "Score of every directed regulator → target pair from the neural forecasters (input "
        "gradients, rank ensemble over models and seeds); circles mark the known edges of the "
        "gold standard, when one is given.",
    ),
    "loss": (
        "Training curves",
        "Training (dashed) and validation (solid) loss per epoch of each neural model; the star "
        "marks the epoch whose weights were kept.",
    ),
}
# Where a figure's content depends on the task, its caption does too.
TASK_FIGURES = {
    "token_classification": {
        "comparison": (
            "Model comparison",
            "Test-set Q3 (per-residue accuracy) and per-residue MCC of every model with 95% "
            "bootstrap confidence intervals (resampling whole sequences), one marker per seed; "
            "the windowed logistic regression is the non-neural baseline.",
        ),
        "confusion": (
            "Confusion matrices (per residue)",
            "Labelled test residues of the first seed of each model: cells give counts, colour "
            "the fraction of each true class.",
        ),
    },
    "multilabel": {
        "comparison": (
            "Model comparison",
            "Test-set AUROC and AUPRC, each the mean over labels, of every model with 95% "
            "bootstrap confidence intervals, one marker per seed.",
        ),
    },
    "regression": {
        "comparison": (
            "Model comparison",
            "Test-set MSE, MAE, R², Pearson and Spearman correlation of every model with 95% "
            "bootstrap confidence intervals, one marker per seed; the dotted line marks the "
            "k-mer ridge baseline.",
        ),
    },
    "forecasting": {
        "comparison": (
            "Error per horizon",
            "Test MSE (left) and skill against persistence (right) at each forecast horizon, "
            "one line per model (mean over seeds), baselines grey and dashed; skill 0 is "
            "persistence.",
        ),
    },
}
NETWORK_METHODS = (
    ("neural", "Neural ensemble"),
    ("ridge", "Ridge AR (most recent lag)"),
    ("ridge_ar1", "Ridge AR(1) (reference)"),
)
TOP_EDGES = 10


def write_report(
    results_dir: str | Path,
    datasets: list[str],
    out: str | Path,
    *,
    config: dict,
    command: str,
    workflow_dir: str | Path,
    distance_figure: str | Path | None = None,
) -> Path:
    """Render the report for `datasets` under `results_dir` into `out` (written atomically);
    `distance_figure`: the long-range accuracy-against-distance SVG, shown first if given."""
    results_dir, out = Path(results_dir), Path(out)
    if not datasets:
        raise InputError(None, "no datasets given for the report")
    sections = [dataset_section(results_dir, name, i) for i, name in enumerate(datasets)]
    html = render(
        datasets=sections,
        network_overview=network_overview(sections),
        distance_svg=inline_svg(Path(distance_figure).read_text(encoding="utf-8"), "distance")
        if distance_figure
        else None,
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
    task = summary_task(summary, meta)
    if task == "forecasting":
        train_records = _number((meta or {}).get("windows", {}).get("train"))
        train_records = 0 if math.isnan(train_records) else int(train_records)
    else:
        train_records = sum((meta or {}).get("split_sizes", {}).get("train", {}).values())
    anchor = f"dataset-{index + 1}"
    runs = [_run_facts(root, row, task) for row in summary.to_dict("records")]
    return {
        "name": name,
        "anchor": anchor,
        "task": task,
        "metrics": [
            (key, METRIC_LABELS[key], "↓" if key in LOWER_IS_BETTER else "↑")
            for key in METRICS_BY_TASK[task]
        ],
        "direction_note": DIRECTION_NOTES[task],
        "unit": RECORD_UNITS[task],
        "table": comparison_table(summary, train_records, task),
        "horizons": horizon_table(summary, root) if task == "forecasting" else None,
        "network": network_section(root / "network"),
        "multi_seed": bool(summary.groupby("model").size().gt(1).any()),
        "runs": runs,
        "figures": figures(root / "figures", prefix=f"d{index + 1}", task=task),
        "data": data_summary(ingest, meta, task),
        "inputs": (ingest or {}).get("inputs", []),
        "seeds": {
            model: [_seed(seed) for seed in sorted(group["seed"])]
            for model, group in _groups(summary)
        },
        "split_seed": (meta or {}).get("split", {}).get("seed"),
        "paired": paired_comparison(_read_optional(root / "comparison.json"), task),
    }


def paired_comparison(comparison: dict | None, task: str) -> dict | None:
    """The sentence parts of the best-vs-runner-up paired bootstrap, if it was computed."""
    test = (comparison or {}).get("paired_bootstrap")
    if not test:
        return None
    p = test["p_not_better"]
    verdict = (
        f"{comparison['best']} is better at the 5% level" if p < 0.05
        else "the difference is within what resampling the test set gives by chance"
    )  # fmt: skip
    low, high = test["ci95"]
    return {
        "best": comparison["best"],
        "runner_up": comparison["runner_up"],
        "metric_label": METRIC_LABELS.get(test["metric"], test["metric"]),
        "difference": f"{test['difference']:+.4f}",
        "ci": f"{low:+.4f} to {high:+.4f}",
        "p": f"{p:.3f}",
        "verdict": verdict,
        "resamples": test["resamples"],
        "unit": "sequences (whole proteins)" if task == "token_classification" else "records",
    }


def summary_task(summary: pd.DataFrame, meta: dict | None = None) -> str:
    """The task whose metric columns summary.tsv has (forecasting's and regression's contain
    metrics that classification lacks); the preprocess meta.json's task if none match."""
    for task in (
        "forecasting",
        "regression",
        "token_classification",
        "multilabel",
        "classification",
    ):
        if all(metric in summary for metric in METRICS_BY_TASK[task]):
            return task
    task = (meta or {}).get("task", "classification")
    return task if task in METRICS_BY_TASK else "classification"


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


def comparison_table(
    summary: pd.DataFrame, train_records: int = 0, task: str = "classification"
) -> list[dict]:
    """One row per model: metric cells (value [CI] for one seed, mean ± sd over several).

    The best value of each metric column (after rounding to the digits shown, so ties are all
    marked) gets `best: True`: the lowest for errors (MSE, MAE), else the highest.
    """
    metrics = METRICS_BY_TASK[task]
    rows = []
    for model, group in _groups(summary):
        first = group.iloc[0]
        kind = first.get("type")
        kind = kind if isinstance(kind, str) else ""  # NaN when summary.tsv has no type
        cells = {}
        for metric in metrics:
            values = _column(group, metric).dropna()
            if values.empty:
                cells[metric] = {"text": "—", "ci": "", "value": math.nan}
            elif len(values) > 1:
                mean = _format(values.mean(), metric)
                text = f"{mean} ± {_format(values.std(ddof=1), metric)}"
                cells[metric] = {"text": text, "ci": "", "value": _number(mean)}
            else:
                ci = _ci(first.to_dict(), metric) if len(group) == 1 else ""
                text = _format(values.iloc[0], metric)
                cells[metric] = {"text": text, "ci": ci, "value": _number(text)}
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
                # Nothing was fitted by epochs (persistence): no "best epoch" to show.
                "best_epoch": _best_epoch(_column(group, "best_epoch"))
                if len(group) == 1 and epochs.fillna(0).gt(0).any()
                else "",
                "throughput": "—"
                if baseline
                else _throughput(train_records, epochs.mean(), seconds),
            }
        )
    for metric in metrics:
        _mark_best([row["cells"][metric] for row in rows], lower=metric in LOWER_IS_BETTER)
    return rows


def _mark_best(cells: list[dict], lower: bool = False) -> None:
    """Set `best` on the cells whose (shown, rounded) `value` is the best of the finite ones."""
    finite = [cell["value"] for cell in cells if not math.isnan(cell["value"])]
    best = (min if lower else max)(finite, default=None)
    for cell in cells:
        cell["best"] = best is not None and cell["value"] == best


def horizon_table(summary: pd.DataFrame, root: Path) -> dict | None:
    """Forecasting: MSE and skill per model and horizon (mean over seeds), best marked.

    When no persistence run was trained, a reference row gives persistence's MSE from the
    first run's metrics.json (same test windows; its skill is 0 by definition).
    """
    horizons = sorted(
        int(match.group(1))
        for column in summary.columns
        if (match := re.fullmatch(r"mse_h(\d+)", str(column)))
    )
    if not horizons:
        return None
    rows = []
    for model, group in _groups(summary):
        kind = group.iloc[0].get("type")
        kind = kind if isinstance(kind, str) else ""
        cells = []
        for horizon in horizons:
            for metric in ("mse", "skill"):
                values = _column(group, f"{metric}_h{horizon}").dropna()
                text = _format(values.mean() if len(values) else math.nan, metric)
                cells.append({"text": text, "value": _number(text), "metric": metric})
        rows.append(
            {"model": model, "type": kind, "baseline": kind in BASELINE_TYPES, "cells": cells}
        )
    if not any(row["type"] == "persistence" for row in rows):
        reference = _persistence_reference(summary, root, horizons)
        if reference:
            rows.append(reference)
    for column in range(2 * len(horizons)):
        cells = [row["cells"][column] for row in rows]
        _mark_best(cells, lower=cells[0]["metric"] == "mse")
    return {"horizons": horizons, "rows": rows}


def _persistence_reference(summary: pd.DataFrame, root: Path, horizons: list[int]) -> dict | None:
    first = summary.iloc[0]
    path = root / str(first["model"]) / f"seed{_seed(first['seed'])}" / "metrics.json"
    per_horizon = {
        int(entry["horizon"]): entry
        for entry in (_read_optional(path) or {}).get("per_horizon", [])
        if "persistence_mse" in entry
    }
    if not per_horizon:
        return None
    cells = []
    for horizon in horizons:
        mse = _format(per_horizon.get(horizon, {}).get("persistence_mse"), "mse")
        skill = _format(0.0 if horizon in per_horizon else math.nan, "skill")
        cells.append({"text": mse, "value": _number(mse), "metric": "mse"})
        cells.append({"text": skill, "value": _number(skill), "metric": "skill"})
    return {"model": "persistence", "type": "reference", "baseline": True, "cells": cells}


def network_section(folder: Path) -> dict | None:
    """The gene-interaction ranking of a forecasting dataset (network/metrics.json), if any."""
    path = folder / "metrics.json"
    if not path.is_file():
        return None
    data = read_json(path)
    rows = []
    for key, name in NETWORK_METHODS:
        if not isinstance(data.get(key), dict):
            continue
        entry = data[key]
        rows.append(
            {
                "key": key,
                "name": name,
                "cells": {
                    metric: {
                        "text": _fixed(entry.get(metric)),
                        "value": _rounded(entry.get(metric)),
                    }
                    for metric in ("auroc", "aupr")
                },
                "edges_true": _count(entry.get("edges_true")),
                "edges_scored": _count(entry.get("edges_scored")),
            }
        )
    for metric in ("auroc", "aupr"):
        _mark_best([row["cells"][metric] for row in rows])
    true = _number((data.get("neural") or {}).get("edges_true"))
    scored = _number((data.get("neural") or {}).get("edges_scored"))
    per_model = [
        {"name": name, "auroc": _fixed(entry.get("auroc")), "aupr": _fixed(entry.get("aupr"))}
        for name, entry in (data.get("per_model") or {}).items()
    ]
    return {
        "path": str(path),
        "method": str(data.get("method", "—")),
        "models": [str(model) for model in data.get("models", [])],
        "scored": bool(rows),
        "rows": rows,
        "values": {
            key: {m: _number(data[key].get(m)) for m in ("auroc", "aupr")}
            for key, _ in NETWORK_METHODS
            if isinstance(data.get(key), dict)
        },
        "chance_aupr": _fixed(true / scored) if scored and scored > 0 else "",
        "per_model": per_model,
        "top_edges": _top_edges(folder / "edges.tsv"),
    }


def _top_edges(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    table = pd.read_csv(path, sep="\t", nrows=TOP_EDGES, dtype={"regulator": str, "target": str})
    return [
        {
            "rank": _count(row.get("rank")),
            "regulator": row.get("regulator", "—"),
            "target": row.get("target", "—"),
            "score": f"{_number(row.get('score')):.3g}",
        }
        for row in table.to_dict("records")
    ]


def network_overview(sections: list[dict]) -> dict | None:
    """Network inference across datasets: AUROC/AUPR per method and dataset, and their mean,
    when at least two datasets have a gene-interaction ranking scored against a gold standard.
    """
    scored = [s for s in sections if s["network"] and s["network"]["scored"]]
    if len(scored) < 2:
        return None
    columns = [(key, metric) for key, _ in NETWORK_METHODS for metric in ("auroc", "aupr")]

    def cells(values: dict) -> list[dict]:
        row = [
            {"text": _fixed(values.get(key, {}).get(metric)), "metric": metric}
            for key, metric in columns
        ]
        for cell in row:
            cell["value"] = _number(cell["text"])
        for metric in ("auroc", "aupr"):  # best method of this row, per metric
            _mark_best([cell for cell in row if cell["metric"] == metric])
        return row

    rows = [
        {"name": s["name"], "anchor": s["anchor"], "cells": cells(s["network"]["values"])}
        for s in scored
    ]
    means = {}
    for key, metric in columns:
        values = [s["network"]["values"].get(key, {}).get(metric, math.nan) for s in scored]
        values = [v for v in values if not math.isnan(v)]
        means.setdefault(key, {})[metric] = sum(values) / len(values) if values else math.nan
    return {
        "methods": [name for _, name in NETWORK_METHODS],
        "rows": rows,
        "mean": cells(means),
        "count": len(scored),
    }


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


def _run_facts(root: Path, row: dict, task: str = "classification") -> dict:
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
            metric: {"text": _format(row.get(metric), metric), "ci": _ci(row, metric)}
            for metric in METRICS_BY_TASK[task]
        },
    }


def _fixed(value) -> str:
    number = _number(value)
    return "—" if math.isnan(number) else f"{number:.3f}"


def _rounded(value) -> float:
    """A number as shown by _fixed (3 decimals), for comparing shown values."""
    return _number(_fixed(value))


def _significant(number: float, digits: int = 3) -> str:
    """`digits` significant digits in plain notation (0.00123, 1.23, 123, 1234), scientific
    notation only for very small or large magnitudes."""
    if number == 0:
        return "0"
    magnitude = math.floor(math.log10(abs(number)))
    if magnitude >= 6 or magnitude < -4:
        return f"{number:.{digits - 1}e}"
    return f"{number:.{max(0, digits - 1 - magnitude)}f}"


def _format(value, metric: str) -> str:
    """A metric value as shown: errors (MSE, MAE) with 3 significant digits, others with 3
    decimals; '—' when missing."""
    number = _number(value)
    if math.isnan(number):
        return "—"
    return _significant(number) if metric in LOWER_IS_BETTER else f"{number:.3f}"


def _ci(row: dict, metric: str) -> str:
    """'[0.946–0.975]' from a summary row's <metric>_ci_low/_ci_high ('' when missing)."""
    low, high = _number(row.get(f"{metric}_ci_low")), _number(row.get(f"{metric}_ci_high"))
    if math.isnan(low + high):
        return ""
    return f"[{_format(low, metric)}–{_format(high, metric)}]"


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


def figures(folder: Path, prefix: str, task: str = "classification") -> list[dict]:
    """The task's figures in their order (FIGURES_BY_TASK), then any other SVG in the folder,
    alphabetically; a missing expected figure is listed with `svg` None."""
    expected = FIGURES_BY_TASK[task]
    found = {path.stem: path for path in sorted(folder.glob("*.svg"))}
    names = list(expected) + sorted(set(found) - set(expected))
    result = []
    for stem in names:
        path = found.get(stem)
        slug = re.sub(r"[^A-Za-z0-9_-]", "_", stem)
        title, caption = TASK_FIGURES.get(task, {}).get(
            stem, FIGURES.get(stem, (stem, "Additional figure."))
        )
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


def data_summary(ingest: dict | None, meta: dict | None, task: str = "classification") -> dict:
    """What the page says about a dataset's data, where known: for sequences the records,
    classes or targets, lengths, split sizes, rejected records and leakage; for expression time
    series the genes, series, time points, windows and series per split and how windows are
    framed."""
    if task == "forecasting":
        return _series_summary(ingest or {}, meta or {})
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
    targets = meta.get("targets") or ingest.get("targets") or []
    if targets:
        kind = "Labels (0/1 each)" if task == "multilabel" else "Regression targets"
        facts.append((kind, ", ".join(map(str, targets))))
    if task == "token_classification":
        facts.append(("Split sizes", "labelled residues per class (not sequences)"))
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
        if splits and not classes:
            facts.append(
                (
                    "Records per split",
                    ", ".join(
                        f"{SPLIT_LABELS[split].lower()} {_count(sum(sizes[split].values()))}"
                        for split in splits
                    ),
                )
            )
    leakage = [(key.replace("_", " ").capitalize(), value) for key, value in _leakage(meta)]
    return {
        "available": bool(ingest or meta),
        "facts": facts,
        "classes": [(name, _count(ingest.get("classes", {}).get(name))) for name in classes],
        "splits": splits,
        "split_rows": split_rows,
        "split_totals": [_count(sum(sizes[split].values())) for split in splits],
        "series_splits": [],
        "leakage": leakage,
    }


SPLIT_LABELS = {"train": "Train", "val": "Validation", "test": "Test"}
MAX_SERIES_NAMES = 12


def _series_summary(ingest: dict, meta: dict) -> dict:
    """Data facts of a forecasting dataset (ingest summary.json + preprocess meta.json)."""
    facts = []
    genes = ingest.get("genes", len(meta.get("genes", [])) or None)
    facts.append(("Genes", _count(genes)))
    if ingest:
        conditions = ingest.get("conditions") or {}
        series = _count(ingest.get("series"))
        if conditions:
            series += " (" + ", ".join(f"{c}: {n}" for c, n in conditions.items()) + ")"
        facts.append(("Series", series))
        lengths = list((ingest.get("series_lengths") or {}).values())
        points = _count(ingest.get("samples"))
        if lengths:
            low, high = min(lengths), max(lengths)
            points += f" ({low} per series)" if low == high else f" ({low}–{high} per series)"
        facts.append(("Time points", points))
        time_range = ingest.get("time_range") or []
        if len(time_range) == 2:
            facts.append(("Time range", f"{time_range[0]:g} – {time_range[1]:g}"))
    elif meta.get("time_points") is not None:
        facts.append(("Time points", _count(meta.get("time_points"))))
    if meta:
        facts.append(
            (
                "Windows",
                f"{meta.get('input', '—')} observed time points → forecast horizon "
                f"{meta.get('horizon', '—')}",
            )
        )
        facts.append(("Target", _target_text(meta.get("target"))))
        facts.append(("Multi-step strategy", _multistep_text(meta.get("multistep"))))
        transform = meta.get("transform") or {}
        if transform:
            steps = [
                name
                for key, name in (("log1p", "log1p"), ("zscore", "z-score"))
                if transform.get(key)
            ]
            fitted = transform.get("fitted_on", "train")
            facts.append(
                ("Transform", f"{' then '.join(steps)} (fitted on {fitted})" if steps else "none")
            )
        split = meta.get("split", {})
        facts.append(("Split", f"by {split.get('method', '—')}, seed {split.get('seed', '—')}"))
    split, windows = meta.get("split", {}), meta.get("windows", {})
    series_splits = []
    for name in ("train", "val", "test"):
        members = split.get(name)
        if members is None and name not in windows:
            continue
        members = [str(m) for m in (members or [])]
        shown = ", ".join(members[:MAX_SERIES_NAMES])
        if len(members) > MAX_SERIES_NAMES:
            shown += f", … ({len(members) - MAX_SERIES_NAMES} more)"
        series_splits.append(
            {
                "name": SPLIT_LABELS[name],
                "series": _count(len(members)) if split.get(name) is not None else "—",
                "names": shown,
                "windows": _count(windows.get(name)),
            }
        )
    leakage = [
        (key.replace("_", " ").capitalize(), value)
        for key, value in _leakage({"leakage": meta.get("leakage_check") or meta.get("leakage")})
    ]
    return {
        "available": bool(ingest or meta),
        "facts": facts,
        "classes": [],
        "splits": [],
        "split_rows": [],
        "split_totals": [],
        "series_splits": series_splits,
        "leakage": leakage,
    }


def _target_text(target) -> str:
    return {
        "delta": "delta (models predict the change from the last observed value)",
        "level": "level (models predict the values themselves)",
    }.get(target, "—" if target is None else str(target))


def _multistep_text(multistep) -> str:
    return {
        "direct": "direct (all horizons predicted at once)",
        "recursive": "recursive (one step at a time, fed back)",
    }.get(multistep, "—" if multistep is None else str(multistep))


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
