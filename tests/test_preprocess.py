"""Preprocess: ingested table -> uint8 token arrays, trimming, splits, leakage report, meta.json."""

from __future__ import annotations

import json
import random
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from genoflow.alphabets import get_alphabet
from genoflow.errors import InputError
from genoflow.formats.arrays import load_arrays, read_ids
from genoflow.io.ingest import ingest
from genoflow.io.sources import FastaInput, read_sample_sheet
from genoflow.preprocess.sequences import preprocess

SPLIT_CODE = {"train": 0, "val": 1, "test": 2}
OUTPUTS = [
    "leakage.tsv",
    "labels.npy",
    "residue_labels.npy",
    "lengths.npy",
    "meta.json",
    "records.tsv",
    "split.npy",
    "targets.npy",
    "tokens.npy",
]


def random_seq(rng: random.Random, length: int, letters: str = "ACGT") -> str:
    return "".join(rng.choice(letters) for _ in range(length))


def distinct_seqs(rng: random.Random, count: int, length: int = 24) -> list[str]:
    seen: set[str] = set()
    while len(seen) < count:
        seen.add(random_seq(rng, length))
    return sorted(seen)


def make_ingest(tmp_path: Path, rows, alphabet: str = "dna", name: str = "ingest") -> Path:
    """Ingest (id, label, split, sequence) rows through a FASTA file + label table."""
    fasta = tmp_path / f"{name}.fa"
    fasta.write_text("".join(f">{rid}\n{seq}\n" for rid, _, _, seq in rows))
    table = tmp_path / f"{name}.labels.tsv"
    table.write_text(
        "id\tlabel\tsplit\n" + "".join(f"{rid}\t{lab}\t{spl}\n" for rid, lab, spl, _ in rows)
    )
    out = tmp_path / name
    ingest([FastaInput(fasta)], out, alphabet=alphabet, label_table=table)
    return out


def class_rows(counts: dict[str, int], seed: int = 0, length: int = 24):
    """Rows of distinct random sequences, `counts[label]` per class."""
    rng = random.Random(seed)
    seqs = iter(distinct_seqs(rng, sum(counts.values()), length))
    rows = []
    for label, count in counts.items():
        for i in range(count):
            rows.append((f"{label}_{i}", label, "", next(seqs)))
    return rows


def ingested_sequences(ingest_dir: Path) -> list[str]:
    lines = (ingest_dir / "sequences.tsv").read_text().splitlines()[1:]
    return [line.split("\t")[4] for line in lines]


# --- token arrays ----------------------------------------------------------------------------


def test_tokens_are_uint8_memmappable_padded_and_encoded(tmp_path):
    """tokens.npy: uint8, opens with mmap_mode='r', rows = encode_table(seq), 0 after the end."""
    rows = [
        ("a", "x", "", "ACGTacgtNR"),
        ("b", "y", "", "GG"),
        ("c", "x", "", "tttTTTWSKMBDHV"),
        ("d", "y", "", "ACGTACGTAC"),
        ("e", "x", "", "CCCCC"),
        ("f", "y", "", "AAAAGGGT"),
    ] + [(f"x{i}", "x", "", s) for i, s in enumerate(distinct_seqs(random.Random(3), 6, 7))]
    rows += [(f"y{i}", "y", "", s) for i, s in enumerate(distinct_seqs(random.Random(4), 6, 9))]
    data = make_ingest(tmp_path, rows)
    out = tmp_path / "pre"
    preprocess(data, out)
    assert sorted(p.name for p in out.iterdir()) == sorted(OUTPUTS)  # no temporary files left

    tokens = np.load(out / "tokens.npy", mmap_mode="r")
    assert isinstance(tokens, np.memmap)
    assert tokens.dtype == np.uint8
    assert tokens.shape == (len(rows), 14)  # width = the longest record
    lengths = np.load(out / "lengths.npy")
    table = get_alphabet("dna").encode_table()
    for i, (_, _, _, seq) in enumerate(rows):
        expected = table[np.frombuffer(seq.upper().encode(), dtype=np.uint8)]
        np.testing.assert_array_equal(tokens[i, : len(seq)], expected)
        assert np.all(tokens[i, len(seq) :] == 0)
        assert lengths[i] == len(seq)
    assert 255 not in np.asarray(tokens)
    labels = np.load(out / "labels.npy")
    np.testing.assert_array_equal(labels, [0 if lab == "x" else 1 for _, lab, _, _ in rows])

    arrays = load_arrays(out)  # small: read into memory (tests/test_data.py: when mapped)
    np.testing.assert_array_equal(arrays["tokens"], np.load(out / "tokens.npy", mmap_mode="r"))
    assert arrays["lengths"].dtype == np.int32 and arrays["split"].dtype == np.uint8
    assert read_ids(out) == [rid for rid, _, _, _ in rows]


