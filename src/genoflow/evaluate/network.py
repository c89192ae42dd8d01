"""Gene-interaction ranking from trained forecasters, scored against a gold standard.

For each neural forecaster, the score of a directed edge regulator -> target is the input
gradient of the target's predicted one-step change with respect to the regulator's most recent
value, |d change_target / d x_regulator(t)|, averaged over windows: in an ODE-like system the
next change depends on the current state. Each model's scores become ranks (0..1), averaged
over all models and seeds given: an ensemble steadier than any single network.

Baselines, on the same data: `ridge` ranks edges by the absolute coefficients at the most recent
time point of a ridge autoregression of one-step changes on the same input windows (the same
question asked of a linear model); `ridge_ar1`, reported for reference, is a ridge regression of
each one-step change on the previous time point alone, fitted on consecutive training points.

Outputs: edges.tsv (regulator, target, score, rank) and ridge_edges.tsv, and metrics.json with
AUROC and AUPR against the gold standard (if one is given), per model and for the ensemble.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.linear_model import RidgeCV
from sklearn.metrics import average_precision_score, roc_auc_score

from genoflow.errors import InputError, table_problems
from genoflow.formats.files import atomic_path, text_lines, write_json
from genoflow.formats.series import window_arrays


def gradient_scores(module, inputs: np.ndarray) -> np.ndarray:
    """(genes, genes): [i, j] = mean over windows of |d change_j / d x_i at the last step|."""
    x = torch.tensor(inputs, dtype=torch.float32, requires_grad=True)
    change = module.step_ahead(x)[:, 0, :] - x[:, -1, :]
    scores = np.zeros((inputs.shape[2], inputs.shape[2]))
    for target in range(inputs.shape[2]):
        (grad,) = torch.autograd.grad(change[:, target].sum(), x, retain_graph=True)
        scores[:, target] = grad[:, -1, :].abs().mean(dim=0).numpy()
    return scores


def ridge_scores(inputs: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """(genes, genes) |coefficient| of each gene's most recent value in a ridge AR model of
    one-step changes (penalty by cross-validation)."""
    genes = inputs.shape[2]
    change = targets[:, 0, :] - inputs[:, -1, :]
    model = RidgeCV(alphas=np.logspace(-3, 3, 13)).fit(inputs.reshape(len(inputs), -1), change)
    return np.abs(model.coef_).reshape(genes, -1, genes)[:, -1, :].T  # (regulator, target)


def _ranks(scores: np.ndarray) -> np.ndarray:
    return scores.ravel().argsort().argsort().reshape(scores.shape) / (scores.size - 1)


def _ar1_scores(data: dict) -> np.ndarray:
    """|coefficients| of ridge regressions of x(t+1) - x(t) on x(t), training series only."""
    rows = np.flatnonzero(data["window_split"] == 0)  # any train window marks its series
    train_series = np.unique(data["series"][data["windows"][rows]])
    current, change = [], []
    for series in train_series:
        values = data["values"][data["series"] == series]
        current.append(values[:-1])
        change.append(np.diff(values, axis=0))
    model = RidgeCV(alphas=np.logspace(-3, 3, 13)).fit(
        np.concatenate(current), np.concatenate(change)
    )
    return np.abs(model.coef_).T


def read_gold_standard(path: str | Path, genes: list[str]) -> pd.DataFrame:
    """DREAM format: regulator, target, 0/1 per line (tab or space separated, no header;
    blank and '#' lines skipped). Every problem is reported at once, by line."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "gold standard not found")
    known, rows, problems = set(genes), [], []
    for number, line in text_lines(path):
        fields = line.split()
        if not fields or fields[0].startswith("#"):
            continue
        if len(fields) != 3:
            problems.append((number, f"{len(fields)} fields; expected regulator, target, 0/1"))
            continue
        regulator, target, edge = fields
        unknown = [gene for gene in (regulator, target) if gene not in known]
        if unknown:
            problems.append((number, f"gene(s) {unknown} are not in the expression matrix"))
        if edge not in ("0", "1"):
            problems.append((number, f"edge {edge!r} must be 0 or 1"))
        rows.append((regulator, target, int(edge == "1")))
    if problems:
        raise table_problems(path, problems)
    if not rows:
        raise InputError(path, "no edges (expected lines of regulator, target, 0/1)")
    return pd.DataFrame(rows, columns=["regulator", "target", "edge"])


def edge_table(scores: np.ndarray, genes: list[str]) -> pd.DataFrame:
    """All directed pairs without self-edges, best first, ranks from 1."""
    regulator, target = np.nonzero(~np.eye(len(genes), dtype=bool))
    table = pd.DataFrame(
        {
            "regulator": np.array(genes)[regulator],
            "target": np.array(genes)[target],
            "score": scores[regulator, target],
        }
    ).sort_values("score", ascending=False, kind="stable")
    table["rank"] = np.arange(1, len(table) + 1)
    return table.reset_index(drop=True)


def score_against(edges: pd.DataFrame, gold: pd.DataFrame) -> dict[str, float]:
    merged = gold.merge(edges, on=["regulator", "target"], how="left")
    merged["score"] = merged["score"].fillna(0.0)
    return {
        "auroc": float(roc_auc_score(merged["edge"], merged["score"])),
        "aupr": float(average_precision_score(merged["edge"], merged["score"])),
        "edges_true": int(merged["edge"].sum()),
        "edges_scored": int(len(merged)),
    }


def rank_network(
    models: list[str | Path],
    data_dir: str | Path,
    out_dir: str | Path,
    *,
    gold_standard: str | Path | None = None,
) -> dict:
    """Rank edges with the given neural forecasters (model.ckpt files) and the ridge baseline."""
    from genoflow.formats.series import load_windows
    from genoflow.tasks.train import load_model

    data = load_windows(data_dir)
    genes = data["meta"]["genes"]
    gold = read_gold_standard(gold_standard, genes) if gold_standard else None  # before writing
    everything = np.concatenate([window_arrays(data, s)[1] for s in ("train", "val", "test")])
    per_model, ensemble = {}, np.zeros((len(genes), len(genes)))
    for path in map(Path, models):
        module, _ = load_model(path)
        scores = gradient_scores(module, everything)
        ensemble += _ranks(scores)
        per_model[f"{path.parent.parent.name}/{path.parent.name}"] = scores
    if not per_model:
        raise InputError(None, "no neural forecaster to rank edges with")
    _, inputs, targets = window_arrays(data, "train")
    tables = {
        "edges": edge_table(ensemble / len(per_model), genes),
        "ridge_edges": edge_table(ridge_scores(inputs, targets), genes),
        "ridge_ar1_edges": edge_table(_ar1_scores(data), genes),
    }
    out_dir = Path(out_dir)
    for name, table in tables.items():
        with atomic_path(out_dir / f"{name}.tsv") as tmp:
            table.to_csv(tmp, sep="\t", index=False, float_format="%.6g")
    result = {
        "models": sorted(per_model),
        "method": "input gradient at the last step, rank ensemble",
    }
    if gold is not None:
        result["neural"] = score_against(tables["edges"], gold)
        result["ridge"] = score_against(tables["ridge_edges"], gold)
        result["ridge_ar1"] = score_against(tables["ridge_ar1_edges"], gold)
        result["per_model"] = {
            name: score_against(edge_table(scores, genes), gold)
            for name, scores in per_model.items()
        }
    write_json(out_dir / "metrics.json", result)
    return result
