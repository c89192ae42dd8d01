"""Sequence data in: ingest (FASTA, BED regions, per-residue CSV), preprocess, simulate."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from genoflow.commands.common import reading_of, reading_options, settings_option
from genoflow.errors import InputError
from genoflow.progress import log


def streaming_stage() -> None:
    """Set up a process of ingest or preprocess, which stream through the data with numpy and
    the kernels. They never call BLAS, so numpy's OpenBLAS need not start a thread per core as
    it loads (~0.07 s of each process, measured; a user's own setting wins); and freed blocks
    are kept for reuse (kernels.keep_freed_memory)."""
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before numpy is first imported
    from genoflow import kernels

    kernels.keep_freed_memory()


def cmd_ingest(args: argparse.Namespace) -> None:
    streaming_stage()
    from genoflow.io.ingest import ingest
    from genoflow.io.sources import (
        RegionInput,
        ResidueCsvInput,
        read_sample_sheet,
        sequence_input,
    )

    if sum(map(bool, (args.samples, args.fasta, args.bed, args.csv))) != 1:
        raise InputError(None, "give one of --samples, --fasta, --bed (with --reference) or --csv")
    if bool(args.bed) != bool(args.reference):
        raise InputError(None, "--bed and --reference go together")
    labels = (args.label_pattern, args.labels, args.values, args.no_labels, args.label_column,
              args.label_qualifier)  # fmt: skip
    if args.csv_splits and len(args.csv_splits) != len(args.csv or []):
        raise InputError(None, "give one --csv-splits entry per --csv file")
    if not args.samples and not args.csv and not any(labels):
        raise InputError(
            None,
            "give a label source: --label-pattern, --labels, --values, --label-column"
            " (BED), --label-qualifier (features) or --no-labels",
        )
    reading = reading_of(args)
    other_reading = args.format != "fasta" or args.feature_type or args.translate_table
    if other_reading and (args.bed or args.csv):
        raise InputError(None, "--format, --feature-type, --translate-table: for sequence files")
    if args.samples:
        inputs = read_sample_sheet(args.samples, **reading)
    elif args.fasta:
        inputs = [sequence_input(Path(p), **reading) for p in args.fasta]
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
    log().info(f"ingested {kept} records ({rejected} rejected); classes {summary['classes']}")


def ingest_parser(commands) -> None:
    p = commands.add_parser("ingest", help="FASTA + labels -> validated table and summary")
    p.add_argument("--alphabet", required=True, choices=["dna", "rna", "protein"])
    p.add_argument("--samples", help="sample sheet TSV: path, label[, split], one row per FASTA")
    p.add_argument(
        "--fasta", nargs="+", help="sequence files (plain or gzip): FASTA, or see --format"
    )
    reading_options(p)
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
    settings_option(p)
    p.set_defaults(func=cmd_ingest)


def cmd_preprocess(args: argparse.Namespace) -> None:
    streaming_stage()
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
    log().info(f"split sizes {meta['split_sizes']}; leakage {meta['leakage']}")


def preprocess_parser(commands) -> None:
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
    settings_option(p)
    p.set_defaults(func=cmd_preprocess)


def cmd_simulate(args: argparse.Namespace) -> None:
    from genoflow.io.simulate import write_motif_pair_fasta

    write_motif_pair_fasta(args.out, args.distance, args.records, args.seed)
    log().info(f"wrote {args.records} records, motifs {args.distance} letters apart, to {args.out}")


def simulate_parser(commands) -> None:
    p = commands.add_parser("simulate", help="DNA with two motifs some distance apart (pos/neg)")
    p.add_argument("--distance", type=int, required=True, help="letters between the motifs")
    p.add_argument("--records", type=int, default=2000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True, help="FASTA to write")
    p.set_defaults(func=cmd_simulate)