def test_read_ids_of_chosen_rows(tmp_path):
    """read_ids(indices) returns just those rows' ids, in the order asked (repeats allowed)."""
    rows = class_rows({"x": 6, "y": 6})
    data = make_ingest(tmp_path, rows)
    preprocess(data, tmp_path / "pre")
    every = read_ids(tmp_path / "pre")
    assert every == [rid for rid, *_ in rows]
    chosen = np.array([7, 0, 11, 7])
    assert read_ids(tmp_path / "pre", chosen) == [every[i] for i in chosen]
    assert read_ids(tmp_path / "pre", []) == []
    with pytest.raises(IndexError, match="12"):
        read_ids(tmp_path / "pre", [3, 12])


def test_max_length_wider_than_longest_pads(tmp_path):
    """max_length above the longest record pads every row with zeros to that width."""
    data = make_ingest(tmp_path, class_rows({"x": 5, "y": 5}, length=10))
    meta = preprocess(data, tmp_path / "pre", max_length=25)
    tokens = np.load(tmp_path / "pre" / "tokens.npy", mmap_mode="r")
    assert tokens.shape == (10, 25) and meta["max_length"] == 25
    assert np.all(tokens[:, 10:] == 0) and np.all(tokens[:, :10] > 0)
    assert meta["trimmed_records"] == 0


# --- trimming --------------------------------------------------------------------------------


def expected_trim(seq: str, width: int, policy: str) -> str:
    if len(seq) <= width:
        return seq
    if policy == "right":
        return seq[:width]
    if policy == "left":
        return seq[len(seq) - width :]
    start = (len(seq) - width) // 2  # center: the extra base (odd excess) goes to the right end
    return seq[start : start + width]


@pytest.mark.parametrize("policy", ["right", "left", "center"])
def test_trim_policies_keep_the_right_part(tmp_path, policy):
    """Records longer than max_length keep their start (right), end (left) or middle (center)."""
    rng = random.Random(11)
    rows = []
    for i in range(24):
        label = "ab"[i % 2]
        rows.append((f"r{i}", label, "", random_seq(rng, rng.randint(3, 30))))
    width = 12
    data = make_ingest(tmp_path, rows)
    meta = preprocess(data, tmp_path / "pre", max_length=width, trim=policy)
    arrays = load_arrays(tmp_path / "pre")
    dna = get_alphabet("dna")
    assert arrays["tokens"].shape == (24, width)
    for i, (_, _, _, seq) in enumerate(rows):
        want = expected_trim(seq, width, policy)
        assert arrays["lengths"][i] == len(want)
        assert dna.decode(arrays["tokens"][i, : len(want)]) == want
        assert np.all(arrays["tokens"][i, len(want) :] == 0)
    assert meta["trimmed_records"] == sum(len(s) > width for *_, s in rows) > 0
    assert meta["trim"] == policy


def test_trim_error_names_record_and_leaves_nothing(tmp_path):
    """trim=error refuses a too-long record naming it and its length; no arrays are left."""
    rows = class_rows({"x": 4, "y": 4}, length=8)
    rows.append(("long_one", "x", "", "ACGT" * 5))
    data = make_ingest(tmp_path, rows)
    out = tmp_path / "pre"
    with pytest.raises(InputError) as info:
        preprocess(data, out, max_length=10, trim="error")
    message = str(info.value)
    assert "record 'long_one'" in message
    assert "length 20 exceeds max_length 10" in message
    assert str(data / "sequences.tsv") in message and ":10:" in message  # header + 9th row
    assert list(out.glob("*")) == [] and list(out.glob(".*")) == []


# --- drawn splits ----------------------------------------------------------------------------


