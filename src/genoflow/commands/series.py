"""Expression time series: ingest-matrix, preprocess-series, the gene-network ranking."""

from __future__ import annotations

import argparse
from pathlib import Path

from genoflow.commands.common import settings_option
from genoflow.formats.files import read_meta
from genoflow.progress import log


def cmd_ingest_matrix(args: argparse.Namespace) -> None:
    from genoflow.io.expression import ingest_matrix

    summary = ingest_matrix(
        args.matrix,
        args.out,
        orientation=args.orientation,
        samples=args.samples,
        series_length=args.series_length,
        time_step=args.time_step,
        missing=args.missing,
    )
    log().info(
        f"ingested {summary['samples']} samples x {summary['genes']} genes in"
        f" {summary['series']} series; {summary['missing']['imputed']} value(s) imputed"
    )


def ingest_matrix_parser(commands) -> None:
    p = commands.add_parser(
        "ingest-matrix", help="expression matrix + sample metadata -> validated time series"
    )
    p.add_argument("--matrix", required=True, help="TSV/CSV (optionally .gz) or Parquet matrix")
    p.add_argument(
        "--orientation",
        default="samples_x_genes",
        choices=["samples_x_genes", "genes_x_samples"],
        help="rows are samples (columns genes), or rows are genes (columns samples)",
    )
    meta = p.add_mutually_exclusive_group(required=True)
    meta.add_argument("--samples", help="sample table TSV: sample, series, time[, condition]")
    meta.add_argument(
        "--series-length",
        type=int,
        help="stacked trajectories: every N consecutive samples are one series (DREAM4)",
    )
    p.add_argument(
        "--time-step", type=float, default=1.0, help="time between points (with --series-length)"
    )
    p.add_argument(
        "--missing",
        default="error",
        choices=["error", "zero", "gene_mean", "ffill"],
        help="NaN/inf/NA cells: fail, or impute (0, gene mean, previous time point)",
    )
    p.add_argument("--out", required=True, help="output folder")
    settings_option(p)
    p.set_defaults(func=cmd_ingest_matrix)


def cmd_preprocess_series(args: argparse.Namespace) -> None:
    from genoflow.preprocess.series import preprocess_series

    meta = preprocess_series(
        args.ingest,
        args.out,
        input=args.input,
        horizon=args.horizon,
        split=args.split,
        val=args.val,
        test=args.test,
        seed=args.seed,
        log1p=args.log1p,
        zscore=args.zscore,
        target=args.target,
        multistep=args.multistep,
        resample=args.resample,
    )
    split = meta["split"]
    log().info(
        f"windows {meta['windows']}; series train {len(split['train'])}, val {split['val']},"
        f" test {split['test']}; leakage {meta['leakage_check']}"
    )


def preprocess_series_parser(commands) -> None:
    p = commands.add_parser(
        "preprocess-series", help="split whole series, normalise on train, forecasting windows"
    )
    p.add_argument("--ingest", required=True, help="folder written by `genoflow ingest-matrix`")
    p.add_argument("--out", required=True)
    p.add_argument("--input", type=int, default=5, help="time points a window reads")
    p.add_argument("--horizon", type=int, default=1, help="time points a window predicts")
    p.add_argument(
        "--split",
        default="series",
        choices=["series", "condition"],
        help="hold out whole series by series name or by condition name",
    )
    p.add_argument("--val", nargs="+", help="series (or condition) names for validation")
    p.add_argument("--test", nargs="+", help="series (or condition) names for test")
    p.add_argument("--seed", type=int, default=42, help="recorded; the split is by name")
    p.add_argument("--log1p", action="store_true", help="log1p before z-scoring")
    p.add_argument(
        "--no-zscore", dest="zscore", action="store_false", help="skip the per-gene z-score"
    )
    p.add_argument(
        "--target",
        default="delta",
        choices=["delta", "level"],
        help="predict the change from the last point, or the level",
    )
    p.add_argument(
        "--multistep",
        default="direct",
        choices=["direct", "recursive"],
        help="all horizons at once, or one step fed back",
    )
    p.add_argument(
        "--resample",
        type=_resample_value,
        default="auto",
        help="auto (default: irregularly sampled series onto a grid of the median step), a"
        " time step (every series), or none (points as measured)",
    )
    settings_option(p)
    p.set_defaults(func=cmd_preprocess_series)


def _resample_value(text: str) -> str | float:
    if text in ("auto", "none"):
        return text
    try:
        step = float(text)
    except ValueError:
        step = 0.0
    if not step > 0:
        raise argparse.ArgumentTypeError(f"{text!r}: give auto, none or a positive time step")
    return step


def cmd_network(args: argparse.Namespace) -> None:
    from genoflow.evaluate.network import rank_network, read_gene_list, read_gold_standard
    from genoflow.report.figures.interpretation import write_network_heatmap

    regulators = args.regulators
    if args.regulators_file:
        regulators = (regulators or []) + read_gene_list(args.regulators_file)
    result = rank_network(
        args.models,
        args.data,
        args.out,
        gold_standard=args.gold_standard,
        regulators=regulators,
        threads=args.threads,
    )
    if args.figure:
        genes = read_meta(args.data)["genes"]
        gold = read_gold_standard(args.gold_standard, genes) if args.gold_standard else None
        write_network_heatmap(Path(args.out) / "edges.tsv", Path(args.figure), gold)
    for name in ("neural", "regulation", "ridge", "ridge_ar1", "dyngenie3"):
        if name in result:
            scores = result[name]
            log().info(f"{name}: AUROC {scores['auroc']:.3f}, AUPR {scores['aupr']:.3f}")


def network_parser(commands) -> None:
    p = commands.add_parser("network", help="rank regulator->target edges from forecasters")
    p.add_argument("--models", nargs="+", required=True, help="model.ckpt of neural forecasters")
    p.add_argument("--data", required=True, help="folder written by `genoflow preprocess-series`")
    p.add_argument("--gold-standard", help="known edges: regulator, target, 0/1 per line")
    p.add_argument("--out", required=True)
    p.add_argument("--figure", help="SVG heatmap of the neural ranking to write")
    p.add_argument("--regulators", nargs="+", help="score only edges from these genes (e.g. TFs)")
    p.add_argument("--regulators-file", help="or a file of them: one gene per line, '#' comments")
    p.add_argument(
        "--threads", type=int, default=1, help="CPU threads for the tree baseline (default: 1)"
    )
    p.set_defaults(func=cmd_network)
