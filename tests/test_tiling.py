"""Tiling: long records (a whole chromosome) -> windows of a width with a stride, as rows."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

from genoflow.alphabets import get_alphabet
from genoflow.errors import InputError
from genoflow.formats.arrays import load_arrays, read_ids
from genoflow.io.fasta import read_fasta
from genoflow.io.ingest import ingest
from genoflow.io.sources import FastaInput
from genoflow.preprocess.sequences import preprocess
from genoflow.preprocess.tiling import tile_counts, tile_starts

DATA = Path(__file__).parent / "data"
MGEN = DATA / "Mycoplasma_genitalium.fna"
PHIX = DATA / "phix.fa"
SPLIT_CODE = {"train": 0, "val": 1, "test": 2}
DNA = get_alphabet("dna")


def random_seq(rng: random.Random, length: int) -> str:
    return "".join(rng.choice("ACGT") for _ in range(length))


def make_ingest(tmp_path: Path, rows, values: bool = False) -> Path:
    """Ingest (id, label or values, split, sequence) rows through a FASTA + label table."""
    fasta = tmp_path / "in.fa"
    fasta.write_text("".join(f">{rid}\n{seq}\n" for rid, _, _, seq in rows))
    table = tmp_path / "labels.tsv"
    header = "id\tcount\tdouble\tsplit\n" if values else "id\tlabel\tsplit\n"
    table.write_text(header + "".join(f"{rid}\t{lab}\t{spl}\n" for rid, lab, spl, _ in rows))
    out = tmp_path / "ingest"
    option = {"values_table": table} if values else {"label_table": table}
    ingest([FastaInput(fasta)], out, alphabet="dna", **option)
    return out


def windows_of(sequence: str, width: int, stride: int) -> list[tuple[int, int]]:
    """The documented windows, written out plainly: 0-based [start, end)."""
    if len(sequence) <= width:
        return [(0, len(sequence))]
    spans = [(s, s + width) for s in range(0, len(sequence) - width + 1, stride)]
    if spans[-1][1] < len(sequence):
        spans.append((len(sequence) - width, len(sequence)))
    return spans


# --- window arithmetic -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("length", "width", "stride", "starts"),
    [
        (10, 4, 3, [0, 3, 6]),  # the last window ends at the end: nothing to add
        (11, 4, 3, [0, 3, 6, 7]),  # the tail is covered by an end-aligned window
        (12, 4, 4, [0, 4, 8]),  # stride = width: side by side
        (4, 4, 2, [0]),  # exactly one window wide
        (3, 4, 2, [0]),  # shorter: one (padded) row
        (20, 4, 10, [0, 10, 16]),  # stride > width leaves gaps, the tail is still covered
    ],
)
def test_tile_starts(length, width, stride, starts):
    """Windows start every `stride`; one more ends at the record's end if needed."""
    assert tile_starts(length, width, stride).tolist() == starts


def test_tile_counts_agree_with_starts():
    """The vectorised count (used to size tokens.npy) is the number of windows made."""
    rng = np.random.default_rng(0)
    lengths = rng.integers(1, 400, size=500)
    for width, stride in [(1, 1), (7, 3), (50, 50), (60, 17), (10, 25)]:
        expected = [len(tile_starts(int(n), width, stride)) for n in lengths]
        assert tile_counts(lengths, width, stride).tolist() == expected


# --- preprocess with tiling ------------------------------------------------------------------


