"""The network value type: an architecture (typed layers) and its parameters at one moment.

The bottom of the numerical package: the store, the forward pass, the evaluator, the
trainer and pruning all take ``Network`` and ``Architecture`` from here, and ask them for
layer shapes instead of re-deriving them. Numpy only (no h5py, no TensorFlow).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from .errors import InputError
from .layers import Dense, LayerStack, layers_from_config, mlp_layers
from .registry import lookup, registry


@dataclass(frozen=True)
class Architecture:
    """A network's typed layers (``stack``: input shape and layer list, the output layer last)
    and how a fresh network's kernels are drawn (``initializer``, a name in ``INITIALIZERS``).

    Every count and shape a stage needs (parameterised layers, kernel shapes, FLOPs, names)
    comes from the layers. The output layer has no activation (its softmax cannot change the
    arg-max; training adds it to the loss).
    """

    stack: LayerStack
    initializer: str = "glorot_uniform"

    @classmethod
    def mlp(cls, layer_sizes, activation: str, initializer: str = "glorot_uniform") -> "Architecture":
        """The MLP of widths ``layer_sizes`` = [n_inputs, *hidden, n_classes], ``activation`` on the hidden layers."""
        sizes = [int(n) for n in layer_sizes]
        return cls(LayerStack((sizes[0],), mlp_layers(sizes[1:-1], activation, sizes[-1])), initializer)

    @classmethod
    def from_config(cls, network_cfg: dict, image_shape, n_classes: int) -> "Architecture":
        """The ``network`` config section for grey images of ``image_shape`` (height, width) in ``n_classes``.

        ``network.layers`` (a layer list) or the MLP shorthand ``hidden_layers`` + ``activation``.
        A layer list that starts with a dense layer sees the flat pixels; any other sees the image
        as (height, width, 1).
        """
        image_shape = tuple(int(n) for n in image_shape)
        init = network_cfg.get("initializer", "glorot_uniform")
        entries = network_cfg.get("layers")
        if entries is None:
            return cls.mlp((math.prod(image_shape), *network_cfg["hidden_layers"], n_classes),
                           network_cfg["activation"], init)
        flat = isinstance(entries, list) and entries and isinstance(entries[0], dict) and entries[0].get("type") == "dense"
        input_shape = (math.prod(image_shape),) if flat else (*image_shape, 1)
        return cls(layers_from_config(entries, int(n_classes), input_shape), init)

    def record(self) -> dict:
        """The architecture as plain data (the store's ``architecture`` attribute); ``from_record`` reads it."""
        return {"input_shape": list(self.stack.input_shape), "layers": self.stack.record(),
                "initializer": self.initializer}

    @classmethod
    def from_record(cls, record: dict, where: str = "architecture") -> "Architecture":
        if not isinstance(record, dict) or not {"input_shape", "layers"} <= set(record):
            raise InputError(f"{where}: not an architecture record (input_shape and layers)")
        entries = record["layers"]
        n_classes = entries[-1].get("units") if isinstance(entries, list) and entries and isinstance(entries[-1], dict) else None
        return cls(layers_from_config(entries, n_classes, tuple(record["input_shape"]), key=f"{where}.layers"),
                   str(record.get("initializer", "glorot_uniform")))

    @property
    def n_layers(self) -> int:
        """Parameterised layers (dense and conv): the disturbance scopes and pruning layers."""
        return len(self.stack.parameterised)

    @property
    def is_mlp(self) -> bool:
        """Only dense layers, the hidden ones sharing one activation (the delta-product evaluator and
        the lockstep layout are written for these)."""
        layers = self.stack.layers
        return (all(isinstance(layer, Dense) for layer in layers)
                and len({layer.activation for layer in layers[:-1]}) <= 1)

    @property
    def layer_sizes(self) -> tuple[int, ...]:
        """An MLP's widths [n_inputs, *hidden, n_classes]."""
        self._require_mlp("layer widths")
        return (self.stack.input_shape[0], *(layer.units for layer in self.stack.layers))

    @property
    def activation(self) -> str:
        """An MLP's hidden-layer activation (``linear`` with no hidden layer)."""
        self._require_mlp("one hidden activation")
        hidden = {layer.activation for layer in self.stack.layers[:-1]}
        return hidden.pop() if len(hidden) == 1 else "linear"

    def _require_mlp(self, what: str) -> None:
        if not self.is_mlp:
            raise ValueError(f"only a multilayer perceptron has {what}, not {self.stack.describe()}")

    def kernel_shape(self, layer: int) -> tuple[int, ...]:
        return tuple(self.stack.parameter_shapes()[layer]["kernel"])

    def bias_shape(self, layer: int) -> tuple[int, ...]:
        return tuple(self.stack.parameter_shapes()[layer]["bias"])

    def kernel_shapes(self) -> list[tuple[int, ...]]:
        return [tuple(p["kernel"]) for p in self.stack.parameter_shapes()]

    def layer_types(self) -> tuple[str, ...]:
        """Each parameterised layer's type (``dense``, ``conv2d``): what per-kind pruning rates read."""
        return tuple(self.stack.layers[i].type for i in self.stack.parameterised)

    def kernel_sizes(self) -> list[int]:
        """Weights of each parameterised layer's kernel."""
        return [math.prod(shape) for shape in self.kernel_shapes()]

    def parameter_shapes(self) -> list[tuple[int, ...]]:
        """Kernel and bias shapes in Keras' ``get_weights`` order: kernel 0, bias 0, kernel 1, ..."""
        return [tuple(p[kind]) for p in self.stack.parameter_shapes() for kind in ("kernel", "bias")]

    def initial_network(self, rng: np.random.Generator) -> "Network":
        """A fresh network: kernels drawn by this architecture's initializer from ``rng``, zero biases."""
        draw = initializer(self.initializer).draw
        shapes = self.stack.parameter_shapes()
        return Network([draw(rng, tuple(p["kernel"]), *fans) for p, fans in zip(shapes, self.stack.fans())],
                       [np.zeros(p["bias"], np.float32) for p in shapes], self)

    def glorot_uniform(self, rng: np.random.Generator) -> "Network":
        """Glorot-uniform kernels and zero biases (Keras 1's defaults), whatever ``initializer`` says."""
        return Architecture(self.stack, "glorot_uniform").initial_network(rng)


def _glorot_uniform(rng: np.random.Generator, shape: tuple[int, ...], fan_in: int, fan_out: int) -> np.ndarray:
    limit = math.sqrt(6 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, shape).astype(np.float32)


# The standard deviation of a unit normal truncated to [-2, 2]; Keras divides by it so that the
# truncated draws keep the variance 2 / (fan_in + fan_out).
_TRUNCATED_STD = 0.87962566103423978


def _glorot_normal(rng: np.random.Generator, shape: tuple[int, ...], fan_in: int, fan_out: int) -> np.ndarray:
    # Keras' GlorotNormal (TensorFlow's glorot_normal_initializer, which the lottery-ticket code
    # used): a normal truncated at two standard deviations, redrawn outside them.
    z = rng.standard_normal(shape)
    outside = np.abs(z) > 2
    while outside.any():
        z[outside] = rng.standard_normal(int(outside.sum()))
        outside = np.abs(z) > 2
    return (z * (math.sqrt(2 / (fan_in + fan_out)) / _TRUNCATED_STD)).astype(np.float32)


def _caffe_xavier(rng: np.random.Generator, shape: tuple[int, ...], fan_in: int, fan_out: int) -> np.ndarray:
    # Caffe's "xavier" filler (variance_norm FAN_IN, its default), which its LeNet-5 example uses:
    # uniform in +/- sqrt(3 / fan_in), fan_in = the inputs of one output (a conv: kh x kw x c_in).
    limit = math.sqrt(3 / fan_in)
    return rng.uniform(-limit, limit, shape).astype(np.float32)


@dataclass(frozen=True)
class Initializer:
    """How a fresh kernel is drawn: ``draw(rng, shape, fan_in, fan_out)`` (float32), the fans as the
    layer counts them (a conv kernel's: its receptive field times the in or out channels, as Keras)."""

    name: str
    description: str
    draw: Callable[[np.random.Generator, tuple[int, ...], int, int], np.ndarray]


# Kernel initialisations by config name (network.initializer); biases always start at 0.
INITIALIZERS: dict[str, Initializer] = registry(
    Initializer("glorot_uniform", "uniform in +/- sqrt(6 / (fan_in + fan_out)): Keras' default, the article's",
                _glorot_uniform),
    Initializer("glorot_normal", "Gaussian Glorot: normal with variance 2 / (fan_in + fan_out), truncated at 2 std "
                "(Keras' GlorotNormal): the lottery-ticket paper's", _glorot_normal),
    Initializer("caffe_xavier", "uniform in +/- sqrt(3 / fan_in) (Caffe's xavier filler): Caffe's LeNet-5 example's, "
                "Han et al.'s", _caffe_xavier),
)


def initializer(name: str) -> Initializer:
    """The registered initializer ``name``; an unknown name is an error listing the known ones."""
    return lookup(INITIALIZERS, name, key="network.initializer")


@dataclass
class Network:
    """The parameters of one network at one moment, per parameterised layer of ``architecture``:
    ``kernels[l]`` in Keras' axis order ((n_in, n_out) dense, (kh, kw, c_in, c_out) conv), ``biases[l]``."""

    kernels: list[np.ndarray]
    biases: list[np.ndarray]
    architecture: Architecture

    @classmethod
    def mlp(cls, kernels: list[np.ndarray], biases: list[np.ndarray], activation: str) -> "Network":
        """An MLP's parameters, its widths read from the kernels."""
        return cls(kernels, biases, Architecture.mlp((np.shape(kernels[0])[0], *(np.shape(k)[1] for k in kernels)),
                                                     activation))

    @property
    def n_layers(self) -> int:
        return len(self.kernels)

    @property
    def activation(self) -> str:
        """An MLP's hidden activation (``Architecture.activation``)."""
        return self.architecture.activation

    @property
    def n_weights(self) -> int:
        return sum(int(np.size(k)) for k in self.kernels)

    @property
    def n_biases(self) -> int:
        return sum(int(np.size(b)) for b in self.biases)

    def parameters(self) -> list[dict[str, np.ndarray]]:
        """Per parameterised layer: {"kernel": ..., "bias": ...} (what ``LayerStack.forward`` takes)."""
        return [{"kernel": k, "bias": b} for k, b in zip(self.kernels, self.biases)]

    @staticmethod
    def at_epoch(kernels: list[np.ndarray], biases: list[np.ndarray], epoch: int,
                 architecture: Architecture) -> "Network":
        """Epoch ``epoch`` of per-epoch stacks (``kernels[l]`` is (epochs + 1, *kernel shape))."""
        return Network([k[epoch] for k in kernels], [b[epoch] for b in biases], architecture)


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
