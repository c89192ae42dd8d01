"""Report: every dataset's results -> one self-contained HTML page (results/report/index.html).

The page needs no server, no network and no JavaScript: CSS is inline and the figures are the
SVGs written by `genoflow figures`, embedded as markup. Each embedded SVG gets its ids prefixed,
because matplotlib reuses ids such as `figure_1` and `axes_1` in every file and several inline
SVGs share one id space. Everything read from files or given by the user is autoescaped.

Each dataset's section follows its task (classification, regression, forecasting): the
comparison table shows that task's metrics (`genoflow.registry.METRICS_BY_TASK`), forecasting
adds a per-horizon table and, when `network/metrics.json` exists, the gene-interaction ranking.
"""

from __future__ import annotations

import datetime
import math
import re
from pathlib import Path

import jinja2
import pandas as pd
from markupsafe import Markup

from genoflow.errors import InputError
from genoflow.formats.files import atomic_path
from genoflow.registry import FIGURES_BY_TASK, LOWER_IS_BETTER, METRICS_BY_TASK
from genoflow.report.captions import figure_caption
from genoflow.report.facts import RECORD_UNITS, data_summary, run_facts
from genoflow.report.format import (
    METRIC_LABELS,
    as_number,
    count_text,
    read_optional,
    seed_text,
)
from genoflow.report.network import network_overview, network_section
from genoflow.report.provenance import config_text, git_commit, lock_digest, package_versions
from genoflow.report.tables import (
    DIRECTION_NOTES,
    comparison_table,
    horizon_table,
    model_groups,
    paired_comparison,
    published_result,
    summary_task,
    tuning_searches,
)


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
    sections = [
        dataset_section(results_dir, name, i, config.get("datasets", {}).get(name, {}))
        for i, name in enumerate(datasets)
    ]
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
        lock=lock_digest(workflow_dir),
        workflow_dir=str(workflow_dir),
        generated=datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"),
    )
    with atomic_path(out) as tmp:
        tmp.write_text(html, encoding="utf-8")
    return out


def render(**context) -> str:
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("genoflow.report", "templates"),
        # Always on: the template's name ends in .j2, which select_autoescape would not match.
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["thousands"] = count_text
    return environment.get_template("report.html.j2").render(**context)


def dataset_section(results_dir: Path, name: str, index: int, entry: dict | None = None) -> dict:
    """Everything the page shows about one dataset (`entry`: its config, for `published`)."""
    root = results_dir / name
    summary_path = root / "summary.tsv"
    if not summary_path.is_file():
        raise InputError(summary_path, "missing (run `genoflow summarize` for this dataset)")
    summary = pd.read_csv(summary_path, sep="\t", dtype={"model": str})
    if summary.empty or "model" not in summary:
        raise InputError(summary_path, "no runs in the summary table")
    ingest = read_optional(root / "ingest" / "summary.json")
    meta = read_optional(root / "preprocess" / "meta.json")
    task = summary_task(summary, meta)
    if task == "forecasting":
        train_records = as_number((meta or {}).get("windows", {}).get("train"))
        train_records = 0 if math.isnan(train_records) else int(train_records)
    else:
        train_records = sum((meta or {}).get("split_sizes", {}).get("train", {}).values())
    anchor = f"dataset-{index + 1}"
    runs = [run_facts(root, row, task) for row in summary.to_dict("records")]
    comparison = read_optional(root / "comparison.json")
    selected = (comparison or {}).get("selected")
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
        "table": comparison_table(summary, train_records, task, selected),
        "selected": selected,
        # what ranked the models (comparison.json "criterion"; older files: the plain loss)
        "selected_by": "validation loss after temperature scaling"
        if (comparison or {}).get("criterion") == "calibrated_val_loss"
        else "validation loss",
        "horizons": horizon_table(summary, root) if task == "forecasting" else None,
        "network": network_section(root / "network"),
        "multi_seed": bool(summary.groupby("model").size().gt(1).any()),
        "runs": runs,
        "figures": figures(root / "figures", prefix=f"d{index + 1}", task=task),
        "data": data_summary(ingest, meta, task),
        "inputs": (ingest or {}).get("inputs", []),
        "seeds": {
            model: [seed_text(seed) for seed in sorted(group["seed"])]
            for model, group in model_groups(summary)
        },
        "split_seed": (meta or {}).get("split", {}).get("seed"),
        "paired": paired_comparison(comparison, task),
        "tuning": tuning_searches(root / "tune"),
        "published": published_result((entry or {}).get("published"), summary, selected),
    }


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
        title, caption = figure_caption(stem, task)
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
