"""The network value type: an MLP's architecture and its parameters at one moment.

The bottom of the numerical package: the store, the forward pass, the evaluator, the
trainer and pruning all take ``Network`` and ``Architecture`` from here, and ask them for
layer shapes instead of re-deriving them. Numpy only (no h5py, no TensorFlow).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Architecture:
    """Layer widths from the input to the output, and the hidden layers' activation.

    ``layer_sizes`` = [n_inputs, *hidden_layers, n_classes]; the output layer has no
    activation here (its softmax cannot change the arg-max; training adds it to the loss).
    """

    layer_sizes: tuple[int, ...]
    activation: str

    @classmethod
    def from_config(cls, network_cfg: dict, n_inputs: int, n_classes: int) -> "Architecture":
        """The ``network`` config section for inputs of ``n_inputs`` features and ``n_classes`` classes."""
        return cls((int(n_inputs), *map(int, network_cfg["hidden_layers"]), int(n_classes)),
                   network_cfg["activation"])

    @property
    def n_layers(self) -> int:
        return len(self.layer_sizes) - 1

    @staticmethod
    def n_layers_of(network_cfg: dict) -> int:
        """Layers (hidden and output) of every network the ``network`` config section describes."""
        return len(network_cfg["hidden_layers"]) + 1

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

    def glorot_uniform(self, rng: np.random.Generator) -> "Network":
        """Glorot-uniform kernels (limit sqrt(6 / (fan_in + fan_out))) and zero biases: Keras 1's defaults."""
        kernels = [rng.uniform(-math.sqrt(6 / (a + b)), math.sqrt(6 / (a + b)), (a, b)).astype(np.float32)
                   for a, b in self.kernel_shapes()]
        return Network(kernels, [np.zeros(self.bias_shape(l), np.float32) for l in range(self.n_layers)],
                       self.activation)


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