def test_tiled_rows_ids_tokens_labels_and_split_by_record(tmp_path):
    """Every long record becomes its windows (tokens, 1-based inclusive ids, its label); short
    records stay one padded row; all windows of a record share one split."""
    rng = random.Random(3)
    rows = []
    for i in range(24):
        label = "ab"[i % 2]
        length = rng.choice([30, 64, 65, 150, 333]) if i % 3 else rng.randint(5, 40)
        rows.append((f"r{i}", label, "", random_seq(rng, length)))
    width, stride = 40, 16
    data = make_ingest(tmp_path, rows)
    meta = preprocess(data, tmp_path / "pre", tile_width=width, tile_stride=stride, seed=1)
    arrays = load_arrays(tmp_path / "pre")
    ids = read_ids(tmp_path / "pre")
    expected_ids, expected_tokens, owner = [], [], []
    for rid, _, _, seq in rows:
        spans = windows_of(seq, width, stride)
        for start, end in spans:
            expected_ids.append(rid if len(spans) == 1 else f"{rid}:{start + 1}-{end}")
            expected_tokens.append(seq[start:end])
            owner.append(rid)
    assert ids == expected_ids
    assert arrays["tokens"].shape == (len(expected_ids), width)
    assert meta["records"] == len(expected_ids) and meta["max_length"] == width
    for row, text in enumerate(expected_tokens):
        assert arrays["lengths"][row] == len(text)
        assert DNA.decode(arrays["tokens"][row, : len(text)]) == text
        assert not arrays["tokens"][row, len(text) :].any()
    label_of = {rid: "ab".index(label) for rid, label, _, _ in rows}
    assert arrays["labels"].tolist() == [label_of[rid] for rid in owner]
    split_of: dict[str, set[int]] = {}
    for rid, code in zip(owner, arrays["split"].tolist(), strict=True):
        split_of.setdefault(rid, set()).add(code)
    assert all(len(codes) == 1 for codes in split_of.values())
    assert {next(iter(c)) for c in split_of.values()} == {0, 1, 2}
    n_tiled = sum(len(seq) > width for *_, seq in rows)
    assert meta["tile"]["width"] == width and meta["tile"]["stride"] == stride
    assert meta["tile"]["source_records"] == 24 and meta["tile"]["tiled_records"] == n_tiled
    records = (tmp_path / "pre" / "records.tsv").read_text().splitlines()
    assert records[0] == "index\tid\tlabel\tsplit\tlength"
    assert [line.split("\t")[1] for line in records[1:]] == expected_ids


def test_whole_genome_is_tiled_with_an_end_aligned_last_window(tmp_path):
    """M. genitalium (580,076 bp, one record) and phiX: windows of 10 kb every 5 kb, the last
    ending at the genome's end; the windows decode to the genome's own bases."""
    fasta_records = {r.id: r.sequence.decode() for r in read_fasta(MGEN)}
    fasta_records.update({r.id: r.sequence.decode() for r in read_fasta(PHIX)})
    table = tmp_path / "labels.tsv"
    table.write_text("id\tlabel\tsplit\nNC_000908.2\tbacterium\ttrain\n1\tphage\ttest\n")
    ingest(
        [FastaInput(MGEN), FastaInput(PHIX)], tmp_path / "ingest", alphabet="dna", label_table=table
    )
    meta = preprocess(
        tmp_path / "ingest",
        tmp_path / "pre",
        split="given",
        tile_width=10_000,
        tile_stride=5_000,
        classes=["bacterium", "phage"],
    )
    arrays = load_arrays(tmp_path / "pre")
    ids = read_ids(tmp_path / "pre")
    genome = fasta_records["NC_000908.2"]
    spans = windows_of(genome, 10_000, 5_000)
    # 115 windows every 5 kb (the last ends at 580,000), then one ending at 580,076
    assert len(spans) == 116 and spans[-2:] == [(570_000, 580_000), (570_076, 580_076)]
    assert ids[:2] == ["NC_000908.2:1-10000", "NC_000908.2:5001-15000"]
    assert ids[114:116] == ["NC_000908.2:570001-580000", "NC_000908.2:570077-580076"]
    assert ids[116:] == ["1"]  # phiX (5,386 bp) fits in one window: one padded row
    for row in (0, 1, 57, 114, 115):
        start, end = spans[row]
        assert DNA.decode(np.asarray(arrays["tokens"][row])) == genome[start:end]
    assert DNA.decode(arrays["tokens"][116, :5386]) == fasta_records["1"]
    # one train record per class: too few to draw validation from; windows never split apart
    assert arrays["split"].tolist() == [0] * 116 + [2]
    assert meta["split_sizes"]["train"] == {"bacterium": 116, "phage": 0}
    assert meta["tile"]["tiled_records"] == 1 and meta["records"] == 117


