"""Streaming FASTA reader: plain, gzip or bgzip; any line width; LF or CRLF; no final newline.

The file is read in chunks of about 2 MiB, each scanned by a compiled kernel (genoflow.kernels:
lines, headers, sequence bytes) in one call; records come out in
batches (the records that end in a chunk) or one at a time, so memory is bounded by a chunk and
the longest record, not the file.
"""

from __future__ import annotations

import gzip
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from genoflow import kernels
from genoflow.errors import InputError
from genoflow.formats.files import BOM

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
                return _gunzip(path, raw)
            raw.close()
            raise InputError(path, f"file is {name}-compressed; genoflow reads plain or gzip files")
    return raw


def _gunzip(path: str | Path, raw: BinaryIO) -> BinaryIO:
    """A reader of decompressed data. With python-isal installed (optional), ISA-L inflates
    (2-3x faster than zlib) in a thread of its own, while numpy parses in this one."""
    try:
        from isal import igzip_threaded
    except ImportError:
        return io.BufferedReader(gzip.GzipFile(fileobj=raw), buffer_size=1 << 20)
    raw.close()  # the threaded reader opens the file itself (and so closes it, too)
    return igzip_threaded.open(path, "rb", threads=1)


def read_fasta(path: str | Path, allow_empty: bool = False) -> Iterator[FastaRecord]:
    """Yield the records of a FASTA file, raising InputError for anything that is not FASTA
    (and for a record without sequence, unless `allow_empty`)."""
    for batch in read_fasta_batches(path, allow_empty=allow_empty):
        yield from batch.records()


CHUNK_BYTES = 1 << 21  # read size (2, 4 and 8 MiB measured alike)


@dataclass(slots=True)
class FastaBatch:
    """The records that end in one chunk of a FASTA file, their sequences joined in one bytes
    object (record i is sequences[ends[i - 1]:ends[i]]), as in the file, line breaks removed."""

    ids: list[str]
    descriptions: list[str]
    lines: np.ndarray  # int64: 1-based line of each header
    sequences: bytes
    ends: np.ndarray  # int64: end of each record's sequence in `sequences`

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def starts(self) -> np.ndarray:
        return np.concatenate([[0], self.ends[:-1]]).astype(np.int64)

    def records(self) -> Iterator[FastaRecord]:
        start = 0
        for record_id, description, line, end in zip(
            self.ids, self.descriptions, self.lines.tolist(), self.ends.tolist(), strict=True
        ):
            yield FastaRecord(record_id, description, self.sequences[start:end], line)
            start = end

    def head(self, n: int) -> FastaBatch:
        """The first n records."""
        end = int(self.ends[n - 1]) if n else 0
        return FastaBatch(
            self.ids[:n],
            self.descriptions[:n],
            self.lines[:n],
            self.sequences[:end],
            self.ends[:n],
        )


def read_fasta_batches(
    path: str | Path, allow_empty: bool = False, chunk_bytes: int | None = None
) -> Iterator[FastaBatch]:
    """read_fasta, a chunk at a time: yields the records that end in each chunk of
    `chunk_bytes` as one FastaBatch, found by the kernels (no Python work per line or per
    byte; per header, its id and description strings). A record longer than a chunk is
    gathered over the chunks it spans.

    Errors are raised where read_fasta raises them: the records before a bad one are yielded
    first (as a shorter batch), then the InputError."""
    chunk_bytes = chunk_bytes or CHUNK_BYTES
    parser = _ChunkParser(path, allow_empty)
    with open_binary(path) as handle:
        first = True
        while True:
            try:
                chunk = handle.read(chunk_bytes)
            except (gzip.BadGzipFile, EOFError, OSError) as error:
                raise InputError(path, f"cannot read compressed data ({error})") from None
            if first and chunk.startswith(BOM):  # saved by a Windows editor: not part of a line
                chunk = chunk[len(BOM) :]
            first = False
            batch = parser.feed(chunk)
            if batch is not None and len(batch):
                yield batch
            if parser.error is not None:
                raise parser.error
            if not chunk:
                break
    if not parser.seen_header:
        raise InputError(path, "no FASTA records found (empty file?)")


