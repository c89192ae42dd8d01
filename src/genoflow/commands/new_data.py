"""A user's own data: init (a config from files) and predict (a trained model on new records)."""

from __future__ import annotations

import argparse
from pathlib import Path

from genoflow.commands.common import reading_of, reading_options
from genoflow.errors import InputError
from genoflow.progress import log


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
        fmt=args.format,
    )
    print("found:")
    print("\n".join(f"  {line}" for line in findings))
    print(f"wrote {args.out}; run it: snakemake --cores 4 --configfile {args.out}")


def init_parser(commands) -> None:
    p = commands.add_parser(
        "init", help="look at your files and write a config that fits them (a first config)"
    )
    p.add_argument(
        "files", nargs="*", help="sequence files (FASTA, GenBank, ...): one per class, or one"
    )
    p.add_argument(
        "--format",
        help="the files' format, a Biopython name (default: told by their extensions; FASTA)",
    )
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


def cmd_predict(args: argparse.Namespace) -> None:
    from genoflow.io.sources import RegionInput, sequence_input
    from genoflow.predict import predict_fasta

    if bool(args.input) == bool(args.bed) or bool(args.bed) != bool(args.reference):
        raise InputError(None, "give --input sequence files, or --bed with --reference")
    reading = reading_of(args)
    inputs = [sequence_input(Path(path), **reading) for path in args.input or []] or [
        RegionInput(Path(bed), Path(args.reference), args.resize) for bed in args.bed
    ]
    counts = predict_fasta(args.checkpoint, inputs, args.output, batch_size=args.batch_size)
    scored = counts.pop("ok", 0)
    others = ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items()))
    log().info("scored %d rows; not scored: %s (see the status column)", scored, others or "none")
    log().info("wrote %s", args.output)


def predict_parser(commands) -> None:
    p = commands.add_parser("predict", help="score new FASTA records with a trained model.ckpt")
    p.add_argument("--checkpoint", required=True, help="model.ckpt of a sequence model")
    p.add_argument("--input", nargs="+", help="sequence files (plain or gzip): FASTA, or --format")
    reading_options(p)
    p.add_argument("--bed", nargs="+", help="or BED files of regions of --reference")
    p.add_argument("--reference", help="reference FASTA of --bed, uncompressed")
    p.add_argument("--resize", type=int, help="cut every region to this width around its centre")
    p.add_argument("--output", default="predictions.tsv", help="TSV (default: %(default)s)")
    p.add_argument("--batch-size", type=int, default=256)
    p.set_defaults(func=cmd_predict)
