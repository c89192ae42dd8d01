"""What commands say while they run: timestamped log lines with levels, and progress lines
(done, rate, per cent, ETA) at a fixed interval, or a tqdm bar on a terminal."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import struct
import subprocess
import sys
import termios
from pathlib import Path

from conftest import genoflow_env

from genoflow.progress import Progress

DATA = Path(__file__).parent / "data"
STAMP = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d (INFO|WARNING) genoflow ingest: "


def ingest_command(out: Path) -> list[str]:
    command = [sys.executable, "-m", "genoflow", "ingest", "--alphabet", "dna", "--fasta"]
    command += [str(DATA / "splice_excerpt.fa"), "--label-pattern", r"^\S+\s+(\S+)"]
    return [*command, "--out", str(out)]


def test_every_line_has_time_level_and_command_and_progress_has_rate_and_eta(tmp_path):
    env = genoflow_env() | {"GENOFLOW_PROGRESS_SECONDS": "0"}  # a line per batch
    done = subprocess.run(ingest_command(tmp_path / "out"), env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert lines and all(re.match(STAMP, line) for line in lines), lines
    assert re.search(r"read: 75 records, [\d.]+ MB, [\d.,]+ MB/s, \d+%", done.stderr)
    assert re.search(r"read: 75 records, .*; done in [\d.]+ s", done.stderr)
    assert "ingested 75 records (0 rejected)" in done.stderr


def test_progress_lines_come_at_the_interval_and_give_an_eta(monkeypatch, caplog):
    clock = iter([0.0, 1.0, 2.0, 12.0, 13.0, 13.0])
    monkeypatch.setattr("genoflow.progress.time.monotonic", lambda: next(clock))
    monkeypatch.delenv("GENOFLOW_PROGRESS_SECONDS", raising=False)  # every 10 s
    progress = Progress("read", total_bytes=1_000_000_000)
    with caplog.at_level("INFO", logger="genoflow"):
        progress.add(10, 100_000_000)  # t = 1: too soon for a line
        progress.add(10, 100_000_000)  # t = 2
        progress.add(30, 300_000_000)  # t = 12: a line, 50% done in 12 s
        progress.close()  # t = 13
    messages = [record.getMessage() for record in caplog.records]
    assert messages[0] == "read: 50 records, 500.0 MB, 41.7 MB/s, 50%, ETA 12 s"
    assert messages[1].endswith("; done in 13.0 s") and "%" not in messages[1]


def test_a_terminal_gets_a_tqdm_bar_instead(tmp_path):
    """With stderr on a terminal, the progress is a bar (carriage returns), not lines."""
    env = genoflow_env() | {"GENOFLOW_PROGRESS_SECONDS": "0"}
    controller, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # 100 wide
    process = subprocess.Popen(
        ingest_command(tmp_path / "out"), env=env, stdout=subprocess.DEVNULL, stderr=terminal
    )
    os.close(terminal)
    output = b""
    while True:
        try:
            chunk = os.read(controller, 4096)
        except OSError:  # the terminal closed with the process
            break
        if not chunk:
            break
        output += chunk
    assert process.wait(timeout=60) == 0
    text = output.decode(errors="replace")
    assert "\r" in text and "read:" in text and "100%" in text
