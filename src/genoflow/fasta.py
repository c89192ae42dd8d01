"""Streaming FASTA reader: plain, gzip or bgzip; any line width; LF or CRLF; no final newline.

Records are yielded one at a time, so memory is bounded by the longest record, not the file.
"""

from __future__ import annotations

import gzip
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from genoflow.errors import InputError

_MAGIC = {
    b"\x1f\x8b": None,  # gzip and bgzip: handled
    b"BZh": "bzip2",
    b"\xfd7zXZ": "xz",
    b"\x28\xb5\x2f\xfd": "zstd",
    b"PK\x03\x04": "zip",
}


@dataclass(frozen=True, slots=True)
class FastaRecord:
    id: str
    description: str  # the header line without '>' (id included)
    sequence: bytes  # as in the file, line breaks removed
    line: int  # 1-based line number of the header


def open_binary(path: str | Path) -> BinaryIO:
    """Open a plain or gzip-compressed file for binary reading (detected by content, not name)."""
    raw = open(path, "rb")  # noqa: SIM115 - returned to the caller, who closes it
    magic = raw.peek(6)[:6] if hasattr(raw, "peek") else b""
    for signature, name in _MAGIC.items():
        if magic.startswith(signature):
            if name is None:
                return io.BufferedReader(gzip.GzipFile(fileobj=raw), buffer_size=1 << 20)
            raw.close()
            raise InputError(path, f"file is {name}-compressed; genoflow reads plain or gzip files")
    return raw


def read_fasta(path: str | Path, allow_empty: bool = False) -> Iterator[FastaRecord]:
    """Yield the records of a FASTA file, raising InputError for anything that is not FASTA
    (and for a record without sequence, unless `allow_empty`)."""
    header: bytes | None = None
    header_line = 0
    chunks: list[bytes] = []
    with open_binary(path) as handle:
        try:
            for number, raw_line in enumerate(handle, start=1):
                line = raw_line.rstrip(b"\r\n")
                if line.startswith(b">"):
                    if header is not None:
                        yield _record(path, header, header_line, chunks, allow_empty)
                    header, header_line, chunks = line[1:], number, []
                elif header is None:
                    if line.strip():
                        raise _not_fasta(path, number, line)
                elif line:
                    chunks.append(line.rstrip())
        except (gzip.BadGzipFile, EOFError, OSError) as error:
            raise InputError(path, f"cannot read compressed data ({error})") from None
    if header is None:
        raise InputError(path, "no FASTA records found (empty file?)")
    yield _record(path, header, header_line, chunks, allow_empty)


def _record(
    path: str | Path, header: bytes, line: int, chunks: list[bytes], allow_empty: bool
) -> FastaRecord:
    description = header.decode("utf-8", errors="replace").strip()
    if not description:
        raise InputError(path, "header has no record id", line=line)
    record_id = description.split()[0]
    sequence = b"".join(chunks)
    if not sequence and not allow_empty:
        raise InputError(path, "empty sequence", line=line, record=record_id)
    return FastaRecord(record_id, description, sequence, line)


def _not_fasta(path: str | Path, number: int, line: bytes) -> InputError:
    if b"\x00" in line:
        return InputError(path, "binary data, not a FASTA file", line=number)
    shown = line[:40].decode("utf-8", errors="replace")
    return InputError(
        path,
        f"not a FASTA file: expected a header line starting with '>', found {shown!r}",
        line=number,
    )
