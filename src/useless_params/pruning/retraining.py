"""How a pruned network is retrained (a registry), and the adapters to the trainers: the compiled
loop for the iterative levels (``make_trainer``), the lockstep trainer for the ratios of a
one-shot job (``make_retrainer``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..model import Architecture, Network
from ..registry import lookup, registry
from .masks import Mask


@dataclass(frozen=True)
class Retraining:
    """A retraining mode: from which weights it starts, and the config section of its settings.

    ``start``: "trained" (the trained weights), "initial" (epoch 0: lottery-ticket rewinding)
    or None (no training). ``settings_key``: the section ``pruning.<key>`` holding its epochs
    and learning rate (None: no training, no settings).
    """

    name: str
    start: str | None
    settings_key: str | None
    description: str

    def settings(self, pruning_cfg: dict) -> dict:
        """Epochs and learning rate of this mode under ``pruning_cfg`` (0 and 0.0 without training)."""
        if self.settings_key is None:
            return {"epochs": 0, "learning_rate": 0.0}
        section = pruning_cfg[self.settings_key]
        return {"epochs": int(section["epochs"]), "learning_rate": float(section["learning_rate"])}


RETRAINING: dict[str, Retraining] = registry(
    Retraining("none", None, None, "one-shot: the pruned trained network, evaluated as is"),
    Retraining("finetune", "trained", "finetune", "masked training from the trained weights"),
    Retraining("rewind", "initial", "rewind", "kept weights reset to their initial values, then masked training"),
)


def retraining(name: str) -> Retraining:
    return lookup(RETRAINING, name, what="retraining mode")


# retrain(start networks, their masks, epochs, learning rate, seed) -> the retrained networks
# (pruned weights 0), every one trained on the batch order that ``seed`` draws.
Retrainer = Callable[[list[Network], list[Mask], int, float, int], list[Network]]


def make_trainer(x_train, y_train, x_test, y_test, architecture: Architecture, trainer_settings: dict,
                 threads: int = 1):
    """``train(start, mask, epochs, learning_rate, seed)`` -> the compiled loop's ``TrainingRun`` with the
    mask held fixed (imports TensorFlow); one trainer, traced once, serves every network of the job."""
    from ..training import CompiledTrainer

    trainer = CompiledTrainer(x_train, y_train, x_test, y_test, architecture, trainer_settings, threads)

    def train(start: Network, mask: Mask, epochs: int, learning_rate: float, seed: int):
        return trainer.run(seed, epochs=epochs, learning_rate=learning_rate, start=start,
                           masks=[np.asarray(m) for m in mask.layers])

    return train


def make_retrainer(x_train, y_train, x_test, y_test, architecture: Architecture, trainer_settings: dict,
                   threads: int = 1) -> Retrainer:
    """A ``Retrainer`` that trains its networks in lockstep (``lockstep.LockstepTrainer``: one
    step for all of them on the same batch, about 1.2-1.7x the network-epochs per second of
    one network at a time); each network's final weights. Imports TensorFlow.

    A network with conv layers is retrained one network at a time by the compiled loop, every
    network from the same seed (so on the same batch order, as in lockstep): the lockstep
    layout (one wide product per dense layer) has no conv counterpart yet (issue 32)."""
    from ..lockstep import LockstepTrainer
    from ..training import CompiledTrainer

    if not architecture.is_mlp:
        compiled: list[CompiledTrainer] = []  # traced once, on the first call

        def retrain_one_at_a_time(starts: list[Network], masks: list[Mask], epochs: int, learning_rate: float,
                                  seed: int) -> list[Network]:
            if not compiled:
                compiled.append(CompiledTrainer(x_train, y_train, x_test, y_test, architecture, trainer_settings,
                                                threads))
            runs = [compiled[0].run(seed, epochs=epochs, learning_rate=learning_rate, start=start,
                                    masks=[np.asarray(m) for m in mask.layers]) for start, mask in zip(starts, masks)]
            return [Network.at_epoch(run.kernels, run.biases, -1, start.architecture) for run, start in zip(runs, starts)]

        return retrain_one_at_a_time

    trainers: dict[int, LockstepTrainer] = {}  # by the number of networks: traced once per size

    def retrain(starts: list[Network], masks: list[Mask], epochs: int, learning_rate: float,
                seed: int) -> list[Network]:
        k = len(starts)
        if k not in trainers:
            trainers[k] = LockstepTrainer(x_train, y_train, x_test, y_test, architecture, trainer_settings, k,
                                          threads)
        runs = trainers[k].run(seed, epochs=epochs, learning_rate=learning_rate, starts=starts,
                               masks=[[np.asarray(m) for m in mask.layers] for mask in masks], every_epoch=False)
        return [Network.at_epoch(run.kernels, run.biases, -1, start.architecture) for run, start in zip(runs, starts)]

    return retrain
