"""Preprocess: the ingested table -> memory-mappable uint8 tokens, labels and a split.

Outputs (in `out_dir`):
  tokens.npy    uint8 (records x max_length), 0 = padding; open with np.load(mmap_mode="r")
  lengths.npy   int32 per record (after trimming)
  labels.npy    int64 class index per record
  split.npy     uint8 per record: 0 train, 1 val, 2 test
  records.tsv   index, id, label, split, length: the split as a table
  leakage.tsv   identical (or reverse-complement) sequences found in more than one split
  meta.json     alphabet, classes, lengths, split sizes per class, leakage counts

Identical sequences are kept in one split when genoflow draws the split, so a model is never
tested on a sequence it was trained on; with a given split, such overlaps are reported.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from genoflow.alphabets import get_alphabet, reverse_complement
from genoflow.errors import InputError
from genoflow.io import atomic_path, read_json, write_json

SPLIT_NAMES = ("train", "val", "test")
SPLIT_METHODS = ("stratified", "random", "given")
TRIM_POLICIES = ("right", "left", "center", "error")
ARRAYS = ("tokens", "lengths", "labels", "targets", "split")


def preprocess(
    ingest_dir: str | Path,
    out_dir: str | Path,
    *,
    max_length: int | None = None,
    trim: str = "error",
    split: str = "stratified",
    val: float = 0.1,
    test: float = 0.2,
    seed: int = 42,
    classes: list[str] | None = None,
) -> dict:
    """Encode, pad/trim and split the ingested records; write arrays and metadata."""
    ingest_dir, out_dir = Path(ingest_dir), Path(out_dir)
    if trim not in TRIM_POLICIES:
        raise InputError(None, f"trim={trim!r} is not one of {list(TRIM_POLICIES)}")
    if split not in SPLIT_METHODS:
        raise InputError(None, f"split method {split!r} is not one of {list(SPLIT_METHODS)}")
    if not (0 < val < 1 and 0 < test < 1 and val + test < 1):
        raise InputError(None, f"split fractions val={val}, test={test} must be in (0, 1), sum < 1")
    summary = read_json(ingest_dir / "summary.json")
    alphabet = get_alphabet(summary["alphabet"])
    task, targets = summary.get("task", "classification"), summary.get("targets", [])
    classes = [] if targets else list(classes) if classes else sorted(summary["classes"])
    if task == "classification" and len(classes) < 2:
        raise InputError(
            ingest_dir / "sequences.tsv", f"classification needs >= 2 classes, found {classes}"
        )
    class_index = {name: i for i, name in enumerate(classes)}
    n, longest = summary["records"], summary["length"]["max"]
    width = max_length or longest
    lookup = alphabet.encode_table()
    nucleic = alphabet.name in ("dna", "rna")

    out_dir.mkdir(parents=True, exist_ok=True)
    tmp_paths = {name: out_dir / f".{name}.tmp.npy" for name in ARRAYS}
    tokens = np.lib.format.open_memmap(tmp_paths["tokens"], "w+", np.uint8, (n, width))
    lengths = np.zeros(n, dtype=np.int32)
    labels = np.zeros(n, dtype=np.int64)  # class index; 0 for regression
    values = np.zeros((n, len(targets)), dtype=np.float32)  # regression targets
    exact = np.zeros(n, dtype=np.uint64)
    canonical = np.zeros(n, dtype=np.uint64)
    given: list[str] = []
    ids: list[str] = []
    n_trimmed = 0
    table = ingest_dir / "sequences.tsv"
    try:
        with open(table, "rb") as handle:
            handle.readline()  # id, label column(s), split, source, sequence
            for i, line in enumerate(handle):
                record_id, *label, given_split, _source, sequence = (
                    line.rstrip(b"\n").decode().split("\t")
                )
                if targets:
                    values[i] = np.array(label, dtype=np.float32)
                    label = None
                else:
                    label = label[0]
                if label is not None and label not in class_index:
                    raise InputError(
                        table,
                        f"label {label!r} is not among classes {classes}",
                        line=i + 2,
                        record=record_id,
                    )
                seq = sequence.encode()
                if len(seq) > width:
                    if trim == "error":
                        raise InputError(
                            table,
                            f"length {len(seq)} exceeds max_length {width} (trim=error)",
                            line=i + 2,
                            record=record_id,
                        )
                    seq = _trim(seq, width, trim)
                    n_trimmed += 1
                tokens[i, : len(seq)] = lookup[np.frombuffer(seq, dtype=np.uint8)]
                lengths[i] = len(seq)
                labels[i] = class_index.get(label, 0)
                exact[i] = _hash(seq)
                reverse = _hash(reverse_complement(seq, alphabet.name)) if nucleic else exact[i]
                canonical[i] = min(exact[i], reverse)
                given.append(given_split)
                ids.append(record_id)
        tokens.flush()
        del tokens
        split_codes = _split(labels, exact, given, ids, table, split, val, test, seed, classes)
        np.save(tmp_paths["lengths"], lengths)
        np.save(tmp_paths["labels"], labels)
        mean, std = _standardise(values, split_codes)
        np.save(tmp_paths["targets"], (values - mean) / std)
        np.save(tmp_paths["split"], split_codes)
        leakage = _leakage(exact, canonical, split_codes, ids, nucleic)
        for name, tmp in tmp_paths.items():
            tmp.replace(out_dir / f"{name}.npy")
    finally:
        for tmp in tmp_paths.values():
            tmp.unlink(missing_ok=True)

    _write_records(out_dir / "records.tsv", ids, labels, split_codes, lengths, classes)
    _write_leakage(out_dir / "leakage.tsv", leakage["rows"])
    meta = {
        "task": task,
        "alphabet": alphabet.name,
        "vocab_size": alphabet.vocab_size,
        "channels": alphabet.channels,
        "records": n,
        "max_length": width,
        "trim": trim,
        "trimmed_records": n_trimmed,
        "classes": classes,
        "targets": targets,
        "target_mean": mean.tolist(),  # targets.npy is standardised with these train statistics
        "target_std": std.tolist(),
        "split": {"method": split, "val": val, "test": test, "seed": seed},
        "split_sizes": {
            name: {
                c: int(np.sum((split_codes == s) & (labels == k)))
                for k, c in enumerate(classes or ["records"])
            }
            for s, name in enumerate(SPLIT_NAMES)
        },
        "leakage": leakage["counts"],
    }
    write_json(out_dir / "meta.json", meta)
    return meta


def load_arrays(data_dir: str | Path) -> dict[str, np.ndarray]:
    """The preprocessed arrays; tokens memory-mapped, so nothing large is read into RAM."""
    data_dir = Path(data_dir)
    arrays = {name: np.load(data_dir / f"{name}.npy") for name in ARRAYS if name != "tokens"}
    arrays["tokens"] = np.load(data_dir / "tokens.npy", mmap_mode="r")
    return arrays


def read_ids(data_dir: str | Path) -> list[str]:
    with open(Path(data_dir) / "records.tsv") as handle:
        handle.readline()
        return [line.split("\t", 2)[1] for line in handle]


def _standardise(values: np.ndarray, split_codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-target mean and std over the training split only (std 0 becomes 1)."""
    train = values[split_codes == 0]
    if not values.shape[1] or not len(train):
        return np.zeros(values.shape[1]), np.ones(values.shape[1])
    std = train.std(axis=0)
    return train.mean(axis=0), np.where(std > 0, std, 1.0)


