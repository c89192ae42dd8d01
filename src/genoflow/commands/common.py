"""What the command modules share: JSON options and --settings."""

from __future__ import annotations

import argparse
import json


def json_object(text: str) -> dict:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise argparse.ArgumentTypeError(f"not valid JSON: {error}") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError("expected a JSON object, e.g. '{\"hidden\": 64}'")
    return value


def settings_option(parser: argparse.ArgumentParser) -> None:
    """--settings, for the help text: main() turns it into the options it stands for."""
    parser.add_argument(
        "--settings",
        metavar="JSON",
        help="the job's settings as a JSON object of the config (what the workflow passes);"
        " stands for the options above",
    )


def reading_options(parser: argparse.ArgumentParser) -> None:
    """How sequence files are read (ingest and predict): their format, features, translation."""
    parser.add_argument(
        "--format",
        default="fasta",
        help="format of the sequence files: fasta (default, the fast reader) or any format"
        " Biopython reads (genbank, embl, fastq, stockholm, clustal, swiss, abi, ...)",
    )
    parser.add_argument(
        "--feature-type", help="a record per annotated feature of this type (CDS, ...; GenBank)"
    )
    parser.add_argument(
        "--label-qualifier", help="with --feature-type: the qualifier holding the label (product)"
    )
    parser.add_argument(
        "--translate-table",
        type=int,
        help="translate coding sequences to proteins with this NCBI genetic code (e.g. 11)",
    )


def reading_of(args: argparse.Namespace) -> dict:
    """The keyword arguments of `genoflow.io.sources.sequence_input` the options above give."""
    from genoflow.errors import InputError

    if args.label_qualifier and not args.feature_type:
        raise InputError(None, "--label-qualifier goes with --feature-type")
    return {
        "fmt": args.format,
        "feature_type": args.feature_type,
        "label_qualifier": args.label_qualifier,
        "translate_table": args.translate_table,
    }


def select_by_option(parser: argparse.ArgumentParser) -> None:
    """--select-by: what models (trials, ensemble members) are ranked by on validation."""
    from genoflow.registry import SELECTION_CRITERIA

    parser.add_argument(
        "--select-by",
        choices=SELECTION_CRITERIA,
        default=SELECTION_CRITERIA[0],
        help="validation score that ranks models (genoflow/selection.py; default: %(default)s)",
    )
