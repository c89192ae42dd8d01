"""One exception for bad input, so every message names the file, the place and the problem."""

from __future__ import annotations

from pathlib import Path


class InputError(ValueError):
    """Bad user input: a file, config value or record that genoflow cannot use.

    The message reads `<file>:<line>: record '<id>': <problem>`, leaving out what is unknown.
    """

    def __init__(
        self,
        path: str | Path | None,
        problem: str,
        *,
        line: int | None = None,
        record: str | None = None,
    ) -> None:
        self.path, self.problem, self.line, self.record = path, problem, line, record
        where = str(path) if path is not None else ""
        if line is not None:
            where += f":{line}"
        if record is not None:
            where += f"{': ' if where else ''}record {record!r}"
        super().__init__(f"{where}: {problem}" if where else problem)
