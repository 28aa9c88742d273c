"""One disturbance job: an experiment at one grid value, over every scope and repeat.

Scopes are each layer on its own ("0", "1", ...) and "all" (every layer at once,
shuffles pooled across layers). Each repeat's disturbance comes from its own generator,
seeded by (experiment seed, network seed, experiment, scope, value, repeat). When a
disturbance involves no randomness (reset to 0, or fewer than two values to shuffle),
every repeat would be identical, so it is evaluated once and recorded for each repeat.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from .change_scale import ChangeScales
from .disturb import reset_selected, select, shuffle_selected
from .evaluator import Evaluator
from .seeding import generator, value_label

COLUMNS = ["experiment", "network_seed", "scope", "value", "reset_upper", "repeat",
           "accuracy", "n_disturbed", "n_candidates", "fraction_disturbed"]


def scopes(n_layers: int) -> list[tuple[str, list[int]]]:
    return [(str(layer), [layer]) for layer in range(n_layers)] + [("all", list(range(n_layers)))]


class Job:
    """Shared state of one job: the evaluator, the change scales and the seeds."""

    def __init__(self, evaluator: Evaluator, scales: ChangeScales, repeats: int, seed: int, network_seed: int):
        self.evaluator = evaluator
        self.scales = scales
        self.repeats = repeats
        self.seed = seed
        self.network_seed = network_seed

    def _run(
        self,
        experiment: str,
        value: float,
        kind: str,
        layers: list[int],
        masks: list[np.ndarray],
        disturb: Callable[[list[np.ndarray], np.random.Generator | None], list[np.ndarray]],
        random: bool,
        scope: str,
    ) -> tuple[np.ndarray, int]:
        """Accuracy per repeat of disturbing the ``kind`` arrays of ``layers``."""
        base = self.evaluator.kernels if kind == "kernel" else self.evaluator.biases
        arrays = [base[layer] for layer in layers]
        n_disturbed = sum(int(m.sum()) for m in masks)
        if not random:
            batch = {layer: a[None] for layer, a in zip(layers, disturb(arrays, None))}
            return np.repeat(self._evaluate(kind, batch), self.repeats), n_disturbed
        stacks = {layer: np.empty((self.repeats, *base[layer].shape), np.float32) for layer in layers}
        for repeat in range(self.repeats):
            rng = generator(self.seed, self.network_seed, experiment, scope, value, repeat)
            for layer, new in zip(layers, disturb(arrays, rng)):
                stacks[layer][repeat] = new
        return self._evaluate(kind, stacks), n_disturbed

    def _evaluate(self, kind: str, batch: dict[int, np.ndarray]) -> np.ndarray:
        return self.evaluator.accuracy(kernels=batch) if kind == "kernel" else self.evaluator.accuracy(biases=batch)

    def run(self, experiment: str, value: float = 0.0, reset_uppers: list[float] | None = None):
        """The job's tidy table as a pandas DataFrame (see ``rows`` for the columns)."""
        import pandas as pd

        columns, rows = self.rows(experiment, value, reset_uppers)
        return pd.DataFrame(rows, columns=columns)

    def rows(self, experiment: str, value: float = 0.0,
             reset_uppers: list[float] | None = None) -> tuple[list[str], list[dict]]:
        """Column names and rows of the job's tidy CSV (no pandas: jobs start faster)."""
        if experiment == "final_model":
            return self._final_model(value)
        rows = []
        n_layers = self.scales.n_layers
        for scope, layers in scopes(n_layers):
            if experiment in ("shuffle_biases", "reset_biases"):
                kind = "bias"
                masks = [np.ones(self.evaluator.biases[layer].shape, bool) for layer in layers]
            else:
                kind = "kernel"
                masks = [select(self.scales.scale(layer, "kernel"), value) for layer in layers]
            n_candidates = sum(m.size for m in masks)
            # (reset upper bound or None, disturbance, whether it draws random numbers)
            variants: list[tuple[float | None, Callable, bool]]
            if experiment in ("shuffle_biases", "shuffle_weights"):
                movable = sum(int(m.sum()) for m in masks) > 1
                variants = [(None, lambda a, rng, m=masks: shuffle_selected(a, m, rng) if rng else a, movable)]
            elif experiment == "reset_biases":
                variants = [(None, _resetter(masks, value), value != 0)]
            else:  # reset_weights
                variants = [(u, _resetter(masks, u), u != 0) for u in (reset_uppers or [0.0])]
            for reset_upper, disturb, random in variants:
                # Each reset level draws from its own streams, so adding one leaves the others unchanged.
                tag = experiment if reset_upper is None else f"{experiment}@{value_label(reset_upper)}"
                acc, n_disturbed = self._run(tag, value, kind, layers, masks, disturb, random, scope)
                for repeat, a in enumerate(acc):
                    rows.append({
                        "experiment": experiment, "network_seed": self.network_seed, "scope": scope,
                        "value": value, "reset_upper": reset_upper, "repeat": repeat, "accuracy": a,
                        "n_disturbed": n_disturbed, "n_candidates": n_candidates,
                        "fraction_disturbed": n_disturbed / n_candidates,
                    })
        columns = [c for c in COLUMNS if c != "reset_upper" or experiment == "reset_weights"]
        return columns, [{c: row[c] for c in columns} for row in rows]

    def _final_model(self, threshold: float) -> tuple[list[str], list[dict]]:
        """All biases 0 and, in every layer, the weights with c <= T set to 0 (deterministic)."""
        n_layers = self.scales.n_layers
        kernels, n_zeroed = {}, 0
        for layer in range(n_layers):
            mask = select(self.scales.scale(layer, "kernel"), threshold)
            kernel = self.evaluator.kernels[layer].copy()
            kernel[mask] = 0
            kernels[layer] = kernel[None]
            n_zeroed += int(mask.sum())
        biases = {layer: np.zeros((1, *b.shape), np.float32) for layer, b in enumerate(self.evaluator.biases)}
        accuracy = float(self.evaluator.accuracy(kernels=kernels, biases=biases)[0])
        n_weights = sum(k.size for k in self.evaluator.kernels)
        n_biases = sum(b.size for b in self.evaluator.biases)
        n_params = n_weights + n_biases
        row = {
            "experiment": "final_model", "network_seed": self.network_seed, "scope": "all",
            "value": threshold, "repeat": 0, "accuracy": accuracy,
            "n_disturbed": n_zeroed + n_biases, "n_candidates": n_params,
            "fraction_disturbed": (n_zeroed + n_biases) / n_params,
            "n_weights_zeroed": n_zeroed, "fraction_kept": 1 - (n_zeroed + n_biases) / n_params,
        }
        return list(row), [row]


def _resetter(masks: list[np.ndarray], upper: float) -> Callable:
    return lambda arrays, rng: reset_selected(arrays, masks, upper, rng)