def test_stratified_split_proportions_per_class(tmp_path):
    """Each class gets ~val and ~test of its records in val and test (stratified)."""
    counts = {"big": 500, "mid": 300, "small": 200}
    data = make_ingest(tmp_path, class_rows(counts, length=30))
    meta = preprocess(data, tmp_path / "pre", val=0.1, test=0.2, seed=1)
    split = np.load(tmp_path / "pre" / "split.npy")
    labels = np.load(tmp_path / "pre" / "labels.npy")
    for k, name in enumerate(meta["classes"]):
        in_class = split[labels == k]
        assert len(in_class) == counts[name]
        assert abs(np.mean(in_class == 1) - 0.1) <= 0.01, name
        assert abs(np.mean(in_class == 2) - 0.2) <= 0.01, name
        assert meta["split_sizes"]["val"][name] == int(np.sum(in_class == 1))
        assert meta["split_sizes"]["test"][name] == int(np.sum(in_class == 2))


def test_split_is_deterministic_per_seed(tmp_path):
    """The same seed draws the same split; another seed draws a different one."""
    data = make_ingest(tmp_path, class_rows({"a": 60, "b": 60}))
    preprocess(data, tmp_path / "s7a", seed=7)
    preprocess(data, tmp_path / "s7b", seed=7)
    preprocess(data, tmp_path / "s8", seed=8)
    first, again, other = (np.load(tmp_path / d / "split.npy") for d in ("s7a", "s7b", "s8"))
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)
    assert np.bincount(first).tolist() == np.bincount(other).tolist()  # same sizes, other records
    assert (tmp_path / "s7a" / "records.tsv").read_text() == (
        tmp_path / "s7b" / "records.tsv"
    ).read_text()


@pytest.mark.parametrize("method", ["stratified", "random"])
def test_identical_sequences_stay_in_one_split(tmp_path, method):
    """With many duplicates, every group of identical sequences lands in a single split."""
    rng = random.Random(5)
    rows = []
    for label in ("a", "b", "c"):
        for g, seq in enumerate(distinct_seqs(rng, 40, 16)):
            for copy in range(rng.randint(1, 6)):
                rows.append((f"{label}{g}_{copy}", label, "", seq))
    rng.shuffle(rows)
    data = make_ingest(tmp_path, rows)
    meta = preprocess(data, tmp_path / "pre", split=method, seed=3)
    split = np.load(tmp_path / "pre" / "split.npy")
    groups = defaultdict(set)
    for i, seq in enumerate(ingested_sequences(data)):
        groups[seq].add(int(split[i]))
    assert len(groups) == 120 and len(rows) > 200
    assert all(len(codes) == 1 for codes in groups.values())
    assert set(split.tolist()) == {0, 1, 2}
    assert meta["leakage"]["exact_groups_across_splits"] == 0
    assert meta["leakage"]["duplicate_records"] == len(rows) - 120


@pytest.mark.parametrize(
    ("rare_rows", "distinct"),
    [
        ([("rare_0", "ACGTACGTAC"), ("rare_1", "GGGGCCCCAA")], 2),
        ([(f"rare_{i}", "ACGTACGTAC" if i % 2 else "TTTTAAAACC") for i in range(6)], 2),
    ],
    ids=["two-records", "six-records-two-distinct"],
)
def test_class_with_too_few_sequences_is_named(tmp_path, rare_rows, distinct):
    """A class with < 3 distinct sequences cannot be split; the error names the class."""
    rows = class_rows({"common": 30, "other": 30})
    rows += [(rid, "rare", "", seq) for rid, seq in rare_rows]
    data = make_ingest(tmp_path, rows)
    out = tmp_path / "pre"
    with pytest.raises(InputError) as info:
        preprocess(data, out)
    message = str(info.value)
    assert f"class 'rare' has {distinct} distinct sequence(s)" in message
    assert str(data / "sequences.tsv") in message
    assert list(out.iterdir()) == []


def test_single_class_is_refused(tmp_path):
    """Classification with one class is refused naming the class list."""
    data = make_ingest(tmp_path, class_rows({"only": 10}))
    with pytest.raises(InputError, match=r"needs >= 2 classes, found \['only'\]"):
        preprocess(data, tmp_path / "pre")


# --- given splits ----------------------------------------------------------------------------