def _hash(sequence: bytes) -> int:
    return int.from_bytes(hashlib.blake2b(sequence, digest_size=8).digest(), "little")


def _trim(sequence: bytes, width: int, policy: str) -> bytes:
    if policy == "right":
        return sequence[:width]
    if policy == "left":
        return sequence[-width:]
    start = (len(sequence) - width) // 2
    return sequence[start : start + width]


def _split(labels, exact, given, ids, table, method, val, test, seed, classes) -> np.ndarray:
    """Split codes per record. Drawn splits keep identical sequences together."""
    if method == "given":
        return _given_split(labels, exact, given, ids, table, val, seed, classes)
    stratify = method == "stratified"
    return _draw_split(labels, exact, val, test, seed, stratify, table, classes)


def _draw_split(labels, exact, val, test, seed, stratify, table, classes) -> np.ndarray:
    """Random (per-class if `stratify`) split of distinct sequences; 0/1/2 = train/val/test.

    One unit per distinct sequence, whose class is that of its first record, so identical
    sequences always share a split. test = 0 draws only a validation set.
    """
    rng = np.random.default_rng(seed)
    _, first, group_of = np.unique(exact, return_index=True, return_inverse=True)
    group_class = labels[first] if stratify else np.zeros(len(first), np.int64)
    group_split = np.zeros(len(first), dtype=np.uint8)
    for k in np.unique(group_class):
        members = rng.permutation(np.flatnonzero(group_class == k))
        if test == 0 and len(members) < 2:
            continue  # drawing validation only (from a given train split): too few to spare
        needed = 3 if test > 0 else 2
        if len(members) < needed:
            what = f"class {classes[k]!r}" if stratify else "the dataset"
            raise InputError(
                table,
                f"{what} has {len(members)} distinct sequence(s); splitting it needs at least"
                f" {needed}",
            )
        n_test = max(1, round(test * len(members))) if test > 0 else 0
        n_val = min(max(1, round(val * len(members))), len(members) - n_test - 1)
        group_split[members[:n_test]] = 2
        group_split[members[n_test : n_test + n_val]] = 1
    return group_split[group_of.ravel()]


