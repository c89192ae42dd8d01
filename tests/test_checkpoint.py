"""genoflow.formats.checkpoint: a model.ckpt's network rebuilt without Lightning scores as the task
module's own network does, for every sequence task."""

from __future__ import annotations

import pytest
import torch

from genoflow.errors import InputError
from genoflow.formats.checkpoint import MODEL_FORMAT, read_checkpoint
from genoflow.models.build import sequence_model
from genoflow.tasks.train import TASK_MODULES

TASKS = {
    "classification": {"classes": ["a", "b", "c"]},
    "token_classification": {"classes": ["C", "E", "H"]},
    "multilabel": {"labels": ["x", "y"]},
    "regression": {"targets": ["t1", "t2", "t3", "t4"]},
}


@pytest.mark.parametrize("task", sorted(TASKS))
@pytest.mark.parametrize("model_type", ["lstm", "transformer", "cnn"])
def test_rebuilt_network_scores_as_the_task_modules(tmp_path, task, model_type):
    torch.manual_seed(0)
    args = {"lstm": {"hidden": 8}, "transformer": {"dim": 8, "heads": 2}, "cnn": {"channels": 8}}
    module = TASK_MODULES[task](model_type, args[model_type], "dna", **TASKS[task]).eval()
    payload = {
        "format": MODEL_FORMAT,
        "task": task,
        "model_type": model_type,
        "model_args": {},
        "module_args": dict(module.hparams),
        "meta": {},
        "state_dict": module.state_dict(),
    }
    torch.save(payload, tmp_path / "model.ckpt")
    model = sequence_model(read_checkpoint(tmp_path / "model.ckpt"), tmp_path / "model.ckpt")
    tokens = torch.randint(1, 5, (3, 30), dtype=torch.uint8)
    lengths = torch.tensor([30, 17, 5])
    with torch.no_grad():
        torch.testing.assert_close(model(tokens, lengths), module.model(tokens, lengths))
    assert not model.training


def test_a_forecaster_or_a_foreign_file_is_refused(tmp_path):
    (tmp_path / "junk.ckpt").write_bytes(b"not a checkpoint")
    with pytest.raises(InputError, match="not a loadable genoflow checkpoint"):
        read_checkpoint(tmp_path / "junk.ckpt")
    with pytest.raises(InputError, match="checkpoint not found"):
        read_checkpoint(tmp_path / "missing.ckpt")
    payload = {"format": MODEL_FORMAT, "task": "forecasting", "model_type": "lstm"}
    with pytest.raises(InputError, match="not a genoflow neural sequence model"):
        sequence_model(payload, tmp_path / "forecaster.ckpt")