def sheet_dataset(tmp_path: Path, splits: tuple[str, ...], per_file: int, seed: int = 0) -> Path:
    """One FASTA file per (class, split) listed in a sample sheet with a split column."""
    rng = random.Random(seed)
    seqs = iter(distinct_seqs(rng, 2 * len(splits) * per_file, 20))
    lines = ["path\tlabel\tsplit"]
    for label in ("neg", "pos"):
        for split in splits:
            name = f"{label}_{split}.fa"
            records = "".join(f">{label}_{split}_{i}\n{next(seqs)}\n" for i in range(per_file))
            (tmp_path / name).write_text(records)
            lines.append(f"{name}\t{label}\t{split}")
    sheet = tmp_path / "samples.tsv"
    sheet.write_text("\n".join(lines) + "\n")
    out = tmp_path / "ingest"
    ingest(read_sample_sheet(sheet), out, alphabet="dna")
    return out


def test_given_split_from_sample_sheet(tmp_path):
    """split='given' uses the sample sheet's split column record by record."""
    data = sheet_dataset(tmp_path, ("train", "val", "test"), per_file=4)
    meta = preprocess(data, tmp_path / "pre", split="given")
    split = np.load(tmp_path / "pre" / "split.npy")
    ids = read_ids(tmp_path / "pre")
    assert [SPLIT_CODE[rid.split("_")[1]] for rid in ids] == split.tolist()
    assert meta["split"]["method"] == "given"
    assert meta["split_sizes"] == {s: {"neg": 4, "pos": 4} for s in ("train", "val", "test")}


def test_given_split_without_val_draws_val_from_train(tmp_path):
    """With no val records given, val is drawn from train (val fraction per class); test is kept."""
    data = sheet_dataset(tmp_path, ("train", "test"), per_file=20)
    meta = preprocess(data, tmp_path / "pre", split="given", val=0.25, seed=1)
    split = np.load(tmp_path / "pre" / "split.npy")
    ids = read_ids(tmp_path / "pre")
    for rid, code in zip(ids, split.tolist(), strict=True):
        if "_test_" in rid:
            assert code == 2, rid
        else:
            assert code in (0, 1), rid
    assert meta["split_sizes"] == {
        "train": {"neg": 15, "pos": 15},
        "val": {"neg": 5, "pos": 5},
        "test": {"neg": 20, "pos": 20},
    }


def test_given_split_record_without_split_is_named(tmp_path):
    """split='given' with a record that has no split value names that record."""
    rows = [
        (f"r{i}", "ab"[i % 2], ["train", "test"][i % 3 == 0], "ACGT" * (i + 1)) for i in range(8)
    ]
    rows.append(("nosplit", "a", "", "TTTTGGGG"))
    data = make_ingest(tmp_path, rows)
    with pytest.raises(InputError, match=r"record 'nosplit': split method 'given' but"):
        preprocess(data, tmp_path / "pre", split="given")


def test_given_split_without_test_is_refused(tmp_path):
    """A given split with no test records is refused, naming what is missing."""
    data = sheet_dataset(tmp_path, ("train", "val"), per_file=3)
    with pytest.raises(InputError, match=r"the given split has no 'test' records"):
        preprocess(data, tmp_path / "pre", split="given")


def test_given_split_drawn_val_keeps_identical_sequences_together(tmp_path):
    """A val set drawn from a given train set keeps identical sequences in one split."""
    rng = random.Random(0)
    rows = []
    for label in ("a", "b"):
        for g, seq in enumerate(distinct_seqs(rng, 30, 20)):
            for copy in range(3):
                rows.append((f"{label}{g}_{copy}", label, "test" if g < 8 else "train", seq))
    data = make_ingest(tmp_path, rows)
    meta = preprocess(data, tmp_path / "pre", split="given", val=0.2)
    assert meta["leakage"]["exact_groups_across_splits"] == 0


# --- leakage ---------------------------------------------------------------------------------


def reverse_complement(seq: str) -> str:
    return seq.translate(str.maketrans("ACGT", "TGCA"))[::-1]


def read_leakage(path: Path) -> list[tuple[str, str, int, list[str]]]:
    lines = path.read_text().splitlines()
    assert lines[0] == "kind\tsplits\trecords\tids"
    rows = []
    for line in lines[1:]:
        kind, splits, size, ids = line.split("\t")
        rows.append((kind, splits, int(size), json.loads(ids)))
    return rows


