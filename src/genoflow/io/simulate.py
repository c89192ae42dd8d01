"""Simulated DNA for measuring how far a model can remember (workflow/configs/long_range.yaml).

Every record is uniform random DNA (A, C, G, T equally likely, independent) of length
`distance + 2 * MOTIF_LENGTH + 2 * MARGIN`, with accidental copies of the two motifs broken up.
Positive records (`pos`) hold both motifs: FIRST, then SECOND starting `distance` letters after
FIRST ends; SECOND always ends MARGIN letters before the record's end, and FIRST starts MARGIN
letters from the start, so the two sit exactly `distance` apart. Negative records (`neg`) hold
one of the two, at its usual place, the other left as background (half of them each). So the label
is "both present", and a model reading left to right must carry FIRST across `distance` letters
to the moment SECOND appears. The motifs are two 8-mers with no shared 4-mer and no reverse
complement of each other (ATF/CREB-like and an arbitrary GC-balanced one).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from genoflow.formats.files import atomic_path

FIRST = "TGACGTCA"
SECOND = "GCATTCGG"
MOTIF_LENGTH = 8
MARGIN = 20
LETTERS = np.frombuffer(b"ACGT", dtype=np.uint8)


def motif_pair_records(distance: int, records: int, seed: int) -> list[tuple[str, str, str]]:
    """(id, label, sequence) of `records` records, half positive, in a shuffled order."""
    rng = np.random.default_rng(seed)
    length = distance + 2 * MOTIF_LENGTH + 2 * MARGIN
    first_at, second_at = MARGIN, MARGIN + MOTIF_LENGTH + distance
    out = []
    for i in range(records):
        sequence = LETTERS[rng.integers(0, 4, length)].tobytes().decode()
        sequence = _without_motifs(sequence, rng)
        positive = i % 2 == 0
        keep = ("first", "second") if positive else (("first",), ("second",))[i // 2 % 2]
        if "first" in keep:
            sequence = sequence[:first_at] + FIRST + sequence[first_at + MOTIF_LENGTH :]
        if "second" in keep:
            sequence = sequence[:second_at] + SECOND + sequence[second_at + MOTIF_LENGTH :]
        out.append((f"lr{i:06d}", "pos" if positive else "neg", sequence))
    order = rng.permutation(records)
    return [out[k] for k in order]


def write_motif_pair_fasta(path: str | Path, distance: int, records: int, seed: int) -> None:
    """The records as FASTA, the label as the header's second word (`>lr000001 pos`)."""
    if distance < 0 or records < 4:
        raise ValueError(f"distance {distance} must be >= 0 and records {records} >= 4")
    with atomic_path(path) as tmp, open(tmp, "w") as out:
        for record_id, label, sequence in motif_pair_records(distance, records, seed):
            out.write(f">{record_id} {label}\n{sequence}\n")


def _without_motifs(sequence: str, rng: np.random.Generator) -> str:
    """Background with any accidental copy of a motif broken by changing its first letter."""
    letters = list(sequence)
    for motif in (FIRST, SECOND):
        start = sequence.find(motif)
        while start != -1:
            letters[start] = "ACGT".replace(motif[0], "")[int(rng.integers(0, 3))]
            sequence = "".join(letters)
            start = sequence.find(motif)
    return "".join(letters)
