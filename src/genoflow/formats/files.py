"""Small file helpers shared by the stages: atomic writes under per-process temporary names,
an exclusive lock on a stage's output folder, checksums, and the one convention of the
ingested table that two stages share."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import re
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from genoflow.errors import InputError

# A temporary file is named `.<name>.~<host>~<pid>` (plus a suffix for files derived from it),
# so two processes never share one, and a later run on the same host can tell one whose
# process is dead (left by kill -9 or a node failure) from one still being written.
HOST = socket.gethostname().replace("~", "-") or "localhost"
_TEMP = re.compile(r"^\..+\.~(?P<host>[^~/]+)~(?P<pid>\d+)(\.[A-Za-z]+)*$")
# Names of earlier versions (`.<name>.tmp<pid>`): this host's, like the current ones.
_OLD_TEMP = re.compile(r"^\..+\.tmp(?P<pid>\d+)(\.[A-Za-z]+)*$")


def temp_path(path: str | Path) -> Path:
    """This process's temporary sibling of `path`."""
    path = Path(path)
    return path.with_name(f".{path.name}.~{HOST}~{os.getpid()}")


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary sibling path that replaces `path` only if the block succeeds.

    A failed or interrupted stage therefore never leaves a half-written file that looks like a
    result; a killed one leaves a temporary file that `remove_stale_temps` removes.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(path)
    try:
        yield tmp
        os.replace(tmp, path)
    except OSError as error:
        if error.filename is None and error.errno is not None:
            error.filename = str(path)  # a failed write (a full disk) names no file: name it
        raise
    finally:
        tmp.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def remove_stale_temps(folder: str | Path) -> list[Path]:
    """Remove the temporary files in `folder` whose process, on this host, has died; return
    them. Files of live processes and of other hosts (a shared file system) are left alone."""
    folder = Path(folder)
    removed = []
    with contextlib.suppress(FileNotFoundError):
        for entry in folder.iterdir():
            match = _TEMP.match(entry.name) or _OLD_TEMP.match(entry.name)
            if not match or match.groupdict().get("host", HOST) != HOST:
                continue
            if int(match["pid"]) == os.getpid() or _alive(int(match["pid"])):
                continue
            with contextlib.suppress(FileNotFoundError):
                entry.unlink()
                removed.append(entry)
    return removed


@contextlib.contextmanager
def exclusive_output(folder: str | Path, stage: str, file: str | None = None) -> Iterator[Path]:
    """Hold `folder` for one `genoflow <stage>` process: a second one writing there refuses
    with a clear message instead of colliding; temporary files of dead processes are removed
    first. The lock (`.<stage>.lock`, an advisory flock the kernel drops when the process
    dies, so a killed run never blocks the next) is removed on the way out. With `file`, only
    that output file of the folder is held (`.<stage>.<file>.lock`): for a stage whose jobs
    write files side by side into one folder (predict)."""
    import fcntl  # POSIX only; genoflow runs on Linux and macOS

    folder = Path(folder)
    created = not folder.exists()
    folder.mkdir(parents=True, exist_ok=True)
    lock = folder / (f".{stage}.{file}.lock" if file else f".{stage}.lock")
    while True:
        handle = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            holder = os.read(handle, 64).decode(errors="replace").strip() or "?"
            os.close(handle)
            if error.errno not in (errno.EAGAIN, errno.EACCES):
                raise
            what = "this folder" if file is None else file
            raise InputError(
                folder,
                f"another `genoflow {stage}` ({holder}) is writing to {what}; wait for it"
                " to finish, or give another output folder",
            ) from None
        try:  # the lock file may have been removed by its previous holder meanwhile
            same = os.stat(lock).st_ino == os.fstat(handle).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(handle)
    try:
        os.ftruncate(handle, 0)
        os.write(handle, f"pid {os.getpid()} on {HOST}\n".encode())
        remove_stale_temps(folder)
        yield folder
    finally:
        with contextlib.suppress(FileNotFoundError):
            lock.unlink()
        os.close(handle)
        if created:  # a folder this run made and left empty (it failed) goes, too
            with contextlib.suppress(OSError):
                folder.rmdir()


# Stamps of the folders one stage writes for the next. A folder from another genoflow version
# (without the stamp, or with another) is named as such instead of failing on a missing key.
INGEST_FORMAT = "genoflow-ingest/1"  # ingest and ingest-matrix: summary.json
DATA_FORMAT = "genoflow-data/1"  # preprocess and preprocess-series: meta.json


def read_stamped(path: str | Path, stamp: str, stage: str) -> dict:
    """summary.json (ingest) or meta.json (preprocess), checked to be this version's."""
    path = Path(path)
    data = read_json(path)
    found = data.get("format") if isinstance(data, dict) else None
    if found != stamp:
        raise InputError(
            path,
            f"written by another genoflow version (format {found or 'unstamped'!r}, this one"
            f" reads {stamp!r}); rerun `genoflow {stage}` (Snakemake reruns it by itself)",
        )
    return data


def read_meta(data_dir: str | Path) -> dict:
    """meta.json of a preprocessed folder (sequences or series)."""
    return read_stamped(Path(data_dir) / "meta.json", DATA_FORMAT, "preprocess")


def write_json(path: str | Path, data: Any) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2, sort_keys=False, default=_json_default) + "\n")


def read_json(path: str | Path) -> Any:
    """A JSON file another stage wrote; a missing, truncated or garbled one is named."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "file not found (run the stage that writes it first)")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as error:
        raise InputError(
            path, f"not valid JSON ({error}); rerun the stage that writes it"
        ) from None


def load_array(path: str | Path, mmap_mode: str | None = None) -> Any:
    """A .npy file another stage wrote (never unpickled: numpy's allow_pickle stays off); a
    truncated or garbled one is named instead of failing deep inside numpy."""
    import numpy as np  # (this module is also imported by stages that never need numpy)

    path = Path(path)
    try:
        return np.load(path, mmap_mode=mmap_mode, allow_pickle=False)
    except (ValueError, EOFError) as error:
        raise InputError(
            path, f"not a readable array ({error}); rerun the stage that writes it"
        ) from None


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


BOM = b"\xef\xbb\xbf"  # a UTF-8 byte-order mark, as Windows editors write it


def text_lines(path: str | Path) -> Iterator[tuple[int, str]]:
    """(line number from 1, line) of a UTF-8 text file, without a leading byte-order mark;
    a line that is not UTF-8 is named (file, line, column) rather than failing a decoder."""
    path = Path(path)
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if number == 1 and raw.startswith(BOM):
                raw = raw[len(BOM) :]
            try:
                yield number, raw.decode("utf-8")
            except UnicodeDecodeError as error:
                problem = (
                    f"not UTF-8 text (byte {raw[error.start]:#04x} at column {error.start + 1})"
                )
                raise InputError(path, problem, line=number) from None


def sha256sum(path: str | Path, chunk: int = 1 << 20, stop: threading.Event | None = None) -> str:
    """The file's SHA-256 (hex). `stop`, when set, ends the reading early (and then the
    result means nothing): for a checksum taken on another thread."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while (block := handle.read(chunk)) and not (stop and stop.is_set()):
            digest.update(block)
    return digest.hexdigest()
