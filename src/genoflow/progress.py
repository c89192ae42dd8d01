"""What a command says while it runs: log lines through `logging` (time, level, command) on
stderr, which the workflow's rules write to each job's log; and, for long stages (ingest,
preprocess, predict, interpret), progress at a fixed interval - done, rate and, where the total
is known, per cent and ETA - as a line, or as a tqdm bar when stderr is a terminal."""

from __future__ import annotations

import logging
import os
import sys
import time

LOGGER = "genoflow"
INTERVAL_ENV = "GENOFLOW_PROGRESS_SECONDS"  # seconds between progress lines (default 10)
INTERVAL = 10.0


def configure_logging(command: str, level: int = logging.INFO) -> logging.Logger:
    """Send genoflow's log records to stderr as `<time> <LEVEL> genoflow <command>: <text>`.
    Only the `genoflow` logger is set up: Lightning and other libraries keep their own."""
    logger = logging.getLogger(LOGGER)
    for handler in list(logger.handlers):  # (a second call, e.g. in tests, replaces the first)
        logger.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        logging.Formatter(
            f"%(asctime)s %(levelname)s genoflow {command}: %(message)s", "%Y-%m-%d %H:%M:%S"
        )
    )
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False
    return logger


def log() -> logging.Logger:
    return logging.getLogger(LOGGER)


def _interval() -> float:
    try:
        return max(0.0, float(os.environ.get(INTERVAL_ENV, INTERVAL)))
    except ValueError:
        return INTERVAL


class Progress:
    """Progress of one long pass: `add(items, nbytes)` as work is done, `close()` at the end.

    With `total_bytes` (or `total_items`) known, lines give the per cent done and an ETA (by
    bytes where both are known). A line at most every GENOFLOW_PROGRESS_SECONDS (10), and one
    at the end; a tqdm bar instead when stderr is a terminal and tqdm is installed.
    """

    def __init__(
        self,
        what: str,
        unit: str = "records",
        total_items: int | None = None,
        total_bytes: int | None = None,
    ) -> None:
        self.what, self.unit = what, unit
        self.total_items, self.total_bytes = total_items, total_bytes
        self.items = self.bytes = 0
        self.started = self.shown = time.monotonic()
        self.every = _interval()
        self.bar = None
        if sys.stderr.isatty():
            try:
                from tqdm import tqdm
            except ImportError:
                pass
            else:
                by_bytes = total_bytes is not None
                self.bar = tqdm(
                    total=total_bytes if by_bytes else total_items,
                    desc=what,
                    unit="B" if by_bytes else f" {unit}",
                    unit_scale=True,
                    file=sys.stderr,
                )

    def add(self, items: int, nbytes: int = 0) -> None:
        self.items += items
        self.bytes += nbytes
        if self.bar is not None:
            self.bar.update(nbytes if self.total_bytes is not None else items)
            return
        now = time.monotonic()
        if now - self.shown >= self.every:
            self.shown = now
            log().info("%s", self.line(now))

    def line(self, now: float | None = None, final: bool = False) -> str:
        """`<what>: <items> <unit>, <MB> MB, <MB/s> MB/s (or <items>/s)[, <pct>%, ETA <s>]`."""
        elapsed = max((now or time.monotonic()) - self.started, 1e-9)
        parts = [f"{self.what}: {self.items:,} {self.unit}"]
        if self.bytes:
            parts.append(f"{self.bytes / 1e6:,.1f} MB, {self.bytes / 1e6 / elapsed:,.1f} MB/s")
        else:
            parts.append(f"{self.items / elapsed:,.1f} {self.unit}/s")
        fraction = None
        if final:
            pass
        elif self.total_bytes:
            fraction = min(self.bytes / self.total_bytes, 1.0)
        elif self.total_items:
            fraction = min(self.items / self.total_items, 1.0)
        if fraction is not None:
            parts.append(f"{100 * fraction:.0f}%")
            if 0 < fraction < 1:
                parts.append(f"ETA {elapsed * (1 - fraction) / fraction:,.0f} s")
        return ", ".join(parts)

    def close(self) -> None:
        """The pass is done (a total by letters read falls a little short of a file's size:
        the bar then shows the whole)."""
        if self.bar is not None:
            if self.bar.total:
                self.bar.n = self.bar.total
                self.bar.refresh()
            self.bar.close()
        elapsed = time.monotonic() - self.started
        log().info("%s; done in %.1f s", self.line(final=True), elapsed)
