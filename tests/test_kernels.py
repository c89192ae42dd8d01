"""genoflow.kernels: each compiled kernel against a plain Python (or hashlib) reference, and
how the kernels are built."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO

from genoflow import kernels
from genoflow.alphabets import get_alphabet
from genoflow.preprocess.encode import _token_table

rng = np.random.default_rng(7)


def digest(data: bytes) -> int:
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "little")


def test_blake2b64_is_hashlibs_blake2b_with_an_8_byte_digest():
    """Every length around BLAKE2b's 128-byte blocks, empty included, and a long one."""
    data = rng.integers(0, 256, 70_000, dtype=np.uint8).tobytes()
    lengths = [*range(0, 300), 383, 384, 385, 1024, 65_536, 69_999]
    starts = [int(rng.integers(0, len(data) - n + 1)) for n in lengths]
    ends = [start + n for start, n in zip(starts, lengths, strict=True)]
    got = kernels.blake2b64(data, starts, ends)
    assert got.dtype == np.uint64
    assert got.tolist() == [digest(data[a:b]) for a, b in zip(starts, ends, strict=True)]


def test_encode_rows_maps_each_range_and_pads_with_zeros():
    lut = _token_table(get_alphabet("dna"))
    data = b"ACGTNacgtn" * 20
    starts, ends = [0, 5, 17, 40], [0, 12, 40, 43]
    rows = kernels.encode_rows(data, starts, ends, lut, 25)
    for row, a, b in zip(rows, starts, ends, strict=True):
        expected = data[a:b].translate(lut).ljust(25, b"\0")
        assert row.tobytes() == expected
    with pytest.raises(ValueError, match="longer than the row width"):
        kernels.encode_rows(data, [0], [26], lut, 25)


def mix64(x: np.ndarray) -> np.ndarray:
    x = x.copy()
    x ^= x >> np.uint64(30)
    x *= np.uint64(0xBF58476D1CE4E5B9)
    x ^= x >> np.uint64(27)
    x *= np.uint64(0x94D049BB133111EB)
    x ^= x >> np.uint64(31)
    return x


