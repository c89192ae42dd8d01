"""What every benchmark reports of repeated measurements: median and min–max."""

from __future__ import annotations

import statistics


def summary(values: list[float]) -> dict:
    """Median, min, max, count and the values themselves (for the JSON results)."""
    return {
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
        "n": len(values),
        "values": values,
    }


def fmt(s: dict, digits: int = 1) -> str:
    """'median (min-max)' for a table cell."""
    return f"{s['median']:.{digits}f} ({s['min']:.{digits}f}-{s['max']:.{digits}f})"
