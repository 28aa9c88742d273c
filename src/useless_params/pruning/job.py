"""One job of the one-shot comparison: prune a trained network by one criterion at every
compression ratio, retrain as its mode says, and measure (one table row per ratio)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ..model import Network
from ..seeding import generator
from .criteria import Criterion, scores
from .masks import Compression, Mask, check_allocation, prune
from .retraining import Retrainer, Retraining
from .sizes import flops_columns, size_columns, storage_columns

COLUMNS = ("dataset", "network_seed", "criterion", "allocation", "draw", "retraining", "epochs", "learning_rate",
           "compression", "kept_weights", "total_weights", "kept_fraction", "compression_with_biases",
           "kept_fraction_with_biases", "biases_pruned", "accuracy", "nonzero_parameters", "dense_hdf5_bytes",
           "sparse_gzip_bytes", "flops", "dense_flops", "speedup")


@dataclass(frozen=True)
class JobIdentity:
    """What identifies a pruning job of one trained network (its path), and ``seed`` (``pruning.seed``),
    which seeds its randomness with that identity."""

    dataset: str
    network_seed: int
    criterion: Criterion
    allocation: str
    draw: int
    seed: int

    def __post_init__(self):
        check_allocation(self.allocation)

    def identity(self) -> dict:
        return {"dataset": self.dataset, "network_seed": self.network_seed, "criterion": self.criterion.name,
                "allocation": self.allocation, "draw": self.draw}

    def generator(self, *purpose: object):
        return generator(self.seed, self.network_seed, *purpose)


@dataclass(frozen=True)
class PruningJob(JobIdentity):
    """One job of the one-shot comparison: a ``JobIdentity`` and its retraining mode."""

    retraining: Retraining

    def scores(self, reference: Network, trained: Network):
        """Every weight's score, comparing ``reference`` with ``trained`` (random criteria: this job's draw)."""
        rng = self.generator("prune", self.criterion.name, self.draw) if self.criterion.random else None
        return scores(self.criterion, reference.kernels, trained.kernels, rng)

    def retrain_seed(self, compression: float) -> int:
        """The seed of the retraining run at ``compression`` (its shuffles; never the job order)."""
        return int(self.generator("retrain", self.retraining.name, self.criterion.name, self.allocation, self.draw,
                                  float(compression)).integers(2**31 - 1))

    def identity(self) -> dict:
        return {**super().identity(), "retraining": self.retraining.name}


def job_rows(job: PruningJob, *, compressions: list[float], initial: Network, reference: Network,
             trained: Network, accuracy: Callable[[Network], float], settings: dict,
             retrain: Retrainer | None = None) -> list[dict]:
    """One row per compression ratio: prune ``trained``, retrain as ``job.retraining`` says, measure.

    Scores compare ``reference`` (the change-scale reference epoch, by default the
    initialisation) with ``trained``; rewinding restarts from ``initial`` (epoch 0).
    ``settings``: the mode's epochs and learning rate (``Retraining.settings``).
    """
    mode = job.retraining
    if mode.start is not None and retrain is None:
        raise ValueError(f"retraining mode {mode.name} needs a retrain function")
    layer_scores = job.scores(reference, trained)
    dense = Mask.dense([k.shape for k in trained.kernels])
    rows = []
    for compression in compressions:
        mask = prune(layer_scores, dense, Compression(compression), job.allocation)
        if mode.start is None:
            network = mask.apply(trained)
        else:
            start = trained if mode.start == "trained" else initial
            network = retrain(mask.apply(start), mask, settings["epochs"], settings["learning_rate"],
                              job.retrain_seed(compression))
            leaked = mask.leaked(network)
            if leaked:
                raise AssertionError(f"{leaked} pruned weights are nonzero after {mode.name}")
        rows.append({**job.identity(), "epochs": settings["epochs"], "learning_rate": settings["learning_rate"],
                     "compression": float(compression), **size_columns(network, mask.kept),
                     "accuracy": accuracy(network), **storage_columns(network), **flops_columns(network)})
    return rows