def test_windows_carry_their_records_targets(tmp_path):
    """Regression: each window has its record's targets (standardised on train windows)."""
    rng = random.Random(8)
    rows = [
        (f"r{i}", f"{i}\t{2 * i + 1}", "", random_seq(rng, rng.choice([12, 50, 81])))
        for i in range(30)
    ]
    data = make_ingest(tmp_path, rows, values=True)
    meta = preprocess(data, tmp_path / "pre", split="random", tile_width=20, tile_stride=10)
    arrays = load_arrays(tmp_path / "pre")
    targets = arrays["targets"] * np.array(meta["target_std"]) + np.array(meta["target_mean"])
    owner = [rid.split(":")[0] for rid in read_ids(tmp_path / "pre")]
    expected = np.array([[int(r[1:]), 2 * int(r[1:]) + 1] for r in owner], dtype=float)
    np.testing.assert_allclose(targets, expected, rtol=1e-5, atol=1e-5)
    train = arrays["split"] == 0
    np.testing.assert_allclose(arrays["targets"][train].mean(axis=0), 0, atol=1e-5)


def test_identical_windows_across_splits_are_reported_by_window_id(tmp_path):
    """With a given split, a window shared by a train and a test record (or its reverse
    complement) is listed in leakage.tsv under the windows' ids."""
    shared, other = "ACGTTGCAAGGTCCAT", "GGGCCCAATTTAACCG"
    rc_shared = shared.translate(str.maketrans("ACGT", "TGCA"))[::-1]
    rng = random.Random(1)
    rows = [
        ("chrA", "x", "train", shared + random_seq(rng, 16)),
        ("chrB", "x", "test", other + shared),
        ("chrC", "y", "train", random_seq(rng, 32)),
        ("chrD", "y", "test", random_seq(rng, 16) + rc_shared),
        ("chrE", "x", "val", random_seq(rng, 32)),
        ("chrF", "y", "val", random_seq(rng, 32)),
    ]
    data = make_ingest(tmp_path, rows)
    meta = preprocess(data, tmp_path / "pre", split="given", tile_width=16, tile_stride=16)
    lines = (tmp_path / "pre" / "leakage.tsv").read_text().splitlines()
    assert lines[0] == "kind\tsplits\trecords\tids"
    assert sorted(lines[1:]) == [
        'exact\ttrain,test\t2\t["chrA:1-16", "chrB:17-32"]',
        'reverse_complement\ttrain,test\t3\t["chrA:1-16", "chrB:17-32", "chrD:17-32"]',
    ]
    assert meta["leakage"]["exact_groups_across_splits"] == 1
    assert meta["leakage"]["duplicate_records"] == 1  # rows: chrB:17-32 repeats chrA:1-16


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"tile_stride": 5}, "a tile stride or label needs a tile width"),
        ({"tile_width": 0}, "must be >= 1"),
        ({"tile_width": 10, "tile_stride": 0}, "must be >= 1"),
        ({"tile_width": 10, "max_length": 12}, "with tiling, rows are the tile width wide"),
    ],
)
def test_bad_tile_options_are_refused_before_writing(tmp_path, options, message):
    rows = [(f"r{i}", "ab"[i % 2], "", "ACGT" * (i + 1)) for i in range(8)]
    data = make_ingest(tmp_path, rows)
    with pytest.raises(InputError, match=message):
        preprocess(data, tmp_path / "pre", **options)
    assert not (tmp_path / "pre").exists()


def test_small_write_chunks_give_the_same_files(tmp_path, monkeypatch):
    """Rows go to tokens.npy a chunk at a time; tiny chunks change nothing in any output."""
    import genoflow.preprocess.encode as pre

    rng = random.Random(4)
    rows = [(f"r{i}", "ab"[i % 2], "", random_seq(rng, rng.randint(3, 90))) for i in range(40)]
    data = make_ingest(tmp_path, rows)
    preprocess(data, tmp_path / "big", tile_width=25, tile_stride=9)
    monkeypatch.setattr(pre, "CHUNK_BYTES", 60)  # two rows of 25 per chunk
    preprocess(data, tmp_path / "small", tile_width=25, tile_stride=9)
    names = sorted(p.name for p in (tmp_path / "big").iterdir())
    assert names == sorted(p.name for p in (tmp_path / "small").iterdir())
    for name in names:
        assert (tmp_path / "big" / name).read_bytes() == (tmp_path / "small" / name).read_bytes()


