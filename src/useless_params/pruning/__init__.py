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


def check_config(pruning_cfg: dict) -> None:
    """Every name in the ``pruning`` section is registered (one-line errors naming the key)."""
    for key, known in (("criteria", CRITERIA), ("allocations", ALLOCATIONS), ("retraining", RETRAINING)):
        for index, name in enumerate(pruning_cfg[key]):
            if name not in known:
                raise InputError(f"pruning.{key}[{index}]: unknown value {name!r}; expected one of {', '.join(known)}")
