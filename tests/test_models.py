"""The model families: shapes, masking (padding never changes a prediction), registry errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from genoflow.alphabets import get_alphabet
from genoflow.models import SequenceModel, count_parameters
from genoflow.models.build import mirror_table, token_model
from genoflow.models.heads import POOLS
from genoflow.registry import NEURAL_TYPES

SMALL = {
    "rnn": {"hidden": 8},
    "lstm": {"hidden": 8, "layers": 2, "dropout": 0.1},
    "gru": {"hidden": 8, "bidirectional": False},
    "transformer": {"dim": 8, "heads": 2, "layers": 1, "kernel_size": 3},
    "cnn": {"channels": 8, "kernel_size": 5},
}


def build(model_type: str, alphabet: str = "dna", **extra) -> SequenceModel:
    onehot = torch.from_numpy(get_alphabet(alphabet).onehot_table())
    torch.manual_seed(0)
    model = SequenceModel(
        model_type,
        onehot,
        outputs=3,
        max_length=41,
        mirror=mirror_table(alphabet),
        **SMALL[model_type],
        **extra,
    )
    return model.eval()


@pytest.mark.parametrize("model_type", NEURAL_TYPES)
def test_output_shape_and_parameters(model_type):
    """Every family maps (batch, length) tokens to (batch, classes) logits and has weights."""
    model = build(model_type)
    tokens = torch.randint(1, 5, (4, 30), dtype=torch.uint8)
    logits = model(tokens, torch.full((4,), 30))
    assert logits.shape == (4, 3)
    assert torch.isfinite(logits).all()
    assert count_parameters(model) > 0


@pytest.mark.parametrize(("pool", "pool_size"), [(p, 1) for p in POOLS] + [("flatten", 4)])
@pytest.mark.parametrize("model_type", NEURAL_TYPES)
def test_padding_never_changes_a_prediction(model_type, pool, pool_size):
    """A sequence scored alone equals the same sequence padded in a batch with a longer one."""
    model = build(model_type, pool=pool, pool_size=pool_size)
    short = torch.randint(1, 5, (1, 17), dtype=torch.uint8)
    alone = model(short, torch.tensor([17]))
    batch = torch.zeros((2, 41), dtype=torch.uint8)
    batch[0, :17] = short
    batch[1] = torch.randint(1, 5, (41,), dtype=torch.uint8)
    together = model(batch, torch.tensor([17, 41]))
    if pool == "none":  # a score per position: compare the short sequence's positions
        together = together[:, :17]
    torch.testing.assert_close(together[0:1], alone, atol=1e-5, rtol=1e-4)


def test_rnn_is_a_tanh_elman_rnn():
    """`rnn` is torch's Elman RNN with the tanh nonlinearity, not an LSTM or GRU in disguise."""
    recurrent = build("rnn").backbone.rnn
    assert type(recurrent) is torch.nn.RNN and recurrent.nonlinearity == "tanh"


@pytest.mark.parametrize(("model_type", "stem", "longest"), [("lstm", None, 41), ("gru", 3, 14)])
def test_chrono_gates_start_with_memory_for_up_to_the_longest_sequence(model_type, stem, longest):
    """gates: chrono sets the memory gate's recurrent bias to log(u), u in [1, T - 1], T the
    steps the recurrence reads (41 letters, or ceil(41 / 3) after a stem that pools by 3), in
    every layer and direction; the LSTM's input gate gets -log(u); every other bias is 0."""
    extra = {"stem": {"channels": 4, "kernel_size": 3, "pool": stem}} if stem else {}
    recurrent = build(model_type, gates="chrono", **extra).backbone.rnn
    hidden = recurrent.hidden_size
    biases = dict(recurrent.named_parameters())
    names = [name for name in biases if name.startswith("bias_hh")]
    assert len(names) == recurrent.num_layers * (2 if recurrent.bidirectional else 1)
    for name in names:
        memory = biases[name][hidden : 2 * hidden]
        assert memory.min() >= 0 and memory.max() <= np.log(longest - 1) + 1e-6
        assert memory.std() > 0  # a spread of time scales, not one
        other = torch.cat([biases[name][:hidden], biases[name][2 * hidden :]])
        if model_type == "lstm":
            torch.testing.assert_close(biases[name][:hidden], -memory)
            other = biases[name][2 * hidden :]
        assert other.abs().max() == 0
        assert biases[name.replace("_hh", "_ih")].abs().max() == 0
    default = build(model_type).backbone.rnn.bias_hh_l0[hidden : 2 * hidden]
    assert default.abs().max() < 1 / hidden**0.5 + 1e-6  # pytorch's U(-1/sqrt(h), 1/sqrt(h))


