"""Pruning criteria: every weight's score from its value at a reference point w and now w'.

The lowest scores are pruned first. A criterion is one registry entry; an unknown name is
an error listing the known ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..change_scale import change_statistics
from ..registry import lookup, registry


def change_scale_score(initial: np.ndarray, trained: np.ndarray) -> np.ndarray:
    """The article's change scale c = |w' - w| / |w| x 100 (``change_scale.change_statistics``).

    w = 0 gives 0 (unchanged) or +inf (left 0), and +inf is never pruned before a finite c.
    """
    return change_statistics(initial, trained)["scale"]


def magnitude_score(initial: np.ndarray, trained: np.ndarray) -> np.ndarray:
    """|w'| (Han et al. 2015)."""
    return np.abs(np.asarray(trained, np.float64))


def movement_score(initial: np.ndarray, trained: np.ndarray) -> np.ndarray:
    """|w' - w|: how far the weight moved in training."""
    return np.abs(np.asarray(trained, np.float64) - np.asarray(initial, np.float64))


def magnitude_increase_score(initial: np.ndarray, trained: np.ndarray) -> np.ndarray:
    """|w'| - |w| (Zhou et al. 2019's "magnitude increase" mask)."""
    return np.abs(np.asarray(trained, np.float64)) - np.abs(np.asarray(initial, np.float64))


@dataclass(frozen=True)
class Criterion:
    """A pruning criterion: the score of each weight from (initial, trained); lowest pruned first."""

    name: str
    label: str  # in figures
    score: Callable[[np.ndarray, np.ndarray], np.ndarray] | None  # None: random scores
    random: bool = False  # repeated with several draws (pruning.random_draws)

    def draws(self, pruning_cfg: dict) -> range:
        """The draws this criterion is repeated with: several for random scores, one otherwise."""
        return range(pruning_cfg["random_draws"] if self.random else 1)


CRITERIA: dict[str, Criterion] = registry(
    Criterion("change_scale", "change scale |w' - w| / |w|", change_scale_score),
    Criterion("magnitude", "magnitude |w'|", magnitude_score),
    Criterion("movement", "movement |w' - w|", movement_score),
    Criterion("magnitude_increase", "magnitude increase |w'| - |w|", magnitude_increase_score),
    Criterion("random", "random", None, random=True),
)


def criterion(name: str) -> Criterion:
    return lookup(CRITERIA, name, what="pruning criterion")


def scores(crit: Criterion, initial: list[np.ndarray], trained: list[np.ndarray],
           rng: np.random.Generator | None = None) -> list[np.ndarray]:
    """Per-layer score arrays (kernel shapes) of ``crit``; random criteria need ``rng``."""
    if crit.random:
        if rng is None:
            raise ValueError(f"criterion {crit.name} needs a random generator")
        return [rng.random(np.shape(k)) for k in trained]
    return [crit.score(w, w_new) for w, w_new in zip(initial, trained)]
