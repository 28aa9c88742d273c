"""Masks: which weights a pruned network keeps, and the pruning step that shrinks one.

``prune(scores, current, amount, allocation)`` is the one step every protocol uses: it
ranks only the weights ``current`` still keeps, so masks are nested (a weight pruned once
stays pruned), and keeps exactly the count ``amount`` gives. The pruning order is a stable
ascending sort: lowest score first and, among equal scores, the earlier position (layer,
then row-major index) first, so a mask depends only on the scores, on every machine.
Biases are never pruned.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from ..model import Network

# layer: the same kept fraction in every layer; global: one ranking over all layers.
ALLOCATIONS = ("layer", "global")


def check_allocation(name: str) -> str:
    if name not in ALLOCATIONS:
        raise InputError(f"unknown pruning allocation {name!r}; expected one of {', '.join(ALLOCATIONS)}")
    return name


@dataclass(frozen=True)
class Mask:
    """One boolean array per kernel (True = kept)."""

    layers: tuple[np.ndarray, ...]

    @classmethod
    def dense(cls, shapes: list[tuple[int, int]]) -> "Mask":
        """Every weight kept."""
        return cls(tuple(np.ones(shape, bool) for shape in shapes))

    @property
    def kept_per_layer(self) -> list[int]:
        return [int(m.sum()) for m in self.layers]

    @property
    def kept(self) -> int:
        return sum(self.kept_per_layer)

    @property
    def total(self) -> int:
        return sum(m.size for m in self.layers)

    def apply(self, network: Network) -> Network:
        """``network`` with every pruned weight exactly +0 (np.where: a product would give -0.0); biases unchanged."""
        kernels = [np.where(m, np.asarray(k, np.float32), np.float32(0)) for k, m in zip(network.kernels, self.layers)]
        return Network(kernels, [np.asarray(b, np.float32) for b in network.biases], network.activation)

    def leaked(self, network: Network) -> int:
        """How many pruned weights of ``network`` are nonzero (0 for a correctly masked network)."""
        return sum(int(np.count_nonzero(k[~m])) for k, m in zip(network.kernels, self.layers))


@dataclass(frozen=True)
class Compression:
    """Keep all weights / ``ratio`` of the weights the current mask keeps (at least one)."""

    ratio: float

    def kept(self, remaining: int) -> int:
        if self.ratio < 1:
            raise InputError(f"pruning.compression: {self.ratio} is below 1 (1 keeps every weight)")
        return max(1, int(round(remaining / self.ratio)))


def kept_counts(remaining: list[int], amount: Compression, allocation: str) -> int | list[int]:
    """How many weights to keep: per layer (``layer``) or one total over all layers (``global``)."""
    if check_allocation(allocation) == "layer":
        return [amount.kept(n) for n in remaining]
    return amount.kept(sum(remaining))


def _keep_top(flat_scores: np.ndarray, candidates: np.ndarray, n_keep: int) -> np.ndarray:
    """Boolean mask keeping the ``n_keep`` highest scores among the ``candidates`` (flat indices)."""
    order = candidates[np.argsort(flat_scores[candidates], kind="stable")]
    keep = np.zeros(flat_scores.size, bool)
    keep[order[order.size - n_keep:]] = True
    return keep


def prune(layer_scores: list[np.ndarray], current: Mask, amount: Compression, allocation: str) -> Mask:
    """The mask keeping the highest-scored weights of those ``current`` keeps, as many as ``amount`` says."""
    counts = kept_counts(current.kept_per_layer, amount, allocation)
    if allocation == "layer":
        return Mask(tuple(_keep_top(s.ravel(), np.flatnonzero(m.ravel()), n).reshape(s.shape)
                          for s, m, n in zip(layer_scores, current.layers, counts)))
    flat = np.concatenate([s.ravel() for s in layer_scores])
    keep = _keep_top(flat, np.flatnonzero(np.concatenate([m.ravel() for m in current.layers])), counts)
    bounds = np.cumsum([0] + [s.size for s in layer_scores])
    return Mask(tuple(keep[a:b].reshape(s.shape) for a, b, s in zip(bounds, bounds[1:], layer_scores)))