def test_chrono_gates_need_a_gated_cell_and_unknown_gates_are_refused():
    with pytest.raises(ValueError, match="rnn has none"):
        build("rnn", gates="chrono")
    with pytest.raises(ValueError, match="gates 'crono'"):
        build("gru", gates="crono")


def test_onehot_is_fixed_not_learned():
    """The one-hot table is a frozen buffer-like weight, so ambiguity codes stay soft."""
    model = build("lstm")
    assert not model.onehot.weight.requires_grad
    assert torch.allclose(model.onehot.weight[1:5], torch.eye(4))


def test_unknown_type_and_argument_are_rejected():
    onehot = torch.from_numpy(get_alphabet("dna").onehot_table())
    with pytest.raises(ValueError, match="unknown model type"):
        SequenceModel("lstmm", onehot, outputs=2)
    with pytest.raises(TypeError, match="hiden"):
        SequenceModel("lstm", onehot, outputs=2, hiden=3)


def test_transformer_attention_maps_are_distributions_over_real_positions():
    model = build("transformer")
    tokens = torch.randint(1, 5, (2, 12), dtype=torch.uint8)
    maps = model.backbone.attention_maps(model.embed(tokens), torch.tensor([12, 7]))
    assert maps.shape == (1, 2, 2, 12, 12)
    torch.testing.assert_close(maps.sum(-1), torch.ones(1, 2, 2, 12))
    assert maps[0, 1, :, :, 7:].abs().max() == 0  # padded keys get no attention


def test_flatten_keeps_position_and_needs_max_length():
    """flatten tells a motif at the start from the same motif at the end; mean pooling cannot."""
    onehot = torch.from_numpy(get_alphabet("dna").onehot_table())
    with pytest.raises(ValueError, match="max_length"):
        SequenceModel("cnn", onehot, outputs=2, pool="flatten", channels=4)
    torch.manual_seed(0)
    cnn = dict(channels=4, kernel_size=1, layers=1, dropout=0.0)
    flat = SequenceModel("cnn", onehot, 2, pool="flatten", max_length=8, **cnn).eval()
    mean = SequenceModel("cnn", onehot, 2, pool="mean", **cnn).eval()
    start = torch.tensor([[1, 2, 3, 4, 4, 4, 4, 4]], dtype=torch.uint8)
    end = torch.tensor([[4, 4, 4, 4, 4, 1, 2, 3]], dtype=torch.uint8)
    length = torch.tensor([8])
    assert not torch.allclose(flat(start, length), flat(end, length))
    torch.testing.assert_close(mean(start, length), mean(end, length))


STEMMED = [t for t in NEURAL_TYPES if t != "cnn"]


@pytest.mark.parametrize("skip", [False, True])
@pytest.mark.parametrize("pool", ["max", "attention", "meanmax", "last", "flatten"])
@pytest.mark.parametrize("model_type", STEMMED)
def test_a_stem_shortens_the_sequence_and_padding_still_changes_nothing(model_type, pool, skip):
    """With a convolutional stem (pool 3) the backbone reads ceil(length / 3) steps of the
    stem's channels, and a sequence scored alone equals it padded in a batch; with `skip`
    the readout reads the stem's 6 channels beside the backbone's."""
    stem = {"channels": 6, "kernel_size": 5, "layers": 2, "pool": 3, "skip": skip}
    model = build(model_type, stem=stem, pool=pool)
    seen = {}
    model.backbone.register_forward_hook(lambda m, args, out: seen.update(shape=args[0].shape))
    model.pool.register_forward_hook(lambda m, args, out: seen.update(read=args[0].shape))
    short = torch.randint(1, 5, (1, 17), dtype=torch.uint8)
    alone = model(short, torch.tensor([17]))
    assert seen["shape"] == (1, 6, 6)  # ceil(17 / 3) steps of 6 channels
    assert seen["read"] == (1, 6, model.backbone.out_channels + (6 if skip else 0))
    batch = torch.zeros((2, 41), dtype=torch.uint8)
    batch[0, :17] = short
    batch[1] = torch.randint(1, 5, (41,), dtype=torch.uint8)
    together = model(batch, torch.tensor([17, 41]))
    torch.testing.assert_close(together[0:1], alone, atol=1e-5, rtol=1e-4)


