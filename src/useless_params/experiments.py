"""The disturbance experiments: one registry entry each (the job that runs one: ``disturbance_job``).

Every experiment is declared once, in ``EXPERIMENTS``: its name, the config key of its
grid, the parameters it touches, how it selects and disturbs them, whether it draws
random numbers, the figure that draws it and the columns of its CSV. The Snakefile
(wildcard constraints, targets), the disturbance and figure scripts, the aggregation
and the benchmark all read this registry; ``experiment(name)`` raises on an unknown name.

Scopes are each layer on its own ("0", "1", ...) and "all" (every layer at once,
shuffles pooled across layers). Each repeat's disturbance comes from its own generator,
seeded by (experiment seed, network seed, stream, scope, value, repeat) -- not by the dataset:
networks of the same seed on two datasets see the same draws (a paired comparison). When a
disturbance involves no randomness (reset to 0, or fewer than two values to shuffle),
every repeat would be identical, so it is evaluated once and recorded for each repeat.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from .disturb import reset_selected, select, shuffle_selected
from .errors import InputError
from .registry import lookup, registry
from .seeding import value_label

BASE_COLUMNS = ("dataset", "experiment", "network_seed", "scope", "value", "repeat", "accuracy", "n_disturbed",
                "n_candidates", "fraction_disturbed")

# A disturbance: (arrays of the scope's layers, their selection masks, reset level, generator or
# None when the disturbance draws nothing) -> new arrays.
Disturbance = Callable[[list[np.ndarray], list[np.ndarray], "float | None", "np.random.Generator | None"],
                       list[np.ndarray]]


# --- How experiments select parameters: (change scale of one layer's arrays, grid value) -> mask.

def select_all(scale: np.ndarray, value: float) -> np.ndarray:
    """Every parameter of the layer."""
    return np.ones(scale.shape, bool)


def select_small_change(scale: np.ndarray, value: float) -> np.ndarray:
    """The parameters with change scale c <= T (the grid value); infinite c never."""
    return select(scale, value)


# --- How they disturb the selection.

def shuffle(arrays, masks, level, rng):
    """Permute the selected values among the selected positions (pooled over the scope's layers)."""
    return shuffle_selected(arrays, masks, rng) if rng is not None else arrays


def reset(arrays, masks, level, rng):
    """Replace the selected values by draws from Uniform[0, level) (zeros for level 0)."""
    return reset_selected(arrays, masks, level, rng)


def shuffle_draws(masks: list[np.ndarray], level: float | None) -> bool:
    """A shuffle of fewer than two values changes nothing and draws nothing."""
    return sum(int(m.sum()) for m in masks) > 1


def reset_draws(masks: list[np.ndarray], level: float | None) -> bool:
    """A reset to 0 draws nothing."""
    return level != 0


def never_draws(masks: list[np.ndarray], level: float | None) -> bool:
    return False


@dataclass(frozen=True)
class Experiment:
    """One disturbance experiment, as the workflow, the figures and the benchmark see it.

    ``grid_key``: key of ``experiments.<name>`` holding the grid (one job per value); None
    for a single job at value 0, switched on by ``experiments.<name>: true``.
    ``levels_key``: key of a second list (reset levels U) evaluated inside every job.
    ``level_from_value``: the grid value is itself the reset level (Figure 4's U).
    ``whole_network``: one deterministic evaluation of the whole network per job (Figure 7)
    instead of every scope x level x repeat.
    """

    name: str
    description: str
    kind: str  # the parameter kind it disturbs: "kernel" or "bias" (Figure 7: both, see whole_network)
    select: Callable[[np.ndarray, float], np.ndarray]
    disturb: Disturbance
    draws: Callable[[list[np.ndarray], float | None], bool]  # whether a setting draws random numbers
    columns: tuple[str, ...]
    grid_key: str | None = None
    levels_key: str | None = None
    level_from_value: bool = False
    whole_network: bool = False
    figure: str | None = None  # figure number in the article
    plot: str | None = None  # name of the function in useless_params.plots that draws the figure
    figure_options: tuple[str, ...] = ()  # keys of the config's figures section the plot takes
    table: str | None = None  # name of the table it feeds (Table 1)

    def grid(self, experiments_cfg: dict) -> list[float]:
        """The grid values of this experiment under ``experiments_cfg`` (empty when switched off)."""
        section = experiments_cfg[self.name]
        if self.grid_key is None:
            return [0.0] if section else []
        return [float(v) for v in section[self.grid_key]]

    def labels(self, experiments_cfg: dict) -> list[str]:
        """The grid values as file-name labels (5 and 5.0 are both '5')."""
        return [value_label(v) for v in self.grid(experiments_cfg)]

    def levels(self, experiments_cfg: dict) -> list[float]:
        """The reset levels evaluated inside every job of this experiment (none for most)."""
        return [float(u) for u in experiments_cfg[self.name][self.levels_key]] if self.levels_key else []

    def evaluations_per_scope(self, experiments_cfg: dict) -> int:
        """Evaluations one network gets per scope (whole-network experiments: per network)."""
        if self.whole_network:
            return len(self.grid(experiments_cfg))
        n_levels = max(1, len(self.levels(experiments_cfg)))
        return experiments_cfg["repeats"] * len(self.grid(experiments_cfg)) * n_levels


EXPERIMENTS: dict[str, Experiment] = registry(
    Experiment(
        name="shuffle_biases",
        description="Table 1: shuffle the biases of each scope, `repeats` fresh permutations.",
        kind="bias", select=select_all, disturb=shuffle, draws=shuffle_draws,
        columns=BASE_COLUMNS, table="table1",
    ),
    Experiment(
        name="reset_biases",
        description="Figure 4: biases reset to Uniform[0, U), one job per U.",
        kind="bias", select=select_all, disturb=reset, draws=reset_draws, level_from_value=True,
        columns=BASE_COLUMNS, grid_key="values", figure="4", plot="figure4",
        figure_options=("reset_biases_max",),
    ),
    Experiment(
        name="shuffle_weights",
        description="Figure 5: weights with c <= T shuffled among themselves, one job per T.",
        kind="kernel", select=select_small_change, disturb=shuffle, draws=shuffle_draws,
        columns=BASE_COLUMNS, grid_key="thresholds", figure="5", plot="figure5",
    ),
    Experiment(
        name="reset_weights",
        description="Figure 6: weights with c <= T reset to Uniform[0, U) for every U, one job per T.",
        kind="kernel", select=select_small_change, disturb=reset, draws=reset_draws,
        columns=BASE_COLUMNS[:5] + ("reset_upper",) + BASE_COLUMNS[5:],
        grid_key="thresholds", levels_key="reset_values", figure="6", plot="figure6",
    ),
    Experiment(
        name="final_model",
        description="Figure 7: all biases 0 and every layer's weights with c <= T set to 0, one job per T.",
        kind="kernel", select=select_small_change, disturb=reset, draws=never_draws,
        columns=BASE_COLUMNS + ("n_weights_zeroed", "fraction_kept"), whole_network=True,
        grid_key="thresholds", figure="7", plot="figure7",
    ),
)


def experiment(name: str) -> Experiment:
    """The registry entry called ``name``; an unknown name is an error listing the known ones."""
    return lookup(EXPERIMENTS, name, what="experiment")


def check_grids(config: dict) -> None:
    """Up-front checks of every experiment's grid (they name files) and of the figure options
    that cut a grid: ``InputError`` naming the key, before any job runs."""
    from .configcheck import check_grid

    experiments_cfg = config["experiments"]
    for entry in EXPERIMENTS.values():
        if entry.grid_key:
            check_grid(f"experiments.{entry.name}.{entry.grid_key}", entry.grid(experiments_cfg))
    values = experiment("reset_biases").grid(experiments_cfg)
    shown = config["figures"]["reset_biases_max"]
    if values and min(values) > shown:
        raise InputError(f"figures.reset_biases_max: {shown:g} is below every value of "
                         f"experiments.reset_biases.values (smallest {min(values):g}); Figure 4 would be empty")


def figure_experiments() -> dict[str, Experiment]:
    """Figure number -> the experiment it draws."""
    return {e.figure: e for e in EXPERIMENTS.values() if e.figure}