def test_leakage_reports_exact_and_reverse_complement_across_given_split(tmp_path):
    """leakage.tsv lists exact duplicates and reverse complements that span given splits."""
    rows = [
        (f"f{i}", "ab"[i % 2], "train", s) for i, s in enumerate(distinct_seqs(random.Random(9), 8))
    ]
    rows += [
        ("t1", "a", "test", "GGCATTACGA"),
        ("t2", "b", "test", "CCCCATATGG"),
        ("exact_train", "a", "train", "ACGTTGCAAGGT"),
        ("exact_test", "a", "test", "ACGTTGCAAGGT"),
        ("rc_train", "b", "train", "AAACCCGGTAT"),
        ("rc_val", "b", "val", reverse_complement("AAACCCGGTAT")),
        ("same_split_1", "a", "train", "TTTTTCCCCCA"),
        ("same_split_2", "a", "train", "TTTTTCCCCCA"),
    ]
    data = make_ingest(tmp_path, rows)
    meta = preprocess(data, tmp_path / "pre", split="given")
    leakage = read_leakage(tmp_path / "pre" / "leakage.tsv")
    assert sorted(leakage) == [
        ("exact", "train,test", 2, ["exact_train", "exact_test"]),
        ("reverse_complement", "train,val", 2, ["rc_train", "rc_val"]),
    ]
    assert meta["leakage"] == {
        "exact_groups_across_splits": 1,
        "reverse_complement_groups_across_splits": 1,
        "duplicate_records": 2,
    }


def test_leakage_protein_has_no_reverse_complement(tmp_path):
    """For proteins only exact duplicates are checked; no reverse-complement count exists."""
    rows = [
        ("p1", "a", "train", "MKVLAAGG"),
        ("p2", "a", "test", "MKVLAAGG"),
        ("p3", "b", "train", "GGAALVKM"),
        ("p4", "b", "test", "WYWYWY"),
    ]
    data = make_ingest(tmp_path, rows, alphabet="protein")
    meta = preprocess(data, tmp_path / "pre", split="given")
    assert meta["leakage"] == {"exact_groups_across_splits": 1, "duplicate_records": 1}
    assert read_leakage(tmp_path / "pre" / "leakage.tsv") == [
        ("exact", "train,test", 2, ["p1", "p2"])
    ]


def test_leakage_reports_rna_reverse_complements(tmp_path):
    """For RNA, reverse complements (A<->U) across splits are reported like DNA ones."""
    pairs = [("AAACG", "CGUUU"), ("GGGGA", "UCCCC"), ("ACCAGU", "ACUGGU"), ("UUGACC", "GGUCAA")]
    rows = []
    for i, (forward, reverse) in enumerate(pairs):
        rows.append((f"f{i}", "ab"[i % 2], "train", forward))
        rows.append((f"r{i}", "ab"[i % 2], "test", reverse))
    data = make_ingest(tmp_path, rows, alphabet="rna")
    meta = preprocess(data, tmp_path / "pre", split="given")
    assert meta["leakage"]["reverse_complement_groups_across_splits"] == len(pairs)


def test_leakage_in_many_rows_of_many_lengths(tmp_path):
    """Whole blocks of rows of different lengths (the vectorised hashes): every reverse
    complement across splits is found, listed in the order of its first row; a sequence that
    is its own reverse complement is not a leak."""
    rng = random.Random(4)
    seqs: dict[str, None] = {}
    while len(seqs) < 300:
        seqs[random_seq(rng, rng.randint(20, 90))] = None
    rows, pairs = [], 0
    for i, seq in enumerate(seqs):
        rows.append((f"s{i}", "ab"[i % 2], "train", seq))
        if i % 15 == 0:
            rows.append((f"rc{i}", "ab"[i % 2], "test", reverse_complement(seq)))
            pairs += 1
    rows.append(("palindrome", "a", "test", "ACGT" * 5))  # its own reverse complement
    data = make_ingest(tmp_path, rows)
    meta = preprocess(data, tmp_path / "pre", split="given")
    assert meta["leakage"]["reverse_complement_groups_across_splits"] == pairs
    leakage = read_leakage(tmp_path / "pre" / "leakage.tsv")
    assert [ids for *_, ids in leakage] == [[f"s{i}", f"rc{i}"] for i in range(0, 300, 15)]