def test_without_a_stem_the_rnn_reads_the_letters_itself():
    """The seed's plain Elman RNN: no stem unless asked, the recurrence on the one-hot rows."""
    model = build("rnn")
    assert model.stem is None and model.backbone.rnn.input_size == 4  # A, C, G, T
    with pytest.raises(ValueError, match="the cnn is convolutions already"):
        build("cnn", stem={"pool": 2})


def test_a_pooling_stem_cannot_label_every_residue():
    from genoflow.models.build import token_model

    with pytest.raises(ValueError, match="cannot label every residue"):
        token_model("lstm", {"stem": {"pool": 2}}, "protein", 3, 50, per_position=True)
    model = token_model("lstm", {"hidden": 4, "stem": {"pool": 1}}, "protein", 3, 50, True)
    tokens = torch.randint(1, 20, (2, 50), dtype=torch.uint8)
    assert model(tokens, torch.tensor([50, 31])).shape == (2, 50, 3)


@pytest.mark.parametrize("alphabet", ["dna", "protein"])
def test_the_mirror_of_padded_rows(alphabet):
    """Each row's letters reversed, and complemented where there is a complement (DNA: the
    other strand; protein: the same residues from the C-terminus); padding left after them."""
    from genoflow.alphabets import reverse_complement

    model = build("cnn", alphabet)  # (any family: the model holds the alphabet's mirror table)
    letters = get_alphabet(alphabet)
    rows = (
        [b"ACGTTN", b"GGA", b"TTTTCCCAR"] if alphabet == "dna" else [b"MKWVX", b"GLF", b"KKLLAYRRC"]
    )
    tokens = torch.zeros((3, 9), dtype=torch.uint8)
    table = letters.encode_table()
    for i, row in enumerate(rows):
        tokens[i, : len(row)] = torch.from_numpy(table[np.frombuffer(row, np.uint8)])
    flipped = model.mirrored(tokens, torch.tensor([len(r) for r in rows]))
    for i, row in enumerate(rows):
        expected = reverse_complement(row, "dna") if alphabet == "dna" else row[::-1]
        assert letters.decode(flipped[i, : len(row)].numpy()) == expected.decode()
        assert not flipped[i, len(row) :].any()


@pytest.mark.parametrize("model_type", NEURAL_TYPES)
@pytest.mark.parametrize(
    ("alphabet", "option"), [("dna", "strands"), ("rna", "strands"), ("protein", "directions")]
)
def test_both_readings_give_the_same_output_for_a_sequence_and_its_mirror(
    model_type, alphabet, option
):
    """strands both (DNA, RNA: reverse complement) and directions both (protein: reversed)."""
    model = build(model_type, alphabet, pool="max", **{option: "both"})
    vocab = get_alphabet(alphabet).vocab_size
    tokens = torch.randint(1, vocab, (3, 30), dtype=torch.uint8)
    lengths = torch.tensor([30, 21, 9])
    tokens[1, 21:] = 0
    tokens[2, 9:] = 0
    other = model.mirrored(tokens, lengths)
    assert not torch.equal(other, tokens)
    torch.testing.assert_close(model(tokens, lengths), model(other, lengths), atol=1e-5, rtol=1e-4)
    with pytest.raises(ValueError, match="no mirror table"):
        onehot = torch.from_numpy(get_alphabet(alphabet).onehot_table())
        SequenceModel(model_type, onehot, outputs=2, max_length=30, **{option: "both"})


@pytest.mark.parametrize(
    ("alphabet", "option", "message"),
    [
        ("protein", "strands", "strands: dna or rna, not protein"),
        ("dna", "directions", "directions: protein, not dna"),
        ("rna", "directions", "directions: protein, not rna"),
    ],
)
def test_a_reading_of_the_other_alphabet_is_refused(alphabet, option, message):
    args = {**SMALL["gru"], option: "both"}
    with pytest.raises(ValueError, match=message):
        token_model("gru", args, alphabet, outputs=2, max_length=30)
    with pytest.raises(ValueError, match="not per residue"):
        token_model("gru", {**SMALL["gru"], "strands": "both"}, "dna", 2, 30, per_position=True)
