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