def reverse_complement_iupac(seq: str) -> str:
    return seq.translate(str.maketrans("ACGTN", "TGCAN"))[::-1]


# --- meta.json -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("alphabet", "letters", "vocab", "channels"),
    [("dna", "ACGT", 16, 4), ("protein", "ACDEFGHIKLMNPQRSTVWY", 27, 20)],
)
def test_meta_json_fields(tmp_path, alphabet, letters, vocab, channels):
    """meta.json: classes, split sizes that sum to records, vocab_size and channels."""
    rng = random.Random(2)
    rows = [
        (f"r{i}", ["EI", "IE", "N"][i % 3], "", random_seq(rng, 40, letters)) for i in range(60)
    ]
    data = make_ingest(tmp_path, rows, alphabet=alphabet)
    returned = preprocess(data, tmp_path / "pre")
    meta = json.loads((tmp_path / "pre" / "meta.json").read_text())
    assert meta == returned
    assert meta["task"] == "classification"
    assert meta["alphabet"] == alphabet
    assert meta["classes"] == ["EI", "IE", "N"]
    assert meta["records"] == 60 and meta["max_length"] == 40
    assert meta["vocab_size"] == vocab and meta["channels"] == channels
    assert sum(sum(per_class.values()) for per_class in meta["split_sizes"].values()) == 60
    for name in ("EI", "IE", "N"):
        assert sum(meta["split_sizes"][s][name] for s in ("train", "val", "test")) == 20
    assert meta["split"] == {"method": "stratified", "val": 0.1, "test": 0.2, "seed": 42}


def test_class_order_can_be_given(tmp_path):
    """An explicit class order sets the label indices (for binary: the last is positive)."""
    rows = class_rows({"neg": 6, "pos": 6})
    data = make_ingest(tmp_path, rows)
    meta = preprocess(data, tmp_path / "pre", classes=["pos", "neg"])
    labels = np.load(tmp_path / "pre" / "labels.npy")
    assert meta["classes"] == ["pos", "neg"]
    np.testing.assert_array_equal(labels, [1 if lab == "neg" else 0 for _, lab, _, _ in rows])


def test_label_outside_given_classes_is_named(tmp_path):
    """A record whose label is not in the given class list is refused naming the record."""
    data = make_ingest(tmp_path, class_rows({"neg": 6, "pos": 6, "odd": 3}))
    with pytest.raises(InputError, match=r"record 'odd_0': label 'odd' is not among classes"):
        preprocess(data, tmp_path / "pre", classes=["neg", "pos"])


@pytest.mark.parametrize(
    "options",
    [
        {"trim": "middle"},
        {"split": "kfold"},
        {"val": 0.5, "test": 0.5},
        {"val": 0.0},
        {"threads": 0},
    ],
)
def test_bad_options_are_refused(tmp_path, options):
    """Unknown trim/split values and impossible fractions are refused before anything is written."""
    data = make_ingest(tmp_path, class_rows({"a": 5, "b": 5}))
    out = tmp_path / "pre"
    with pytest.raises(InputError):
        preprocess(data, out, **options)
    assert not out.exists()


# --- blocks of rows: any block size gives the same arrays ------------------------------------


