"""One job of the one-shot comparison: prune a trained network by one criterion at every
compression ratio, retrain as its mode says, and measure (one table row per ratio).

Every retraining run of one trained network and one mode sees the same batches in the same
order (``PruningJob.batch_order_seed``, the ``batch_order_seed`` column): the ratios of a job
are retrained together in lockstep, and criteria, allocations and draws are compared on
paired runs (their differences are not batch-order noise)."""

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
           "sparse_gzip_bytes", "flops", "dense_flops", "speedup", "batch_order_seed")


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

    def batch_order_seed(self) -> int:
        """The seed of the retraining runs' batch order (-1 without retraining: no batches; tables
        hold no empty cells): one per trained network and mode, shared by every ratio, criterion,
        allocation and draw (paired runs)."""
        if self.retraining.start is None:
            return -1
        return int(self.generator("retrain", self.retraining.name).integers(2**31 - 1))

    def identity(self) -> dict:
        return {**super().identity(), "retraining": self.retraining.name}


def job_rows(job: PruningJob, *, compressions: list[float], initial: Network, reference: Network,
             trained: Network, accuracy: Callable[[Network], float], settings: dict,
             retrain: Retrainer | None = None) -> list[dict]:
    """One row per compression ratio: prune ``trained``, retrain as ``job.retraining`` says, measure.

    ``retrain(starts, masks, epochs, learning_rate, seed)`` retrains every ratio's network at
    once on one batch order (``make_retrainer``: in lockstep). Scores compare ``reference``
    (the change-scale reference epoch, by default the initialisation) with ``trained``;
    rewinding restarts from ``initial`` (epoch 0).
    ``settings``: the mode's epochs and learning rate (``Retraining.settings``).
    """
    mode = job.retraining
    if mode.start is not None and retrain is None:
        raise ValueError(f"retraining mode {mode.name} needs a retrain function")
    layer_scores = job.scores(reference, trained)
    dense = Mask.dense([k.shape for k in trained.kernels])
    masks = [prune(layer_scores, dense, Compression(compression), job.allocation) for compression in compressions]
    seed = job.batch_order_seed()
    if mode.start is None:
        networks = [mask.apply(trained) for mask in masks]
    else:
        start = trained if mode.start == "trained" else initial
        networks = retrain([mask.apply(start) for mask in masks], masks, settings["epochs"],
                           settings["learning_rate"], seed)
        if len(networks) != len(masks):
            raise AssertionError(f"{mode.name} returned {len(networks)} networks for {len(masks)} masks")
        for network, mask in zip(networks, masks):
            leaked = mask.leaked(network)
            if leaked:
                raise AssertionError(f"{leaked} pruned weights are nonzero after {mode.name}")
    return [{**job.identity(), "epochs": settings["epochs"], "learning_rate": settings["learning_rate"],
             "compression": float(compression), **size_columns(network, mask.kept),
             "accuracy": accuracy(network), **storage_columns(network), **flops_columns(network),
             "batch_order_seed": seed}
            for compression, network, mask in zip(compressions, networks, masks)]