class _ChunkParser:
    """State between chunks: the incomplete line at a chunk's end, and the record still open
    (its header, and the parts of its sequence read so far)."""

    def __init__(self, path: str | Path, allow_empty: bool) -> None:
        self.path, self.allow_empty = path, allow_empty
        self.carry = b""  # the start of an incomplete line
        self.mid_line = False  # the carry continues a sequence line whose start was taken
        self.lines_done = 0  # complete lines before the carry
        self.seen_header = False
        self.open: tuple[str, str, int] | None = None  # (id, description, line) of the open record
        self.headers_expected = 64
        self.pieces: list[bytes] = []  # its sequence so far
        self.error: InputError | None = None

    def feed(self, chunk: bytes) -> FastaBatch | None:
        """Parse one more chunk (b"" at the end of the file); the records it completes."""
        data = self.carry + chunk if self.carry else chunk
        if not chunk:  # end of file: the last line may lack its newline
            if data and not data.endswith(b"\n"):
                data += b"\n"
            batch = self._lines(data) if data else None
            return self._finish(batch)
        cut = data.rfind(b"\n") + 1
        if cut == 0:  # no line ends here
            if self.open is not None and (self.mid_line or data[:1] != b">"):
                # inside a long sequence line: take it, but keep trailing whitespace back
                # (it is dropped if the line ends right after it)
                kept = data.rstrip()
                if kept:
                    self.pieces.append(kept)
                self.carry, self.mid_line = data[len(kept) :], True
            else:
                self.carry = data  # a long header, or text before the first header
            return None
        self.carry = data[cut:]
        batch = self._lines(data[:cut] if cut < len(data) else data)
        self.mid_line = False
        return batch

    def _finish(self, batch: FastaBatch | None) -> FastaBatch | None:
        if self.error is not None or self.open is None:
            return batch
        record_id, description, line = self.open
        self.open = None
        sequence = b"".join(self.pieces)
        self.pieces = []
        last = self._batch([record_id], [description], [line], sequence, np.array([len(sequence)]))
        return last if batch is None else _concat(batch, last)

    def _lines(self, block: bytes) -> FastaBatch | None:
        """The complete lines of `block` (it ends with a newline)."""
        sequence, headers, starts, ends, at_header, n_lines, text = kernels.fasta_lines(
            block, self.mid_line, self.headers_expected
        )
        self.headers_expected = max(64, len(headers) + len(headers) // 4)  # (the next block's)
        first_line = self.lines_done + 1
        self.lines_done += n_lines
        if not self.seen_header and text >= 0:  # text before the first header
            raw = block.split(b"\n", text + 1)[text].rstrip(b"\r\n")
            raise _not_fasta(self.path, first_line + text, raw)
        if len(headers):
            self.seen_header = True
        # the record open before this block takes the sequence up to the first header
        first_end = int(at_header[0]) if len(headers) else len(sequence)
        if self.open is not None and first_end:
            self.pieces.append(bytes(sequence[:first_end]))
        if not len(headers):
            return None
        ids, descriptions = _headers(block, starts, ends)
        header_lines = headers + first_line
        new_ids, new_descriptions, new_lines = ids[:-1], descriptions[:-1], header_lines[:-1]
        lengths = np.diff(at_header)
        done = bytes(sequence[int(at_header[0]) : int(at_header[-1])])
        if self.open is not None:  # one join: a long record is in memory twice at most
            new_ids.insert(0, self.open[0])
            new_descriptions.insert(0, self.open[1])
            new_lines = np.concatenate([[self.open[2]], new_lines])
            lengths = np.concatenate([[sum(map(len, self.pieces))], lengths])
            done = b"".join([*self.pieces, done])
            self.pieces = []
        self.open = (ids[-1], descriptions[-1], int(header_lines[-1]))
        tail = int(at_header[-1])
        self.pieces = [bytes(sequence[tail:])] if tail < len(sequence) else []
        return self._batch(new_ids, new_descriptions, new_lines, done, lengths)

    def _batch(
        self,
        ids: list[str],
        descriptions: list[str],
        lines,
        sequences: bytes,
        lengths: np.ndarray,
    ) -> FastaBatch:
        """A batch from descriptions, header lines, and the records' sequences joined; on a
        bad record, the records before it, keeping the error for read_fasta_batches to raise
        after them."""
        ends = np.cumsum(lengths, dtype=np.int64)
        lines = np.asarray(lines, dtype=np.int64)  # (each header's line)
        bad = [i for i, text in enumerate(descriptions) if not text] if "" in ids else []
        if not self.allow_empty:
            bad += np.flatnonzero(lengths == 0).tolist()
        if bad:
            k = min(bad)
            if not descriptions[k]:
                self.error = InputError(self.path, "header has no record id", line=int(lines[k]))
            else:
                problem = "empty sequence"
                self.error = InputError(self.path, problem, line=int(lines[k]), record=ids[k])
            ids, descriptions, lines, ends = ids[:k], descriptions[:k], lines[:k], ends[:k]
            sequences = sequences[: int(ends[-1])] if k else b""
        return FastaBatch(ids, descriptions, lines, sequences, ends)


def _headers(block: bytes, starts: np.ndarray, ends: np.ndarray) -> tuple[list, list]:
    """(ids, descriptions) of the headers block[starts[i]:ends[i]]: decoded (UTF-8, bad bytes
    replaced), stripped, and the id the first word. One gather and one decode for them all (a
    '\n' never joins a UTF-8 sequence, so this decodes as one decode per header would)."""
    text, ids = kernels.headers(block, starts, ends)
    descriptions = text[:-1].decode("utf-8", "replace").split("\n")
    if ids is None:  # non-ASCII (str.strip and str.split know more whitespace), or spaces
        descriptions = [d.strip() for d in descriptions]
        return [d.split(None, 1)[0] if d else "" for d in descriptions], descriptions
    return ids[:-1].decode().split("\n"), descriptions


def _concat(first: FastaBatch, second: FastaBatch) -> FastaBatch:
    return FastaBatch(
        first.ids + second.ids,
        first.descriptions + second.descriptions,
        np.concatenate([first.lines, second.lines]),
        first.sequences + second.sequences,
        np.concatenate([first.ends, second.ends + len(first.sequences)]),
    )


def _not_fasta(path: str | Path, number: int, line: bytes) -> InputError:
    if b"\x00" in line:
        return InputError(path, "binary data, not a FASTA file", line=number)
    shown = line[:40].decode("utf-8", errors="replace")
    return InputError(
        path,
        f"not a FASTA file: expected a header line starting with '>', found {shown!r}",
        line=number,
    )