def _given_split(labels, exact, given, ids, table, val, seed, classes) -> np.ndarray:
    codes = np.zeros(len(given), dtype=np.uint8)
    for i, name in enumerate(given):
        if not name:
            raise InputError(
                table, "split method 'given' but this record has no split", record=ids[i]
            )
        codes[i] = SPLIT_NAMES.index(name)
    present = set(codes.tolist())
    for needed in (0, 2):
        if needed not in present:
            raise InputError(table, f"the given split has no {SPLIT_NAMES[needed]!r} records")
    if 1 not in present:  # no validation set given: draw one from train, per class
        train = np.flatnonzero(codes == 0)
        drawn = _draw_split(labels[train], exact[train], val, 0, seed, True, table, classes)
        codes[train[drawn == 1]] = 1
    return codes


def _leakage(exact, canonical, split_codes, ids, nucleic) -> dict:
    """Groups of identical (or reverse-complement) sequences that span more than one split."""
    rows, counts = [], {}
    kinds = [("exact", exact)] + ([("reverse_complement", canonical)] if nucleic else [])
    exact_keys: set[tuple[int, ...]] = set()
    for kind, keys in kinds:
        order = np.argsort(keys, kind="stable")
        sorted_keys = keys[order]
        starts = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]])
        sizes = np.diff(np.r_[starts, len(keys)])
        groups = [
            order[start : start + size].tolist()
            for start, size in zip(starts, sizes, strict=True)
            if size > 1
        ]
        leaking = 0
        for members in groups:
            splits = sorted({int(split_codes[m]) for m in members})
            if len(splits) < 2:
                continue
            members_key = tuple(sorted(members))
            if kind == "reverse_complement" and members_key in exact_keys:
                continue  # already reported as exact duplicates
            if kind == "exact":
                exact_keys.add(members_key)
            leaking += 1
            shown = [ids[m] for m in members[:10]]
            rows.append((kind, ",".join(SPLIT_NAMES[s] for s in splits), len(members), shown))
        counts[f"{kind}_groups_across_splits"] = leaking
    counts["duplicate_records"] = int(len(exact) - len(np.unique(exact)))
    return {"rows": rows, "counts": counts}


def _write_records(path, ids, labels, split_codes, lengths, classes) -> None:
    with atomic_path(path) as tmp, open(tmp, "w") as out:
        out.write("index\tid\tlabel\tsplit\tlength\n")
        for i, record_id in enumerate(ids):
            out.write(
                f"{i}\t{record_id}\t{classes[labels[i]] if classes else ''}"
                f"\t{SPLIT_NAMES[split_codes[i]]}"
                f"\t{lengths[i]}\n"
            )


def _write_leakage(path, rows) -> None:
    with atomic_path(path) as tmp, open(tmp, "w") as out:
        out.write("kind\tsplits\trecords\tids\n")
        for kind, splits, size, shown in rows:
            out.write(f"{kind}\t{splits}\t{size}\t{json.dumps(shown)}\n")
