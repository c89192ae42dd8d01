"""The moving average of a network's weights over optimizer steps (`train: weight_averaging`).

Validation (hence early stopping and the kept epoch) and every checkpoint's `state_dict` (hence
model.ckpt and the predictions) use the average; training goes on from the trained weights.
Lightning's WeightAveraging callback does the same but updates once per Lightning batch, which
in genoflow is a group of up to data.MAX_GROUP optimizer steps; the task modules step the
optimizer themselves (tasks/modules.py) and call `update` after each step.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel

# The decay is min(decay, (1 + n) / (10 + n)) after n updates (as TensorFlow's
# ExponentialMovingAverage with num_updates), so that the first, near-random weights do not
# linger for the decay's whole horizon; over a short fit (n below ~900 for 0.99) the average is
# about the mean of the last tenth of the steps.
WARMUP = 10
# Checkpoint keys beside `state_dict` (which holds the average): for a resumed run.
TRAINED = "trained_state_dict"
UPDATES = "average_updates"


class WeightAverage:
    """An exponential moving average of `network`'s parameters (torch's AveragedModel)."""

    def __init__(self, network: nn.Module, decay: float) -> None:
        self.decay = decay
        self.updates = 0  # host copy of the count: reading the device's would make a GPU wait
        # Parameters only (use_buffers off): the networks keep no running statistics, and
        # their one buffer (the complement table) is a constant of integers.
        self.average = AveragedModel(network, multi_avg_fn=self._step)

    def _step(self, averaged: list, current: list, _count: torch.Tensor) -> None:
        share = 1 - min(self.decay, (1 + self.updates) / (WARMUP + self.updates))
        for mean, value in zip(averaged, current, strict=True):
            mean.lerp_(value, share)

    def update(self, network: nn.Module) -> None:
        """Take in the weights after an optimizer step."""
        self.average.update_parameters(network)
        self.updates += 1

    def swap(self, network: nn.Module) -> None:
        """Exchange the network's weights with the average's (before and after validation)."""
        pairs = zip(network.parameters(), self.average.module.parameters(), strict=True)
        for mine, other in pairs:
            kept = mine.detach().clone()
            mine.data.copy_(other.data)
            other.data.copy_(kept)

    def save(self, checkpoint: dict, prefix: str) -> None:
        """Put the average in the checkpoint's `state_dict` (the network's keys start with
        `prefix`), the trained weights and the update count beside it."""
        state = checkpoint["state_dict"]
        checkpoint[TRAINED] = {k: v for k, v in state.items() if k.startswith(prefix)}
        for name, value in self.average.module.state_dict().items():
            state[prefix + name] = value
        checkpoint[UPDATES] = self.updates

    def load(self, saved: tuple[dict, int]) -> None:
        """Go on from a checkpoint's average (`restore`'s result)."""
        weights, self.updates = saved
        self.average.module.load_state_dict(weights)
        self.average.n_averaged.fill_(self.updates)


def restore(checkpoint: dict, prefix: str) -> tuple[dict, int] | None:
    """A checkpoint written with an average: put the trained weights back into its
    `state_dict` (training goes on from them) and return the average's weights (without
    `prefix`) and update count, for `WeightAverage.load`. None for a checkpoint without one."""
    trained = checkpoint.get(TRAINED)
    if trained is None:
        return None
    state = checkpoint["state_dict"]
    weights = {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}
    state.update(trained)
    return weights, checkpoint[UPDATES]
