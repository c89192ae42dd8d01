"""The report's gene-network sections: each ranking method's AUROC and AUPR against the gold
standard, and the top edges."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from genoflow.formats.files import read_json
from genoflow.report.format import (
    as_number,
    count_text,
    fixed_text,
    rounded,
)
from genoflow.report.tables import mark_best

NETWORK_METHODS = (
    ("neural", "Neural ensemble"),
    ("regulation", "Neural model of regulation (Vohradsky)"),
    ("ridge", "Ridge AR (most recent lag)"),
    ("ridge_ar1", "Ridge AR(1) (reference)"),
    ("dyngenie3", "dynGENIE3-style trees"),
)


TOP_EDGES = 10


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
                        "text": fixed_text(entry.get(metric)),
                        "value": rounded(entry.get(metric)),
                    }
                    for metric in ("auroc", "aupr", "precision_top_k")
                },
                "edges_true": count_text(entry.get("edges_true")),
                "edges_scored": count_text(entry.get("edges_scored")),
            }
        )
    for metric in ("auroc", "aupr", "precision_top_k"):
        mark_best([row["cells"][metric] for row in rows])
    true = as_number((data.get("neural") or {}).get("edges_true"))
    scored = as_number((data.get("neural") or {}).get("edges_scored"))
    per_model = [
        {
            "name": name,
            "auroc": fixed_text(entry.get("auroc")),
            "aupr": fixed_text(entry.get("aupr")),
        }
        for name, entry in (data.get("per_model") or {}).items()
    ]
    return {
        "path": str(path),
        "method": str(data.get("method", "—")),
        "models": [str(model) for model in data.get("models", [])],
        "scored": bool(rows),
        "rows": rows,
        "values": {
            key: {m: as_number(data[key].get(m)) for m in ("auroc", "aupr")}
            for key, _ in NETWORK_METHODS
            if isinstance(data.get(key), dict)
        },
        "chance_aupr": fixed_text(true / scored) if scored and scored > 0 else "",
        "per_model": per_model,
        "top_edges": top_edges(folder / "edges.tsv"),
    }


def top_edges(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    table = pd.read_csv(path, sep="\t", nrows=TOP_EDGES, dtype={"regulator": str, "target": str})
    return [
        {
            "rank": count_text(row.get("rank")),
            "regulator": row.get("regulator", "—"),
            "target": row.get("target", "—"),
            "score": f"{as_number(row.get('score')):.3g}",
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
            {"text": fixed_text(values.get(key, {}).get(metric)), "metric": metric}
            for key, metric in columns
        ]
        for cell in row:
            cell["value"] = as_number(cell["text"])
        for metric in ("auroc", "aupr"):  # best method of this row, per metric
            mark_best([cell for cell in row if cell["metric"] == metric])
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
