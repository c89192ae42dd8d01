"""`genoflow <stage>`: one command per workflow stage, usable without Snakemake.

Heavy imports (torch, Lightning) happen inside the commands that need them, so `--help` and the
light stages start fast.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from genoflow import __version__
from genoflow.config import MODEL_TASKS
from genoflow.errors import InputError


def _json_object(text: str) -> dict:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise argparse.ArgumentTypeError(f"not valid JSON: {error}") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError("expected a JSON object, e.g. '{\"hidden\": 64}'")
    return value


def _streaming_stage() -> None:
    """Set up a process of ingest or preprocess, which stream through the data with numpy and
    the kernels. They never call BLAS, so numpy's OpenBLAS need not start a thread per core as
    it loads (~0.07 s of each process, measured; a user's own setting wins); and freed blocks
    are kept for reuse (kernels.keep_freed_memory)."""
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before numpy is first imported
    from genoflow import kernels

    kernels.keep_freed_memory()


def cmd_ingest(args: argparse.Namespace) -> None:
    _streaming_stage()
    from genoflow.ingest import (
        FastaInput,
        RegionInput,
        ResidueCsvInput,
        ingest,
        read_sample_sheet,
    )

    if sum(map(bool, (args.samples, args.fasta, args.bed, args.csv))) != 1:
        raise InputError(None, "give one of --samples, --fasta, --bed (with --reference) or --csv")
    if bool(args.bed) != bool(args.reference):
        raise InputError(None, "--bed and --reference go together")
    labels = (args.label_pattern, args.labels, args.values, args.no_labels, args.label_column)
    if args.csv_splits and len(args.csv_splits) != len(args.csv or []):
        raise InputError(None, "give one --csv-splits entry per --csv file")
    if not args.samples and not args.csv and not any(labels):
        raise InputError(
            None, "give a label source: --label-pattern, --labels, --values, --label-column"
            " (BED) or --no-labels",
        )  # fmt: skip
    if args.samples:
        inputs = read_sample_sheet(args.samples)
    elif args.fasta:
        inputs = [FastaInput(Path(p)) for p in args.fasta]
    elif args.csv:
        splits = args.csv_splits or [None] * len(args.csv)
        inputs = [
            ResidueCsvInput(Path(path), split, args.sequence_column, args.residue_column,
                            tuple(args.mask_columns))
            for path, split in zip(args.csv, splits, strict=True)
        ]  # fmt: skip
    else:
        chromosomes = {c: "test" for c in args.test_chromosomes or []}
        chromosomes |= {c: "val" for c in args.val_chromosomes or []}
        inputs = [
            RegionInput(Path(bed), Path(args.reference), args.resize, args.label_column,
                        chromosomes or None)
            for bed in args.bed
        ]  # fmt: skip
    summary = ingest(
        inputs,
        args.out,
        alphabet=args.alphabet,
        label_pattern=args.label_pattern,
        label_table=args.labels,
        values_table=args.values,
        ambiguous=args.ambiguous,
        invalid=args.invalid,
        duplicate_ids=args.duplicate_ids,
        labelled=not args.no_labels,
        multilabel=args.multilabel,
        threads=args.threads,
    )
    kept, rejected = summary["records"], summary["rejected"]
    print(f"ingested {kept} records ({rejected} rejected); classes {summary['classes']}")


def cmd_preprocess(args: argparse.Namespace) -> None:
    _streaming_stage()
    from genoflow.preprocess import preprocess

    meta = preprocess(
        args.ingest,
        args.out,
        max_length=args.max_length,
        trim=args.trim,
        split=args.split,
        val=args.val,
        test=args.test,
        seed=args.seed,
        classes=args.classes,
        tile_width=args.tile_width,
        tile_stride=args.tile_stride,
        tile_label=args.tile_label,
        block_size=args.block_size,
        threads=args.threads,
    )
    print(f"split sizes {meta['split_sizes']}; leakage {meta['leakage']}")


def cmd_train(args: argparse.Namespace) -> None:
    name = args.model or args.type
    if args.type == "window_logreg":
        from genoflow.baselines import train_window_baseline

        info = train_window_baseline(
            args.data, args.out, model_name=name, seed=args.seed, **args.model_args
        )
    elif args.type in ("kmer_logreg", "kmer_ridge"):
        from genoflow.baselines import train_kmer_baseline

        info = train_kmer_baseline(
            args.data, args.out, model_name=name, model_type=args.type, seed=args.seed,
            **args.model_args,
        )  # fmt: skip
    elif args.type in ("persistence", "ridge_ar"):
        from genoflow.forecast import train_baseline

        info = train_baseline(
            args.data, args.out, model_name=name, model_type=args.type, seed=args.seed
        )
    else:
        from genoflow.train import TrainConfig, train

        info = train(
            args.data,
            args.out,
            model_name=name,
            model_type=args.type,
            model_args=dict(args.model_args),
            train_config=TrainConfig.from_dict(args.train),
            seed=args.seed,
            threads=args.threads,
        )
    if not info:
        return  # a DDP worker process: the first process reports
    print(f"trained {info['model']} seed {info['seed']}: {info['params']} parameters")
    print(f"training took {info['train_seconds']} s")


def cmd_evaluate(args: argparse.Namespace) -> None:
    from genoflow.metrics import METRICS_BY_TASK, evaluate

    result = evaluate(args.predictions, args.out, n_boot=args.bootstrap, seed=args.seed)
    main_metric = METRICS_BY_TASK[result["task"]][0]
    interval = result.get("ci95", {}).get(main_metric)
    print(f"{main_metric} {result[main_metric]:.4f} (95% CI {interval})")


def cmd_summarize(args: argparse.Namespace) -> None:
    from genoflow.summarize import summarize

    table = summarize(args.runs, args.out, n_boot=args.bootstrap, seed=args.seed)
    print(table.to_string(index=False, max_cols=8))


def cmd_figures(args: argparse.Namespace) -> None:
    from genoflow.figures import write_figures

    paths = write_figures([Path(p) for p in args.runs], Path(args.out_dir))
    print(f"wrote {len(paths)} figures to {args.out_dir}: {', '.join(p.name for p in paths)}")


def cmd_report(args: argparse.Namespace) -> None:
    from genoflow.report import write_report

    out = write_report(
        args.results,
        args.datasets,
        args.out,
        config=args.config_json,
        command=args.run_command,
        workflow_dir=args.workflow_dir,
        distance_figure=args.distance_figure,
    )
    print(f"wrote {out}")


def cmd_simulate(args: argparse.Namespace) -> None:
    from genoflow.simulate import write_motif_pair_fasta

    write_motif_pair_fasta(args.out, args.distance, args.records, args.seed)
    print(f"wrote {args.records} records, motifs {args.distance} letters apart, to {args.out}")


def cmd_distance_figure(args: argparse.Namespace) -> None:
    from genoflow.figures import write_distance_figure

    if len(args.summaries) != len(args.distances):
        raise InputError(None, "give one --distances entry per --summaries file")
    write_distance_figure(dict(zip(args.distances, map(Path, args.summaries), strict=True)),
                          Path(args.out))  # fmt: skip
    print(f"wrote {args.out}")


def cmd_ingest_matrix(args: argparse.Namespace) -> None:
    from genoflow.expression import ingest_matrix

    summary = ingest_matrix(
        args.matrix,
        args.out,
        orientation=args.orientation,
        samples=args.samples,
        series_length=args.series_length,
        time_step=args.time_step,
        missing=args.missing,
    )
    print(
        f"ingested {summary['samples']} samples x {summary['genes']} genes in"
        f" {summary['series']} series; {summary['missing']['imputed']} value(s) imputed"
    )


def cmd_preprocess_series(args: argparse.Namespace) -> None:
    from genoflow.timeseries import preprocess_series

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
    )
    split = meta["split"]
    print(
        f"windows {meta['windows']}; series train {len(split['train'])}, val {split['val']},"
        f" test {split['test']}; leakage {meta['leakage_check']}"
    )


def cmd_network(args: argparse.Namespace) -> None:
    from genoflow.figures import write_network_heatmap
    from genoflow.network import rank_network, read_gold_standard

    result = rank_network(args.models, args.data, args.out, gold_standard=args.gold_standard)
    if args.figure:
        genes = json.loads((Path(args.data) / "meta.json").read_text())["genes"]
        gold = read_gold_standard(args.gold_standard, genes) if args.gold_standard else None
        write_network_heatmap(Path(args.out) / "edges.tsv", Path(args.figure), gold)
    for name in ("neural", "ridge", "ridge_ar1"):
        if name in result:
            print(f"{name}: AUROC {result[name]['auroc']:.3f}, AUPR {result[name]['aupr']:.3f}")


def cmd_interpret(args: argparse.Namespace) -> None:
    from genoflow.figures import write_interpretation_figures
    from genoflow.interpret import best_run, interpret

    run = best_run([Path(p) for p in args.runs])
    summary = interpret(run, args.data, args.out, max_records=args.records)
    figures_dir = Path(args.figures_dir)
    figures_dir.mkdir(parents=True, exist_ok=True)
    for figure in write_interpretation_figures(Path(args.out)):
        figure.replace(figures_dir / figure.name)  # beside the dataset's other figures
    print(f"interpreted {summary['model']} on {summary['records']} test records")


def cmd_predict(args: argparse.Namespace) -> None:
    from genoflow.ingest import RegionInput
    from genoflow.predict import predict_fasta

    if bool(args.input) == bool(args.bed) or bool(args.bed) != bool(args.reference):
        raise InputError(None, "give --input FASTA files, or --bed with --reference")
    inputs = args.input or [
        RegionInput(Path(bed), Path(args.reference), args.resize) for bed in args.bed
    ]
    counts = predict_fasta(args.checkpoint, inputs, args.output, batch_size=args.batch_size)
    scored = counts.pop("ok", 0)
    others = ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items()))
    print(f"scored {scored} rows; not scored: {others or 'none'} (see the status column)")
    print(f"wrote {args.output}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="genoflow", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"genoflow {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="<stage>")

    p = commands.add_parser("ingest", help="FASTA + labels -> validated table and summary")
    p.add_argument("--alphabet", required=True, choices=["dna", "rna", "protein"])
    p.add_argument("--samples", help="sample sheet TSV: path, label[, split], one row per FASTA")
    p.add_argument("--fasta", nargs="+", help="FASTA files (plain or gzip)")
    p.add_argument("--label-pattern", help="regex on the header line; group 1 is the label")
    p.add_argument("--labels", help="TSV with columns id, label[, split]")
    p.add_argument("--values", help="regression targets: TSV with id[, split] + numeric columns")
    p.add_argument(
        "--multilabel", action="store_true", help="--values holds 0/1 columns, one per label"
    )
    p.add_argument(
        "--csv", nargs="+", help="CSV files of sequences with a label per residue (tokens)"
    )
    p.add_argument(
        "--csv-splits", nargs="+", choices=["train", "val", "test"],
        help="the split of each --csv file, in order",
    )  # fmt: skip
    p.add_argument("--sequence-column", default="input", help="CSV column of the residues")
    p.add_argument("--residue-column", default="dssp3", help="CSV column of the residue labels")
    p.add_argument(
        "--mask-columns", nargs="+", default=[],
        help="CSV columns of 0/1 per residue; residues with a 0 in any of them have no label",
    )  # fmt: skip
    p.add_argument("--bed", nargs="+", help="BED files of regions of --reference")
    p.add_argument(
        "--reference", help="reference FASTA (uncompressed; its .fai is used if present)"
    )
    p.add_argument("--resize", type=int, help="cut every region to this width around its centre")
    p.add_argument("--label-column", type=int, help="BED column (1-based) holding the label")
    p.add_argument("--test-chromosomes", nargs="+", help="regions on these are the test split")
    p.add_argument("--val-chromosomes", nargs="+", help="regions on these are the validation split")
    p.add_argument(
        "--no-labels",
        action="store_true",
        help="records without labels (for preprocess --tile-label next_base)",
    )
    p.add_argument(
        "--ambiguous",
        default="encode",
        choices=["encode", "skip_record", "error"],
        help="IUPAC ambiguity codes: soft one-hot (encode), drop the record, or fail",
    )
    p.add_argument(
        "--invalid",
        default="error",
        choices=["error", "skip_record"],
        help="characters outside the alphabet: fail (default) or drop the record",
    )
    p.add_argument(
        "--duplicate-ids",
        default="error",
        choices=["error", "drop_identical"],
        help="repeated record ids: fail, or drop exact repeats (same sequence and label)",
    )
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument(
        "--threads", type=int, default=1,
        help="threads: input checksums on one of their own, letters counted on all (default: 1)",
    )  # fmt: skip
    p.set_defaults(func=cmd_ingest)

    p = commands.add_parser("preprocess", help="tokens, padding/trimming, split, leakage report")
    p.add_argument("--ingest", required=True, help="folder written by `genoflow ingest`")
    p.add_argument("--out", required=True)
    p.add_argument("--max-length", type=int, help="pad/trim width (default: longest record)")
    p.add_argument(
        "--trim",
        default="error",
        choices=["error", "right", "left", "center"],
        help="what to keep of records longer than --max-length",
    )
    p.add_argument(
        "--split", default="stratified", choices=["stratified", "random", "given", "blocks"]
    )
    p.add_argument(
        "--block-size",
        type=int,
        default=100_000,
        help="--split blocks: letters per block of a record drawn into one split",
    )
    p.add_argument("--tile-width", type=int, help="cut records into windows this wide")
    p.add_argument("--tile-stride", type=int, help="letters between window starts (default: width)")
    p.add_argument(
        "--tile-label",
        default="record",
        choices=["record", "next_base"],
        help="each window's label: its record's, or the letter after the window",
    )
    p.add_argument("--val", type=float, default=0.1, help="validation fraction")
    p.add_argument("--test", type=float, default=0.2, help="test fraction")
    p.add_argument("--seed", type=int, default=42, help="seed of the split")
    p.add_argument("--classes", nargs="+", help="class order (last = positive class if binary)")
    p.add_argument(
        "--threads", type=int, default=1, help="threads that encode and hash (default: 1)"
    )
    p.set_defaults(func=cmd_preprocess)

    p = commands.add_parser("train", help="train one model with one seed; predict the test split")
    p.add_argument("--data", required=True, help="folder written by `genoflow preprocess`")
    p.add_argument("--out", required=True, help="run folder (model.ckpt, history.csv, ...)")
    p.add_argument("--type", required=True, choices=list(MODEL_TASKS))
    p.add_argument("--model", help="name of the model (default: its type)")
    p.add_argument(
        "--model-args",
        type=_json_object,
        default={},
        help="JSON object of the model's keyword arguments, e.g. '{\"hidden\": 64}'",
    )
    p.add_argument(
        "--train",
        type=_json_object,
        default={},
        help="JSON object of training options (the config's train: section)",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, help="CPU threads for torch")
    p.set_defaults(func=cmd_train)

    p = commands.add_parser("evaluate", help="predictions.tsv -> metrics.json with bootstrap CIs")
    p.add_argument("--predictions", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_evaluate)

    p = commands.add_parser(
        "summarize", help="run folders -> summary.tsv, and comparison.json (best vs runner-up)"
    )
    p.add_argument("--runs", nargs="+", required=True, help="run folders with metrics/train.json")
    p.add_argument("--out", required=True)
    p.add_argument("--bootstrap", type=int, default=1000, help="paired bootstrap resamples")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_summarize)

    p = commands.add_parser("figures", help="run folders -> the SVG figures of their task")
    p.add_argument("--runs", nargs="+", required=True, help="run folders of one dataset")
    p.add_argument("--out-dir", required=True, help="folder for the SVG figures")
    p.set_defaults(func=cmd_figures)

    p = commands.add_parser("report", help="results -> one self-contained HTML report")
    p.add_argument("--results", required=True, help="results folder (holds one folder per dataset)")
    p.add_argument("--datasets", nargs="+", required=True, help="dataset names, in page order")
    p.add_argument(
        "--config-json",
        type=_json_object,
        default={},
        help="the workflow config as a JSON object, shown in the provenance section",
    )
    # dest differs from the flag: `command` already holds the subcommand's name.
    p.add_argument(
        "--command", dest="run_command", default="", help="the command that produced the results"
    )
    p.add_argument("--workflow-dir", default=".", help="folder whose git commit is recorded")
    p.add_argument("--distance-figure", help="SVG of accuracy against motif distance, if any")
    p.add_argument("--out", required=True, help="HTML file to write")
    p.set_defaults(func=cmd_report)

    p = commands.add_parser("simulate", help="DNA with two motifs some distance apart (pos/neg)")
    p.add_argument("--distance", type=int, required=True, help="letters between the motifs")
    p.add_argument("--records", type=int, default=2000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True, help="FASTA to write")
    p.set_defaults(func=cmd_simulate)

    p = commands.add_parser(
        "distance-figure", help="summary.tsv of simulated datasets -> accuracy vs distance SVG"
    )
    p.add_argument("--summaries", nargs="+", required=True, help="summary.tsv per dataset")
    p.add_argument("--distances", nargs="+", type=int, required=True, help="motif distance of each")
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_distance_figure)

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
    p.set_defaults(func=cmd_ingest_matrix)

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
    p.set_defaults(func=cmd_preprocess_series)

    p = commands.add_parser("network", help="rank regulator->target edges from forecasters")
    p.add_argument("--models", nargs="+", required=True, help="model.ckpt of neural forecasters")
    p.add_argument("--data", required=True, help="folder written by `genoflow preprocess-series`")
    p.add_argument("--gold-standard", help="known edges: regulator, target, 0/1 per line")
    p.add_argument("--out", required=True)
    p.add_argument("--figure", help="SVG heatmap of the neural ranking to write")
    p.set_defaults(func=cmd_network)

    p = commands.add_parser(
        "interpret", help="ISM, saliency and attention of the best classifier's test records"
    )
    p.add_argument("--runs", nargs="+", required=True, help="run folders; the best neural one")
    p.add_argument("--data", required=True, help="folder written by `genoflow preprocess`")
    p.add_argument("--out", required=True, help="folder for the arrays and summary.json")
    p.add_argument("--figures-dir", required=True, help="folder for logo.svg and maps.svg")
    p.add_argument("--records", type=int, default=300, help="test records to explain, at most")
    p.set_defaults(func=cmd_interpret)

    p = commands.add_parser("predict", help="score new FASTA records with a trained model.ckpt")
    p.add_argument("--checkpoint", required=True, help="model.ckpt of a sequence model")
    p.add_argument("--input", nargs="+", help="FASTA files (plain or gzip)")
    p.add_argument("--bed", nargs="+", help="or BED files of regions of --reference")
    p.add_argument("--reference", help="reference FASTA of --bed, uncompressed")
    p.add_argument("--resize", type=int, help="cut every region to this width around its centre")
    p.add_argument("--output", default="predictions.tsv", help="TSV (default: %(default)s)")
    p.add_argument("--batch-size", type=int, default=256)
    p.set_defaults(func=cmd_predict)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except InputError as error:
        print(f"genoflow {args.command}: error: {error}", file=sys.stderr)
        sys.exit(1)
