"""Gene-interaction ranking from trained forecasters, scored against a gold standard.

For each neural forecaster, the score of a directed edge regulator -> target is the input
gradient of the target's predicted one-step change with respect to the regulator's most recent
value, |d change_target / d x_regulator(t)|, averaged over windows: in an ODE-like system the
next change depends on the current state. Each model's scores become ranks (0..1), averaged
over all models and seeds given: an ensemble steadier than any single network.

Baselines, on the same data: `ridge` ranks edges by the absolute coefficients at the most recent
time point of a ridge autoregression of one-step changes on the same input windows (the same
question asked of a linear model); `ridge_ar1`, reported for reference, is a ridge regression of
each one-step change on the previous time point alone, fitted on consecutive training points;
`dyngenie3` is the field's standard for time series (Huynh-Thu & Geurts 2018): per target j, a
tree ensemble (scikit-learn's extra trees) of dx_j/dt + alpha_j x_j on the state x(t) of every
gene, in the data's units, with the decay rate alpha_j estimated from the data as dynGENIE3
does (log of max over min over the time between them); edges ranked by feature importance.
The decay term is what makes it work: on DREAM4 size 10 (networks 1-5) the mean AUROC is 0.707
with it and 0.581 without (size 100: 0.704).

`regulation` is a neural model fitted to the same consecutive points as the trees:
Vohradsky's neural network of gene regulation (J Biol Chem 2001), one sigmoid layer per target,
dx_j/dt = v_j * sigmoid(sum_i w_ij u_i + b_j) + c_j - d_j x_j, rates and states standardised
per gene, an L1 penalty on W; edges ranked by |w_ij|, rank-averaged over 10 seeds (with 3, one
network's AUROC moved by up to 0.05 with the seeds). Four choices, each measured on DREAM4
networks 1-5 (benchmarks/network_neural.py; numbers there and in README):
- the decay d_j is learnt with the rest rather than fixed at dynGENIE3's estimate, which is 0
  for some genes and 100x another's for others (chosen on size 10);
- the sigmoid reads u = log(x + 1 % of the largest value), not x: a Hill function of x, the
  form of GeneNetWeaver's and most models of regulation, is a sigmoid of log x;
- inverted dropout (p 0.6) on the candidates' inputs while fitting: with a penalty alone, a
  target leans on one of several correlated regulators and the others fall to 0;
- |w_ij| averaged over the last 300 of the 1,000 Adam steps: the L1 penalty holds most weights
  near 0, where Adam keeps them jumping, and the last step alone ranks those by the jump (a
  rounding difference moved the size-10 mean AUROC by 0.03).
The log inputs, the dropout and the averaging were chosen by looking at size 100's gold
standards (size 10 printed beside it; the L1 strength 0.05 among 0.03, 0.05 and 0.1 too).
Mean AUROC / AUPR: size 10 0.732 / 0.482 (AR(1) 0.727 / 0.432, trees 0.701 / 0.460; with x as
inputs, no dropout or averaging and L1 0.1: 0.766 / 0.583), size 100 0.714 / 0.159 (AR(1)
0.597 / 0.035, trees 0.711 / 0.101; before: 0.659 / 0.149).

Every method is fitted on the training series only, the split the neural models learned from.
With `regulators` (e.g. transcription factors) only regulator -> target pairs are scored.

Outputs: edges.tsv (regulator, target, score, rank), regulation_edges.tsv, ridge_edges.tsv,
ridge_ar1_edges.tsv and dyngenie3_edges.tsv, and metrics.json with AUROC, AUPR and the
precision of the top k edges (k = the number of true edges) against the gold standard (if one
is given), per model and for the ensemble.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch
from joblib import Parallel, delayed
from sklearn.ensemble import ExtraTreesRegressor
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


def _train_series(data: dict) -> np.ndarray:
    rows = np.flatnonzero(data["window_split"] == 0)  # any train window marks its series
    return np.unique(data["series"][data["windows"][rows]])


def _consecutive(data: dict, key: str = "values") -> tuple[np.ndarray, np.ndarray]:
    """(state x(t), rate of change (x(t+1) - x(t)) / dt) of consecutive training points, from
    `values` (the model's scale) or `raw` (the data's units)."""
    state, rate = [], []
    for series in _train_series(data):
        mask = data["series"] == series
        values, time = np.asarray(data[key][mask], dtype=np.float64), data["time"][mask]
        state.append(values[:-1])
        rate.append(np.diff(values, axis=0) / np.diff(time)[:, None])
    return np.concatenate(state), np.concatenate(rate)


def decay_rates(raw: np.ndarray, time: np.ndarray) -> np.ndarray:
    """dynGENIE3's estimate per gene: log(max / min) / |t(max) - t(min)|; 0 where the values
    are not positive or max and min share a time."""
    raw = np.asarray(raw, dtype=np.float64)
    high, low = raw.argmax(axis=0), raw.argmin(axis=0)
    columns = np.arange(raw.shape[1])
    top, bottom = raw[high, columns], raw[low, columns]
    span = np.abs(time[high] - time[low])
    with np.errstate(divide="ignore", invalid="ignore"):
        alpha = np.log(top / bottom) / span
    return np.where((bottom > 0) & (span > 0) & np.isfinite(alpha), alpha, 0.0)


def tree_scores(
    data: dict,
    seed: int = 0,
    trees: int = 300,
    candidates: np.ndarray | None = None,
    threads: int = 1,
) -> np.ndarray:
    """(genes, genes) dynGENIE3-style importances: [i, j] = importance of gene i's state in an
    extra-trees model of gene j's rate of change (see the module docstring); only the
    `candidates` (gene indices, e.g. the regulators) are features when given, as in dynGENIE3."""
    state, rate = _consecutive(data, "raw")
    train = np.isin(data["series"], _train_series(data))
    response = rate + decay_rates(data["raw"][train], data["time"][train]) * state
    genes = state.shape[1]
    features = np.arange(genes) if candidates is None else np.asarray(candidates)
    # One process per share of the targets: the trees are small (one per time point pair),
    # so threads inside one forest hardly help (measured: 224 s -> 218 s wall on 1,000 genes).
    shares = np.array_split(np.arange(genes), threads)
    parts = Parallel(n_jobs=threads)(
        delayed(_tree_importances)(state[:, features], response[:, share], trees, seed)
        for share in shares
        if share.size
    )
    scores = np.zeros((genes, genes))
    for share, part in zip([s for s in shares if s.size], parts, strict=True):
        scores[np.ix_(features, share)] = part
    return scores


REGULATION_L1 = 0.05  # L1 on W (module docstring); size 100: 0.03 and 0.1 did worse
REGULATION_DROPOUT = 0.6  # share of the candidates' inputs dropped per step (module docstring)
REGULATION_STEPS = 1000  # full-batch Adam steps; the loss has settled by then
REGULATION_AVERAGE = 300  # the last steps whose |w_ij| are averaged (module docstring)
PSEUDO_COUNT = 0.01  # of the largest value: log(x + 0.01 max), the inputs' scale (docstring)


def regulator_inputs(state: np.ndarray) -> np.ndarray:
    """The states as the sigmoid reads them: log(x + 1 % of the largest value) where no value is
    negative (a Hill function of x is a sigmoid of log x), else as they are (data already on a
    log scale, e.g. log ratios)."""
    if state.size == 0 or state.min() < 0:
        return state
    return np.log(state + PSEUDO_COUNT * max(float(state.max()), 1e-12))


def regulation_scores(
    data: dict, seeds: int = 10, l1: float = REGULATION_L1, candidates: np.ndarray | None = None
) -> np.ndarray:
    """(genes, genes) mean |w_ij| of the neural model of regulation (module docstring), fitted
    on the training series' consecutive points, as ranks averaged over `seeds` fits; only the
    `candidates` (and each target's own state) are inputs when given."""
    state, rate = _consecutive(data, "raw")

    def standardised(values: np.ndarray) -> torch.Tensor:
        return torch.tensor((values - values.mean(0)) / (values.std(0) + 1e-8), dtype=torch.float32)

    inputs, x, y = standardised(regulator_inputs(state)), standardised(state), standardised(rate)
    genes = x.shape[1]
    rows = np.arange(genes) if candidates is None else np.asarray(candidates)
    total = np.zeros((genes, genes))
    for seed in range(seeds):
        weights, own = _fit_regulation(inputs, x, y, torch.as_tensor(rows), l1, seed)
        scores = np.zeros((genes, genes))
        scores[rows] = weights
        scores[np.arange(genes), np.arange(genes)] = own  # (self-edges are never scored)
        total += _ranks(scores)
    return total / seeds


def _fit_regulation(inputs, x, y, rows, l1: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean |weights| (candidate, target) and |own-state weight| (target) over the last steps
    of one fit. `inputs`: the standardised regulator_inputs, what the sigmoid reads; `x`: the
    standardised states, what decays. Only the candidates' rows are weights (1,000 genes with
    100 regulators: a tenth of the work); a target's own state has a weight of its own inside
    the sigmoid (self-regulation) and a linear decay coefficient outside it, both kept out of
    the candidates' rows so that they are never counted as edges."""
    generator = torch.Generator().manual_seed(seed)
    genes = x.shape[1]
    weights = torch.nn.Parameter(torch.randn(len(rows), genes, generator=generator) * 0.1)
    own = torch.nn.Parameter(torch.randn(genes, generator=generator) * 0.1)
    bias, scale, shift, decay = (
        torch.nn.Parameter(torch.full((genes,), v)) for v in (0.0, 1.0, 0.0, 0.0)
    )
    mask = torch.ones(len(rows), genes)
    mask[torch.arange(len(rows)), rows] = 0.0  # a candidate's own state: the `own` weight
    candidates = inputs[:, rows]
    kept = 1.0 - REGULATION_DROPOUT
    optimizer = torch.optim.Adam([weights, own, bias, scale, shift, decay], lr=1e-2)
    mean_weights, mean_own = torch.zeros(len(rows), genes), torch.zeros(genes)
    for step in range(REGULATION_STEPS):
        optimizer.zero_grad()
        w = weights * mask
        # inverted dropout on the candidates: a target cannot lean on one of several
        # correlated regulators, each must explain the rate when others are missing
        dropped = candidates * (torch.rand(candidates.shape, generator=generator) < kept) / kept
        out = scale * torch.sigmoid(dropped @ w + own * inputs + bias) + shift - decay * x
        loss = ((out - y) ** 2).mean() + l1 * (w.abs().sum() + own.abs().sum()) / genes
        loss.backward()
        optimizer.step()
        if step >= REGULATION_STEPS - REGULATION_AVERAGE:
            # Adam keeps the weights that the L1 penalty holds near 0 jumping about it; their
            # mean over the last steps ranks them by the data, not by the last jump
            mean_weights += (weights * mask).detach().abs()
            mean_own += own.detach().abs()
    return (mean_weights / REGULATION_AVERAGE).numpy(), (mean_own / REGULATION_AVERAGE).numpy()


def _tree_importances(state, responses, trees: int, seed: int) -> np.ndarray:
    """(features, targets) importances, one extra-trees model per target column."""
    out = np.zeros((state.shape[1], responses.shape[1]))
    for column in range(responses.shape[1]):
        # sqrt of the candidates per split, as GENIE3's K = sqrt(p); fully grown trees
        model = ExtraTreesRegressor(
            n_estimators=trees, max_features="sqrt", random_state=seed, n_jobs=1
        ).fit(state, responses[:, column])
        out[:, column] = model.feature_importances_
    return out


def _ranks(scores: np.ndarray) -> np.ndarray:
    return scores.ravel().argsort().argsort().reshape(scores.shape) / (scores.size - 1)


def _ar1_scores(data: dict) -> np.ndarray:
    """|coefficients| of ridge regressions of x(t+1) - x(t) on x(t), training series only."""
    state, rate = _consecutive(data)
    model = RidgeCV(alphas=np.logspace(-3, 3, 13)).fit(state, rate)
    return np.abs(model.coef_).T


def read_gene_list(path: str | Path) -> list[str]:
    """One gene id per line (first field; blank and '#' lines skipped), e.g. regulators."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "file not found")
    genes = []
    for _, line in text_lines(path):
        fields = line.split()
        if fields and not fields[0].startswith("#"):
            genes.append(fields[0])
    if not genes:
        raise InputError(path, "no gene ids (expected one per line)")
    return genes


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


def edge_table(
    scores: np.ndarray, genes: list[str], regulators: list[str] | None = None
) -> pd.DataFrame:
    """All directed pairs without self-edges (from `regulators` only, if given), best first,
    ranks from 1."""
    allowed = ~np.eye(len(genes), dtype=bool)
    if regulators is not None:
        allowed[~np.isin(genes, regulators)] = False
    regulator, target = np.nonzero(allowed)
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
    """AUROC, AUPR and the precision of the top k edges (k = the true edges among the scored
    pairs) over the gold standard's pairs that were scored (with `regulators`: those pairs)."""
    merged = gold.merge(edges, on=["regulator", "target"], how="inner")
    true = int(merged["edge"].sum())
    if true == 0 or true == len(merged):
        raise InputError(
            None,
            f"the gold standard has {true} true edge(s) among the {len(merged)} scored pairs;"
            " AUROC needs both kinds (check the regulators and the gold standard's gene names)",
        )
    top = merged.sort_values("score", ascending=False, kind="stable").head(true)
    return {
        "auroc": float(roc_auc_score(merged["edge"], merged["score"])),
        "aupr": float(average_precision_score(merged["edge"], merged["score"])),
        "precision_top_k": float(top["edge"].mean()),
        "edges_true": true,
        "edges_scored": int(len(merged)),
    }


def rank_network(
    models: list[str | Path],
    data_dir: str | Path,
    out_dir: str | Path,
    *,
    gold_standard: str | Path | None = None,
    regulators: list[str] | None = None,
    seed: int = 0,
    threads: int = 1,
) -> dict:
    """Rank edges with the given neural forecasters (model.ckpt files) and the baselines."""
    from genoflow.formats.series import load_windows
    from genoflow.tasks.train import load_model

    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise InputError(None, f"threads must be a positive integer, got {threads!r}")
    data = load_windows(data_dir)
    genes = data["meta"]["genes"]
    gold = read_gold_standard(gold_standard, genes) if gold_standard else None  # before writing
    if regulators is not None:
        unknown = sorted(set(regulators) - set(genes))
        if unknown:
            raise InputError(
                None,
                f"regulators: {len(unknown)} gene(s) not in the expression matrix, e.g."
                f" {unknown[:5]}",
            )
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
    candidates = None if regulators is None else np.flatnonzero(np.isin(genes, regulators))
    tables = {
        "edges": edge_table(ensemble / len(per_model), genes, regulators),
        "regulation_edges": edge_table(
            regulation_scores(data, candidates=candidates), genes, regulators
        ),
        "ridge_edges": edge_table(ridge_scores(inputs, targets), genes, regulators),
        "ridge_ar1_edges": edge_table(_ar1_scores(data), genes, regulators),
        "dyngenie3_edges": edge_table(
            tree_scores(data, seed, candidates=candidates, threads=threads), genes, regulators
        ),
    }
    out_dir = Path(out_dir)
    for name, table in tables.items():
        with atomic_path(out_dir / f"{name}.tsv") as tmp:
            table.to_csv(tmp, sep="\t", index=False, float_format="%.6g")
    result = {
        "models": sorted(per_model),
        "method": "input gradient at the last step, rank ensemble",
        "regulators": None if regulators is None else len(regulators),
    }
    if gold is not None:
        result["neural"] = score_against(tables["edges"], gold)
        result["regulation"] = score_against(tables["regulation_edges"], gold)
        result["ridge"] = score_against(tables["ridge_edges"], gold)
        result["ridge_ar1"] = score_against(tables["ridge_ar1_edges"], gold)
        result["dyngenie3"] = score_against(tables["dyngenie3_edges"], gold)
        result["per_model"] = {
            name: score_against(edge_table(scores, genes, regulators), gold)
            for name, scores in per_model.items()
        }
    write_json(out_dir / "metrics.json", result)
    return result
