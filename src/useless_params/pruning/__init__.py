"""Pruning trained networks, one concern per module (ShrinkBench's layout: small strategies
behind one interface):

- ``criteria``: the score of every weight (registry ``CRITERIA``);
- ``masks``: the ``Mask`` type, allocations and the ``prune`` step every protocol uses;
- ``retraining``: how a pruned network is retrained (registry ``RETRAINING``) and the adapter
  to the compiled trainer;
- ``sizes``: what a pruned network costs to store, and the sparse export;
- ``job``: one job of the one-shot comparison (a row per compression ratio);
- ``summary``: curves and operating points over seeds and draws.

Names the rules and scripts use are re-exported here; an unknown name in the ``pruning``
config section is one error naming the key (``check_config``).
"""

from __future__ import annotations

from ..errors import InputError
from .criteria import CRITERIA, Criterion, criterion, scores
from .job import COLUMNS, PruningJob, job_rows
from .masks import ALLOCATIONS, Compression, Mask, check_allocation, prune
from .retraining import RETRAINING, Retraining, make_retrainer, retraining
from .sizes import dense_hdf5_bytes, nonzero_parameters, sparse_export, sparse_import
from .summary import baseline_accuracy, summarise

__all__ = ["ALLOCATIONS", "COLUMNS", "CRITERIA", "RETRAINING", "Compression", "Criterion", "Mask", "PruningJob",
           "Retraining", "baseline_accuracy", "check_allocation", "check_config", "criterion", "dense_hdf5_bytes",
           "job_rows", "make_retrainer", "nonzero_parameters", "prune", "retraining", "scores", "sparse_export",
           "sparse_import", "summarise"]


def check_config(config: dict) -> None:
    """Every name in the ``pruning`` section is registered, and the iterative levels fit every
    trained network (one-line errors naming the key)."""
    from ..data import dataset
    from ..model import Architecture
    from .iterative import CONTROLS, PROTOCOLS, amount

    pruning_cfg, iterative_cfg = config["pruning"], config["pruning"]["iterative"]
    registries = [("pruning", pruning_cfg, "criteria", CRITERIA), ("pruning", pruning_cfg, "allocations", ALLOCATIONS),
                  ("pruning", pruning_cfg, "retraining", RETRAINING),
                  ("pruning.iterative", iterative_cfg, "protocols", PROTOCOLS),
                  ("pruning.iterative", iterative_cfg, "criteria", CRITERIA),
                  ("pruning.iterative", iterative_cfg, "allocations", ALLOCATIONS),
                  ("pruning.iterative", iterative_cfg, "controls", CONTROLS)]
    for section, cfg, key, known in registries:
        for index, name in enumerate(cfg[key]):
            if name not in known:
                raise InputError(f"{section}.{key}[{index}]: unknown value {name!r}; expected one of {', '.join(known)}")
    if not iterative_cfg["protocols"]:
        return
    epochs = config["training"]["epochs"]
    if "imp_rewind" in iterative_cfg["protocols"] and iterative_cfg["imp_rewind"]["rewind_epoch"] > epochs:
        raise InputError(f"pruning.iterative.imp_rewind.rewind_epoch: {iterative_cfg['imp_rewind']['rewind_epoch']} "
                         f"is beyond training.epochs ({epochs}); the weight store holds epochs 0..{epochs}")
    per_level = amount(iterative_cfg)
    for name in config["data"]["datasets"]:
        entry = dataset(name)
        sizes = Architecture.from_config(config["network"], entry.n_features, entry.n_classes).kernel_shapes()
        counts = per_level.counts_after([a * b for a, b in sizes], iterative_cfg["levels"])
        for level, kept in enumerate(counts, start=1):
            if min(kept) < 1:
                layer = kept.index(min(kept))
                raise InputError(f"pruning.iterative.levels: {iterative_cfg['levels']} levels at rate "
                                 f"{per_level.rate:g} (output {per_level.output_rate:g}) leave layer {layer} of the "
                                 f"{entry.title} network no weight at level {level}; at most {level - 1} levels")
