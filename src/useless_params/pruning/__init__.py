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

from ..errors import InputError, shown
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
    """Every name in the ``pruning`` section is registered; every compression ratio and the
    iterative levels fit every trained network; retraining from a rewind point stays within the
    dense run it is compared with (one-line errors naming the key)."""
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
                raise InputError(f"{section}.{key}[{index}]: unknown value {shown(name)}; expected one of {', '.join(known)}")
    epochs = config["training"]["epochs"]
    architectures = [(dataset(name), Architecture.from_config(config["network"], dataset(name).image_shape,
                                                              dataset(name).n_classes))
                     for name in config["data"]["datasets"]]
    if pruning_cfg["criteria"]:
        _check_one_shot(pruning_cfg, epochs, architectures)
    if not iterative_cfg["protocols"]:
        return
    if "imp_rewind" in iterative_cfg["protocols"]:
        rewind = iterative_cfg["imp_rewind"]
        if rewind["rewind_epoch"] > epochs:
            raise InputError(f"pruning.iterative.imp_rewind.rewind_epoch: {rewind['rewind_epoch']} is beyond "
                             f"training.epochs ({epochs}); the weight store holds epochs 0..{epochs}")
        if rewind["rewind_epoch"] + rewind["epochs"] > epochs:
            raise InputError(f"pruning.iterative.imp_rewind.epochs: {rewind['epochs']} epochs from epoch "
                             f"{rewind['rewind_epoch']} pass training.epochs ({epochs}); each level is compared "
                             f"with the dense run after as many epochs from the rewind point")
    for entry, architecture in architectures:
        per_level = amount(iterative_cfg, architecture.layer_types())
        counts = per_level.counts_after(architecture.kernel_sizes(), iterative_cfg["levels"])
        for level, kept in enumerate(counts, start=1):
            if min(kept) < 1:
                layer = kept.index(min(kept))
                raise InputError(f"pruning.iterative.levels: {iterative_cfg['levels']} levels at rate "
                                 f"{per_level.rate:g} (output {per_level.output_rate:g}"
                                 + ("" if per_level.conv_rate is None else f", conv {per_level.conv_rate:g}")
                                 + f") leave layer {layer} of the "
                                 f"{entry.title} network no weight at level {level}; at most {level - 1} levels")


def _check_one_shot(pruning_cfg: dict, epochs: int, architectures) -> None:
    """Rewinding has a dense run to be compared with, and every ratio keeps at least one weight
    (a larger one would be clamped to one weight and reported under a ratio it never reached) and,
    above 1, prunes at least one (else it reports the dense network under a ratio it never reached)."""
    if "rewind" in pruning_cfg["retraining"] and pruning_cfg["rewind"]["epochs"] > epochs:
        raise InputError(f"pruning.rewind.epochs: {pruning_cfg['rewind']['epochs']} is beyond training.epochs "
                         f"({epochs}); a rewound network is compared with the dense network after as many epochs")
    for entry, architecture in architectures:
        weights = architecture.kernel_sizes()
        for allocation in pruning_cfg["allocations"]:
            smallest = min(weights) if allocation == "layer" else sum(weights)
            largest = max(weights) if allocation == "layer" else sum(weights)
            for index, ratio in enumerate(pruning_cfg["compression"]):
                if ratio > 1 and Compression(ratio).kept(largest) == largest:
                    raise InputError(f"pruning.compression[{index}]: {ratio!r} prunes no weight of the {entry.title} "
                                     f"network ({largest:,} weights keep {largest:,}: ratios round to whole weights); "
                                     f"use 1 for the unpruned network, or a ratio above {largest / (largest - 0.5):.8g}")
                if ratio > smallest:
                    where = "its smallest layer" if allocation == "layer" else "all its layers together"
                    raise InputError(f"pruning.compression[{index}]: {ratio:g} keeps less than one weight of the "
                                     f"{entry.title} network's {smallest:,} in {where} ({allocation} allocation); "
                                     f"at most {smallest:,}")
