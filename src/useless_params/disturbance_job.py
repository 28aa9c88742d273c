"""One disturbance job: an experiment of the registry (``experiments.EXPERIMENTS``) at one grid
value, every scope and repeat, on one trained network.

Each repeat's disturbance comes from its own generator, seeded by (experiment seed, network
seed, stream, scope, value, repeat), never by the job order or the dataset.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from .change_scale import ChangeScales
from .evaluator import Evaluator
from .experiments import Experiment, experiment
from .model import ALL_LAYERS, scopes
from .seeding import generator, value_label


class Job:
    """Shared state of one job: the evaluator, the change scales, the seeds and the dataset
    the network was trained on (recorded in every row)."""

    def __init__(self, evaluator: Evaluator, scales: ChangeScales, repeats: int, seed: int, network_seed: int,
                 dataset: str):
        self.dataset = dataset
        self.evaluator = evaluator
        self.scales = scales
        self.repeats = repeats
        self.seed = seed
        self.network_seed = network_seed

    def _run(self, stream: str, value: float, kind: str, layers: list[int], masks: list[np.ndarray],
             disturb: Callable, random: bool, scope: str) -> np.ndarray:
        """Accuracy per repeat of disturbing the ``kind`` arrays of ``layers``."""
        base = self.evaluator.kernels if kind == "kernel" else self.evaluator.biases
        arrays = [base[layer] for layer in layers]
        # Only the selected entries change: the evaluator's delta path uses that for kernels.
        changed = dict(zip(layers, masks))
        if not random:
            batch = {layer: a[None] for layer, a in zip(layers, disturb(arrays, None))}
            return np.repeat(self._evaluate(kind, batch, changed), self.repeats)
        stacks = {layer: np.empty((self.repeats, *base[layer].shape), np.float32) for layer in layers}
        for repeat in range(self.repeats):
            rng = generator(self.seed, self.network_seed, stream, scope, value, repeat)
            for layer, new in zip(layers, disturb(arrays, rng)):
                stacks[layer][repeat] = new
        return self._evaluate(kind, stacks, changed)

    def _evaluate(self, kind: str, batch: dict[int, np.ndarray], changed: dict[int, np.ndarray]) -> np.ndarray:
        if kind == "kernel":
            return self.evaluator.accuracy(kernels=batch, changed=changed)
        return self.evaluator.accuracy(biases=batch)

    def run(self, name: str, value: float = 0.0, levels: list[float] | None = None):
        """The job's tidy table as a pandas DataFrame (see ``rows`` for the columns)."""
        import pandas as pd

        columns, rows = self.rows(name, value, levels)
        return pd.DataFrame(rows, columns=columns)

    def rows(self, name: str, value: float = 0.0,
             levels: list[float] | None = None) -> tuple[list[str], list[dict]]:
        """Column names and rows of the job's tidy CSV (no pandas: jobs start faster).

        ``levels``: the reset levels of an experiment with a ``levels_key`` (default [0]).
        """
        entry = experiment(name)
        if entry.whole_network:
            rows = self._whole_network(entry, value)
        else:
            rows = self._per_scope(entry, value, levels)
        return list(entry.columns), [{c: row[c] for c in entry.columns} for row in rows]

    def _per_scope(self, entry: Experiment, value: float, levels: list[float] | None) -> list[dict]:
        if entry.levels_key:
            variants = list(levels or [0.0])
        else:
            variants = [value if entry.level_from_value else None]
        rows = []
        for scope, layers in scopes(self.scales.n_layers):
            masks = [entry.select(self.scales.scale(layer, entry.kind), value) for layer in layers]
            n_disturbed = sum(int(m.sum()) for m in masks)
            n_candidates = sum(m.size for m in masks)
            for level in variants:
                # Each reset level of a levels_key draws from its own streams, so adding one leaves
                # the others unchanged.
                stream = f"{entry.name}@{value_label(level)}" if entry.levels_key else entry.name
                disturb = (lambda arrays, rng, m=masks, u=level: entry.disturb(arrays, m, u, rng))
                acc = self._run(stream, value, entry.kind, layers, masks, disturb, entry.draws(masks, level), scope)
                for repeat, a in enumerate(acc):
                    rows.append({
                        "dataset": self.dataset, "experiment": entry.name, "network_seed": self.network_seed, "scope": scope,
                        "value": value, "reset_upper": level, "repeat": repeat, "accuracy": a,
                        "n_disturbed": n_disturbed, "n_candidates": n_candidates,
                        "fraction_disturbed": n_disturbed / n_candidates,
                    })
        return rows

    def _whole_network(self, entry: Experiment, value: float) -> list[dict]:
        """Every bias 0 and, in every layer, the selected weights set to 0 (deterministic)."""
        n_layers = self.scales.n_layers
        kernels, n_zeroed = {}, 0
        for layer in range(n_layers):
            mask = entry.select(self.scales.scale(layer, "kernel"), value)
            kernels[layer] = entry.disturb([self.evaluator.kernels[layer]], [mask], 0.0, None)[0][None]
            n_zeroed += int(mask.sum())
        biases = {layer: np.zeros((1, *b.shape), np.float32) for layer, b in enumerate(self.evaluator.biases)}
        accuracy = float(self.evaluator.accuracy(kernels=kernels, biases=biases)[0])
        n_weights = sum(k.size for k in self.evaluator.kernels)
        n_biases = sum(b.size for b in self.evaluator.biases)
        n_params = n_weights + n_biases
        return [{
            "dataset": self.dataset, "experiment": entry.name, "network_seed": self.network_seed, "scope": ALL_LAYERS,
            "value": value, "repeat": 0, "accuracy": accuracy,
            "n_disturbed": n_zeroed + n_biases, "n_candidates": n_params,
            "fraction_disturbed": (n_zeroed + n_biases) / n_params,
            "n_weights_zeroed": n_zeroed, "fraction_kept": 1 - (n_zeroed + n_biases) / n_params,
        }]
