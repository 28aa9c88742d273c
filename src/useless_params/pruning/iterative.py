"""Iterative pruning in levels (open_lth's layout): level 0 is the trained dense network; level L
prunes level L-1's trained weights by a criterion, restarts the kept weights as its protocol
says, and retrains. Each level is one job that reads level L-1's state file and writes its own.

Protocols (registry ``PROTOCOLS``):

- ``imp_rewind`` (lottery tickets, Frankle & Carbin 2019; late rewinding, Frankle et al. 2020):
  the kept weights go back to the rewind point, epoch ``rewind_epoch`` of the stored dense run;
- ``imp_continue`` (Han et al. 2015): training continues from level L-1's trained weights,
  usually at a lower learning rate.

Controls at every level (registry ``CONTROLS``), the evidence that makes a ticket a ticket; they
branch off the chain and never feed the next level:

- ``reinit``: the level's mask with a fresh initialisation (``network.initializer``), trained the same way;
- ``random_mask``: a random mask with the level's per-layer kept counts, from the same start;
- ``supermask``: the level's masked starting network evaluated without any training
  (Zhou et al. 2019); for ``imp_rewind`` the masked rewound network.

Scores compare the protocol's reference point (``imp_rewind``: the rewind point;
``imp_continue``: the change-scale reference epoch of the dense run) with level L-1's trained
weights, so change scale, movement and magnitude increase mean at every level what they mean in
one shot.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

import numpy as np

from ..model import Architecture, Network
from ..registry import lookup, registry
from .criteria import scores
from .job import JobIdentity
from .levels import LevelState, dense_state  # noqa: F401 (dense_state: level 0, part of this interface)
from .masks import Mask, PruneFraction, prune, random_mask_like
from .sizes import flops_columns, size_columns, storage_columns

if TYPE_CHECKING:
    from ..training import TrainingRun


@dataclass(frozen=True)
class Protocol:
    """An iterative protocol: where a level's training starts (``start``: "rewind" to the rewind
    point, "current" from level L-1's trained weights) and the ``pruning.iterative.<name>`` section."""

    name: str
    start: str
    description: str

    def settings(self, iterative_cfg: dict) -> dict:
        section = iterative_cfg[self.name]
        settings = {"epochs": int(section["epochs"]), "learning_rate": float(section["learning_rate"])}
        if self.start == "rewind":
            settings["rewind_epoch"] = int(section["rewind_epoch"])
        return settings


PROTOCOLS: dict[str, Protocol] = registry(
    Protocol("imp_rewind", "rewind", "prune, rewind the kept weights to the rewind point, retrain"),
    Protocol("imp_continue", "current", "prune, continue training from the current weights"),
)


def protocol(name: str) -> Protocol:
    return lookup(PROTOCOLS, name, what="iterative protocol")


def amount(iterative_cfg: dict, layer_types: tuple[str, ...] = ()) -> PruneFraction:
    """The per-level amount of ``pruning.iterative``: ``rate``, ``output_rate`` (empty: half of rate)
    and ``conv_rate`` (empty: rate), for layers of ``layer_types`` (``Architecture.layer_types``)."""
    rate = float(iterative_cfg["rate"])
    output_rate, conv_rate = iterative_cfg["output_rate"], iterative_cfg.get("conv_rate")
    return PruneFraction(rate, rate / 2 if output_rate is None else float(output_rate),
                         None if conv_rate is None else float(conv_rate), tuple(layer_types))


@dataclass(frozen=True)
class Control:
    name: str
    description: str
    trains: bool


CONTROLS: dict[str, Control] = registry(
    Control("reinit", "the level's mask, a fresh random initialisation, trained the same way", True),
    Control("random_mask", "a random mask with the level's per-layer kept counts, same start", True),
    Control("supermask", "the level's masked starting network, evaluated without training", False),
)
# The chain itself, next to the controls, in the tables' ``variant`` column.
TICKET = "pruned"

COLUMNS = ("dataset", "network_seed", "protocol", "allocation", "criterion", "draw", "level", "variant", "epochs",
           "learning_rate", "rewind_epoch", "rate", "output_rate", "kept_weights", "total_weights", "kept_fraction",
           "compression_with_biases", "kept_fraction_with_biases", "biases_pruned", "layer_kept_fractions",
           "accuracy", "early_stop_epoch", "early_stop_accuracy", "nonzero_parameters", "dense_hdf5_bytes",
           "sparse_gzip_bytes", "flops", "dense_flops", "speedup")


