"""The network value type: an MLP's architecture and its parameters at one moment.

The bottom of the numerical package: the store, the forward pass, the evaluator, the
trainer and pruning all take ``Network`` and ``Architecture`` from here, and ask them for
layer shapes instead of re-deriving them. Numpy only (no h5py, no TensorFlow).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from .layers import LayerStack, mlp_layers
from .registry import lookup, registry


@dataclass(frozen=True)
class Architecture:
    """Layer widths from the input to the output, the hidden layers' activation, and how a fresh
    network's kernels are drawn (``initializer``, a name in ``INITIALIZERS``).

    ``layer_sizes`` = [n_inputs, *hidden_layers, n_classes]; the output layer has no
    activation here (its softmax cannot change the arg-max; training adds it to the loss).
    """

    layer_sizes: tuple[int, ...]
    activation: str
    initializer: str = "glorot_uniform"

    @classmethod
    def from_config(cls, network_cfg: dict, n_inputs: int, n_classes: int) -> "Architecture":
        """The ``network`` config section for inputs of ``n_inputs`` features and ``n_classes`` classes."""
        return cls((int(n_inputs), *map(int, network_cfg["hidden_layers"]), int(n_classes)),
                   network_cfg["activation"], network_cfg.get("initializer", "glorot_uniform"))

    @property
    def n_layers(self) -> int:
        return len(self.layer_sizes) - 1

    @property
    def stack(self) -> LayerStack:
        """The same network as typed layers (its FLOPs and layer names come from there)."""
        return LayerStack((self.layer_sizes[0],), mlp_layers(self.layer_sizes[1:-1], self.activation,
                                                             self.layer_sizes[-1]))

    def kernel_shape(self, layer: int) -> tuple[int, int]:
        return self.layer_sizes[layer], self.layer_sizes[layer + 1]

    def bias_shape(self, layer: int) -> tuple[int]:
        return (self.layer_sizes[layer + 1],)

    def kernel_shapes(self) -> list[tuple[int, int]]:
        return [self.kernel_shape(layer) for layer in range(self.n_layers)]

    def parameter_shapes(self) -> list[tuple[int, ...]]:
        """Kernel and bias shapes in Keras' ``get_weights`` order: kernel 0, bias 0, kernel 1, ..."""
        return [shape for layer in range(self.n_layers)
                for shape in (self.kernel_shape(layer), self.bias_shape(layer))]

    def initial_network(self, rng: np.random.Generator) -> "Network":
        """A fresh network: kernels drawn by this architecture's initializer from ``rng``, zero biases."""
        draw = initializer(self.initializer).draw
        return Network([draw(rng, a, b) for a, b in self.kernel_shapes()],
                       [np.zeros(self.bias_shape(l), np.float32) for l in range(self.n_layers)], self.activation)

    def glorot_uniform(self, rng: np.random.Generator) -> "Network":
        """Glorot-uniform kernels and zero biases (Keras 1's defaults), whatever ``initializer`` says."""
        return Architecture(self.layer_sizes, self.activation, "glorot_uniform").initial_network(rng)


def _glorot_uniform(rng: np.random.Generator, fan_in: int, fan_out: int) -> np.ndarray:
    limit = math.sqrt(6 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, (fan_in, fan_out)).astype(np.float32)


# The standard deviation of a unit normal truncated to [-2, 2]; Keras divides by it so that the
# truncated draws keep the variance 2 / (fan_in + fan_out).
_TRUNCATED_STD = 0.87962566103423978


def _glorot_normal(rng: np.random.Generator, fan_in: int, fan_out: int) -> np.ndarray:
    # Keras' GlorotNormal (TensorFlow's glorot_normal_initializer, which the lottery-ticket code
    # used): a normal truncated at two standard deviations, redrawn outside them.
    z = rng.standard_normal((fan_in, fan_out))
    outside = np.abs(z) > 2
    while outside.any():
        z[outside] = rng.standard_normal(int(outside.sum()))
        outside = np.abs(z) > 2
    return (z * (math.sqrt(2 / (fan_in + fan_out)) / _TRUNCATED_STD)).astype(np.float32)


@dataclass(frozen=True)
class Initializer:
    """How a fresh kernel of shape (fan_in, fan_out) is drawn: ``draw(rng, fan_in, fan_out)`` (float32)."""

    name: str
    description: str
    draw: Callable[[np.random.Generator, int, int], np.ndarray]


# Kernel initialisations by config name (network.initializer); biases always start at 0.
INITIALIZERS: dict[str, Initializer] = registry(
    Initializer("glorot_uniform", "uniform in +/- sqrt(6 / (fan_in + fan_out)): Keras' default, the article's",
                _glorot_uniform),
    Initializer("glorot_normal", "Gaussian Glorot: normal with variance 2 / (fan_in + fan_out), truncated at 2 std "
                "(Keras' GlorotNormal): the lottery-ticket paper's", _glorot_normal),
)


def initializer(name: str) -> Initializer:
    """The registered initializer ``name``; an unknown name is an error listing the known ones."""
    return lookup(INITIALIZERS, name, key="network.initializer")


@dataclass
class Network:
    """The parameters of one MLP at one moment: ``kernels[l]`` is (n_in, n_out), ``biases[l]`` (n_out,)."""

    kernels: list[np.ndarray]
    biases: list[np.ndarray]
    activation: str

    @property
    def n_layers(self) -> int:
        return len(self.kernels)

    @property
    def architecture(self) -> Architecture:
        return Architecture((self.kernels[0].shape[0], *(k.shape[1] for k in self.kernels)), self.activation)

    @property
    def n_weights(self) -> int:
        return sum(int(np.size(k)) for k in self.kernels)

    @property
    def n_biases(self) -> int:
        return sum(int(np.size(b)) for b in self.biases)

    @staticmethod
    def at_epoch(kernels: list[np.ndarray], biases: list[np.ndarray], epoch: int, activation: str) -> "Network":
        """Epoch ``epoch`` of per-epoch stacks (``kernels[l]`` is (epochs + 1, n_in, n_out))."""
        return Network([k[epoch] for k in kernels], [b[epoch] for b in biases], activation)


# Parameter kinds of every layer, in the order tables and figures list them.
KINDS = ("kernel", "bias")
# The scope that disturbs or summarises every layer at once; the others are "0", "1", ...
ALL_LAYERS = "all"


def scopes(n_layers: int) -> list[tuple[str, list[int]]]:
    """(name, layers) of every scope: each layer on its own, then all layers at once."""
    return [(str(layer), [layer]) for layer in range(n_layers)] + [(ALL_LAYERS, list(range(n_layers)))]


def scope_order(scope: str) -> int:
    """Sort key of a scope name: layers in numeric order, then all layers."""
    return 10**9 if str(scope) == ALL_LAYERS else int(scope)
