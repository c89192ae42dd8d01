"""Simulated long-range data: motif placement, labels, and the `last` readout."""

from __future__ import annotations

import torch

from genoflow.alphabets import get_alphabet
from genoflow.io.fasta import read_fasta
from genoflow.io.simulate import FIRST, MARGIN, MOTIF_LENGTH, SECOND, write_motif_pair_fasta
from genoflow.models import SequenceModel


def test_positives_hold_both_motifs_exactly_distance_apart_negatives_one(tmp_path):
    write_motif_pair_fasta(tmp_path / "d.fa", distance=37, records=400, seed=5)
    records = list(read_fasta(tmp_path / "d.fa"))
    assert len(records) == 400
    labels = [r.description.split()[1] for r in records]
    assert labels.count("pos") == labels.count("neg") == 200
    for record, label in zip(records, labels, strict=True):
        sequence = record.sequence.decode()
        assert len(sequence) == 37 + 2 * MOTIF_LENGTH + 2 * MARGIN
        first, second = sequence.count(FIRST), sequence.count(SECOND)
        if label == "pos":
            assert (first, second) == (1, 1)
            assert sequence.index(SECOND) - sequence.index(FIRST) - MOTIF_LENGTH == 37
        else:
            assert first + second == 1
    negatives = [
        r.sequence.decode() for r, label in zip(records, labels, strict=True) if label == "neg"
    ]
    assert 80 < sum(FIRST in s for s in negatives) < 120  # half keep the first motif


def test_same_seed_same_records(tmp_path):
    write_motif_pair_fasta(tmp_path / "a.fa", distance=5, records=20, seed=1)
    write_motif_pair_fasta(tmp_path / "b.fa", distance=5, records=20, seed=1)
    assert (tmp_path / "a.fa").read_bytes() == (tmp_path / "b.fa").read_bytes()


def test_last_pool_reads_the_final_state_of_each_sequence():
    """pool last = the recurrent output at each sequence's own last position."""
    onehot = torch.from_numpy(get_alphabet("dna").onehot_table())
    torch.manual_seed(0)
    model = SequenceModel("gru", onehot, 2, pool="last", hidden=6, bidirectional=False).eval()
    tokens = torch.randint(1, 5, (2, 9), dtype=torch.uint8)
    tokens[1, 4:] = 0
    lengths = torch.tensor([9, 4])
    with torch.no_grad():
        states = model.backbone(model.embed(tokens), lengths)
        expected = model.head(torch.stack([states[0, 8], states[1, 3]]))
        torch.testing.assert_close(model(tokens, lengths), expected)