def word_hashes(rows: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The word hash of kernels.c in numpy: each 8-byte little-endian word of the zero-padded
    row, XOR a key per position, mixed; the sum, XOR the mixed length, mixed."""
    golden = np.uint64(0x9E3779B97F4A7C15)
    n, width = rows.shape
    words = -(-width // 8)
    padded = np.zeros((n, words * 8), dtype=np.uint8)
    padded[:, :width] = rows
    keys = mix64(np.arange(1, words + 1, dtype=np.uint64) * golden)
    with np.errstate(over="ignore"):
        total = mix64(padded.view("<u8") ^ keys).sum(axis=1, dtype=np.uint64)
        return mix64(total ^ mix64(lengths.astype(np.uint64) + golden))


@pytest.mark.parametrize("width", [1, 7, 8, 9, 64, 200, 5000])
def test_canonical_hashes_are_the_smaller_word_hash_of_a_row_and_its_reverse_complement(width):
    alphabet = get_alphabet("dna")
    lut = _token_table(alphabet)
    to_token = alphabet.complement_tokens()
    letters = np.frombuffer(b"ACGTN", dtype=np.uint8)
    seqs = [
        letters[rng.integers(0, 5, int(rng.integers(1, width + 1)))].tobytes() for _ in range(30)
    ]
    lengths = np.array([len(seq) for seq in seqs], dtype=np.int64)
    rows = np.zeros((len(seqs), width), dtype=np.uint8)
    flipped = np.zeros_like(rows)
    for k, seq in enumerate(seqs):
        tokens = np.frombuffer(seq.translate(lut), dtype=np.uint8)
        rows[k, : len(seq)] = tokens
        flipped[k, : len(seq)] = np.frombuffer(tokens[::-1].tobytes().translate(to_token), np.uint8)
    got = kernels.canonical_hashes(rows, lengths, to_token)
    expected = np.minimum(word_hashes(rows, lengths), word_hashes(flipped, lengths))
    np.testing.assert_array_equal(got, expected)


def fasta_lines_reference(block: bytes, mid_line: bool):
    """gf_fasta_lines in Python: line by line."""
    sequence, headers, before, text = b"", [], [], -1
    lines = block.split(b"\n")[:-1]
    at = 0
    for k, line in enumerate(lines):
        if line.startswith(b">") and not (mid_line and k == 0):
            headers.append((k, at + 1, at + len(line)))
            before.append(len(sequence))
        else:
            kept = line.rstrip()
            if kept and not headers and text < 0:
                text = k
            sequence += kept
        at += len(line) + 1
    return sequence, headers, before, len(lines), text


@pytest.mark.parametrize("mid_line", [False, True])
def test_fasta_lines_matches_a_line_by_line_reading(mid_line):
    """Headers, CRLF, trailing spaces and tabs, blank lines, text before the first header,
    and more headers than the first guess of room (the rescan)."""
    pieces = [b">a x\n", b"ACGT\r\n", b"ac gt \t\n", b"\n", b">b\r\n", b">\n", b"NN\x0b\n"]
    for _ in range(3):
        block = b"".join(pieces[i] for i in rng.integers(0, len(pieces), 400))
        block = b"> stray\nTEXT  \n" + block  # (">" first: with mid_line, not a header)
        sequence, lines, starts, ends, before, n_lines, text = kernels.fasta_lines(
            block, mid_line, room=2
        )
        ref_sequence, ref_headers, ref_before, ref_lines, ref_text = fasta_lines_reference(
            block, mid_line
        )
        assert bytes(sequence) == ref_sequence
        assert list(zip(lines.tolist(), starts.tolist(), ends.tolist(), strict=True)) == (
            ref_headers
        )
        assert before.tolist() == ref_before
        assert (n_lines, text) == (ref_lines, ref_text)


def test_headers_give_ids_or_leave_them_to_python():
    data = b">r1 pos\n>r22\tneg x\n>r3\n"
    starts, ends = [1, 9, 20], [7, 18, 22]
    text, ids = kernels.headers(data, starts, ends)
    assert text == b"r1 pos\nr22\tneg x\nr3\n"
    assert ids == b"r1\nr22\nr3\n"
    for awkward in (b"> r1 pos\n", b">r1 \n", b">\n", ">r\u00e9 x\n".encode()):
        text, ids = kernels.headers(awkward, [1], [len(awkward) - 1])
        assert text == awkward[1:] and ids is None


def test_tsv_fields_finds_each_fields_start_and_counts_fields():
    block = b"a\tbb\t\tccc\nd\te\tf\tg\n\t\t\t\n"
    starts, ends = kernels.tsv_fields(block, len(block), 4, room=1)  # (room: the rescan)
    rows = block.split(b"\n")[:-1]
    assert ends.tolist() == [i for i, c in enumerate(block) if c == ord("\n")]
    for r, row in enumerate(rows):
        fields = row.split(b"\t")
        offset = int(starts[0][r])
        assert [int(x) - offset for x in starts[:, r]] == [
            sum(len(f) + 1 for f in fields[:k]) for k in range(4)
        ]
    bad = b"a\tb\tc\td\nx\ty\tz\n"
    assert kernels.tsv_fields(bad, len(bad), 4) == (None, 1)
    assert kernels.tsv_fields(bad, len(bad), 3) == (None, 0)


def test_kernels_refuse_ranges_outside_their_buffers():
    """C reads where it is told: the wrappers check first, and raise."""
    lut = _token_table(get_alphabet("dna"))
    for bad_starts, bad_ends in (([0], [11]), ([-1], [3]), ([5], [4]), ([0, 1], [2])):
        with pytest.raises(ValueError):
            kernels.blake2b64(b"ACGTACGTAC", bad_starts, bad_ends)
        with pytest.raises(ValueError):
            kernels.encode_rows(b"ACGTACGTAC", bad_starts, bad_ends, lut, 20)
        with pytest.raises(ValueError):
            kernels.headers(b">a\n>b\n", bad_starts, bad_ends)
    with pytest.raises(ValueError):
        kernels.canonical_hashes(
            np.zeros((2, 4), np.uint8), [4, 5], get_alphabet("dna").complement_tokens()
        )
    with pytest.raises(ValueError):
        kernels.tsv_fields(b"a\tb\n", 5, 2)


def test_copy_ranges_copies_and_refuses_ranges_outside_the_arrays():
    src = np.arange(100, dtype=np.uint8)
    dst = np.zeros(50, dtype=np.uint8)
    kernels.copy_ranges(src, [10, 90, 0], dst, [0, 20, 45], [5, 10, 0])
    expected = np.zeros(50, dtype=np.uint8)
    expected[0:5], expected[20:30] = src[10:15], src[90:100]
    np.testing.assert_array_equal(dst, expected)
    with pytest.raises(ValueError, match="outside"):
        kernels.copy_ranges(src, [95], dst, [0], [10])
    with pytest.raises(ValueError, match="outside"):
        kernels.copy_ranges(src, [0], dst, [45], [10])


def test_the_library_is_the_one_built_at_install_beside_the_module():
    """setuptools built kernels.c when genoflow was installed (make install-test): the library
    lies in the package, never in a user-writable cache, and is not older than its source."""
    path = kernels.check_library()
    assert path.parent == Path(kernels.__file__).parent and path.name.startswith("_kernels")
    assert path.stat().st_mtime_ns >= kernels.SOURCE.stat().st_mtime_ns
    printed = subprocess.run(
        [sys.executable, "-m", "genoflow.kernels"],
        env=dict(os.environ, PYTHONPATH=str(REPO / "src")),
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    assert printed == str(path)


def test_a_missing_or_stale_library_names_the_command_that_builds_it(tmp_path, monkeypatch):
    """A library older than kernels.c (edited, or another commit checked out) is refused,
    not run; a missing one too; both say how to rebuild."""
    source, library = tmp_path / "kernels.c", tmp_path / "_kernels.abi3.so"
    source.write_text("/* */")
    monkeypatch.setattr(kernels, "SOURCE", source)
    monkeypatch.setattr(kernels, "library_path", lambda: library)
    with pytest.raises(RuntimeError, match=r"kernels are missing .*make install"):
        kernels.check_library()
    library.write_bytes(b"")
    os.utime(library, ns=(1_000_000_000, 1_000_000_000))  # built long before the source
    with pytest.raises(RuntimeError, match=r"is newer than its build _kernels.abi3.so: install"):
        kernels.check_library()
    os.utime(library)  # rebuilt now
    assert kernels.check_library() == library


def test_decimal_writes_digits_and_refuses_negative_numbers():
    values = np.array([0, 7, 10, 99, 100, 123_456_789, 2**63 - 1])
    digits, sizes = kernels.decimal(values)
    assert digits.tobytes().decode() == "".join(map(str, values.tolist()))
    assert sizes.tolist() == [len(str(v)) for v in values.tolist()]
    with pytest.raises(ValueError, match="non-negative"):
        kernels.decimal([3, -1])


@pytest.mark.parametrize("width", [37, 64, 5000])
def test_canonical_hash_is_shared_by_reverse_complements_only(width):
    """A sequence and its reverse complement hash alike, whatever their length and padding;
    other sequences do not."""
    alphabet = get_alphabet("dna")
    lut = _token_table(alphabet)
    letters = np.frombuffer(b"ACGTN", dtype=np.uint8)
    seqs = [
        letters[rng.integers(0, 5, int(rng.integers(1, width + 1)))].tobytes() for _ in range(40)
    ]
    seqs += [seq[::-1].translate(bytes.maketrans(b"ACGTN", b"TGCAN")) for seq in seqs]
    lengths = np.array([len(seq) for seq in seqs], dtype=np.int64)
    starts = np.cumsum(lengths) - lengths
    rows = kernels.encode_rows(b"".join(seqs), starts, starts + lengths, lut, width)
    assert (rows[:, -1] == 0).sum() >= 1  # padded rows among them
    hashes = kernels.canonical_hashes(rows, lengths, alphabet.complement_tokens())
    np.testing.assert_array_equal(hashes[:40], hashes[40:])
    distinct = {min(seq, seq[::-1].translate(bytes.maketrans(b"ACGTN", b"TGCAN"))) for seq in seqs}
    assert len(set(hashes.tolist())) == len(distinct)


@pytest.mark.parametrize("n", [2, 3, 8])
def test_kernels_on_threads_give_what_one_thread_gives(n, monkeypatch):
    """Records of every length split over n threads (parts of a few bytes here, so that the
    parts are many and uneven); the outputs are those of one thread."""
    monkeypatch.setattr(kernels, "PART_BYTES", 16)
    alphabet = get_alphabet("dna")
    lut, to_token = _token_table(alphabet), alphabet.complement_tokens()
    data = np.frombuffer(b"ACGTN", np.uint8)[rng.integers(0, 5, 20_000)].tobytes()
    starts = np.sort(rng.integers(0, len(data) - 300, 500))
    ends = starts + rng.integers(0, 300, len(starts))
    alone = kernels.blake2b64(data, starts, ends)
    rows = kernels.encode_rows(data, starts, ends, lut, 300)
    canonical = kernels.canonical_hashes(rows, ends - starts, to_token)
    with kernels.threads(n):
        assert kernels._workers is not None and kernels._workers[1] == n
        np.testing.assert_array_equal(kernels.blake2b64(data, starts, ends), alone)
        np.testing.assert_array_equal(kernels.encode_rows(data, starts, ends, lut, 300), rows)
        np.testing.assert_array_equal(
            kernels.canonical_hashes(rows, ends - starts, to_token), canonical
        )
        with kernels.threads(2):  # nested: the outer pool serves
            assert kernels._workers[1] == n
        assert len(kernels.blake2b64(data, [], [])) == 0
    assert kernels._workers is None
    with pytest.raises(ValueError, match="at least 1"):
        kernels.threads(0).__enter__()


def test_a_failing_part_is_raised_after_every_part_has_finished(monkeypatch):
    monkeypatch.setattr(kernels, "PART_BYTES", 1)
    finished = []

    def run(lo: int, hi: int) -> None:
        if lo == 0:
            raise RuntimeError("the first part fails")
        finished.append((lo, hi))

    with kernels.threads(4), pytest.raises(RuntimeError, match="first part"):
        kernels._in_parts(run, np.full(40, 10))
    assert sorted(finished) == [(10, 20), (20, 30), (30, 40)]


@pytest.mark.parametrize("distinct", [1, 5, 1000, 100_000])
def test_argsort_hashes_is_a_stable_argsort(distinct):
    """Keys from all equal to all distinct: ties stay in index order."""
    keys = rng.integers(0, distinct, 20_000).astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    np.testing.assert_array_equal(kernels.argsort_hashes(keys), np.argsort(keys, kind="stable"))
    assert len(kernels.argsort_hashes(np.zeros(0, np.uint64))) == 0


def test_a_wheel_carries_the_kernels_built_and_their_source(tmp_path):
    """`pip wheel` builds the kernels (setuptools' ext-modules): the wheel holds the library
    beside kernels.c, so `pip install genoflow-*.whl` needs no compiler."""
    import zipfile

    source = tmp_path / "genoflow"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        (source / name).write_bytes((REPO / name).read_bytes())
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "_kernels*")
    shutil.copytree(REPO / "src", source / "src", ignore=ignore)
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", "dist", "."]
    done = subprocess.run(command, cwd=source, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    (wheel,) = (source / "dist").glob("genoflow-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "genoflow/_kernels.abi3.so" in names and "genoflow/kernels.c" in names
