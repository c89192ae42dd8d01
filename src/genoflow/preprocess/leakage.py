"""The leakage report and the split table: identical or reverse-complement sequences found in more
than one split (leakage.tsv), and records.tsv, the split as a table."""

from __future__ import annotations

import json

import numpy as np

from genoflow import kernels
from genoflow.formats.arrays import lines_at
from genoflow.registry import SPLIT_NAMES

SHOWN_IDS = 10  # ids listed per leakage group


_SPLITS_IN_MASK = np.array([bin(mask).count("1") for mask in range(8)])


def find_leakage(exact, canonical, split_codes, alphabet: str, exact_order) -> dict:
    """Groups of identical (or reverse-complement) rows that span more than one split, found
    with sorts over the hashes (no Python object per row or per group): each leaking group
    as (kind, split names, size, its first rows), in the order of their first rows.
    `exact_order`: a stable argsort of `exact`."""
    rows, counts = [], {}
    kinds = [("exact", exact, exact_order)]
    if alphabet in ("dna", "rna"):
        kinds.append(("reverse_complement", canonical, None))
    bits = (np.uint8(1) << split_codes.astype(np.uint8)).astype(np.uint8)
    for kind, keys, order in kinds:
        order = kernels.argsort_hashes(keys) if order is None else order
        sorted_keys = keys[order]
        starts = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]])
        del sorted_keys
        sizes = np.diff(np.r_[starts, len(keys)])
        if kind == "exact":
            counts["duplicate_records"] = int(len(keys) - len(starts))
        masks = np.bitwise_or.reduceat(bits[order], starts) if len(keys) else starts
        leaking = (sizes > 1) & (_SPLITS_IN_MASK[masks] > 1)
        if kind == "reverse_complement" and leaking.any():
            # a group of one sequence (no reverse complement in it) is reported as exact
            ordered = exact[order]
            single = np.minimum.reduceat(ordered, starts) == np.maximum.reduceat(ordered, starts)
            leaking &= ~single
            del ordered
        found = np.flatnonzero(leaking)
        found = found[np.argsort(order[starts[found]], kind="stable")]  # by their first row
        for group in found.tolist():
            start, size = int(starts[group]), int(sizes[group])
            splits = ",".join(name for s, name in enumerate(SPLIT_NAMES) if masks[group] >> s & 1)
            rows.append((kind, splits, size, order[start : start + min(size, SHOWN_IDS)]))
        counts[f"{kind}_groups_across_splits"] = len(found)
    counts["duplicate_records"] = counts.pop("duplicate_records")  # last, as before
    return {"rows": rows, "counts": counts}


def write_records(path, ids_path, labels, split_codes, lengths, classes) -> None:
    """records.tsv, streamed: the ids come from the temporary ids file, in row order; each
    block of rows is put together field by field by the kernels (no Python code per row)."""
    names = [*classes] if classes else [""]
    with open(ids_path, "rb") as ids, open(path, "wb") as out:
        out.write(b"index\tid\tlabel\tsplit\tlength\n")
        start, carry = 0, b""
        while block := ids.read(1 << 20):
            block = carry + block
            cut = block.rfind(b"\n") + 1  # whole lines (an id is far shorter than a block)
            block, carry = block[:cut], block[cut:]
            text = np.frombuffer(block, dtype=np.uint8)
            breaks = np.flatnonzero(text == ord("\n"))
            stop = start + len(breaks)
            id_sizes = np.diff(breaks, prepend=-1) - 1
            codes = labels[start:stop] if classes else np.zeros(stop - start, dtype=np.int64)
            fields = [
                _packed(*kernels.decimal(np.arange(start, stop))),
                (text, breaks - id_sizes, id_sizes),
                _named(codes, names),
                _named(split_codes[start:stop], SPLIT_NAMES),
                _packed(*kernels.decimal(lengths[start:stop])),
            ]
            out.write(kernels.tsv_rows(fields)[0])
            start = stop


def _packed(data: np.ndarray, sizes: np.ndarray) -> tuple:
    """A field whose rows' bytes lie one after the other: (data, starts, sizes)."""
    return data, np.cumsum(sizes) - sizes, sizes


def _named(codes: np.ndarray, names) -> tuple:
    """Names by index, as UTF-8 text: (all names' bytes, each row's start and size there)."""
    encoded = [name.encode() for name in names]
    sizes = np.array([len(name) for name in encoded], dtype=np.int64)
    data = np.frombuffer(b"".join(encoded) or b"\0", dtype=np.uint8)
    return data, (np.cumsum(sizes) - sizes)[codes], sizes[codes]


def write_leakage(path, rows, ids_path) -> None:
    wanted = np.concatenate([members for *_, members in rows]) if rows else np.zeros(0, int)
    with open(ids_path) as handle:
        ids = lines_at(handle, wanted, lambda line: line.rstrip("\n"))
    with open(path, "w") as out:
        out.write("kind\tsplits\trecords\tids\n")
        for kind, splits, size, members in rows:
            shown = [ids[int(m)] for m in members]
            out.write(f"{kind}\t{splits}\t{size}\t{json.dumps(shown)}\n")
