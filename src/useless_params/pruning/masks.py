"""Masks: which weights a pruned network keeps, and the pruning step that shrinks one.

``prune(scores, current, amount, allocation)`` is the one step every protocol uses: it
ranks only the weights ``current`` still keeps, so masks are nested (a weight pruned once
stays pruned), and keeps exactly the count ``amount`` gives. The pruning order is a stable
ascending sort: lowest score first and, among equal scores, the earlier position (layer,
then row-major index) first, so a mask depends only on the scores, on every machine.
Biases are never pruned.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import InputError, shown
from ..model import Network

# layer: the same kept fraction in every layer; global: one ranking over all layers.
ALLOCATIONS = ("layer", "global")


def check_allocation(name: str) -> str:
    if name not in ALLOCATIONS:
        raise InputError(f"unknown pruning allocation {shown(name)}; expected one of {', '.join(ALLOCATIONS)}")
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
        return Network(kernels, [np.asarray(b, np.float32) for b in network.biases], network.architecture)

    def leaked(self, network: Network) -> int:
        """How many pruned weights of ``network`` are nonzero (0 for a correctly masked network)."""
        return sum(int(np.count_nonzero(k[~m])) for k, m in zip(network.kernels, self.layers))


@dataclass(frozen=True)
class Compression:
    """Keep all weights / ``ratio`` of the weights the current mask keeps (at least one); the
    output layer is not special. The one-shot comparison's amount."""

    ratio: float

    def kept(self, remaining: int) -> int:
        if self.ratio < 1:
            raise InputError(f"pruning.compression: {self.ratio} is below 1 (1 keeps every weight)")
        return max(1, int(round(remaining / self.ratio)))

    def groups(self, remaining: list[int], allocation: str) -> list[tuple[list[int], int]]:
        """(layers ranked together, how many of their weights to keep)."""
        if check_allocation(allocation) == "layer":
            return [([layer], self.kept(n)) for layer, n in enumerate(remaining)]
        return [(list(range(len(remaining))), self.kept(sum(remaining)))]


@dataclass(frozen=True)
class PruneFraction:
    """Prune ``rate`` of the remaining weights (ceil, as open_lth does), the output layer at its own
    ``output_rate`` and conv layers at ``conv_rate`` (None: ``rate``): one level of iterative
    pruning, the lottery-ticket paper's per-kind rates. ``kinds`` is each layer's type (the
    architecture's ``layer_types``; empty: all dense). ``global`` ranks the hidden layers of one rate
    together and the output layer apart, as the lottery-ticket paper prunes LeNet."""

    rate: float
    output_rate: float
    conv_rate: float | None = None
    kinds: tuple[str, ...] = ()

    def rate_of(self, layer: int) -> float:
        """The rate of hidden layer ``layer``: ``conv_rate`` for a conv layer (if set), else ``rate``."""
        is_conv = layer < len(self.kinds) and self.kinds[layer] == "conv2d"
        return self.conv_rate if is_conv and self.conv_rate is not None else self.rate

    @staticmethod
    def kept(remaining: int, rate: float) -> int:
        """``remaining`` less ceil(``rate`` x ``remaining``), and at least one weight fewer whenever
        ``rate`` > 0: a rate too small to round up to a weight (1e-300) still prunes one, so
        no level runs on an unpruned network."""
        pruned = int(math.ceil(rate * remaining - 1e-9))  # 1e-9: 0.2 x 10 is 2, not 3
        if rate > 0 and remaining > 0:
            pruned = max(1, pruned)
        return remaining - pruned

    def groups(self, remaining: list[int], allocation: str) -> list[tuple[list[int], int]]:
        last = len(remaining) - 1
        output = ([last], self.kept(remaining[last], self.output_rate))
        if check_allocation(allocation) == "layer":
            return [([layer], self.kept(n, self.rate_of(layer))) for layer, n in enumerate(remaining[:last])] + [output]
        by_rate: dict[float, list[int]] = {}  # hidden layers of one rate are ranked together
        for layer in range(last):
            by_rate.setdefault(self.rate_of(layer), []).append(layer)
        return [(layers, self.kept(sum(remaining[l] for l in layers), rate)) for rate, layers in by_rate.items()] + [output]

    def counts_after(self, sizes: list[int], levels: int) -> list[list[int]]:
        """Per-layer kept counts after each of ``levels`` levels with ``layer`` allocation (config checks)."""
        counts, out = list(sizes), []
        for _ in range(levels):
            counts = [n for _, n in self.groups(counts, "layer")]
            out.append(counts)
        return out


Amount = Compression | PruneFraction


def _keep_top(flat_scores: np.ndarray, candidates: np.ndarray, n_keep: int) -> np.ndarray:
    """Boolean mask keeping the ``n_keep`` highest scores among the ``candidates`` (flat indices)."""
    order = candidates[np.argsort(flat_scores[candidates], kind="stable")]
    keep = np.zeros(flat_scores.size, bool)
    keep[order[order.size - n_keep:]] = True
    return keep


def prune(layer_scores: list[np.ndarray], current: Mask, amount: Amount, allocation: str) -> Mask:
    """The mask keeping the highest-scored weights of those ``current`` keeps, as many as ``amount``
    says for each group of layers ranked together (``allocation``)."""
    kept: list[np.ndarray | None] = [None] * len(layer_scores)
    for layers, n_keep in amount.groups(current.kept_per_layer, allocation):
        flat = np.concatenate([layer_scores[l].ravel() for l in layers])
        candidates = np.flatnonzero(np.concatenate([current.layers[l].ravel() for l in layers]))
        keep = _keep_top(flat, candidates, n_keep)
        bounds = np.cumsum([0] + [layer_scores[l].size for l in layers])
        for l, a, b in zip(layers, bounds, bounds[1:]):
            kept[l] = keep[a:b].reshape(layer_scores[l].shape)
    return Mask(tuple(kept))


def random_mask_like(mask: Mask, rng: np.random.Generator) -> Mask:
    """A random mask with ``mask``'s kept count in every layer (the random-pruning control)."""
    layers = []
    for m in mask.layers:
        keep = np.zeros(m.size, bool)
        keep[rng.permutation(m.size)[: int(m.sum())]] = True
        layers.append(keep.reshape(m.shape))
    return Mask(tuple(layers))
