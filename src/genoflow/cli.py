"""`genoflow <stage>`: one command per workflow stage, usable without Snakemake.

Heavy imports (torch, Lightning) happen inside the commands that need them, so `--help` and the
light stages start fast.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import json
import os
import sys
from pathlib import Path

from genoflow import __version__
from genoflow.config import SETTINGS_STAGES, settings_args
from genoflow.errors import InputError
from genoflow.formats.files import exclusive_output, read_meta
from genoflow.registry import MODEL_TASKS


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
    from genoflow.io.ingest import ingest
    from genoflow.io.sources import FastaInput, RegionInput, ResidueCsvInput, read_sample_sheet

    if sum(map(bool, (args.samples, args.fasta, args.bed, args.csv))) != 1:
        raise InputError(None, "give one of --samples, --fasta, --bed (with --reference) or --csv")
    if bool(args.bed) != bool(args.reference):
        raise InputError(None, "--bed and --reference go together")
    labels = (args.label_pattern, args.labels, args.values, args.no_labels, args.label_column)
    if args.csv_splits and len(args.csv_splits) != len(args.csv or []):
        raise InputError(None, "give one --csv-splits entry per --csv file")
    if not args.samples and not args.csv and not any(labels):
        raise InputError(
            None,
            "give a label source: --label-pattern, --labels, --values, --label-column"
            " (BED) or --no-labels",
        )
    if args.samples:
        inputs = read_sample_sheet(args.samples)
    elif args.fasta:
        inputs = [FastaInput(Path(p)) for p in args.fasta]
    elif args.csv:
        splits = args.csv_splits or [None] * len(args.csv)
        inputs = [
            ResidueCsvInput(
                Path(path),
                split,
                args.sequence_column,
                args.residue_column,
                tuple(args.mask_columns),
            )
            for path, split in zip(args.csv, splits, strict=True)
        ]
    else:
        chromosomes = {c: "test" for c in args.test_chromosomes or []}
        chromosomes |= {c: "val" for c in args.val_chromosomes or []}
        inputs = [
            RegionInput(
                Path(bed), Path(args.reference), args.resize, args.label_column, chromosomes or None
            )
            for bed in args.bed
        ]
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


def _ingest_parser(commands) -> None:
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
        "--csv-splits",
        nargs="+",
        choices=["train", "val", "test"],
        help="the split of each --csv file, in order",
    )
    p.add_argument("--sequence-column", default="input", help="CSV column of the residues")
    p.add_argument("--residue-column", default="dssp3", help="CSV column of the residue labels")
    p.add_argument(
        "--mask-columns",
        nargs="+",
        default=[],
        help="CSV columns of 0/1 per residue; residues with a 0 in any of them have no label",
    )
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
        choices=["error", "drop_identical", "rename"],
        help="repeated record ids: fail, drop exact repeats (same sequence and label), or rename"
        " repeats id~2, id~3, ... (listed in summary.json)",
    )
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument(
        "--threads",
        type=int,
        default=1,
        help="threads: input checksums on one of their own, letters counted on all (default: 1)",
    )
    _settings_option(p)
    p.set_defaults(func=cmd_ingest)


def cmd_preprocess(args: argparse.Namespace) -> None:
    _streaming_stage()
    from genoflow.preprocess.sequences import preprocess

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


def _preprocess_parser(commands) -> None:
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
    _settings_option(p)
    p.set_defaults(func=cmd_preprocess)


def cmd_train(args: argparse.Namespace) -> None:
    name = args.model or args.type
    if args.type == "window_logreg":
        from genoflow.evaluate.baselines import train_window_baseline

        info = train_window_baseline(
            args.data, args.out, model_name=name, seed=args.seed, **args.model_args
        )
    elif args.type in ("kmer_logreg", "kmer_ridge"):
        from genoflow.evaluate.baselines import train_kmer_baseline

        info = train_kmer_baseline(
            args.data,
            args.out,
            model_name=name,
            model_type=args.type,
            seed=args.seed,
            **args.model_args,
        )
    elif args.type in ("persistence", "ridge_ar"):
        from genoflow.evaluate.forecast import train_baseline

        info = train_baseline(
            args.data, args.out, model_name=name, model_type=args.type, seed=args.seed
        )
    else:
        from genoflow.tasks.train import TrainConfig, train

        settings, tuned = {"model_args": args.model_args, "train": args.train}, None
        if args.tuned:  # the configuration tune-select chose, over the model's own
            from genoflow.tune import tuned_settings

            settings = tuned_settings(settings, args.tuned)
            tuned = settings["tuned"]
        info = train(
            args.data,
            args.out,
            model_name=name,
            model_type=args.type,
            model_args=dict(settings["model_args"]),
            train_config=TrainConfig.from_dict(settings["train"]),
            seed=args.seed,
            threads=args.threads,
            test=not args.no_test,
            tuned=tuned,
        )
    if not info:
        return  # a DDP worker process: the first process reports
    print(f"trained {info['model']} seed {info['seed']}: {info['params']} parameters")
    print(f"training took {info['train_seconds']} s")


def _train_parser(commands) -> None:
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
    p.add_argument(
        "--tuned",
        metavar="SELECTED_JSON",
        help="neural models: set the parameters of the trial `genoflow tune-select` chose",
    )
    p.add_argument(
        "--no-test",
        action="store_true",
        help="a tuning trial: write history.csv and train.json only; never touch the test split",
    )
    _settings_option(p)
    p.set_defaults(func=cmd_train)


def cmd_tune_select(args: argparse.Namespace) -> None:
    from genoflow.tune import select

    selected = select(args.trials, args.space, args.out_dir)
    print(
        f"selected trial {selected['trial']} of {selected['trials']} on validation loss"
        f" {selected['val_loss']:.4g}: {json.dumps(selected['params'], sort_keys=True)}"
    )


def cmd_ensemble(args: argparse.Namespace) -> None:
    from genoflow.evaluate.ensemble import ensemble

    info = ensemble(args.runs, args.out)
    loss = info["best_val_loss"]
    print(f"ensemble of {len(info['members'])} of {len(args.runs)} runs: {info['members']}")
    print(f"chosen on validation (loss {loss})" if loss is not None else "no validation loss")


def _ensemble_parser(commands) -> None:
    p = commands.add_parser(
        "ensemble", help="neural runs of a classification dataset -> their mean probabilities"
    )
    p.add_argument("--runs", nargs="+", required=True, help="run folders (predictions.tsv)")
    p.add_argument("--out", required=True, help="the ensemble's run folder")
    p.set_defaults(func=cmd_ensemble)


def cmd_tuning_figure(args: argparse.Namespace) -> None:
    from genoflow.report.figures.tuning import write_tuning_figure

    write_tuning_figure(list(map(Path, args.trials)), Path(args.out))
    print(f"wrote {args.out}")


def _tuning_figure_parser(commands) -> None:
    p = commands.add_parser("tuning-figure", help="trials.tsv of a dataset -> validation loss SVG")
    p.add_argument("--trials", nargs="+", required=True, help="trials.tsv per tuned model")
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_tuning_figure)


def _tune_select_parser(commands) -> None:
    p = commands.add_parser(
        "tune-select",
        help="tuning trials -> trials.tsv, selected.json (by validation loss) and an Optuna study",
    )
    p.add_argument("--trials", nargs="+", required=True, help="trial folders (trial<n>/train.json)")
    p.add_argument("--space", type=_json_object, required=True, help="the search space (JSON)")
    p.add_argument("--out-dir", required=True)
    p.set_defaults(func=cmd_tune_select)


def cmd_evaluate(args: argparse.Namespace) -> None:
    from genoflow.evaluate.metrics import evaluate
    from genoflow.registry import METRICS_BY_TASK

    result = evaluate(args.predictions, args.out, n_boot=args.bootstrap, seed=args.seed)
    main_metric = METRICS_BY_TASK[result["task"]][0]
    interval = result.get("ci95", {}).get(main_metric)
    print(f"{main_metric} {result[main_metric]:.4f} (95% CI {interval})")


def _evaluate_parser(commands) -> None:
    p = commands.add_parser("evaluate", help="predictions.tsv -> metrics.json with bootstrap CIs")
    p.add_argument("--predictions", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_evaluate)


def cmd_summarize(args: argparse.Namespace) -> None:
    from genoflow.evaluate.summarize import summarize

    table = summarize(args.runs, args.out, n_boot=args.bootstrap, seed=args.seed)
    print(table.to_string(index=False, max_cols=8))


def _summarize_parser(commands) -> None:
    p = commands.add_parser(
        "summarize", help="run folders -> summary.tsv, and comparison.json (best vs runner-up)"
    )
    p.add_argument("--runs", nargs="+", required=True, help="run folders with metrics/train.json")
    p.add_argument("--out", required=True)
    p.add_argument("--bootstrap", type=int, default=1000, help="paired bootstrap resamples")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_summarize)


def cmd_figures(args: argparse.Namespace) -> None:
    from genoflow.report.figures import write_figures

    paths = write_figures([Path(p) for p in args.runs], Path(args.out_dir))
    print(f"wrote {len(paths)} figures to {args.out_dir}: {', '.join(p.name for p in paths)}")


def _figures_parser(commands) -> None:
    p = commands.add_parser("figures", help="run folders -> the SVG figures of their task")
    p.add_argument("--runs", nargs="+", required=True, help="run folders of one dataset")
    p.add_argument("--out-dir", required=True, help="folder for the SVG figures")
    p.set_defaults(func=cmd_figures)


def cmd_report(args: argparse.Namespace) -> None:
    from genoflow.report.html import write_report

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


def _report_parser(commands) -> None:
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


def cmd_simulate(args: argparse.Namespace) -> None:
    from genoflow.io.simulate import write_motif_pair_fasta

    write_motif_pair_fasta(args.out, args.distance, args.records, args.seed)
    print(f"wrote {args.records} records, motifs {args.distance} letters apart, to {args.out}")


def _simulate_parser(commands) -> None:
    p = commands.add_parser("simulate", help="DNA with two motifs some distance apart (pos/neg)")
    p.add_argument("--distance", type=int, required=True, help="letters between the motifs")
    p.add_argument("--records", type=int, default=2000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True, help="FASTA to write")
    p.set_defaults(func=cmd_simulate)


def cmd_distance_figure(args: argparse.Namespace) -> None:
    from genoflow.report.figures.comparison import write_distance_figure

    if len(args.summaries) != len(args.distances):
        raise InputError(None, "give one --distances entry per --summaries file")
    write_distance_figure(
        dict(zip(args.distances, map(Path, args.summaries), strict=True)), Path(args.out)
    )
    print(f"wrote {args.out}")


def _distance_figure_parser(commands) -> None:
    p = commands.add_parser(
        "distance-figure", help="summary.tsv of simulated datasets -> accuracy vs distance SVG"
    )
    p.add_argument("--summaries", nargs="+", required=True, help="summary.tsv per dataset")
    p.add_argument("--distances", nargs="+", type=int, required=True, help="motif distance of each")
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_distance_figure)


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
    print(
        f"ingested {summary['samples']} samples x {summary['genes']} genes in"
        f" {summary['series']} series; {summary['missing']['imputed']} value(s) imputed"
    )


def _ingest_matrix_parser(commands) -> None:
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
    _settings_option(p)
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
    print(
        f"windows {meta['windows']}; series train {len(split['train'])}, val {split['val']},"
        f" test {split['test']}; leakage {meta['leakage_check']}"
    )


def _preprocess_series_parser(commands) -> None:
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
    _settings_option(p)
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
    for name in ("neural", "ridge", "ridge_ar1", "dyngenie3"):
        if name in result:
            print(f"{name}: AUROC {result[name]['auroc']:.3f}, AUPR {result[name]['aupr']:.3f}")


def _network_parser(commands) -> None:
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


def cmd_interpret(args: argparse.Namespace) -> None:
    from genoflow.evaluate.interpret import best_run, interpret
    from genoflow.report.figures.interpretation import write_interpretation_figures

    run = best_run([Path(p) for p in args.runs])
    summary = interpret(run, args.data, args.out, max_records=args.records)
    figures_dir = Path(args.figures_dir)
    figures_dir.mkdir(parents=True, exist_ok=True)
    for figure in write_interpretation_figures(Path(args.out)):
        figure.replace(figures_dir / figure.name)  # beside the dataset's other figures
    print(f"interpreted {summary['model']} on {summary['records']} test records")


def _interpret_parser(commands) -> None:
    p = commands.add_parser(
        "interpret", help="ISM, saliency and attention of the best classifier's test records"
    )
    p.add_argument("--runs", nargs="+", required=True, help="run folders; the best neural one")
    p.add_argument("--data", required=True, help="folder written by `genoflow preprocess`")
    p.add_argument("--out", required=True, help="folder for the arrays and summary.json")
    p.add_argument("--figures-dir", required=True, help="folder for logo.svg and maps.svg")
    p.add_argument("--records", type=int, default=300, help="test records to explain, at most")
    p.set_defaults(func=cmd_interpret)


def cmd_predict(args: argparse.Namespace) -> None:
    from genoflow.io.sources import RegionInput
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


def cmd_init(args: argparse.Namespace) -> None:
    from genoflow.init import init

    findings = init(
        args.out,
        fasta=args.files,
        labels=args.labels,
        label_pattern=args.label_pattern,
        values=args.values,
        matrix=args.matrix,
        sample_table=args.sample_table,
        series_length=args.series_length,
        gold_standard=args.gold_standard,
        name=args.name,
        force=args.force,
    )
    print("found:")
    print("\n".join(f"  {line}" for line in findings))
    print(f"wrote {args.out}; run it: snakemake --cores 4 --configfile {args.out}")


def _init_parser(commands) -> None:
    p = commands.add_parser(
        "init", help="look at your files and write a config that fits them (a first config)"
    )
    p.add_argument("files", nargs="*", help="FASTA files: one per class, or one with labels")
    p.add_argument("--labels", help="TSV of id, label[, split] for the FASTA records")
    p.add_argument("--label-pattern", help="regex on the header line; group 1 is the label")
    p.add_argument("--values", help="TSV of id[, split] and numeric (or 0/1) columns")
    p.add_argument("--matrix", help="or an expression matrix (time courses)")
    p.add_argument("--sample-table", help="the matrix's sample table: sample, series, time")
    p.add_argument("--series-length", type=int, help="or: stacked series of this many samples")
    p.add_argument("--gold-standard", help="known regulator -> target edges (matrix)")
    p.add_argument("--name", help="the dataset's name (default: from the first file)")
    p.add_argument("--out", default="mine.yaml", help="config to write (default: %(default)s)")
    p.add_argument("--force", action="store_true", help="replace --out if it exists")
    p.set_defaults(func=cmd_init)


def _predict_parser(commands) -> None:
    p = commands.add_parser("predict", help="score new FASTA records with a trained model.ckpt")
    p.add_argument("--checkpoint", required=True, help="model.ckpt of a sequence model")
    p.add_argument("--input", nargs="+", help="FASTA files (plain or gzip)")
    p.add_argument("--bed", nargs="+", help="or BED files of regions of --reference")
    p.add_argument("--reference", help="reference FASTA of --bed, uncompressed")
    p.add_argument("--resize", type=int, help="cut every region to this width around its centre")
    p.add_argument("--output", default="predictions.tsv", help="TSV (default: %(default)s)")
    p.add_argument("--batch-size", type=int, default=256)
    p.set_defaults(func=cmd_predict)


def _settings_option(parser: argparse.ArgumentParser) -> None:
    """--settings, for the help text: main() turns it into the options it stands for."""
    parser.add_argument(
        "--settings",
        metavar="JSON",
        help="the job's settings as a JSON object of the config (what the workflow passes);"
        " stands for the options above",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="genoflow", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"genoflow {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="<stage>")

    _ingest_parser(commands)
    _preprocess_parser(commands)
    _train_parser(commands)
    _tune_select_parser(commands)
    _tuning_figure_parser(commands)
    _ensemble_parser(commands)
    _evaluate_parser(commands)
    _summarize_parser(commands)
    _figures_parser(commands)
    _report_parser(commands)
    _simulate_parser(commands)
    _distance_figure_parser(commands)
    _ingest_matrix_parser(commands)
    _preprocess_series_parser(commands)
    _network_parser(commands)
    _interpret_parser(commands)
    _predict_parser(commands)
    _init_parser(commands)
    return parser


# The folder each command writes to: one process at a time may write there (io.exclusive_output).
_OUTPUT_FOLDERS = {
    "ingest": lambda a: a.out,
    "ingest-matrix": lambda a: a.out,
    "preprocess": lambda a: a.out,
    "preprocess-series": lambda a: a.out,
    "train": lambda a: a.out,
    "tune-select": lambda a: a.out_dir,
    "tuning-figure": lambda a: Path(a.out).parent,
    "ensemble": lambda a: a.out,
    "network": lambda a: a.out,
    "interpret": lambda a: a.out,
    "figures": lambda a: a.out_dir,
    "evaluate": lambda a: Path(a.out).parent,
    "summarize": lambda a: Path(a.out).parent,
    "report": lambda a: Path(a.out).parent,
    "simulate": lambda a: Path(a.out).parent,
    "distance-figure": lambda a: Path(a.out).parent,
    "predict": lambda a: Path(a.output).parent,
    "init": lambda a: Path(a.out).parent,
}


def _describe(error: OSError, folder: Path | None) -> str:
    """An operating-system error as one line naming the file (or, where the system did not
    say which, the output folder): a deleted input, a full disk, a permission."""
    where = error.filename or folder
    problem = error.strerror or str(error)
    if error.errno == errno.ENOSPC:
        problem += " (free some space, then rerun)"
    return f"{where}: {problem}" if where else problem


def _expand_settings(argv: list[str]) -> list[str]:
    """`<stage> --settings JSON` (how the workflow calls a stage: the job's settings in one
    structured form, config.stage_settings) -> the stage's own arguments (settings_args)."""
    if len(argv) < 3 or "--settings" not in argv:
        return argv
    at = argv.index("--settings")
    stage, text = argv[0], argv[at + 1] if at + 1 < len(argv) else ""
    try:
        settings = json.loads(text)
    except json.JSONDecodeError as error:
        raise SystemExit(f"genoflow {stage}: error: --settings: not valid JSON: {error}") from None
    if stage not in SETTINGS_STAGES or not isinstance(settings, dict):
        raise SystemExit(f"genoflow {stage}: error: --settings takes a JSON object of the config")
    return [stage, *settings_args(stage, settings), *argv[1:at], *argv[at + 2 :]]


def main(argv: list[str] | None = None) -> None:
    argv = _expand_settings(list(sys.argv[1:] if argv is None else argv))
    args = build_parser().parse_args(argv)
    folder = Path(_OUTPUT_FOLDERS[args.command](args))
    # Lightning's DDP launcher reruns this command for the other processes: they share the
    # first process's folder (and lock).
    worker = os.environ.get("LOCAL_RANK", "0") != "0" or os.environ.get("NODE_RANK", "0") != "0"
    try:
        with contextlib.nullcontext() if worker else exclusive_output(folder, args.command):
            args.func(args)
    except InputError as error:
        print(f"genoflow {args.command}: error: {error}", file=sys.stderr)
        sys.exit(1)
    except OSError as error:
        print(f"genoflow {args.command}: error: {_describe(error, folder)}", file=sys.stderr)
        sys.exit(1)
