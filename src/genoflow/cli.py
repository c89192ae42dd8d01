"""`genoflow <stage>`: one command per workflow stage, usable without Snakemake.

The commands live in genoflow/commands/ by domain, each handler (`cmd_<stage>`) beside its
parser; this module gathers them, runs one, and turns its errors into one line and exit 1.
Heavy imports (torch, Lightning) happen inside the handlers that need them, so `--help` and the
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
from genoflow.commands import new_data, results, sequences, series, training
from genoflow.errors import InputError
from genoflow.formats.files import exclusive_output
from genoflow.progress import configure_logging
from genoflow.settings import SETTINGS_STAGES, settings_args


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="genoflow", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"genoflow {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="<stage>")

    sequences.ingest_parser(commands)
    sequences.preprocess_parser(commands)
    training.train_parser(commands)
    training.tune_select_parser(commands)
    training.tuning_figure_parser(commands)
    training.ensemble_parser(commands)
    results.evaluate_parser(commands)
    results.summarize_parser(commands)
    results.figures_parser(commands)
    results.report_parser(commands)
    sequences.simulate_parser(commands)
    results.distance_figure_parser(commands)
    series.ingest_matrix_parser(commands)
    series.preprocess_series_parser(commands)
    series.network_parser(commands)
    results.interpret_parser(commands)
    new_data.predict_parser(commands)
    new_data.init_parser(commands)
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
    structured form, settings.stage_settings) -> the stage's own arguments (settings_args)."""
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
    configure_logging(args.command)
    try:
        # (predict's jobs write their files side by side into one folder: one writer per file)
        file = Path(args.output).name if args.command == "predict" else None
        with contextlib.nullcontext() if worker else exclusive_output(folder, args.command, file):
            args.func(args)
    except InputError as error:
        print(f"genoflow {args.command}: error: {error}", file=sys.stderr)
        sys.exit(1)
    except OSError as error:
        print(f"genoflow {args.command}: error: {_describe(error, folder)}", file=sys.stderr)
        sys.exit(1)
