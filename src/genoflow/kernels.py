"""The compiled kernels of kernels.c, built when genoflow is installed and loaded with ctypes.

Why C, and why this way: ingest and preprocess touch every byte and every record of inputs that
reach tens of GB, and numpy cannot express their per-record loops (a BLAKE2b per record, a
FASTA line scan) without a Python step per record. The kernels are plain C with no Python
headers. setuptools compiles them when genoflow is installed (`pip install`, `make install`:
pyproject's `ext-modules`) into `_kernels.abi3.so` beside this file - in src/genoflow/ for an
editable install - so one build serves every Python version and environment that runs this
checkout (the venv, --sdm conda jobs, SLURM nodes): no compiler at run time, and nothing
loaded from a user-writable cache. A library older than kernels.c (the source was edited, or
another commit checked out, after installing) is refused, naming the command that rebuilds it;
`python -m genoflow.kernels` checks the library and prints where it is.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib.machinery
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from concurrent.futures import ThreadPoolExecutor

SOURCE = Path(__file__).with_name("kernels.c")
LIBRARY = "_kernels"  # the extension module setuptools builds from SOURCE (pyproject.toml)
REBUILD = "install genoflow from this folder again (make install, or pip install -e .)"

_bytes = ctypes.c_char_p  # bytes in (read only, no copy)
_out = ctypes.c_void_p  # a writable buffer's address
_i64 = ctypes.c_int64
_SIGNATURES = {
    "gf_blake2b64": (None, [_out, _out, _out, _i64, _out]),
    "gf_encode_rows": (None, [_bytes, _out, _out, _i64, _bytes, _i64, _out]),
    "gf_canonical": (None, [_out, _out, _i64, _i64, _bytes, _out, _out, _out, _out]),
    "gf_fasta_lines": (_i64, [_bytes, _i64, ctypes.c_int, _i64, *[_out] * 6]),
    "gf_headers": (ctypes.c_int, [_bytes, _out, _out, _i64, _out, _out, _out]),
    "gf_copy_ranges": (None, [_out, _out, _out, _out, _out, _i64]),
    "gf_tsv_fields": (_i64, [_bytes, _i64, _i64, _i64, _out, _out]),
    "gf_decimal": (_i64, [_out, _i64, _out, _out]),
    "gf_byte_counts": (None, [_out, _i64, _out]),
}


def library_path() -> Path:
    """Where the kernels built at install time are (whether or not they are there)."""
    here = Path(__file__).parent
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        if (here / f"{LIBRARY}{suffix}").is_file():
            return here / f"{LIBRARY}{suffix}"
    return here / f"{LIBRARY}.abi3.so"


def check_library() -> Path:
    """The kernels library, built and not older than its source; else a RuntimeError saying
    how to build it."""
    path = library_path()
    if not path.is_file():
        raise RuntimeError(
            f"genoflow's compiled kernels are missing ({path}): {REBUILD}; that compiles"
            f" {SOURCE.name} (a C compiler is needed then: cc, gcc or clang)"
        )
    if SOURCE.is_file() and SOURCE.stat().st_mtime_ns > path.stat().st_mtime_ns:
        raise RuntimeError(f"{SOURCE} is newer than its build {path.name}: {REBUILD}")
    return path


@cache
def _library() -> ctypes.CDLL:
    library = ctypes.CDLL(str(check_library()))
    for name, (result, arguments) in _SIGNATURES.items():
        function = getattr(library, name)
        function.restype, function.argtypes = result, arguments
    return library


# The thread pool of `threads(n)` and its n (the calling thread works too: n - 1 in the pool).
_workers: tuple[ThreadPoolExecutor, int] | None = None
PART_BYTES = 1 << 18  # the least work worth a thread of its own (a hand-off costs ~20 us)


@contextlib.contextmanager
def threads(n: int) -> Iterator[None]:
    """Within it, the kernels that work record by record (digests, token rows, canonical
    hashes) or byte by byte (byte counts) split their work over `n` threads. ctypes releases
    the GIL while C runs, so the parts run at once; the results are the same for every n."""
    global _workers
    if n < 1:
        raise ValueError(f"threads must be at least 1, not {n}")
    if n == 1 or _workers is not None:  # (nested: the outer pool serves)
        yield
        return
    from concurrent.futures import ThreadPoolExecutor  # (~15 ms of imports: only when used)

    with ThreadPoolExecutor(n - 1, thread_name_prefix="genoflow-kernels") as pool:
        _workers = (pool, n)
        try:
            yield
        finally:
            _workers = None


def _in_parts(run: Callable[[int, int], None], sizes: np.ndarray) -> None:
    """run(lo, hi) over the items [0, len(sizes)) in consecutive parts of about equal bytes
    (`sizes`: each item's), one per thread, and wait for all."""
    n = len(sizes)
    total = int(sizes.sum()) if n else 0
    parts = 1 if _workers is None else min(_workers[1], n, total // PART_BYTES)
    if parts <= 1:
        run(0, n)
        return
    cuts = np.searchsorted(np.cumsum(sizes), total * np.arange(1, parts) // parts, side="right")
    bounds = [0, *cuts.tolist(), n]
    pool = _workers[0]
    futures = [pool.submit(run, lo, hi) for lo, hi in zip(bounds[1:-1], bounds[2:], strict=True)]
    try:
        run(bounds[0], bounds[1])
    finally:  # the parts write into the caller's arrays: all must be done before it goes on
        for future in futures:
            future.exception()  # (waits for it; raises nothing)
    for future in futures:
        future.result()  # raises a part's error


# glibc's mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3


def keep_freed_memory() -> None:
    """Let this process reuse the blocks it frees instead of handing them back to the system.

    A streaming stage allocates and frees a few MiB per block (bytes read, rows encoded,
    per-record arrays). glibc's malloc serves such sizes with fresh mmap()s and returns them
    on free, so every block faults in its pages again: about a quarter of preprocess's time on
    2 Mb records, measured. Keeping blocks up to 32 MiB in the heap, and freed memory up to
    64 MiB before trimming, removes that; peak memory stays that of the largest block. A no-op
    where malloc is not glibc's (macOS, musl).
    """
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (AttributeError, OSError):
        return
    mallopt(_M_MMAP_THRESHOLD, 32 << 20)
    mallopt(_M_TRIM_THRESHOLD, 64 << 20)


def _address(array: np.ndarray) -> int:
    return array.ctypes.data


def _int64(values) -> np.ndarray:
    return np.ascontiguousarray(values, dtype=np.int64)


def _ranges(size: int, starts, ends) -> tuple[np.ndarray, np.ndarray]:
    """starts and ends as int64 arrays, checked to be ranges inside a buffer of `size` bytes
    (C reads no further than it is told)."""
    starts, ends = _int64(starts), _int64(ends)
    if len(starts) != len(ends):
        raise ValueError("as many starts as ends, please")
    if len(starts) and (starts.min() < 0 or ends.max() > size or (ends < starts).any()):
        raise ValueError("a range lies outside its buffer")
    return starts, ends


def blake2b64(data, starts, ends) -> np.ndarray:
    """Per range [starts[i], ends[i]) of `data` (bytes, or a uint8 array): its 8-byte BLAKE2b
    digest as a little-endian uint64, i.e. int.from_bytes(hashlib.blake2b(piece,
    digest_size=8).digest(), "little")."""
    data = np.frombuffer(data, dtype=np.uint8)
    starts, ends = _ranges(len(data), starts, ends)
    out = np.empty(len(starts), dtype=np.uint64)

    def run(lo: int, hi: int) -> None:
        _library().gf_blake2b64(
            _address(data),
            _address(starts[lo:hi]),
            _address(ends[lo:hi]),
            hi - lo,
            _address(out[lo:hi]),
        )

    _in_parts(run, ends - starts)
    return out


def encode_rows(data: bytes, starts, ends, lut: bytes, width: int) -> np.ndarray:
    """(rows x width) uint8: row i holds lut applied to data[starts[i]:ends[i]] (at most
    `width` bytes), then zeros."""
    starts, ends = _ranges(len(data), starts, ends)
    if len(starts) and int((ends - starts).max()) > width:
        raise ValueError(f"a range is longer than the row width {width}")
    rows = np.empty((len(starts), width), dtype=np.uint8)

    def run(lo: int, hi: int) -> None:
        _library().gf_encode_rows(
            data,
            _address(starts[lo:hi]),
            _address(ends[lo:hi]),
            hi - lo,
            lut,
            width,
            _address(rows[lo:hi]),
        )

    _in_parts(run, np.full(len(starts), width))
    return rows


def canonical_hashes(rows: np.ndarray, lengths, to_token: bytes) -> np.ndarray:
    """Per padded row of tokens: the smaller of the word hashes (gf_canonical) of its tokens
    and of its reverse complement's (`to_token`: each token's complement's token)."""
    rows = np.ascontiguousarray(rows, dtype=np.uint8)
    lengths = _int64(lengths)
    n, width = rows.shape
    if len(lengths) != n or (n and (lengths.min() < 0 or lengths.max() > width)):
        raise ValueError(f"{n} rows of {width} tokens: lengths must be one per row, <= {width}")
    words = (width + 7) // 8 + 1
    out = np.empty(n, dtype=np.uint64)

    def run(lo: int, hi: int) -> None:
        keys, zeros = np.empty(words, dtype=np.uint64), np.empty(words, dtype=np.uint64)
        scratch = np.empty(max(width, 1), dtype=np.uint8)  # (work space of its own per thread)
        _library().gf_canonical(
            _address(rows[lo:hi]),
            _address(lengths[lo:hi]),
            hi - lo,
            width,
            to_token,
            _address(keys),
            _address(zeros),
            _address(scratch),
            _address(out[lo:hi]),
        )

    _in_parts(run, lengths)
    return out


def argsort_hashes(keys: np.ndarray) -> np.ndarray:
    """np.argsort(keys, kind="stable") for keys that are mostly distinct (hashes), ~1.5x
    quicker: numpy's unstable sort (~2x quicker than its stable one on 64-bit keys, measured),
    then each run of equal keys put back in index order."""
    order = np.argsort(keys)
    ordered = keys[order]
    equal = ordered[1:] == ordered[:-1]
    if equal.any():
        in_run = np.zeros(len(keys), dtype=bool)
        in_run[1:] = equal
        in_run[:-1] |= equal
        at = np.flatnonzero(in_run)  # the runs, each a stretch of `order`
        rows = order[at]
        order[at] = rows[np.lexsort((rows, ordered[at]))]
    return order


def fasta_lines(block: bytes, mid_line: bool, room: int = 64):
    """Scan a block of complete FASTA lines (see gf_fasta_lines in kernels.c). Returns
    (sequence bytes joined, as a memoryview; header line indices, header text starts, header
    text ends, sequence bytes before each header; number of lines; first sequence line before
    any header, or -1). `room`: the headers expected (more cost a second scan)."""
    sequence = np.empty(len(block), dtype=np.uint8)
    counts = np.zeros(3, dtype=np.int64)
    while True:
        found = np.empty((4, room), dtype=np.int64)
        written = _library().gf_fasta_lines(
            block,
            len(block),
            int(mid_line),
            room,
            _address(sequence),
            *(_address(row) for row in found),
            _address(counts),
        )
        if written >= 0:
            break
        room = block.count(b"\n")  # every header ends a line
    headers = int(counts[1])
    lines, starts, ends, before = found[:, :headers]
    view = memoryview(sequence)[:written].cast("B")
    return view, lines, starts, ends, before, int(counts[0]), int(counts[2])


def headers(data: bytes, starts, ends) -> tuple[bytes, bytes | None]:
    """The header texts data[starts[k]:ends[k]] joined, each followed by "\n"; and their ids
    (each text up to its first whitespace) likewise, or None where Python must strip and
    split them (an empty header, non-ASCII text, or whitespace at an end)."""
    starts, ends = _ranges(len(data), starts, ends)
    room = int((ends - starts).sum()) + len(starts)
    text, ids = np.empty(room, dtype=np.uint8), np.empty(room, dtype=np.uint8)
    sizes = np.zeros(2, dtype=np.int64)
    slow = _library().gf_headers(
        data,
        _address(starts),
        _address(ends),
        len(starts),
        _address(text),
        _address(ids),
        _address(sizes),
    )
    text_bytes = text[: sizes[0]].tobytes()
    return text_bytes, None if slow else ids[: sizes[1]].tobytes()


def tsv_fields(block: bytes, size: int, fields: int, room: int = 1024):
    """The rows of block[:size] (whole lines of `fields` tab-separated fields): a (fields x
    rows) array of where each field starts and each row's end (its newline); or, if a row has
    another number of fields, (None, its index). `room`: the rows expected (more cost a
    second scan)."""
    if not 0 <= size <= len(block) or fields < 1:
        raise ValueError(f"size {size} of a block of {len(block)} bytes, {fields} fields")
    while True:
        starts = np.empty((fields, room), dtype=np.int64)
        ends = np.empty(room, dtype=np.int64)
        rows = _library().gf_tsv_fields(block, size, fields, room, _address(starts), _address(ends))
        if rows != -1:
            break
        room = block.count(b"\n", 0, size)
    if rows < 0:
        return None, -2 - rows
    return starts[:, :rows], ends[:rows]


def decimal(values) -> tuple[np.ndarray, np.ndarray]:
    """Non-negative integers as decimal text: (their digits, one after the other; sizes)."""
    values = _int64(values)
    if len(values) and int(values.min()) < 0:
        raise ValueError("decimal takes non-negative integers")
    out = np.empty(20 * len(values), dtype=np.uint8)
    sizes = np.empty(len(values), dtype=np.int64)
    written = _library().gf_decimal(_address(values), len(values), _address(out), _address(sizes))
    return out[:written], sizes


def byte_counts(data: bytes) -> np.ndarray:
    """How many of each byte value `data` holds: 256 int64 counts."""
    data = np.frombuffer(data, dtype=np.uint8)
    step = max(PART_BYTES, -(-len(data) // (_workers[1] if _workers else 1)))
    counts = np.zeros((max(1, -(-len(data) // step)), 256), dtype=np.int64)

    def run(lo: int, hi: int) -> None:
        for part in range(lo, hi):  # a slice of data each, counted into a row of its own
            piece = data[part * step : (part + 1) * step]
            _library().gf_byte_counts(_address(piece), len(piece), _address(counts[part]))

    _in_parts(run, np.full(len(counts), step))
    return counts.sum(axis=0)


def copy_ranges(src: np.ndarray, src_starts, dst: np.ndarray, dst_starts, sizes) -> None:
    """dst[dst_starts[i]:][:sizes[i]] = src[src_starts[i]:][:sizes[i]] for every i (uint8
    arrays; the ranges must lie inside them)."""
    src_starts, dst_starts, sizes = _int64(src_starts), _int64(dst_starts), _int64(sizes)
    for array, at in ((src, src_starts), (dst, dst_starts)):
        if array.dtype != np.uint8 or not array.flags.c_contiguous:
            raise ValueError("copy_ranges takes contiguous uint8 arrays")
        if len(sizes) and (int(at.min()) < 0 or int((at + sizes).max()) > len(array)):
            raise ValueError("a range lies outside its array")
    _library().gf_copy_ranges(
        _address(src),
        _address(src_starts),
        _address(dst),
        _address(dst_starts),
        _address(sizes),
        len(sizes),
    )


def tsv_rows(fields: list[tuple[np.ndarray, np.ndarray, np.ndarray]]):
    """Rows of tab-separated fields, each field given as (uint8 data, each row's start and
    size in it): the rows as one bytes object, and each row's size."""
    sizes = np.stack([field_sizes for *_, field_sizes in fields])
    row_sizes = sizes.sum(axis=0) + len(fields)  # a tab after each field, a newline last
    ends = np.cumsum(row_sizes)
    rows = np.full(int(ends[-1]) if len(ends) else 0, ord("\t"), dtype=np.uint8)
    rows[ends - 1] = ord("\n")
    at = ends - row_sizes
    for data, starts, field_sizes in fields:
        copy_ranges(data, starts, rows, at, field_sizes)
        at = at + field_sizes + 1
    return rows.tobytes(), row_sizes


if __name__ == "__main__":
    print(check_library())
