"""The model families: shapes, masking (padding never changes a prediction), registry errors."""

from __future__ import annotations

import pytest
import torch

from genoflow.alphabets import get_alphabet
from genoflow.models import NEURAL_TYPES, SequenceModel, count_parameters
from genoflow.models.heads import POOLS

SMALL = {
    "rnn": {"hidden": 8},
    "lstm": {"hidden": 8, "layers": 2, "dropout": 0.1},
    "gru": {"hidden": 8, "bidirectional": False},
    "transformer": {"dim": 8, "heads": 2, "layers": 1, "kernel_size": 3},
    "cnn": {"channels": 8, "kernel_size": 5},
}


def build(model_type: str, **extra) -> SequenceModel:
    onehot = torch.from_numpy(get_alphabet("dna").onehot_table())
    torch.manual_seed(0)
    model = SequenceModel(
        model_type, onehot, outputs=3, max_length=41, **SMALL[model_type], **extra
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


def test_workflow_and_package_agree_on_neural_types():
    from genoflow.config import NEURAL_TYPES as CONFIG_NEURAL

    assert CONFIG_NEURAL == NEURAL_TYPES
