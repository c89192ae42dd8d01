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


SHOWN_PROBLEMS = 20  # problems of one kind listed in one message; the rest are counted


def listing(items: list[str], shown: int = SHOWN_PROBLEMS) -> str:
    """Items one per line (indented), the first `shown` of them, then how many more."""
    lines = [f"  {item}" for item in items[:shown]]
    if len(items) > shown:
        lines.append(f"  ... and {len(items) - shown} more")
    return "\n".join(lines)


def table_problems(path: str | Path, problems: list[tuple[int, str]]) -> InputError:
    """One error for every problem found in a table: `file:line: problem` when there is one,
    else the count and the first of them, one per line."""
    if len(problems) == 1:
        line, problem = problems[0]
        return InputError(path, problem, line=line)
    items = [f"line {line}: {problem}" for line, problem in problems]
    return InputError(path, f"{len(problems)} problems:\n{listing(items)}")


def check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    """An option's value is one of its choices, or an error naming the option."""
    if value not in choices:
        raise InputError(None, f"{name}={value!r} is not one of {list(choices)}")