@dataclass(frozen=True)
class Chain(JobIdentity):
    """One chain of levels: the network, criterion, allocation and draw (``JobIdentity``) and its protocol."""

    protocol: Protocol

    def identity(self) -> dict:
        return {**super().identity(), "protocol": self.protocol.name}

    def rng(self, level: int, *purpose: object) -> np.random.Generator:
        return self.generator("iterative", self.protocol.name, self.allocation, self.criterion.name, self.draw, level,
                              *purpose)

    def run_seed(self, level: int, variant: str) -> int:
        return int(self.rng(level, "train", variant).integers(2**31 - 1))


# --- One level.

# train(start network, mask, epochs, learning rate, seed) -> the run (per-epoch kernels, biases,
# history): the compiled trainer's ``run`` (``retraining.make_trainer``).
LevelTrainer = Callable[[Network, Mask, int, float, int], "TrainingRun"]


def early_stopping(history: dict) -> tuple[int, float]:
    """(epoch of the lowest validation loss, test accuracy after it), as the lottery-ticket paper
    reports; without validation data (``training.validation_split: 0``) the last epoch."""
    val_loss = np.asarray(history["val_loss"], float)
    if val_loss.size == 0:
        return 0, float(history["test_accuracy"][0])
    epoch = int(np.argmin(val_loss)) + 1 if np.isfinite(val_loss).any() else val_loss.size
    return epoch, float(history["test_accuracy"][epoch])


def level_row(chain: Chain, level: int, variant: str, settings: dict, amount: PruneFraction, mask: Mask,
              network: Network, history: dict | None) -> dict:
    """One row of a level table: ``network`` (trained with ``mask``, or untrained: ``history`` None)."""
    accuracy = float(history["test_accuracy"][-1])
    epoch, early = early_stopping(history) if settings["epochs"] and variant != "supermask" else (0, accuracy)
    trained = CONTROLS[variant].trains if variant in CONTROLS else True
    return {**chain.identity(), "level": level, "variant": variant,
            "epochs": settings["epochs"] if trained else 0,
            "learning_rate": settings["learning_rate"] if trained else 0.0,
            "rewind_epoch": settings.get("rewind_epoch", -1), "rate": amount.rate, "output_rate": amount.output_rate,
            **size_columns(network, mask.kept),
            "layer_kept_fractions": ";".join(f"{m.mean():.6g}" for m in mask.layers),
            "accuracy": accuracy, "early_stop_epoch": epoch, "early_stop_accuracy": early,
            **storage_columns(network), **flops_columns(network)}


def run_level(chain: Chain, level: int, previous: LevelState, *, reference: Network, rewind_point: Network,
              amount: PruneFraction, settings: dict, controls: list[str], train: LevelTrainer,
              architecture: Architecture) -> tuple[LevelState, list[dict]]:
    """Level ``level`` of ``chain`` from level ``level - 1``'s state: prune, restart, retrain, and the
    controls. Returns the new state and the level table's rows (the chain's row first)."""
    if previous.level != level - 1:
        raise ValueError(f"level {level} needs level {level - 1}, got {previous.level}")
    rng = chain.rng(level, "scores") if chain.criterion.random else None
    layer_scores = scores(chain.criterion, reference.kernels, previous.network.kernels, rng)
    mask = prune(layer_scores, previous.mask, amount, chain.allocation)
    start = rewind_point if chain.protocol.start == "rewind" else previous.network
    epochs, learning_rate = settings["epochs"], settings["learning_rate"]

    def trained(start_network: Network, run_mask: Mask, variant: str) -> tuple[Network, dict]:
        run = train(run_mask.apply(start_network), run_mask, epochs, learning_rate, chain.run_seed(level, variant))
        network = Network.at_epoch(run.kernels, run.biases, -1, start_network.architecture)
        leaked = run_mask.leaked(network)
        if leaked:
            raise AssertionError(f"{leaked} pruned weights are nonzero after level {level} ({variant})")
        return network, run.history

    network, history = trained(start, mask, TICKET)
    rows = [level_row(chain, level, TICKET, settings, amount, mask, network, history)]
    for name in controls:
        if name == "reinit":
            fresh = architecture.initial_network(chain.rng(level, "reinit"))
            control, control_history = trained(fresh, mask, name)
            rows.append(level_row(chain, level, name, settings, amount, mask, control, control_history))
        elif name == "random_mask":
            random_mask = random_mask_like(mask, chain.rng(level, "random_mask"))
            control, control_history = trained(start, random_mask, name)
            rows.append(level_row(chain, level, name, settings, amount, random_mask, control, control_history))
        elif name == "supermask":
            # The ticket's own run starts from exactly this network: its epoch-0 test accuracy.
            untrained = mask.apply(start)
            rows.append(level_row(chain, level, name, settings, amount, mask, untrained,
                                  {"test_accuracy": [history["test_accuracy"][0]], "val_loss": []}))
        else:
            lookup(CONTROLS, name, what="iterative control")
    return LevelState(level, mask, network), rows