@pytest.mark.parametrize("trim", ["right", "left", "center"])
def test_tiny_table_blocks_give_the_same_outputs(tmp_path, monkeypatch, trim):
    """Rows are encoded a block of the table at a time; blocks far smaller than a row (so every
    row spans several reads), or holding a few rows, give byte-identical outputs, with
    trimming, ambiguity codes and a reverse-complement pair."""
    import genoflow.preprocess.encode as encode_module

    rng = random.Random(5)
    rows = class_rows({"x": 40, "y": 40}, length=30)  # 83 rows: blocks of many and of few
    rows += [("long", "x", "", random_seq(rng, 90, "ACGTN")), ("rc", "y", "", "AACCG" * 3)]
    rows += [("fw", "x", "", "CGGTT" * 3)]
    ingested = make_ingest(tmp_path, rows)
    outputs = {}
    # (table bytes read at a time, token bytes written at a time: 80 is 2 rows of 40)
    for block, chunk in [(1 << 22, 1 << 24), (7, 1 << 24), (100, 1 << 24), (1 << 22, 80)]:
        monkeypatch.setattr(encode_module, "TABLE_BLOCK", block)
        monkeypatch.setattr(encode_module, "CHUNK_BYTES", chunk)
        out = tmp_path / f"pre{block}-{chunk}"
        preprocess(ingested, out, max_length=40, trim=trim, split="random")
        outputs[block, chunk] = {name: (out / name).read_bytes() for name in OUTPUTS}
    assert all(found == outputs[1 << 22, 1 << 24] for found in outputs.values())
    arrays = load_arrays(tmp_path / f"pre7-{1 << 24}")
    long_row = read_ids(tmp_path / f"pre7-{1 << 24}").index("long")
    sequence = rows[-3][3]
    kept = {"right": sequence[:40], "left": sequence[-40:], "center": sequence[25:65]}[trim]
    table = get_alphabet("dna").encode_table()
    assert (
        arrays["tokens"][long_row].tolist()
        == table[np.frombuffer(kept.encode(), np.uint8)].tolist()
    )


@pytest.mark.parametrize("max_length", [None, 40])
def test_any_number_of_threads_gives_the_same_outputs(tmp_path, monkeypatch, max_length):
    """Threads encode and hash parts of each block of rows (parts of a few bytes here, so
    every block is split); the outputs are byte for byte those of one thread, duplicates and
    reverse complements across splits included."""
    from genoflow import kernels

    monkeypatch.setattr(kernels, "PART_BYTES", 16)
    rng = random.Random(9)
    rows = class_rows({"x": 60, "y": 60}, length=30)
    rows += [(f"d{k}", "xy"[k % 2], "", "ACGTACGTTGCA" * 3) for k in range(6)]
    rows += [("rc", "y", "", "AACCG" * 3), ("fw", "x", "", "CGGTT" * 3)]
    rows += [(f"n{k}", "x", "", random_seq(rng, 40, "ACGTN")) for k in range(5)]
    splits = ("train", "val", "test")
    rows = [(name, label, splits[k % 3], seq) for k, (name, label, _, seq) in enumerate(rows)]
    ingested = make_ingest(tmp_path, rows)
    outputs = []
    for threads in (1, 2, 4):
        out = tmp_path / f"pre{threads}"
        preprocess(
            ingested, out, max_length=max_length, trim="right", split="given", threads=threads
        )
        outputs.append({name: (out / name).read_bytes() for name in OUTPUTS})
    assert outputs[1] == outputs[0] and outputs[2] == outputs[0]
    assert "reverse_complement" in outputs[0]["leakage.tsv"].decode()


def test_a_table_row_with_a_field_too_many_is_named(tmp_path):
    """sequences.tsv is ingest's output, but a hand-edited one is checked: a row with another
    number of fields stops preprocess with the table and its line, and writes nothing."""
    ingested = make_ingest(tmp_path, class_rows({"x": 5, "y": 5}, length=30))
    table = ingested / "sequences.tsv"
    lines = table.read_text().splitlines(keepends=True)
    lines[4] = lines[4].replace("\t", "\textra\t", 1)
    table.write_text("".join(lines))
    out = tmp_path / "pre"
    with pytest.raises(InputError, match="6 fields, but the table has 5 columns") as error:
        preprocess(ingested, out, split="random")
    assert str(error.value).startswith(f"{table}:5: ")
    assert not (out / "tokens.npy").exists()


def test_labels_that_share_prefixes_or_are_not_ascii_are_told_apart(tmp_path):
    """Labels are matched to classes as whole fields: 'a', 'ab' and 'é' are three classes,
    and every row gets its own."""
    rows = class_rows({"a": 8, "ab": 8, "é": 8}, length=30)
    out = tmp_path / "pre"
    meta = preprocess(make_ingest(tmp_path, rows), out, split="random")
    assert meta["classes"] == ["a", "ab", "é"]
    labels = np.load(out / "labels.npy")
    ids = read_ids(out)
    assert [meta["classes"][k] for k in labels] == [rid.rsplit("_", 1)[0] for rid in ids]