# --- next-base labels and block splits --------------------------------------------------------


def test_next_base_windows_are_contexts_labelled_with_the_following_letter(tmp_path):
    """Windows of 4 every 2 over all but the last letter; the window followed by N is left out;
    a record of 3 letters is one row (2 letters of context); a record of 1 letter has none."""
    fasta = tmp_path / "in.fa"
    fasta.write_text(">r\nACGTNACGTA\n>short\nGGC\n>one\nT\n")
    ingest([FastaInput(fasta)], tmp_path / "ingest", alphabet="dna", labelled=False)
    meta = preprocess(
        tmp_path / "ingest", tmp_path / "pre", tile_width=4, tile_stride=2, tile_label="next_base"
    )
    arrays, ids = load_arrays(tmp_path / "pre"), read_ids(tmp_path / "pre")
    # windows over ACGTNACGT: [0,4) [2,6) [4,8) and the end-aligned [5,9); [0,4) precedes N
    assert ids == ["r:3-6", "r:5-8", "r:6-9", "short:1-2"]
    contexts = [DNA.decode(arrays["tokens"][i, : arrays["lengths"][i]]) for i in range(4)]
    assert contexts == ["GTNA", "NACG", "ACGT", "GG"]
    assert meta["classes"] == ["A", "C", "G", "T"]
    assert [meta["classes"][k] for k in arrays["labels"]] == ["C", "T", "A", "C"]
    assert meta["tile"]["label"] == "next_base" and meta["tile"]["windows_left_out"] == 1
    assert meta["split"]["method"] == "random"  # records have no class to stratify by


def test_a_genome_is_split_in_contiguous_blocks_for_next_base_training(tmp_path):
    """One chromosome: blocks of 50 kb go to train, val or test; every window keeps its block's
    split and its label is the genome's next base."""
    genome = next(iter(read_fasta(MGEN))).sequence.decode()
    ingest([FastaInput(MGEN)], tmp_path / "ingest", alphabet="dna", labelled=False)
    meta = preprocess(
        tmp_path / "ingest",
        tmp_path / "pre",
        tile_width=100,
        tile_stride=1_000,
        tile_label="next_base",
        split="blocks",
        block_size=50_000,
    )
    arrays, ids = load_arrays(tmp_path / "pre"), read_ids(tmp_path / "pre")
    starts = np.array([int(i.split(":")[1].split("-")[0]) - 1 for i in ids])
    assert len(ids) == meta["records"] == 581  # 580 windows every 1 kb + the end-aligned one
    blocks = starts // 50_000
    for block in np.unique(blocks):
        assert len(set(arrays["split"][blocks == block].tolist())) == 1
    assert set(arrays["split"].tolist()) == {0, 1, 2}
    for row in (0, 300, 580):
        assert meta["classes"][arrays["labels"][row]] == genome[starts[row] + 100]
    assert meta["split"] == {
        "method": "blocks",
        "val": 0.1,
        "test": 0.2,
        "seed": 42,
        "block_size": 50_000,
    }


def test_unlabelled_records_need_next_base_labels(tmp_path):
    fasta = tmp_path / "in.fa"
    fasta.write_text(">a\nACGTACGT\n>b\nTTGACA\n")
    ingest([FastaInput(fasta)], tmp_path / "ingest", alphabet="dna", labelled=False)
    with pytest.raises(InputError, match="no labels"):
        preprocess(tmp_path / "ingest", tmp_path / "pre")
    with pytest.raises(InputError, match="blocks.*needs tiling"):
        preprocess(tmp_path / "ingest", tmp_path / "pre", split="blocks")
    assert not (tmp_path / "pre" / "tokens.npy").exists()
