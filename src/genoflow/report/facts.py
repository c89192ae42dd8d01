"""The facts of a dataset and its runs, as the report states them: records kept and rejected,
lengths, classes per split, leakage, series and time points, and each run's device, epochs and
speed."""

from __future__ import annotations

import json
from pathlib import Path

from genoflow.registry import METRICS_BY_TASK
from genoflow.report.format import (
    as_number,
    count_text,
    interval_text,
    metric_text,
    read_optional,
    seed_text,
    yes_no,
)

RECORD_UNITS = {
    "classification": "sequences",
    "token_classification": "residues",  # labelled training residues
    "multilabel": "sequences",
    "regression": "sequences",
    "forecasting": "windows",
}


def run_facts(root: Path, row: dict, task: str = "classification") -> dict:
    """Settings of one run from its train.json (missing file: the summary's facts only)."""
    seed = seed_text(row.get("seed"))
    path = root / str(row["model"]) / f"seed{seed}" / "train.json"
    info = read_optional(path) or {}
    return {
        "model": row["model"],
        "seed": seed,
        "type": info.get("type", row.get("type", "")),
        "device": info.get("device", "—"),
        "precision": info.get("precision", "—"),
        "stopped_early": yes_no(info.get("stopped_early")),
        "resumed": yes_no(info.get("resumed")),
        "model_args": json.dumps(info.get("model_args", {}), sort_keys=True),
        "train": json.dumps(info["train"], sort_keys=True) if "train" in info else "—",
        "cells": {
            metric: {"text": metric_text(row.get(metric), metric), "ci": interval_text(row, metric)}
            for metric in METRICS_BY_TASK[task]
        },
    }


def data_summary(ingest: dict | None, meta: dict | None, task: str = "classification") -> dict:
    """What the page says about a dataset's data, where known: for sequences the records,
    classes or targets, lengths, split sizes, rejected records and leakage; for expression time
    series the genes, series, time points, windows and series per split and how windows are
    framed."""
    if task == "forecasting":
        return series_summary(ingest or {}, meta or {})
    ingest, meta = ingest or {}, meta or {}
    classes = meta.get("classes") or list(ingest.get("classes", {}))
    sizes = meta.get("split_sizes", {})
    splits = [split for split in ("train", "val", "test") if split in sizes]
    split_rows = [
        {
            "name": name,
            "counts": [count_text(sizes[split].get(name, 0)) for split in splits],
        }
        for name in classes
    ]
    facts = []
    if ingest:
        length = ingest.get("length", {})
        facts += [
            ("Alphabet", ingest.get("alphabet", "—")),
            ("Records kept", count_text(ingest.get("records"))),
            ("Records rejected", rejected_text(ingest)),
            (
                "Sequence length",
                f"{count_text(length.get('min'))}–{count_text(length.get('max'))} "
                f"(mean {as_number(length.get('mean')):.1f}, "
                f"median {as_number(length.get('median')):.1f})"
                if length
                else "—",
            ),
            (
                "Records with ambiguity codes",
                count_text(ingest.get("records_with_ambiguity_codes")),
            ),
            ("Duplicate ids dropped", count_text(ingest.get("duplicate_ids_dropped"))),
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
            ("Records trimmed", count_text(meta.get("trimmed_records"))),
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
                        f"{SPLIT_LABELS[split].lower()} {count_text(sum(sizes[split].values()))}"
                        for split in splits
                    ),
                )
            )
    leakage = [(key.replace("_", " ").capitalize(), value) for key, value in leakage_rows(meta)]
    return {
        "available": bool(ingest or meta),
        "facts": facts,
        "classes": [(name, count_text(ingest.get("classes", {}).get(name))) for name in classes],
        "splits": splits,
        "split_rows": split_rows,
        "split_totals": [count_text(sum(sizes[split].values())) for split in splits],
        "series_splits": [],
        "leakage": leakage,
    }


SPLIT_LABELS = {"train": "Train", "val": "Validation", "test": "Test"}


MAX_SERIES_NAMES = 12


def series_summary(ingest: dict, meta: dict) -> dict:
    """Data facts of a forecasting dataset (ingest summary.json + preprocess meta.json)."""
    facts = []
    genes = ingest.get("genes", len(meta.get("genes", [])) or None)
    facts.append(("Genes", count_text(genes)))
    if ingest:
        conditions = ingest.get("conditions") or {}
        series = count_text(ingest.get("series"))
        if conditions:
            series += " (" + ", ".join(f"{c}: {n}" for c, n in conditions.items()) + ")"
        facts.append(("Series", series))
        lengths = list((ingest.get("series_lengths") or {}).values())
        points = count_text(ingest.get("samples"))
        if lengths:
            low, high = min(lengths), max(lengths)
            points += f" ({low} per series)" if low == high else f" ({low}–{high} per series)"
        facts.append(("Time points", points))
        time_range = ingest.get("time_range") or []
        if len(time_range) == 2:
            facts.append(("Time range", f"{time_range[0]:g} – {time_range[1]:g}"))
    elif meta.get("time_points") is not None:
        facts.append(("Time points", count_text(meta.get("time_points"))))
    if meta:
        facts.append(
            (
                "Windows",
                f"{meta.get('input', '—')} observed time points → forecast horizon "
                f"{meta.get('horizon', '—')}",
            )
        )
        facts.append(("Target", target_text(meta.get("target"))))
        facts.append(("Multi-step strategy", multistep_text(meta.get("multistep"))))
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
                "series": count_text(len(members)) if split.get(name) is not None else "—",
                "names": shown,
                "windows": count_text(windows.get(name)),
            }
        )
    leakage = [
        (key.replace("_", " ").capitalize(), value)
        for key, value in leakage_rows(
            {"leakage": meta.get("leakage_check") or meta.get("leakage")}
        )
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


def target_text(target) -> str:
    return {
        "delta": "delta (models predict the change from the last observed value)",
        "level": "level (models predict the values themselves)",
    }.get(target, "—" if target is None else str(target))


def multistep_text(multistep) -> str:
    return {
        "direct": "direct (all horizons predicted at once)",
        "recursive": "recursive (one step at a time, fed back)",
    }.get(multistep, "—" if multistep is None else str(multistep))


def rejected_text(ingest: dict) -> str:
    count = count_text(ingest.get("rejected"))
    reasons = ingest.get("rejected_reasons") or {}
    if not reasons:
        return count
    return f"{count} ({', '.join(f'{reason}: {n}' for reason, n in reasons.items())})"


def leakage_rows(meta: dict) -> list[tuple[str, str]]:
    leakage = meta.get("leakage") or {}
    return [
        (key, value if isinstance(value, (int, float, str)) else json.dumps(value))
        for key, value in leakage.items()
    ]
